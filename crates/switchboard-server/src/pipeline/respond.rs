//! Building responses: the headers every answer carries, and errors in the caller's shape.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use switchboard_core::{Money, RequestId, Wire};
use switchboard_ledger::{Metric, Refusal};
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::stream::encode_all;
use switchboard_upstream::adapters::{client_encoder, write_for_client};
use switchboard_upstream::catalog::header_value as header;
use switchboard_upstream::{ChatCall, builtin};

use crate::routing::Served;

use crate::body::ResponseBody;
use crate::error::GatewayError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The same id under the name Anthropic's API and SDK use (`_request_id`).
pub const ANTHROPIC_REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// The provider that served the call.
pub const PROVIDER: HeaderName = HeaderName::from_static("x-switchboard-provider");
/// The upstream model that served the call.
pub const UPSTREAM_MODEL: HeaderName = HeaderName::from_static("x-switchboard-upstream-model");
/// How many upstream attempts the call took.
pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-switchboard-attempts");

/// A `200` JSON answer from a deployment; [`with_route`] adds who served it.
pub fn json(id: &RequestId, body: Bytes) -> Response<ResponseBody> {
    served(id, ResponseBody::full(body), "application/json")
}

/// A `200` event stream from a deployment; [`with_route`] adds who served it.
pub fn event_stream(id: &RequestId, body: ResponseBody) -> Response<ResponseBody> {
    let mut resp = served(id, body, "text/event-stream");
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell buffering reverse proxies (nginx) in front of us to pass chunks on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

fn served(
    id: &RequestId,
    body: ResponseBody,
    content_type: &'static str,
) -> Response<ResponseBody> {
    let mut resp = Response::new(body);
    // Room for every header an answer gets (content type, request id, route, cost,
    // trace, cache), so the map is not grown and rehashed on the way.
    *resp.headers_mut() = http::HeaderMap::with_capacity(12);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(REQUEST_ID, header(id.as_str()));
    h.insert(ANTHROPIC_REQUEST_ID, header(id.as_str()));
    resp
}

/// A whole answer in the client's shape: its complete body, or for a streaming client
/// the answer replayed as the events of its stream family.
pub fn answer_body(call: &ChatCall, answer: &ChatResponse) -> Bytes {
    if call.chat.stream {
        let mut encoder = client_encoder(call, &answer.model);
        encode_all(encoder.as_mut(), &builtin::stream_events(answer)).freeze()
    } else {
        write_for_client(call, answer)
    }
}

/// A plain JSON answer not tied to a deployment (model lists).
pub fn plain_json(id: &RequestId, body: Bytes) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(REQUEST_ID, header(id.as_str()));
    resp.headers_mut()
        .insert(ANTHROPIC_REQUEST_ID, header(id.as_str()));
    resp
}

/// How the serving alias and deployment were chosen (see `routing::explain`).
pub const ROUTE: HeaderName = HeaderName::from_static("x-switchboard-route");
/// Fallback aliases a call moved through, comma-separated.
pub const FALLBACKS: HeaderName = HeaderName::from_static("x-switchboard-fallbacks");

/// Sets the route headers from who really served: the deployment, the number of
/// attempts, the fallbacks taken.
pub fn with_route(mut resp: Response<ResponseBody>, served: &Served) -> Response<ResponseBody> {
    let h = resp.headers_mut();
    h.insert(PROVIDER, served.deployment.provider_header.clone());
    h.insert(UPSTREAM_MODEL, served.deployment.model_header.clone());
    h.insert(ATTEMPTS, HeaderValue::from(served.attempts));
    h.insert(ROUTE, header(&served.route));
    if !served.fallbacks.is_empty() {
        h.insert(FALLBACKS, header(&served.fallbacks.join(",")));
    }
    resp
}

