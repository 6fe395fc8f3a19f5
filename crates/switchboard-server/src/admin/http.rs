//! Small helpers the admin handlers share: JSON replies, errors, reading a JSON body.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type AdminResponse = Response<Full<Bytes>>;

/// Largest admin request body.
const MAX_ADMIN_BODY: usize = 1024 * 1024;

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> AdminResponse {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An error in OpenAI's shape, which admin clients already know how to read.
pub fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> AdminResponse {
    json(
        status,
        &serde_json::json!({"error": {"message": message.into(), "type": kind}}),
    )
}

pub fn bad_request(message: impl Into<String>) -> AdminResponse {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

pub fn not_found(message: impl Into<String>) -> AdminResponse {
    error(StatusCode::NOT_FOUND, "not_found", message)
}

pub fn conflict(message: impl Into<String>) -> AdminResponse {
    error(StatusCode::CONFLICT, "conflict", message)
}

pub fn internal(message: impl Into<String>) -> AdminResponse {
    error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
}

/// Reads and parses a JSON body, naming the offending field on error.
pub async fn read_json<T: DeserializeOwned>(body: Incoming) -> Result<T, AdminResponse> {
    let bytes = Limited::new(body, MAX_ADMIN_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request_error",
                    format!("the body is over {MAX_ADMIN_BODY} bytes"),
                )
            } else {
                bad_request(format!("could not read the body: {e}"))
            }
        })?
        .to_bytes();
    switchboard_proto::error::parse_request(&bytes).map_err(|e| bad_request(e.to_string()))
}

/// The value of `name` in a query string, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

/// A path segment, percent-decoded (`+` stays a plus: that is a query's convention).
pub fn percent_decode_path(s: &str) -> String {
    if s.contains('%') {
        percent_decode(&s.replace('+', "%2B"))
    } else {
        s.to_owned()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_found_and_decoded() {
        let q = Some("group_by=tenant&from=2026-11-01T00%3A00%3A00Z&x");
        assert_eq!(query_param(q, "group_by").as_deref(), Some("tenant"));
        assert_eq!(
            query_param(q, "from").as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        assert_eq!(query_param(q, "x").as_deref(), Some(""));
        assert_eq!(query_param(q, "y"), None);
        assert_eq!(query_param(Some("a=%zz%4"), "a").as_deref(), Some("%zz%4"));
    }
}
