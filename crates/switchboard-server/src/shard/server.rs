//! The cluster RPC listener: signed MessagePack calls from peers, served by this node's
//! [`NodeOwners`](super::NodeOwners).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use switchboard_core::LogGate;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::NodeOwners;
use super::rpc::{self, Call, RpcResponse, SIGNATURE};

/// Largest RPC body (a snapshot with its recent ids is a few tens of kilobytes).
const MAX_RPC_BODY: usize = 8 * 1024 * 1024;

async fn handle(
    owners: NodeOwners,
    secret: std::sync::Arc<Vec<u8>>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(signature) = req
        .headers()
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        // Not a peer: refused before its body is read.
        return unsigned();
    };
    // A body not in within a call's whole deadline could only be refused as late; a
    // sender that stalls (or is not a peer at all) does not hold the connection longer.
    let read = tokio::time::timeout(
        rpc::RPC_TIMEOUT,
        Limited::new(req.into_body(), MAX_RPC_BODY).collect(),
    );
    let Ok(Ok(body)) = read.await.map(|r| r.map(|b| b.to_bytes())) else {
        return status(StatusCode::BAD_REQUEST);
    };
    if !rpc::verify(&secret, &body, &signature) {
        return unsigned();
    }
    let answer = match rpc::decode::<Call>(&body) {
        Ok(call) => match call.overdue(owners.now_ms()) {
            // Its sender gave up and asked again: served now, it could count twice.
            Some(late_ms) => {
                tracing::warn!(
                    kind = call.request.kind(),
                    late_ms,
                    "cluster RPC arrived after its deadline and was refused (held up on the network, or a first call before its sender knew this node's clock)"
                );
                metrics::counter!("switchboard_cluster_rpc_expired_total", "kind" => call.request.kind())
                    .increment(1);
                RpcResponse::Failed(format!("expired: arrived {late_ms} ms after its deadline"))
            }
            None => {
                metrics::counter!("switchboard_cluster_rpc_served_total", "kind" => call.request.kind())
                    .increment(1);
                owners.serve(call.request).await
            }
        },
        Err(e) => RpcResponse::Failed(format!("undecodable call: {e}")),
    };
    let bytes = rpc::encode(&rpc::Answer {
        now_ms: owners.now_ms(),
        response: answer,
    });
    let mut resp = Response::new(Full::new(bytes.clone()));
    if let Ok(v) = http::HeaderValue::from_str(&rpc::sign(&secret, &bytes)) {
        resp.headers_mut().insert(SIGNATURE, v);
    }
    resp
}

/// A call without the cluster's signature: counted, and logged at most once a minute (a
/// scanner or a node with the wrong secret sends many).
fn unsigned() -> Response<Full<Bytes>> {
    static GATE: LogGate = LogGate::new(std::time::Duration::from_secs(60));
    metrics::counter!("switchboard_cluster_rpc_rejected_total").increment(1);
    if GATE.pass() {
        tracing::warn!(
            "cluster RPC with a bad or missing signature refused (a node with another cluster secret, or not a peer; counted in switchboard_cluster_rpc_rejected_total, logged at most once a minute)"
        );
    }
    status(StatusCode::UNAUTHORIZED)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}

/// What the listener allows a connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Headers must arrive within this ([`rpc::RPC_HEADER_TIMEOUT`]).
    pub header_timeout: std::time::Duration,
    /// Connections served at once ([`rpc::MAX_RPC_CONNECTIONS`]).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: rpc::RPC_HEADER_TIMEOUT,
            max_connections: rpc::MAX_RPC_CONNECTIONS,
        }
    }
}

/// Serves peers until `shutdown` turns true.
pub async fn run(
    listener: TcpListener,
    owners: NodeOwners,
    secret: Vec<u8>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let secret = std::sync::Arc::new(secret);
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = std::sync::Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // A free slot first, then the connection: at the cap, new ones wait in the
        // kernel's accept queue.
        let slot = tokio::select! {
            s = std::sync::Arc::clone(&slots).acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => return,
            },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors, say: wait a little rather than spin on it.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let owners = owners.clone();
        let secret = std::sync::Arc::clone(&secret);
        let http = http.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let svc = service_fn(move |req| {
                let owners = owners.clone();
                let secret = std::sync::Arc::clone(&secret);
                async move { Ok::<_, Infallible>(handle(owners, secret, req).await) }
            });
            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    const UNSIGNED: &[u8] = b"POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n";

    /// A listener with `limits` on a free loopback port; dropping the sender stops it.
    async fn listening(limits: Limits) -> (std::net::SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let owners = NodeOwners::alone("rpc-test");
        tokio::spawn(run(listener, owners, b"secret".to_vec(), limits, stopped));
        (addr, stop)
    }

    /// Reads until the peer closes or `bytes` have arrived, within 10 s.
    async fn read_some(s: &mut TcpStream) -> Vec<u8> {
        let mut got = vec![0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut got))
            .await
            .expect("the listener answered or closed within 10 s")
            .unwrap();
        got.truncate(n);
        got
    }

    #[tokio::test]
    async fn a_connection_that_never_finishes_its_headers_is_closed() {
        let limits = Limits {
            header_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let (addr, _stop) = listening(limits).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"POST /rpc HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let answer = read_some(&mut slow).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }

    /// At the cap a new connection waits in the kernel's queue, unserved, until a served
    /// one closes.
    #[tokio::test]
    async fn beyond_the_connection_cap_a_call_waits_for_a_free_slot() {
        let limits = Limits {
            max_connections: 2,
            ..Limits::default()
        };
        let (addr, _stop) = listening(limits).await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(UNSIGNED).await.unwrap();
            let answer = read_some(&mut s).await;
            assert!(
                answer.starts_with(b"HTTP/1.1 401"),
                "served while under the cap"
            );
            held.push(s);
        }
        let mut third = TcpStream::connect(addr).await.unwrap();
        third.write_all(UNSIGNED).await.unwrap();
        let mut buf = [0u8; 64];
        let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
        assert!(
            early.is_err(),
            "a third connection was served at a cap of two"
        );
        drop(held.pop());
        let answer = read_some(&mut third).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 401"),
            "served once a slot was free"
        );
    }
}
