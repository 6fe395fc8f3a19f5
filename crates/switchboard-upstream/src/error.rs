//! What can go wrong between the gateway and a provider.

use std::time::Duration;

use http::StatusCode;
use switchboard_proto::{ProtoError, UpstreamError as ProviderError};

/// An upstream call that did not produce a usable answer. The server maps each variant
/// to a client status (502, 503, 504 or the provider's own 4xx) in one place.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider could not be reached (DNS, refused, TLS, reset before an answer).
    #[error("could not reach the provider: {0}")]
    Connect(String),
    /// No response headers within the first-byte timeout.
    #[error("the provider did not answer within {0:?}")]
    FirstByteTimeout(Duration),
    /// The body did not arrive within the total or idle timeout.
    #[error("the provider's answer stalled ({0})")]
    BodyTimeout(&'static str),
    /// The provider answered with an error status.
    #[error("the provider answered {status}: {message}")]
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        message: String,
        detail: Option<ProviderError>,
    },
    /// The body broke off or was larger than allowed; the message says how (a stream's
    /// own failure already reads "the provider's stream broke: ...", so nothing is
    /// prefixed here).
    #[error("{0}")]
    Body(String),
    /// The answer was not in the provider's documented format.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// The model has no deployment whose provider is switched on.
    #[error("model `{alias}` is not available: {reason}")]
    NoLiveDeployment { alias: String, reason: String },
}
