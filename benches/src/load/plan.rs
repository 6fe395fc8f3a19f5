//! What a run sends, where, how fast and for how long.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderName, HeaderValue, Uri};

/// Where requests go: the address to connect to, the `Host` to send and the path.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    pub path: PathAndQuery,
}

impl Target {
    /// Resolves a plain `http://` URL (a loopback address in every benchmark).
    pub async fn resolve(url: &Uri) -> anyhow::Result<Target> {
        anyhow::ensure!(url.scheme_str() == Some("http"), "only http:// URLs: {url}");
        let authority = url.authority().context("the URL needs a host")?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await?
            .next()
            .with_context(|| format!("{} does not resolve", authority.host()))?;
        Ok(Target {
            addr,
            host: HeaderValue::from_str(authority.as_str())?,
            path: url
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        })
    }
}

/// One constant-rate run. Every loop it drives is bounded in count (`max_requests`) and
/// in time (`duration`, then at most `timeout` for the stragglers).
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    /// The POST body of every request.
    pub body: Bytes,
    /// Sent with every request, after `Host` and `Content-Type`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Requests per second offered.
    pub rate: f64,
    /// Keep-alive connections, and so the most requests in flight at once.
    pub concurrency: usize,
    /// How long requests are offered for.
    pub duration: Duration,
    /// The most requests offered, whatever the duration.
    pub max_requests: u64,
    /// The longest one request may take, headers to last byte.
    pub timeout: Duration,
    /// Requests sent (closed-loop, untimed) before the run, one per connection from the
    /// first on, round after round.
    pub warmup: u64,
    /// Stop offering load once a request has waited this long for a free connection: the
    /// server is not keeping up, and the rest of the run would only grow the queue.
    pub give_up: Option<Duration>,
    /// Answers are SSE streams that must end with `data: [DONE]`.
    pub stream: bool,
}

impl Plan {
    /// When the workers stop taking new slots: requests still queued then are counted as
    /// unsent, so an overloaded server cannot make a run last forever.
    pub fn hard_stop(&self) -> Duration {
        self.duration + self.timeout
    }
}
