//! The decision layer, as the request path uses it. The decisions themselves are pure and
//! live in `switchboard-router`; this module feeds them the node's live state and applies
//! them.
//!
//! - [`health`]: [`Health`], one BreakerActor, in-flight counter and latency EWMA per
//!   deployment, and the shadow book.
//! - [`resolve`]: which alias serves a request (rules, complexity tiers) and in what order
//!   its deployments are tried (the alias's strategy over the live candidates).
//! - [`attempts`]: the attempt loop: breaker admission, per-attempt timeout, retry with
//!   backoff, failover, fallback aliases, until an answer is committed or the plan runs out.
//! - [`explain`]: [`Explain`], every one of those decisions, for the `x-switchboard-route`
//!   header, the audit record and `switchboard_route_decisions_total`.

pub mod attempts;
pub mod explain;
pub mod health;
pub mod resolve;

pub use attempts::{Attempt, FirstByte, Served, run};
pub use explain::Explain;
pub use health::Health;
