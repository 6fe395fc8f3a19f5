//! The gateway's error: every way a request can fail, mapped once to a status, a body in
//! the caller's API shape, and a low-cardinality label for metrics and logs.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use switchboard_core::Money;
use switchboard_core::Wire;
use switchboard_ledger::{Metric, Refusal, RefusalCause};
use switchboard_proto::{ApiErrorKind, ProtoError, anthropic, openai};
use switchboard_upstream::UpstreamError;

/// Why a request failed. The doc line of each variant is what the client is told.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The body is not valid JSON, or a field is missing or of the wrong type.
    #[error("{0}")]
    BadRequest(ProtoError),
    /// No API key was presented.
    #[error("missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`")]
    MissingKey,
    /// The API key is unknown, revoked or expired (the text says which).
    #[error("{0}")]
    InvalidKey(&'static str),
    /// The key may not use this model.
    #[error("this key may not use model `{0}`")]
    ModelNotAllowed(String),
    /// No model of that name is configured.
    #[error("model `{0}` does not exist")]
    UnknownModel(String),
    /// The model is configured but none of its providers is switched on.
    #[error("model `{alias}` is not available: {reason}")]
    ModelUnavailable { alias: String, reason: String },
    /// No such endpoint.
    #[error("no route for {method} {path}")]
    NoRoute { method: String, path: String },
    /// The endpoint exists, but not for this method.
    #[error("{method} is not allowed on {path} (allowed: {allow})")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    /// A body in a content coding (`gzip`...) or transfer coding the gateway does not
    /// decode: refused rather than parsed as if it were plain JSON.
    #[error(
        "request bodies with {header} `{coding}` are not accepted; send the body as plain JSON"
    )]
    UnsupportedCoding {
        header: &'static str,
        coding: String,
    },
    /// The body is over the size limit.
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    /// The client's body could not be read.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The client's body did not arrive in time.
    #[error("the request body was not received within {}s", .0.as_secs_f64())]
    BodyTimeout(Duration),
    /// The upstream call failed.
    #[error("{0}")]
    Upstream(UpstreamError),
    /// A quota refused the call (429), or its owner could not be asked (503).
    #[error("{}", refusal_message(.0))]
    Refused(Box<Refusal>),
    /// A guardrail refused the request (or its answer); the message names the rule.
    #[error("{message}")]
    Guardrail { rule: String, message: String },
    /// Every deployment of the model is out of rotation (its circuit breaker is open).
    #[error("every deployment of model `{alias}` is failing; retry in {}s", retry_after.as_secs().max(1))]
    AllOpen {
        alias: String,
        retry_after: Duration,
    },
    /// The audit log cannot take another record; the call is refused rather than served
    /// unaudited.
    #[error("the audit log is not accepting records right now; retry shortly")]
    AuditUnavailable,
}

/// "rate limit exceeded: quota tenant:acme/requests/minute allows 60, none left", or with
/// some left, that it is less than the call may use (a refusal with "$0.01 left" read as
/// a contradiction without it).
fn refusal_message(r: &Refusal) -> String {
    let (limit, left) = match r.quota.metric {
        Metric::Money => (
            format!("${}", Money(r.limit)),
            format!("${}", Money(r.remaining.max(0))),
        ),
        _ => (r.limit.to_string(), r.remaining.max(0).to_string()),
    };
    match r.cause {
        RefusalCause::Exhausted => {
            let what = if r.quota.metric == Metric::Money {
                "budget"
            } else {
                "rate limit"
            };
            if r.remaining <= 0 {
                format!(
                    "{what} exceeded: quota {} allows {limit}, none left",
                    r.quota
                )
            } else {
                format!(
                    "{what} exceeded: quota {} has {left} of {limit} left, less than this call may use",
                    r.quota
                )
            }
        }
        RefusalCause::OwnerUnavailable => format!(
            "quota {} cannot be checked right now; retry shortly",
            r.quota
        ),
    }
}

impl From<ProtoError> for GatewayError {
    fn from(e: ProtoError) -> Self {
        GatewayError::BadRequest(e)
    }
}

impl From<UpstreamError> for GatewayError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Proto(
                p @ (ProtoError::InvalidField { .. } | ProtoError::Unsupported(_)),
            ) => GatewayError::BadRequest(p),
            other => GatewayError::Upstream(other),
        }
    }
}

/// How an error is shown: status, kind, and the metric label.
#[derive(Debug, Clone, Copy)]
pub struct Disposition {
    pub status: StatusCode,
    pub kind: ApiErrorKind,
    /// Low-cardinality reason for metrics and logs (`bad_request`, `upstream_timeout`...).
    pub label: &'static str,
}

