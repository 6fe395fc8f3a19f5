//! `switchboard`: the gateway's command line.
//!
//! - `serve --config FILE`: run a node until SIGTERM or SIGINT, then drain gracefully.
//! - `check --config FILE`: validate a config and print the models and deployments it
//!   resolves to, and which providers are switched off and why.
//! - `keys ...`, `tenants ...`, `spend`, `audit query`: the admin API from the command line.
//! - `audit verify DIR`: check an audit directory's hash chain offline.

/// `println!` for a command's output: when the reader stops early (`| head`), the
/// command ends quietly with status 0, as other Unix tools do, instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

mod admin_client;
mod check;
mod cluster_cmd;
mod keys_cmd;
mod report_cmd;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use switchboard_config::Config;
use switchboard_server::RunningServer;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "A clustered LLM gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
        /// Log line format.
        #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "SWITCHBOARD_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Validate a config file and print what it resolves to.
    Check {
        #[arg(long, short, default_value = "config/switchboard.toml")]
        config: PathBuf,
    },
    /// Create, list, update and revoke virtual keys.
    Keys {
        #[command(subcommand)]
        command: keys_cmd::KeysCmd,
        #[command(flatten)]
        target: admin_client::AdminTarget,
    },
    /// Tenant and team quotas and audit capture.
    Tenants {
        #[command(subcommand)]
        command: keys_cmd::TenantsCmd,
        #[command(flatten)]
        target: admin_client::AdminTarget,
    },
    /// Spend grouped by tenant, team, key, model, provider or tag.
    Spend {
        #[arg(long, default_value = "tenant")]
        group_by: String,
        #[command(flatten)]
        range: report_cmd::Range,
        #[command(flatten)]
        target: admin_client::AdminTarget,
    },
    /// The cluster as one node sees it.
    Cluster {
        #[command(subcommand)]
        command: cluster_cmd::ClusterCmd,
        #[command(flatten)]
        target: admin_client::AdminTarget,
    },
    /// Verify or query the audit log.
    Audit {
        #[command(subcommand)]
        command: report_cmd::AuditCmd,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Writes one line of command output (see `out!`).
fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("switchboard: cannot write the output: {e}");
        std::process::exit(1);
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check::run(&config),
        Command::Keys { command, target } => keys_cmd::run_keys(command, &target),
        Command::Tenants { command, target } => keys_cmd::run_tenants(command, &target),
        Command::Spend {
            group_by,
            range,
            target,
        } => report_cmd::spend(&group_by, &range, &target),
        Command::Audit { command } => report_cmd::audit(command),
        Command::Cluster { command, target } => cluster_cmd::run(command, &target),
        Command::Serve { config, log_format } => {
            init_logging(log_format);
            let config = Config::load(&config)?;
            for p in config.providers.values() {
                if let Some(why) = &p.disabled {
                    tracing::info!(provider = %p.name, reason = %why, "provider switched off");
                }
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            runtime.block_on(serve(config))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.admin.key.is_none() {
        tracing::info!(
            "no admin key: the admin API refuses every call (health probes stay open); set SWITCHBOARD_ADMIN_KEY to manage keys and read reports"
        );
    }
    let server = RunningServer::start(config).await?;
    // Scripts wait for this line on stdout before sending traffic.
    println!(
        "switchboard listening on http://{} (admin http://{})",
        server.addr, server.admin_addr
    );
    shutdown_signal().await?;
    tracing::info!("shutdown requested: draining (a second SIGTERM or SIGINT stops at once)");
    // The drain is bounded by `shutdown_grace`, but making the last audit records durable
    // is not: on a failed or full audit disk it retries until the disk is back rather
    // than drop records. A second signal is the operator saying not to wait.
    tokio::select! {
        () = server.shutdown() => Ok(()),
        r = shutdown_signal() => {
            r?;
            tracing::error!(
                "second stop signal: exiting without waiting; audit records not yet durable are lost"
            );
            anyhow::bail!("stopped by a second signal before the shutdown finished")
        }
    }
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
    }
    Ok(())
}
