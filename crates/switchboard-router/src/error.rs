//! The router's one error type. Routing decisions themselves never fail: an empty plan
//! or [`crate::Next::GiveUp`] is an answer, not an error. Only the breaker actors can.

/// What can go wrong with a breaker actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// The actor could not be started.
    #[error("could not start a circuit breaker: {0}")]
    Spawn(String),
    /// The actor has stopped.
    #[error("the circuit breaker has stopped")]
    Stopped,
}
