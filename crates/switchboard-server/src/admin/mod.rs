//! The admin listener: health probes for load balancers, and the admin API behind the
//! admin key.
//!
//! Probes are open so a load balancer needs no secret: `/healthz` says the process is up,
//! `/readyz` says it takes traffic (it turns 503 as soon as a drain begins, so the load
//! balancer stops sending new requests while in-flight ones finish). Everything else
//! requires `Authorization: Bearer <admin key>`; with no admin key configured it is refused.
//!
//! Endpoints, one module each:
//! - [`keys`]: `GET/POST /admin/keys`, `GET/PATCH/DELETE /admin/keys/{id}`.
//! - [`tenants`]: `GET /admin/tenants`, `GET/PUT /admin/tenants/{name}`,
//!   `PUT /admin/teams/{tenant}/{team}`.
//! - `GET /metrics`: Prometheus text (see [`crate::metrics`]).
//! - [`routing_report`]: `GET /admin/breakers` (every deployment's breaker),
//!   `GET /admin/shadow` (projected savings of shadow strategies).
//! - [`cluster_report`]: `GET /admin/cluster` (members, quota owners and epochs, the
//!   lease table, breakers).
//! - [`reports`]: `GET /admin/spend?group_by=..&from=..&to=..&tenant=..`,
//!   `GET /admin/audit?tenant=..&from=..&to=..&status=..&order=time|cost&limit=..`.

pub mod cluster_report;
pub(crate) mod http;
pub mod keys;
pub mod quota_json;
pub mod reports;
pub mod routing_report;
pub mod tenants;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use ::http::{Method, Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::gateway::Gateway;

/// Whether this node takes traffic.
#[derive(Debug, Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn authorized(gw: &Gateway, req: &Request<Incoming>) -> bool {
    let Some(expected) = &gw.config.admin.key else {
        return false;
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110), as on the client API.
        .and_then(|v| {
            v.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                .map(|_| &v[7..])
        })
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes()))
}

async fn handle(
    gw: Arc<Gateway>,
    ready: Arc<Readiness>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    if probe && !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":{"message":"probes answer GET and HEAD only","type":"invalid_request_error"}}"#,
        );
        r.headers_mut()
            .insert(::http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/healthz" => reply(StatusCode::OK, r#"{"status":"ok"}"#),
        "/readyz" => readiness(&gw, &ready),
        _ if gw.config.admin.key.is_none() => reply(
            StatusCode::FORBIDDEN,
            r#"{"error":{"message":"the admin API is disabled: set SWITCHBOARD_ADMIN_KEY","type":"permission_error"}}"#,
        ),
        _ if !authorized(&gw, &req) => reply(
            StatusCode::UNAUTHORIZED,
            r#"{"error":{"message":"missing or wrong admin key","type":"authentication_error"}}"#,
        ),
        _ => route(&gw, req).await,
    }
}

