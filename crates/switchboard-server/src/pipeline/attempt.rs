//! Phase 4: one upstream attempt, up to the response headers.
//!
//! A success status hands back the response with its body unread (a stream is relayed,
//! a complete answer read by [`read_answer`]); an error status is read, bounded in size
//! and time, into an [`UpstreamError::Status`] carrying the provider's message and
//! `Retry-After`.

use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http::header::RETRY_AFTER;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use switchboard_upstream::{Deployment, UpstreamError};
use tokio::time::Instant;

/// Largest complete answer read from a provider. Real answers are far smaller; this only
/// bounds memory against a broken or hostile upstream.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Largest error body read from a provider.
const MAX_ERROR_BYTES: usize = 64 * 1024;
/// How long an error body may take to arrive.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `req` to `d` and checks the status.
pub async fn send(
    d: &Deployment,
    req: http::Request<http_body_util::Full<Bytes>>,
) -> Result<Response<Incoming>, UpstreamError> {
    let resp = d.provider.send(req).await?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(error_from(d, resp).await)
}

async fn error_from(d: &Deployment, resp: Response<Incoming>) -> UpstreamError {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
    let body = tokio::time::timeout(
        ERROR_BODY_TIMEOUT,
        Limited::new(resp.into_body(), MAX_ERROR_BYTES).collect(),
    )
    .await;
    let detail = match body {
        Ok(Ok(b)) => d.read_error(&b.to_bytes()),
        _ => None,
    };
    let message = detail
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    UpstreamError::Status {
        status,
        retry_after,
        message,
        detail,
    }
}

/// Reads a complete answer body, bounded in size and by the call's deadline.
pub async fn read_answer(body: Incoming, deadline: Instant) -> Result<Bytes, UpstreamError> {
    match tokio::time::timeout_at(deadline, Limited::new(body, MAX_ANSWER_BYTES).collect()).await {
        Err(_) => Err(UpstreamError::BodyTimeout("total timeout")),
        Ok(Err(e)) => Err(UpstreamError::Body(format!(
            "the provider's answer broke off: {e}"
        ))),
        Ok(Ok(b)) => Ok(b.to_bytes()),
    }
}