impl GatewayError {
    pub fn disposition(&self) -> Disposition {
        use ApiErrorKind as K;
        let d = |status, kind, label| Disposition {
            status,
            kind,
            label,
        };
        match self {
            GatewayError::BadRequest(_) => {
                d(StatusCode::BAD_REQUEST, K::InvalidRequest, "bad_request")
            }
            GatewayError::MissingKey => {
                d(StatusCode::UNAUTHORIZED, K::Authentication, "missing_key")
            }
            GatewayError::InvalidKey(_) => {
                d(StatusCode::UNAUTHORIZED, K::Authentication, "invalid_key")
            }
            GatewayError::ModelNotAllowed(_) => d(
                StatusCode::FORBIDDEN,
                K::PermissionDenied,
                "model_not_allowed",
            ),
            GatewayError::UnknownModel(_) => d(StatusCode::NOT_FOUND, K::NotFound, "unknown_model"),
            GatewayError::ModelUnavailable { .. } => {
                d(StatusCode::NOT_FOUND, K::NotFound, "model_unavailable")
            }
            GatewayError::NoRoute { .. } => d(StatusCode::NOT_FOUND, K::NotFound, "no_route"),
            GatewayError::MethodNotAllowed { .. } => d(
                StatusCode::METHOD_NOT_ALLOWED,
                K::InvalidRequest,
                "method_not_allowed",
            ),
            // RFC 9110: an unknown content coding is 415; RFC 9112: an unknown transfer
            // coding is 501.
            GatewayError::UnsupportedCoding { header, .. } => d(
                if *header == "Transfer-Encoding" {
                    StatusCode::NOT_IMPLEMENTED
                } else {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                },
                K::InvalidRequest,
                "unsupported_coding",
            ),
            GatewayError::TooLarge(_) => d(StatusCode::PAYLOAD_TOO_LARGE, K::TooLarge, "too_large"),
            GatewayError::BodyRead(_) => d(StatusCode::BAD_REQUEST, K::InvalidRequest, "body_read"),
            GatewayError::BodyTimeout(_) => d(
                StatusCode::REQUEST_TIMEOUT,
                K::InvalidRequest,
                "body_timeout",
            ),
            GatewayError::Upstream(e) => upstream_disposition(e),
            GatewayError::Refused(r) if r.cause == RefusalCause::Exhausted => d(
                StatusCode::TOO_MANY_REQUESTS,
                K::RateLimited,
                "quota_exceeded",
            ),
            GatewayError::Refused(_) => d(
                StatusCode::SERVICE_UNAVAILABLE,
                K::Unavailable,
                "ledger_unavailable",
            ),
            GatewayError::AuditUnavailable => d(
                StatusCode::SERVICE_UNAVAILABLE,
                K::Unavailable,
                "audit_unavailable",
            ),
            GatewayError::AllOpen { .. } => d(
                StatusCode::SERVICE_UNAVAILABLE,
                K::Unavailable,
                "all_breakers_open",
            ),
            GatewayError::Guardrail { .. } => d(
                StatusCode::BAD_REQUEST,
                K::InvalidRequest,
                "guardrail_blocked",
            ),
        }
    }

    /// The `Retry-After` to pass on, when the upstream gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GatewayError::Upstream(UpstreamError::Status { retry_after, .. }) => *retry_after,
            GatewayError::Refused(r) => r.retry_after_ms.map(Duration::from_millis),
            GatewayError::AuditUnavailable => Some(Duration::from_secs(1)),
            GatewayError::AllOpen { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The body in the shape of the API the client called.
    pub fn body(&self, api: Wire) -> Bytes {
        let d = self.disposition();
        let message = self.client_message();
        match api {
            Wire::Anthropic => anthropic::error::body(d.kind, &message),
            _ => {
                let param = match self {
                    GatewayError::BadRequest(p) => p.param(),
                    GatewayError::UnknownModel(_) | GatewayError::ModelUnavailable { .. } => {
                        Some("model")
                    }
                    _ => None,
                };
                openai::error::body(d.kind, &message, param, self.openai_code())
            }
        }
    }

    /// OpenAI's `code` where the kind's default would mislead (a route is not a model).
    fn openai_code(&self) -> Option<&'static str> {
        match self {
            GatewayError::NoRoute { .. } => Some("unknown_url"),
            GatewayError::MethodNotAllowed { .. } => Some("method_not_allowed"),
            GatewayError::UnsupportedCoding { .. } => Some("unsupported_coding"),
            GatewayError::BodyTimeout(_) => Some("request_timeout"),
            _ => None,
        }
    }