/// Whether a load balancer should send this node calls: not while it drains, not before
/// it sees a majority and has reconciled its journal, and not while its audit log cannot
/// be written (a full or failing disk), since every call must end up in it.
fn readiness(gw: &Gateway, ready: &Readiness) -> Response<Full<Bytes>> {
    let unavailable = |body| reply(StatusCode::SERVICE_UNAVAILABLE, body);
    if !ready.get() {
        unavailable(r#"{"status":"draining"}"#)
    } else if gw
        .cluster
        .as_ref()
        .is_some_and(|c| c.superseded_by().is_some())
    {
        unavailable(r#"{"status":"superseded: another node runs under this node's name"}"#)
    } else if !crate::membership::has_majority(gw) || !gw.owners.is_reconciled() {
        unavailable(r#"{"status":"joining"}"#)
    } else if !gw.audit.healthy() {
        unavailable(r#"{"status":"audit log unavailable"}"#)
    } else {
        reply(StatusCode::OK, r#"{"status":"ready"}"#)
    }
}

/// The guarded admin API.
async fn route(gw: &Gateway, req: Request<Incoming>) -> Response<Full<Bytes>> {
    // HEAD is GET without the body (hyper leaves the body out).
    let method = match req.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    let query = req.uri().query().map(str::to_owned);
    let path = req.uri().path().trim_end_matches('/').to_owned();
    // Ids and names as the client meant them: the CLI percent-encodes each segment.
    let decoded: Vec<String> = path
        .split('/')
        .skip(1)
        .map(http::percent_decode_path)
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if let Some(allow) = allowed(segments.as_slice())
        && !allow.split(", ").any(|m| m == method.as_str())
    {
        let mut r = http::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            format!("{method} is not allowed on {path}: {allow}"),
        );
        if let Ok(v) = HeaderValue::from_str(allow) {
            r.headers_mut().insert(::http::header::ALLOW, v);
        }
        return r;
    }
    if let Some(coding) = req
        .headers()
        .get(::http::header::CONTENT_ENCODING)
        .filter(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return http::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            format!(
                "Content-Encoding {} is not accepted: send the body uncompressed",
                String::from_utf8_lossy(coding.as_bytes())
            ),
        );
    }
    let body = req.into_body();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["admin", "keys"]) => keys::list(gw),
        (&Method::POST, ["admin", "keys"]) => match http::read_json(body).await {
            Ok(new) => keys::create(gw, new).await,
            Err(r) => r,
        },
        (&Method::GET, ["admin", "keys", id]) => keys::get(gw, id),
        (&Method::PATCH, ["admin", "keys", id]) => match http::read_json(body).await {
            Ok(patch) => keys::update(gw, id, patch).await,
            Err(r) => r,
        },
        (&Method::DELETE, ["admin", "keys", id]) => keys::revoke(gw, id).await,
        (&Method::GET, ["admin", "breakers"]) => routing_report::breakers(gw),
        (&Method::GET, ["admin", "cluster"]) => {
            let flush = query.as_deref() != Some("flush=false");
            cluster_report::status(gw, flush).await
        }
        (&Method::GET, ["admin", "shadow"]) => routing_report::shadow(gw),
        (&Method::GET, ["metrics"]) => match crate::metrics::handle() {
            Some(h) => {
                routing_report::publish_breaker_gauges(gw);
                crate::metrics::scrape_gauges(gw.audit.backlog(), gw.cache.len());
                crate::metrics::ledger(&gw.ledger.leases());
                if let Some(c) = &gw.cluster {
                    crate::metrics::cluster(c.members().len(), &c.counters());
                }
                let mut r = Response::new(Full::new(Bytes::from(h.render())));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            }
            None => http::internal("another metrics recorder is installed in this process"),
        },
        (&Method::GET, ["admin", "spend"]) => reports::spend(gw, query.as_deref()).await,
        (&Method::GET, ["admin", "audit"]) => reports::audit(gw, query.as_deref()).await,
        (&Method::GET, ["admin", "tenants"]) => tenants::list(gw),
        (&Method::GET, ["admin", "tenants", name]) => tenants::get(gw, name),
        (&Method::PUT, ["admin", "tenants", name]) => match http::read_json(body).await {
            Ok(input) => tenants::put(gw, name, input).await,
            Err(r) => r,
        },
        (&Method::PATCH, ["admin", "tenants", name]) => match http::read_json(body).await {
            Ok(input) => tenants::patch(gw, name, input).await,
            Err(r) => r,
        },
        (&Method::PUT, ["admin", "teams", tenant, team]) => match http::read_json(body).await {
            Ok(input) => tenants::put_team(gw, tenant, team, input).await,
            Err(r) => r,
        },
        _ => http::not_found(format!("no admin endpoint {method} {path}")),
    }
}

/// The methods a known admin path takes (`None`: no such path). HEAD goes with GET.
fn allowed(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["admin", "keys"] => "GET, HEAD, POST",
        ["admin", "keys", _] => "GET, HEAD, PATCH, DELETE",
        ["admin", "tenants", _] => "GET, HEAD, PUT, PATCH",
        ["admin", "teams", _, _] => "PUT",
        [
            "admin",
            "breakers" | "cluster" | "shadow" | "spend" | "audit" | "tenants",
        ]
        | ["metrics"] => "GET, HEAD",
        _ => return None,
    })
}

/// Serves the admin listener until `shutdown` turns true.
pub async fn run(
    listener: TcpListener,
    gw: Arc<Gateway>,
    ready: Arc<Readiness>,
    mut shutdown: watch::Receiver<bool>,
) {
    let http = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let gw = Arc::clone(&gw);
        let ready = Arc::clone(&ready);
        let http = http.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let gw = Arc::clone(&gw);
                let ready = Arc::clone(&ready);
                async move { Ok::<_, Infallible>(handle(gw, ready, req).await) }
            });
            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
