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

/// Serves peers until `shutdown` turns true.
pub async fn run(
    listener: TcpListener,
    owners: NodeOwners,
    secret: Vec<u8>,
    mut shutdown: watch::Receiver<bool>,
) {
    let secret = std::sync::Arc::new(secret);
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(rpc::RPC_HEADER_TIMEOUT);
    let slots = std::sync::Arc::new(Semaphore::new(rpc::MAX_RPC_CONNECTIONS));
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
