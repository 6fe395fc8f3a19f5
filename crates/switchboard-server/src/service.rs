//! The client API's front door: endpoint routing, then authentication, then the body.
//!
//! Authentication runs on the headers before the body is read, so a client without a
//! valid key cannot make the gateway buffer up to the body limit or parse its JSON.

use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use switchboard_core::{RequestId, Wire};

use crate::api;
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::identity::tags;
use crate::pipeline::accounting::record_refused;
use crate::pipeline::read_body::read_body;
use crate::pipeline::{RequestCtx, Trail, respond};
use crate::trace::{TRACEPARENT, TraceContext};
use tracing::Instrument;

/// The client API's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    ChatCompletions,
    Messages,
    Embeddings,
    Models,
    Model(String),
}

/// Maps a method and path to an endpoint. `/v1` is optional, as some clients are set up
/// with a base URL without it.
fn endpoint(method: &Method, path: &str) -> Result<Endpoint, GatewayError> {
    let p = path.strip_prefix("/v1").unwrap_or(path);
    let (want, ep) = match p {
        "/chat/completions" => (Method::POST, Endpoint::ChatCompletions),
        "/messages" => (Method::POST, Endpoint::Messages),
        "/embeddings" => (Method::POST, Endpoint::Embeddings),
        "/models" => (Method::GET, Endpoint::Models),
        _ => match p.strip_prefix("/models/") {
            // Both SDKs percent-encode the id (`acme%2Fchat-v1` for an alias with a slash).
            Some(id) if !id.is_empty() => (
                Method::GET,
                Endpoint::Model(crate::admin::http::percent_decode_path(id)),
            ),
            _ => {
                return Err(GatewayError::NoRoute {
                    method: method.to_string(),
                    path: path.to_owned(),
                });
            }
        },
    };
    // HEAD is GET without the body (hyper leaves the body out).
    if *method != want && !(want == Method::GET && *method == Method::HEAD) {
        return Err(GatewayError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_owned(),
            allow: if want == Method::GET {
                "GET, HEAD"
            } else {
                "POST"
            },
        });
    }
    Ok(ep)
}

/// The API whose shape the answer (and every error) takes: Anthropic's for `/messages`,
/// OpenAI's for its own endpoints, and for the rest (`/models`, unknown routes)
/// Anthropic's when the client says it speaks it (`anthropic-version`, which the
/// Anthropic SDK always sends).
fn wire_of(parts: &http::request::Parts) -> Wire {
    let path = parts.uri.path();
    if path.ends_with("/messages") {
        Wire::Anthropic
    } else if path.ends_with("/chat/completions") || path.ends_with("/embeddings") {
        Wire::OpenAi
    } else if parts.headers.contains_key("anthropic-version") {
        Wire::Anthropic
    } else {
        Wire::OpenAi
    }
}

