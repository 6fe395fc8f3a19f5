//! Google's error body, read from Gemini upstreams.

use serde::Deserialize;

use super::wire::ErrorBody;
use crate::error::UpstreamError;

#[derive(Deserialize)]
struct Envelope {
    error: ErrorBody,
}

/// Reads `{"error":{"code","message","status"}}`; the kind is the status name
/// (`RESOURCE_EXHAUSTED`). Streams requested without `alt=sse` wrap it in a one-element
/// array, which is accepted too. `None` when the body is neither.
pub fn parse(body: &[u8]) -> Option<UpstreamError> {
    // Checked by hand: serde would also read a struct from an array, by position.
    let error = if body.trim_ascii_start().starts_with(b"[") {
        serde_json::from_slice::<Vec<Envelope>>(body)
            .ok()?
            .into_iter()
            .next()?
            .error
    } else {
        serde_json::from_slice::<Envelope>(body).ok()?.error
    };
    Some(UpstreamError {
        kind: Some(error.kind()),
        message: error.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_name_is_the_kind() {
        let body = br#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#;
        let err = parse(body).unwrap();
        assert_eq!(err.kind.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(err.message, "Resource has been exhausted");
    }

    #[test]
    fn an_array_wrapped_error_is_read_and_junk_is_not() {
        let body = br#"[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]"#;
        assert_eq!(parse(body).unwrap().kind.as_deref(), Some("UNAVAILABLE"));
        assert_eq!(parse(b"upstream connect error"), None);
        assert_eq!(parse(b"[]"), None);
    }
}