    /// What the client reads. Upstream auth failures are reworded: the client's own key
    /// was fine, the gateway's provider key was not, and the provider's message might
    /// echo part of that key.
    fn client_message(&self) -> String {
        match self {
            GatewayError::Upstream(UpstreamError::Status { status, .. })
                if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN =>
            {
                format!(
                    "the provider rejected the gateway's credentials ({status}); the operator must fix the provider key"
                )
            }
            other => other.to_string(),
        }
    }
}

fn upstream_disposition(e: &UpstreamError) -> Disposition {
    use ApiErrorKind as K;
    let d = |status, kind, label| Disposition {
        status,
        kind,
        label,
    };
    match e {
        UpstreamError::Connect(_) => d(StatusCode::BAD_GATEWAY, K::Upstream, "upstream_connect"),
        UpstreamError::FirstByteTimeout(_) | UpstreamError::BodyTimeout(_) => {
            d(StatusCode::GATEWAY_TIMEOUT, K::Timeout, "upstream_timeout")
        }
        UpstreamError::Body(_) | UpstreamError::Proto(_) => {
            d(StatusCode::BAD_GATEWAY, K::Upstream, "upstream_bad_answer")
        }
        UpstreamError::NoLiveDeployment { .. } => d(
            StatusCode::SERVICE_UNAVAILABLE,
            K::Unavailable,
            "no_deployment",
        ),
        UpstreamError::Status { status, .. } => match status.as_u16() {
            429 => d(
                StatusCode::TOO_MANY_REQUESTS,
                K::RateLimited,
                "upstream_rate_limited",
            ),
            404 => d(*status, K::NotFound, "upstream_rejected"),
            413 => d(*status, K::TooLarge, "upstream_rejected"),
            400 | 409 | 422 => d(*status, K::InvalidRequest, "upstream_rejected"),
            401 | 403 => d(StatusCode::BAD_GATEWAY, K::Upstream, "upstream_auth"),
            408 | 504 => d(StatusCode::GATEWAY_TIMEOUT, K::Timeout, "upstream_timeout"),
            503 | 529 => d(
                StatusCode::SERVICE_UNAVAILABLE,
                K::Unavailable,
                "upstream_unavailable",
            ),
            _ => d(StatusCode::BAD_GATEWAY, K::Upstream, "upstream_error"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> GatewayError {
        GatewayError::Upstream(UpstreamError::Status {
            status: StatusCode::from_u16(s).unwrap(),
            retry_after: None,
            message: "x".into(),
            detail: None,
        })
    }

    #[test]
    fn upstream_statuses_map_to_gateway_statuses() {
        assert_eq!(
            status(503).disposition().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(500).disposition().status, StatusCode::BAD_GATEWAY);
        assert_eq!(
            status(429).disposition().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(status(401).disposition().status, StatusCode::BAD_GATEWAY);
        assert_eq!(status(400).disposition().status, StatusCode::BAD_REQUEST);
        // The SDKs pick their exception by status, Anthropic's callers read the type too.
        let not_found = status(404).disposition();
        assert_eq!(
            (not_found.status, not_found.kind),
            (StatusCode::NOT_FOUND, ApiErrorKind::NotFound)
        );
        let too_large = status(413).disposition();
        assert_eq!(
            (too_large.status, too_large.kind),
            (StatusCode::PAYLOAD_TOO_LARGE, ApiErrorKind::TooLarge)
        );
        let timeout =
            GatewayError::Upstream(UpstreamError::FirstByteTimeout(Duration::from_secs(1)));
        assert_eq!(timeout.disposition().status, StatusCode::GATEWAY_TIMEOUT);
    }

    #[test]
    fn bodies_take_the_callers_shape() {
        let e = GatewayError::UnknownModel("nope".into());
        let oai: serde_json::Value = serde_json::from_slice(&e.body(Wire::OpenAi)).unwrap();
        assert_eq!(oai["error"]["param"], "model");
        let ant: serde_json::Value = serde_json::from_slice(&e.body(Wire::Anthropic)).unwrap();
        assert_eq!(ant["type"], "error");
        assert_eq!(ant["error"]["type"], "not_found_error");
    }

    #[test]
    fn provider_auth_failure_does_not_echo_the_provider_message() {
        let e = GatewayError::Upstream(UpstreamError::Status {
            status: StatusCode::UNAUTHORIZED,
            retry_after: None,
            message: "Incorrect API key provided: sk-live-abc".into(),
            detail: None,
        });
        let body = String::from_utf8(e.body(Wire::OpenAi).to_vec()).unwrap();
        assert!(!body.contains("sk-live"), "{body}");
    }
}