/// Refuses a body the gateway would otherwise read as plain JSON although the client
/// encoded it: any content coding but `identity`, any transfer coding but `chunked`.
fn check_codings(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    for (name, header, allowed) in [
        (
            http::header::CONTENT_ENCODING,
            "Content-Encoding",
            "identity",
        ),
        (
            http::header::TRANSFER_ENCODING,
            "Transfer-Encoding",
            "chunked",
        ),
    ] {
        for value in headers.get_all(name) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for coding in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if !coding.eq_ignore_ascii_case(allowed) {
                    return Err(GatewayError::UnsupportedCoding {
                        header,
                        coding: coding.to_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Serves one client request. Never fails: every error becomes a response in the shape
/// of the API that was called, and an audit record (calls that got as far as admission
/// are recorded by the pipeline itself).
pub async fn handle(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<ResponseBody> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let api = wire_of(&parts);
    let (id, settle_id) = gw.request_ids(&parts.headers);
    let trace = TraceContext::for_request(&parts.headers);
    // A debug span: the few lines a request logs at info and above name its request id
    // themselves, and an enabled span costs every call about 4% of its instructions (the
    // subscriber formats its fields and enters it on every poll). `SWITCHBOARD_LOG=debug`
    // turns it on.
    let span = tracing::debug_span!("request", request_id = %id, trace_id = %trace.trace_id_hex());
    let mut ctx: Option<RequestCtx> = None;
    let start = Start {
        id: id.clone(),
        settle_id,
        api,
        started,
        trace,
    };
    let served = serve(&gw, &mut ctx, parts, body, start)
        .instrument(span)
        .await;
    let mut resp = match served {
        Ok(resp) => resp,
        Err(err) => {
            let status = err.disposition().status.as_u16();
            record_refused(
                &gw,
                ctx.as_ref(),
                id.as_str(),
                api.as_str(),
                status,
                err.to_string(),
            );
            respond::error(&id, api, &err)
        }
    };
    resp.headers_mut().insert(TRACEPARENT, trace.header());
    observe(
        &gw,
        ctx.as_ref(),
        api,
        resp.status().as_u16(),
        started.elapsed(),
    );
    resp
}

/// Records the request in the metrics: counts and latency by model, provider and status;
/// the gateway's own overhead (time not spent waiting on providers); time to first token
/// of streams.
fn observe(
    gw: &Gateway,
    ctx: Option<&RequestCtx>,
    api: Wire,
    status: u16,
    elapsed: std::time::Duration,
) {
    let Some(ctx) = ctx else {
        crate::metrics::request(
            &crate::metrics::RequestLabels::bare(api.as_str()),
            status,
            elapsed,
            None,
        );
        return;
    };
    let t = ctx.trail.lock();
    // Only configured names become label values: a client's made-up model must not.
    let model = if gw.config.models.contains_key(&t.model) {
        t.model.as_str()
    } else {
        "other"
    };
    let tenant = gw
        .config
        .metrics
        .tenant_labels
        .then_some(ctx.identity.tenant.as_str());
    let labels = crate::metrics::RequestLabels {
        api: api.as_str(),
        endpoint: if t.endpoint.is_empty() {
            "other"
        } else {
            t.endpoint
        },
        model,
        provider: t.provider.as_deref().unwrap_or("none"),
        tenant,
    };
    crate::metrics::request(
        &labels,
        status,
        elapsed,
        Some(elapsed.saturating_sub(t.upstream)),
    );
    if t.stream && status == 200 {
        crate::metrics::time_to_first_token(&labels, elapsed);
    }
}

/// What is known of a request before it is parsed.
struct Start {
    id: RequestId,
    settle_id: RequestId,
    api: Wire,
    started: Instant,
    trace: TraceContext,
}

async fn serve(
    gw: &Arc<Gateway>,
    ctx_out: &mut Option<RequestCtx>,
    parts: http::request::Parts,
    body: Incoming,
    start: Start,
) -> Result<Response<ResponseBody>, GatewayError> {
    let Start {
        id,
        settle_id,
        api,
        started,
        trace,
    } = start;
    let ep = endpoint(&parts.method, parts.uri.path())?;
    let identity = gw.keys.authenticate(&parts.headers, gw.now_ms())?;
    let trail = Trail {
        tags: tags::from_headers(&parts.headers),
        ..Trail::default()
    };
    let headers = Arc::new(parts.headers);
    let ctx = ctx_out.insert(RequestCtx {
        id,
        settle_id,
        api,
        identity,
        started,
        trail: Arc::new(parking_lot::Mutex::new(trail)),
        headers: Arc::clone(&headers),
        trace,
    });
    match ep {
        Endpoint::Models => Ok(api::models::list(gw, ctx, &headers)),
        Endpoint::Model(m) => api::models::get(gw, ctx, &headers, &m),
        Endpoint::ChatCompletions | Endpoint::Messages | Endpoint::Embeddings => {
            check_codings(&headers)?;
            let server = &gw.config.server;
            let bytes = read_body(
                &headers,
                body,
                server.max_body_bytes,
                server.body_read_timeout,
            )
            .await?;
            match ep {
                Endpoint::ChatCompletions => api::chat::handle(gw, ctx, bytes).await,
                Endpoint::Messages => api::messages::handle(gw, ctx, bytes).await,
                _ => api::embeddings::handle(gw, ctx, bytes).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_route_with_and_without_v1() {
        assert_eq!(
            endpoint(&Method::POST, "/v1/chat/completions").unwrap(),
            Endpoint::ChatCompletions
        );
        assert_eq!(
            endpoint(&Method::POST, "/chat/completions").unwrap(),
            Endpoint::ChatCompletions
        );
        assert_eq!(
            endpoint(&Method::GET, "/v1/models/demo").unwrap(),
            Endpoint::Model("demo".into())
        );
        assert_eq!(
            endpoint(&Method::GET, "/v1/models/acme%2Fchat-v1").unwrap(),
            Endpoint::Model("acme/chat-v1".into()),
            "the SDKs percent-encode a slash in a model id"
        );
        assert!(endpoint(&Method::GET, "/v1/chat/completions").is_err());
        assert!(endpoint(&Method::POST, "/v2/whatever").is_err());
    }
}
