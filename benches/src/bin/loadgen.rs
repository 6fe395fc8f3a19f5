//! `loadgen`: an open-loop, constant-rate HTTP/1.1 load generator (see
//! `switchboard_benches::load`). Prints one JSON report on stdout.
//!
//! ```sh
//! loadgen --url http://127.0.0.1:18100/v1/chat/completions --body '{"model":"m",...}' \
//!   --header 'authorization: Bearer sk-x' --rate 2000 --concurrency 64 --duration 5
//! ```

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use http::{HeaderName, HeaderValue, Uri};
use switchboard_benches::load::{self, plan::Plan, plan::Target};

/// Offers POST requests at a constant rate and reports latency percentiles as JSON.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Args {
    /// The URL every request is POSTed to (plain http).
    #[arg(long)]
    url: Uri,
    /// The request body.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the request body from this file.
    #[arg(long)]
    body_file: Option<std::path::PathBuf>,
    /// A header to send, `name: value`; repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Requests per second.
    #[arg(long)]
    rate: f64,
    /// Connections, and so the most requests in flight.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds during which requests are offered.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// The most requests offered (default: rate x duration).
    #[arg(long)]
    max_requests: Option<u64>,
    /// Seconds one request may take, headers to last byte.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Untimed requests sent first, spread over the connections.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Stop early once a request has waited this many seconds for a free connection.
    #[arg(long)]
    give_up: Option<f64>,
    /// Answers are SSE streams that must end with `data: [DONE]`.
    #[arg(long)]
    stream: bool,
}

fn header(line: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    let (name, value) = line
        .split_once(':')
        .with_context(|| format!("a header is `name: value`, not {line:?}"))?;
    Ok((name.trim().parse()?, value.trim().parse()?))
}

async fn plan(args: Args) -> anyhow::Result<Plan> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(
        args.duration > 0.0 && args.timeout > 0.0,
        "--duration and --timeout must be positive"
    );
    let body = match (args.body, args.body_file) {
        (Some(body), _) => Bytes::from(body),
        (None, Some(path)) => Bytes::from(
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        (None, None) => anyhow::bail!("give --body or --body-file"),
    };
    let headers = args
        .headers
        .iter()
        .map(|line| header(line))
        .collect::<anyhow::Result<_>>()?;
    let duration = Duration::from_secs_f64(args.duration);
    Ok(Plan {
        target: Target::resolve(&args.url).await?,
        body,
        headers,
        rate: args.rate,
        concurrency: args.concurrency,
        duration,
        max_requests: args
            .max_requests
            .unwrap_or((args.rate * args.duration).ceil() as u64),
        timeout: Duration::from_secs_f64(args.timeout),
        warmup: args.warmup,
        give_up: args.give_up.map(Duration::from_secs_f64),
        stream: args.stream,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async { load::run(plan(args).await?).await })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
