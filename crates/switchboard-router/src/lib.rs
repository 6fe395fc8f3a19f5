//! Routing decisions: where a request goes, what to do when an attempt fails, and which
//! deployments are healthy enough to try.
//!
//! This crate decides and the gateway acts. Everything here is pure logic over numbers
//! the gateway supplies (token estimates, counters, clock readings), except one thin
//! actor per deployment that serialises its circuit breaker. No HTTP, no sleeping.
//!
//! Choosing an alias and ordering its deployments:
//! - [`tiers`]: [`apply_rules`] (a tag or header picks the alias), else [`tier`] (prompt
//!   size and conversation length pick a small, medium or large alias).
//! - [`strategy`]: [`order`] ranks an alias's [`Candidate`]s by a [`Strategy`]
//!   (priority, weighted, least-busy, latency, cheapest), leaving out open breakers
//!   and context windows too small for the request, and putting a half-open probe first.
//! - [`latency`]: [`LatencyTracker`], the lock-free moving average of time to first
//!   byte; [`load`]: [`InFlight`], the request gauge. Both feed candidates.
//! - [`rng`]: [`SplitMix`], the seeded generator behind weighted order and jitter.
//!
//! When an attempt fails:
//! - [`classify`]: [`AttemptError`] and its class, and what the breaker should hear
//!   ([`breaker_outcome`]).
//! - [`plan`]: [`Planner`] answers [`Next`]: retry the same deployment after a backoff,
//!   fail over to the next one, fall back to another alias, or give up — within
//!   [`RetryPolicy`]'s attempts and deadline. [`backoff`]: exponential waits with jitter.
//!
//! Health:
//! - [`breaker`]: [`Breaker`], the pure state machine (closed, open, half-open), and
//!   [`window`]: its sliding window of outcomes.
//! - [`actor`]: [`BreakerActor`] owns a breaker and publishes it to a [`gate`]
//!   ([`Gate`]), which the request path reads without awaiting.
//! - [`handle`]: [`BreakerHandle`] (`admit`, `record`, `state`, `sync`) and
//!   [`spawn_breaker`].
//!
//! Observation: [`shadow`]: [`ShadowBook`], what another strategy would have cost.
//!
//! Data flow of one request: [`apply_rules`] / [`tier`] -> alias -> for each deployment
//! [`BreakerHandle::admit`] + trackers -> [`Candidate`]s -> [`order`] -> attempt the
//! first -> [`BreakerHandle::record`] ([`breaker_outcome`] on failure) -> on failure
//! [`Planner::after_failure`] -> [`Next`] -> the gateway retries, fails over, falls back
//! (re-ordering the new alias) or returns the error.

pub mod actor;
pub mod backoff;
pub mod breaker;
pub mod classify;
pub mod error;
pub mod gate;
pub mod handle;
pub mod latency;
pub mod load;
pub mod plan;
pub mod rng;
pub mod shadow;
pub mod strategy;
pub mod tiers;
pub mod window;

pub use actor::{BreakerActor, BreakerMsg};
pub use backoff::{Backoff, Jitter};
pub use breaker::{Admit, Breaker, BreakerConfig, BreakerState, Outcome, Transition};
pub use classify::{AttemptError, ErrorClass, breaker_outcome};
pub use error::RouterError;
pub use gate::Gate;
pub use handle::{BreakerHandle, spawn_breaker};
pub use latency::{Ewma, LatencyTracker};
pub use load::{InFlight, InFlightGuard};
pub use plan::{Fallbacks, Next, Planner, RetryOn, RetryPolicy, Skip};
pub use rng::SplitMix;
pub use shadow::{ShadowBook, ShadowFigures, projected_savings};
pub use strategy::{Availability, Candidate, Estimate, Strategy, fits, order};
pub use tiers::{Features, Rule, Tier, TierConfig, apply_rules, tier, tier_of};
