//! Phase 1: read the request body under the size limit.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::error::GatewayError;

/// Reads the whole body, refusing it with 413 as soon as it is known to be over `limit`:
/// from `Content-Length` before reading anything, or when the bytes read pass the limit;
/// and with 408 when it is not all in within `timeout` (a client trickling its body, or
/// stopping short of its `Content-Length`, would otherwise hold the connection for ever).
pub async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, GatewayError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(GatewayError::TooLarge(limit));
    }
    let Ok(read) = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await else {
        return Err(GatewayError::BodyTimeout(timeout));
    };
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(GatewayError::TooLarge(limit)),
        Err(e) => Err(GatewayError::BodyRead(e.to_string())),
    }
}
