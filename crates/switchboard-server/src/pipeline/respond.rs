//! Building responses: the headers every answer carries, and errors in the caller's shape.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use switchboard_core::{RequestId, Wire};
use switchboard_upstream::Deployment;

use crate::body::ResponseBody;
use crate::error::GatewayError;

pub const REQUEST_ID: &str = "x-request-id";
/// The provider that served the call.
pub const PROVIDER: &str = "x-switchboard-provider";
/// The upstream model that served the call.
pub const UPSTREAM_MODEL: &str = "x-switchboard-upstream-model";
/// How many upstream attempts the call took.
pub const ATTEMPTS: &str = "x-switchboard-attempts";

fn header(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A `200` JSON answer served by `d`.
pub fn json(id: &RequestId, d: &Deployment, body: Bytes) -> Response<ResponseBody> {
    served(id, d, ResponseBody::full(body), "application/json")
}

/// A `200` event stream served by `d`.
pub fn event_stream(id: &RequestId, d: &Deployment, body: ResponseBody) -> Response<ResponseBody> {
    let mut resp = served(id, d, body, "text/event-stream");
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell buffering reverse proxies (nginx) in front of us to pass chunks on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

fn served(
    id: &RequestId,
    d: &Deployment,
    body: ResponseBody,
    content_type: &'static str,
) -> Response<ResponseBody> {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(REQUEST_ID, header(id.as_str()));
    h.insert(PROVIDER, header(&d.provider.name));
    h.insert(UPSTREAM_MODEL, header(&d.model));
    h.insert(ATTEMPTS, HeaderValue::from_static("1"));
    resp
}

/// A plain JSON answer not tied to a deployment (model lists).
pub fn plain_json(id: &RequestId, body: Bytes) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(REQUEST_ID, header(id.as_str()));
    resp
}

/// An error in the shape of the API the client called.
pub fn error(id: &RequestId, api: Wire, err: &GatewayError) -> Response<ResponseBody> {
    let d = err.disposition();
    let mut resp = Response::new(ResponseBody::full(err.body(api)));
    *resp.status_mut() = d.status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(REQUEST_ID, header(id.as_str()));
    if let Some(after) = err.retry_after() {
        h.insert(RETRY_AFTER, header(&after.as_secs().max(1).to_string()));
    }
    if d.status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of an oversized body was never read; the connection cannot be reused.
        h.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    tracing::debug!(request_id = %id, status = d.status.as_u16(), reason = d.label, error = %err, "request failed");
    resp
}
