//! `mock-llm`: the mock provider as a standalone process, for scripts,
//! chaos runs and benchmarks.
//!
//! Prints exactly one line on stdout once listening —
//! `mock-llm listening on http://HOST:PORT` — which scripts parse (port 0
//! picks a free port). Exits cleanly on SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mock_provider::{MockConfig, MockServer};

/// Fake OpenAI / Azure OpenAI / Anthropic / Gemini provider.
#[derive(Debug, Parser)]
#[command(name = "mock-llm", version, about)]
struct Args {
    /// Port to listen on (0 = pick a free one and print it).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Default delay before response headers, in milliseconds.
    #[arg(long, default_value_t = 0)]
    ttft_ms: u64,
    /// Default delay between streamed chunks, in milliseconds.
    #[arg(long, default_value_t = 0)]
    token_delay_ms: u64,
    /// Require this exact API key on every provider route.
    #[arg(long)]
    require_key: Option<String>,
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            res = tokio::signal::ctrl_c() => res,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let config = MockConfig {
        addr: SocketAddr::new(args.host, args.port),
        ttft: Duration::from_millis(args.ttft_ms),
        token_delay: Duration::from_millis(args.token_delay_ms),
        require_key: args.require_key,
    };
    let server = MockServer::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "mock-llm listening on {}", server.url())?;
        out.flush()?;
    }
    wait_for_signal().await?;
    server.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mock-llm: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-llm: {e}");
            ExitCode::FAILURE
        }
    }
}
