//! The listener: accepts TCP connections and serves HTTP/1.1 (keep-alive) and
//! h2c (prior knowledge) on the same port via hyper-util's auto builder.
//!
//! One task per connection, nothing else spawned per request. Shutdown flips a
//! `watch` flag: the accept loop stops, connections are asked to finish
//! gracefully (in-flight hangs end immediately) and are aborted after a short
//! grace period.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::body::MockBody;
use crate::faults::FaultRule;
use crate::record::RecordedRequest;
use crate::routes::{self, Provider, Route};
use crate::state::{MockConfig, State};
use crate::{admin, dispatch, errors};

/// How long connections get to finish after shutdown before being dropped.
const GRACE: Duration = Duration::from_secs(1);

/// A running mock provider. Dropping it without [`MockServer::shutdown`] also
/// stops it (without waiting).
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds `config.addr` and starts serving in the background.
    pub async fn start(config: MockConfig) -> io::Result<MockServer> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let state = Arc::new(State::new(config, stop_rx.clone()));
        let task = tokio::spawn(accept_loop(listener, state.clone(), stop_rx));
        Ok(MockServer {
            addr,
            state,
            stop,
            task: Some(task),
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Provider calls served (admin calls excluded; auth failures, bad
    /// bodies and faulted requests included).
    pub fn calls(&self) -> u64 {
        self.state.stats.calls()
    }

    /// Provider calls on one route.
    pub fn calls_for(&self, route: Route) -> u64 {
        self.state.stats.calls_for(route)
    }

    /// Provider calls for one model (body model, Azure deployment or Gemini
    /// path model).
    pub fn calls_for_model(&self, model: &str) -> u64 {
        self.state.stats.calls_for_model(model)
    }

    /// Installs a server-wide fault rule (after existing ones; first match
    /// wins). A malformed spec makes matching requests answer 400.
    pub fn add_fault(&self, rule: FaultRule) {
        self.state.faults.add(rule);
    }

    /// Removes every server-wide fault rule.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The last 100 requests received (unknown paths included, admin calls
    /// excluded), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.snapshot()
    }

    /// Resets counters, fault rules, recorded requests and latency defaults.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Changes the default time to first token.
    pub fn set_ttft(&self, ttft: Duration) {
        self.state.knobs.set_ttft(ttft);
    }

    /// Changes the default delay between streamed chunks.
    pub fn set_token_delay(&self, delay: Duration) {
        self.state.knobs.set_token_delay(delay);
    }

    /// Requests currently held by `hang`/`hang-after` faults.
    pub fn hanging(&self) -> u64 {
        self.state.stats.hanging()
    }

    /// The `/_mock/stats` document.
    pub fn stats_json(&self) -> serde_json::Value {
        admin::stats_json(&self.state)
    }

    /// Stops accepting, lets connections finish (at most ~1 s) and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Resolves once shutdown is requested (or the server handle is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is not `Send`; drop it right here.
    let _ = stop.wait_for(|s| *s).await;
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().max_concurrent_streams(1024);
    let builder = Arc::new(builder);
    let mut conns = JoinSet::new();
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((stream, _)) => {
                    conns.spawn(serve(stream, builder.clone(), state.clone(), conn_stop.clone()));
                }
                Err(e) => {
                    // Usually EMFILE under load: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "mock-llm accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = conns.join_next() => {}
            () = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    conns.shutdown().await;
}

async fn serve(
    stream: TcpStream,
    builder: Arc<auto::Builder<TokioExecutor>>,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let svc = service_fn(move |req| handle(state.clone(), req));
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "mock-llm connection ended with error");
            }
        }
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn).await;
        }
    }
}

/// Top-level routing: admin, provider route, or 404. Returning `Err` is how
/// a `hang` ends: hyper then drops the connection without answering.
async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, io::Error> {
    let (parts, body) = req.into_parts();
    let body: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Err(io::Error::other(e)),
    };
    let path = parts.uri.path();
    if path == "/_mock" || path.starts_with("/_mock/") {
        return Ok(admin::handle(&state, &parts.method, path, &body));
    }
    match routes::resolve(&parts.method, path) {
        Some(target) => dispatch::provider_call(&state, &parts, target, body).await,
        None => {
            state.recorder.push(
                parts.method.clone(),
                parts.uri.clone(),
                parts.headers.clone(),
                body,
            );
            let msg = format!("Unknown request URL: {} {}", parts.method, path);
            Ok(errors::error_with(
                Provider::OpenAi,
                404,
                &msg,
                Some("unknown_url"),
                None,
            ))
        }
    }
}
