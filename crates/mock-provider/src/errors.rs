//! Provider-shaped error responses and small response helpers.
//!
//! Each provider's SDK parses its own error envelope, so a gateway under test
//! must see exactly these shapes:
//!
//! * OpenAI / Azure: `{"error":{"message":..,"type":..,"param":null,"code":..}}`
//! * Anthropic: `{"type":"error","error":{"type":..,"message":..}}`
//! * Gemini: `{"error":{"code":<status>,"message":..,"status":"INVALID_ARGUMENT"}}`
//!
//! The type/status string is derived from the HTTP status (429 rate limit,
//! 529 Anthropic overloaded, 5xx server error, other 4xx invalid request,
//! with the usual specific names for 401/403/404/503...).

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::body::MockBody;
use crate::json;
use crate::routes::Provider;

pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, JSON);
    resp
}

/// OpenAI `(type, code)` for a status.
fn openai_kind(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        404 => ("invalid_request_error", Some("not_found")),
        429 => ("requests", Some("rate_limit_exceeded")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

/// Anthropic error `type` for a status.
fn anthropic_kind(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

/// Gemini (google.rpc) status string for an HTTP status.
fn gemini_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// Renders the error body for `provider`. `code` overrides the OpenAI code.
pub(crate) fn error_body(
    provider: Provider,
    status: u16,
    message: &str,
    code: Option<&str>,
) -> String {
    let mut out = String::with_capacity(128 + message.len());
    match provider {
        Provider::OpenAi | Provider::Azure => {
            let (kind, default_code) = openai_kind(status);
            out.push_str("{\"error\":{\"message\":");
            json::push_str(&mut out, message);
            out.push_str(",\"type\":");
            json::push_str(&mut out, kind);
            out.push_str(",\"param\":null,\"code\":");
            match code.or(default_code) {
                Some(c) => json::push_str(&mut out, c),
                None => out.push_str("null"),
            }
            out.push_str("}}");
        }
        Provider::Anthropic => {
            out.push_str("{\"type\":\"error\",\"error\":{\"type\":");
            json::push_str(&mut out, anthropic_kind(status));
            out.push_str(",\"message\":");
            json::push_str(&mut out, message);
            out.push_str("}}");
        }
        Provider::Gemini => {
            out.push_str("{\"error\":{\"code\":");
            json::push_u64(&mut out, u64::from(status));
            out.push_str(",\"message\":");
            json::push_str(&mut out, message);
            out.push_str(",\"status\":");
            json::push_str(&mut out, gemini_status(status));
            out.push_str("}}");
        }
    }
    out
}

/// A provider-shaped error response.
pub(crate) fn error(provider: Provider, status: u16, message: &str) -> Response<MockBody> {
    error_with(provider, status, message, None, None)
}

/// A provider-shaped error response with an OpenAI code override and an
/// optional `Retry-After` (seconds).
pub(crate) fn error_with(
    provider: Provider,
    status: u16,
    message: &str,
    code: Option<&str>,
    retry_after: Option<u64>,
) -> Response<MockBody> {
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status_code, error_body(provider, status, message, code));
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse() {
        let v: serde_json::Value =
            serde_json::from_str(&error_body(Provider::OpenAi, 429, "slow \"down\"", None))
                .unwrap();
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert_eq!(v["error"]["param"], serde_json::Value::Null);
        let v: serde_json::Value =
            serde_json::from_str(&error_body(Provider::Anthropic, 529, "busy", None)).unwrap();
        assert_eq!(v["error"]["type"], "overloaded_error");
        let v: serde_json::Value =
            serde_json::from_str(&error_body(Provider::Gemini, 503, "x", None)).unwrap();
        assert_eq!(v["error"]["status"], "UNAVAILABLE");
        assert_eq!(v["error"]["code"], 503);
    }
}