/// The cost of the call in dollars (nine decimals).
pub const COST: HeaderName = HeaderName::from_static("x-switchboard-cost-usd");
/// The quota that refused a call.
pub const QUOTA: HeaderName = HeaderName::from_static("x-switchboard-quota");

/// Adds the cost header to a complete answer. (A stream's cost is known only at its end;
/// it is in the audit record.)
pub fn with_cost(mut resp: Response<ResponseBody>, cost: Money) -> Response<ResponseBody> {
    // Formatted on the stack: the most negative amount takes 21 bytes.
    let mut buf = [0u8; 32];
    let mut rest = &mut buf[..];
    let value = match std::io::Write::write_fmt(&mut rest, format_args!("{cost}")) {
        Ok(()) => {
            let len = 32 - rest.len();
            HeaderValue::from_bytes(&buf[..len]).ok()
        }
        Err(_) => None,
    };
    resp.headers_mut()
        .insert(COST, value.unwrap_or_else(|| header(&cost.to_string())));
    resp
}

fn ceil_secs(d: std::time::Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// OpenAI's rate-limit headers for the quota that refused: `x-ratelimit-limit-requests`,
/// `-tokens`, or `-usd` for budgets, with `remaining` and `reset` (`"12s"`).
fn rate_limit_headers(h: &mut http::HeaderMap, r: &Refusal) {
    let unit = match r.quota.metric {
        Metric::Requests => "requests",
        Metric::Tokens => "tokens",
        Metric::Money => "usd",
    };
    let (limit, remaining) = match r.quota.metric {
        Metric::Money => (
            Money(r.limit).to_string(),
            Money(r.remaining.max(0)).to_string(),
        ),
        _ => (r.limit.to_string(), r.remaining.max(0).to_string()),
    };
    let set = |h: &mut http::HeaderMap, name: String, v: &str| {
        if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
            h.insert(name, header(v));
        }
    };
    set(h, format!("x-ratelimit-limit-{unit}"), &limit);
    set(h, format!("x-ratelimit-remaining-{unit}"), &remaining);
    if let Some(ms) = r.retry_after_ms {
        set(
            h,
            format!("x-ratelimit-reset-{unit}"),
            &format!("{}s", ceil_secs(std::time::Duration::from_millis(ms))),
        );
    }
    h.insert(QUOTA, header(&r.quota.to_string()));
}

/// An error in the shape of the API the client called.
pub fn error(id: &RequestId, api: Wire, err: &GatewayError) -> Response<ResponseBody> {
    let d = err.disposition();
    let mut resp = Response::new(ResponseBody::full(err.body(api)));
    *resp.status_mut() = d.status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(REQUEST_ID, header(id.as_str()));
    h.insert(ANTHROPIC_REQUEST_ID, header(id.as_str()));
    if let Some(after) = err.retry_after() {
        h.insert(RETRY_AFTER, header(&ceil_secs(after).to_string()));
    }
    if let GatewayError::Refused(r) = err {
        rate_limit_headers(h, r);
        // A budget that only a new period (or never) refills: both SDKs would retry a
        // 429 twice for nothing; this header tells them not to.
        if r.cause == switchboard_ledger::RefusalCause::Exhausted
            && r.retry_after_ms.is_none_or(|ms| ms > 60_000)
        {
            h.insert("x-should-retry", HeaderValue::from_static("false"));
        }
    }
    if let GatewayError::MethodNotAllowed { allow, .. } = err {
        h.insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    if matches!(
        d.status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT | StatusCode::NOT_IMPLEMENTED
    ) {
        // The rest of the body was never read; the connection cannot be reused.
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_header_reads_as_the_amount_prints() {
        for nanos in [0, 1, 12_345, 12_500_000_000, -7, i64::MAX, i64::MIN] {
            let cost = Money(nanos);
            let resp = with_cost(Response::new(ResponseBody::full(Bytes::new())), cost);
            assert_eq!(resp.headers()[COST], cost.to_string().as_str(), "{nanos}");
        }
    }
}
