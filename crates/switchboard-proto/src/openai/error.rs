//! OpenAI's error shape: `{"error":{"message","type","param","code"}}`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{ApiErrorKind, UpstreamError};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireError {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

/// The `type` and default `code` OpenAI uses for each kind.
fn names(kind: ApiErrorKind) -> (&'static str, Option<&'static str>) {
    match kind {
        ApiErrorKind::InvalidRequest => ("invalid_request_error", None),
        ApiErrorKind::Authentication => ("authentication_error", Some("invalid_api_key")),
        ApiErrorKind::PermissionDenied => ("permission_error", Some("model_not_allowed")),
        ApiErrorKind::NotFound => ("invalid_request_error", Some("model_not_found")),
        ApiErrorKind::TooLarge => ("invalid_request_error", Some("request_too_large")),
        ApiErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
        ApiErrorKind::Upstream => ("server_error", Some("upstream_error")),
        ApiErrorKind::Unavailable => ("server_error", Some("service_unavailable")),
        ApiErrorKind::Timeout => ("timeout", Some("upstream_timeout")),
    }
}

/// An OpenAI-shaped error body. `param` names the offending field, `code` overrides the
/// kind's default code.
pub fn body(kind: ApiErrorKind, message: &str, param: Option<&str>, code: Option<&str>) -> Bytes {
    let (kind_name, default_code) = names(kind);
    let body = serde_json::json!({
        "error": {
            "message": message,
            "type": kind_name,
            "param": param,
            "code": code.or(default_code),
        }
    });
    Bytes::from(body.to_string())
}

/// Reads an OpenAI-family upstream's error body, if it has that shape.
pub fn parse(body: &[u8]) -> Option<UpstreamError> {
    #[derive(Deserialize)]
    struct Envelope {
        error: WireError,
    }
    let e: Envelope = serde_json::from_slice(body).ok()?;
    Some(UpstreamError {
        kind: e.error.kind,
        message: e.error.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_every_member_openai_clients_read() {
        let b = body(ApiErrorKind::InvalidRequest, "bad", Some("messages"), None);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "messages");
        assert!(v["error"].get("code").is_some());
        let back = parse(&b).unwrap();
        assert_eq!(back.message, "bad");
    }
}
