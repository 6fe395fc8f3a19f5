//! Anthropic's error shape: written for Anthropic clients (HTTP bodies and the `error`
//! stream event), and read back from Anthropic upstreams.

use bytes::Bytes;

use super::wire::{ErrorDetail, ErrorEnvelope};
use crate::error::{ApiErrorKind, UpstreamError};

/// Anthropic's `error.type` for a kind, as its SDKs map them to exception classes.
pub fn type_of(kind: ApiErrorKind) -> &'static str {
    match kind {
        ApiErrorKind::InvalidRequest => "invalid_request_error",
        ApiErrorKind::Authentication => "authentication_error",
        ApiErrorKind::PermissionDenied => "permission_error",
        ApiErrorKind::NotFound => "not_found_error",
        ApiErrorKind::TooLarge => "request_too_large",
        ApiErrorKind::RateLimited => "rate_limit_error",
        ApiErrorKind::Upstream => "api_error",
        ApiErrorKind::Unavailable => "overloaded_error",
        ApiErrorKind::Timeout => "timeout_error",
    }
}

/// `{"type":"error","error":{"type":..,"message":..}}`.
pub fn body(kind: ApiErrorKind, message: &str) -> Bytes {
    Bytes::from(data(type_of(kind), message))
}

/// The error body as a string, also the data of an `error` stream event.
pub(crate) fn data(error_type: &str, message: &str) -> String {
    super::to_json(&ErrorEnvelope {
        kind: "error",
        error: ErrorDetail {
            kind: error_type,
            message,
        },
    })
}

/// Reads an Anthropic upstream's error body; `None` when it is not one (a proxy's HTML
/// page, say), leaving the caller to describe the failure from the status alone.
pub fn parse(body: &[u8]) -> Option<UpstreamError> {
    let envelope: ErrorEnvelope<String> = serde_json::from_slice(body).ok()?;
    Some(UpstreamError {
        kind: Some(envelope.error.kind),
        message: envelope.error.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn body_names_the_anthropic_error_type() {
        let v: Value =
            serde_json::from_slice(&body(ApiErrorKind::Unavailable, "busy \"now\"")).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","error":{"type":"overloaded_error","message":"busy \"now\""}})
        );
    }

    #[test]
    fn an_upstream_error_body_is_read_back() {
        let raw = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}"#;
        let err = parse(raw).unwrap();
        assert_eq!(
            err,
            UpstreamError {
                kind: Some("rate_limit_error".into()),
                message: "slow down".into()
            }
        );
        assert_eq!(parse(b"<html>bad gateway</html>"), None);
    }
}
