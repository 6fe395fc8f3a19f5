//! What a failed attempt means: [`AttemptError`] and its [`ErrorClass`].
//!
//! The gateway turns whatever went wrong with one upstream call (before any byte reached
//! the client) into an [`AttemptError`]. Its class decides two separate things:
//! - for the request, whether another attempt could succeed ([`crate::plan`]);
//! - for the deployment, what its circuit breaker should hear ([`breaker_outcome`]).
//!
//! | error                                  | class            | breaker hears          |
//! |----------------------------------------|------------------|------------------------|
//! | status 429                             | `RateLimited`    | `RateLimited`          |
//! | status 500..=599 (incl. 529), 409      | `ServerError`    | `Failure`              |
//! | status 408, [`AttemptError::Timeout`]  | `Timeout`        | `Failure`              |
//! | [`AttemptError::Connect`]              | `Connect`        | `Failure`              |
//! | [`AttemptError::ContextTooLong`]       | `ContextTooLong` | `Success`              |
//! | [`AttemptError::ContentPolicy`]        | `ContentPolicy`  | `Success`              |
//! | status 401, 403, 404                   | `Misconfigured`  | `Failure`              |
//! | any other status, `BadRequest`         | `Fatal`          | `Success`              |
//!
//! 409 counts as a server error: providers use it for transient conflicts ("another
//! request is using this resource"), which a retry resolves. A request the deployment
//! refused on its merits (too long, policy, malformed) says the deployment is up, so its
//! breaker hears a success. 401, 403 and 404 are the exception: they mean this
//! deployment's key or model name is wrong, so every call to it will fail. Its breaker
//! takes it out of rotation (the operator sees that in metrics and the admin API), and
//! the request moves on to another deployment or fallback, never back to this one: the
//! client's call was fine, only this deployment is not.

use std::time::Duration;

use crate::breaker::Outcome;

/// Why one attempt failed, before anything was sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError {
    /// The upstream answered with an error status (and maybe a `Retry-After`).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No first byte within the attempt's timeout.
    Timeout,
    /// No connection (refused, DNS, TLS).
    Connect,
    /// The upstream said the prompt exceeds its context window.
    ContextTooLong,
    /// The upstream refused the content.
    ContentPolicy,
    /// A 4xx the request itself caused; never retried.
    BadRequest,
}

/// How the planner treats an error; see the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    RateLimited,
    ServerError,
    Timeout,
    Connect,
    ContextTooLong,
    ContentPolicy,
    /// This deployment is set up wrong (its key or model name): another may serve.
    Misconfigured,
    /// Another attempt would fail the same way.
    Fatal,
}

impl ErrorClass {
    /// Whether another attempt (elsewhere or later) could succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited
                | ErrorClass::ServerError
                | ErrorClass::Timeout
                | ErrorClass::Connect
        )
    }
}

impl AttemptError {
    pub fn class(&self) -> ErrorClass {
        match self {
            AttemptError::Status { status, .. } => match status {
                429 => ErrorClass::RateLimited,
                408 => ErrorClass::Timeout,
                409 | 500..=599 => ErrorClass::ServerError,
                401 | 403 | 404 => ErrorClass::Misconfigured,
                _ => ErrorClass::Fatal,
            },
            AttemptError::Timeout => ErrorClass::Timeout,
            AttemptError::Connect => ErrorClass::Connect,
            AttemptError::ContextTooLong => ErrorClass::ContextTooLong,
            AttemptError::ContentPolicy => ErrorClass::ContentPolicy,
            AttemptError::BadRequest => ErrorClass::Fatal,
        }
    }

    /// The upstream's `Retry-After`, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AttemptError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What the failed deployment's breaker should record for `err`.
pub fn breaker_outcome(err: &AttemptError) -> Outcome {
    match err.class() {
        ErrorClass::RateLimited => Outcome::RateLimited {
            retry_after: err.retry_after(),
        },
        ErrorClass::ServerError
        | ErrorClass::Timeout
        | ErrorClass::Connect
        | ErrorClass::Misconfigured => Outcome::Failure,
        ErrorClass::ContextTooLong | ErrorClass::ContentPolicy => Outcome::Success,
        ErrorClass::Fatal => Outcome::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> AttemptError {
        AttemptError::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn statuses_fall_into_the_documented_classes() {
        assert_eq!(status(429).class(), ErrorClass::RateLimited);
        assert_eq!(status(408).class(), ErrorClass::Timeout);
        for s in [409, 500, 502, 503, 504, 529, 599] {
            assert_eq!(status(s).class(), ErrorClass::ServerError, "{s}");
        }
        for s in [401, 403, 404] {
            assert_eq!(status(s).class(), ErrorClass::Misconfigured, "{s}");
        }
        for s in [200, 301, 400, 413, 422, 600] {
            assert_eq!(status(s).class(), ErrorClass::Fatal, "{s}");
        }
    }

    #[test]
    fn the_breaker_hears_failures_only_for_the_deployments_own_faults() {
        assert_eq!(breaker_outcome(&status(503)), Outcome::Failure);
        assert_eq!(breaker_outcome(&AttemptError::Timeout), Outcome::Failure);
        assert_eq!(breaker_outcome(&AttemptError::Connect), Outcome::Failure);
        assert_eq!(breaker_outcome(&status(401)), Outcome::Failure);
        assert_eq!(breaker_outcome(&status(400)), Outcome::Success);
        assert_eq!(breaker_outcome(&AttemptError::BadRequest), Outcome::Success);
        assert_eq!(
            breaker_outcome(&AttemptError::ContextTooLong),
            Outcome::Success
        );
        let ra = Some(Duration::from_secs(2));
        assert_eq!(
            breaker_outcome(&AttemptError::Status {
                status: 429,
                retry_after: ra
            }),
            Outcome::RateLimited { retry_after: ra }
        );
    }
}
