//! After a failed attempt, what next: [`Planner::after_failure`] answers with a [`Next`].
//!
//! The gateway tries the deployments [`crate::order`] gave it, one at a time. When an
//! attempt fails before any byte reached the client, it asks the planner, which knows
//! the policy, the alias's fallbacks, how many attempts were made and how much time is
//! left. Rows are checked top to bottom; the first that applies decides:
//!
//! | # | situation                                                | next                     |
//! |---|----------------------------------------------------------|--------------------------|
//! | 1 | total deadline reached                                   | `GiveUp`                 |
//! | 2 | `ContextTooLong`                                         | context fallback alias, else `GiveUp` |
//! | 3 | `ContentPolicy`                                          | content-policy fallback alias, else `GiveUp` |
//! | 4 | `Fatal` (400-class but 401/403/404/408/409/429, `BadRequest`) | `GiveUp`             |
//! | 4b | `Misconfigured` (401/403/404: this deployment's key or model) | `Failover` if another deployment remains, else the next fallback, else `GiveUp` |
//! | 5 | transient, but its [`RetryOn`] flag is off               | `GiveUp`                 |
//! | 6 | `max_attempts` made on this alias                        | next fallback alias, else `GiveUp` |
//! | 7 | another deployment of the alias remains                  | `Failover { after: 0 }`  |
//! | 8 | wait (below) fits in `max_backoff` and in the time left  | `RetrySame { after: wait }` |
//! | 9 | otherwise                                                | next fallback alias, else `GiveUp` |
//!
//! - Transient means 429, 5xx, 408, 409, timeouts and connect errors ([`crate::classify`]).
//! - Failover and fallback are immediate: a different upstream owes nothing to the one
//!   that failed, so waiting would only add latency. Only retrying the same deployment
//!   waits: `wait = max(backoff, Retry-After)`, the backoff being exponential with jitter
//!   ([`crate::backoff`]) counted in retries of that deployment.
//! - A Retry-After longer than `max_backoff` is not waited out; neither is any wait that
//!   would leave no time before the deadline (`wait >= time left`). Holding a client's
//!   connection that long helps nobody: the planner moves on to a fallback or gives up,
//!   and the gateway can pass the upstream's Retry-After on to the client.
//! - `max_attempts` counts attempts on the current alias, first attempt, failovers and
//!   retries together. A fallback alias starts a fresh count (it is a different model
//!   the operator chose), so a request makes at most `max_attempts` attempts per alias
//!   visited, and visits each alias at most once.
//! - Fallback aliases are tried in chain order; the context and content-policy
//!   fallbacks are used once each, and no alias is visited twice.
//! - An alias with nothing to try is skipped without an attempt ([`Planner::skip`]):
//!   every breaker open moves down the chain, no context window large enough takes the
//!   context fallback.

use std::time::Duration;

use crate::backoff::{Backoff, Jitter};
use crate::classify::{AttemptError, ErrorClass};
use crate::rng::SplitMix;

/// Which transient errors are retried at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOn {
    pub rate_limited: bool,
    pub server_errors: bool,
    pub timeouts: bool,
    pub connect_errors: bool,
}

impl Default for RetryOn {
    fn default() -> Self {
        Self {
            rate_limited: true,
            server_errors: true,
            timeouts: true,
            connect_errors: true,
        }
    }
}

impl RetryOn {
    fn allows(&self, class: ErrorClass) -> bool {
        match class {
            ErrorClass::RateLimited => self.rate_limited,
            ErrorClass::ServerError => self.server_errors,
            ErrorClass::Timeout => self.timeouts,
            ErrorClass::Connect => self.connect_errors,
            _ => false,
        }
    }
}

/// An alias's retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per alias, the first included; 0 behaves as 1.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub jitter: Jitter,
    /// For the gateway: how long one attempt may take, up to the point its answer can be
    /// committed (the whole body of a plain call, the first event of a stream).
    pub per_attempt_timeout: Option<Duration>,
    /// From the request's start, across all attempts.
    pub total_deadline: Option<Duration>,
    pub retry_on: RetryOn,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            jitter: Jitter::Full,
            per_attempt_timeout: None,
            total_deadline: None,
            retry_on: RetryOn::default(),
        }
    }
}

/// Where an alias's failed requests may go instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fallbacks {
    /// Tried in order when the alias's own deployments are exhausted.
    pub chain: Vec<String>,
    /// A larger-context alias for prompts that are too long.
    pub context: Option<String>,
    /// An alias for requests a deployment refused on content policy.
    pub content_policy: Option<String>,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try the same deployment again after waiting.
    RetrySame { after: Duration },
    /// Try the next deployment of the plan (always `after: 0` today).
    Failover { after: Duration },
    /// Order this alias's deployments and start over there.
    FallbackAlias(String),
    /// Return the last error to the client.
    GiveUp,
}

/// Why an alias could not be tried at all (see [`Planner::skip`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Every deployment's breaker is open.
    AllOpen,
    /// No deployment's context window holds the request.
    NothingFits,
}

/// One request's retry state. Pure: time comes in as `now_ms` readings.
#[derive(Debug, Clone)]
pub struct Planner {
    policy: RetryPolicy,
    fallbacks: Fallbacks,
    visited: Vec<String>,
    next_in_chain: usize,
    on_alias: u32,
    on_deployment: u32,
    total: u32,
    started_ms: u64,
    backoff: Backoff,
    rng: SplitMix,
}

impl Planner {
    /// A request to `alias` that started at `started_ms`.
    pub fn new(
        alias: &str,
        policy: RetryPolicy,
        fallbacks: Fallbacks,
        started_ms: u64,
        rng: SplitMix,
    ) -> Self {
        let backoff = Backoff::new(policy.base_backoff, policy.max_backoff, policy.jitter);
        Self {
            policy,
            fallbacks,
            visited: vec![alias.to_owned()],
            next_in_chain: 0,
            on_alias: 0,
            on_deployment: 0,
            total: 0,
            started_ms,
            backoff,
            rng,
        }
    }

    /// Time before the total deadline; `None` without one.
    pub fn time_left(&self, now_ms: u64) -> Option<Duration> {
        let deadline = self.policy.total_deadline?;
        let elapsed = Duration::from_millis(now_ms.saturating_sub(self.started_ms));
        Some(deadline.saturating_sub(elapsed))
    }

    /// How long the next attempt may take: the per-attempt timeout, shortened to the
    /// time left.
    pub fn attempt_timeout(&self, now_ms: u64) -> Option<Duration> {
        match (self.policy.per_attempt_timeout, self.time_left(now_ms)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Failed attempts so far, across aliases.
    pub fn attempts(&self) -> u32 {
        self.total
    }

    /// Counts the failed attempt and decides, per the module table. `remaining` is how
    /// many deployments of the current plan have not been tried yet.
    pub fn after_failure(&mut self, now_ms: u64, err: &AttemptError, remaining: usize) -> Next {
        self.total += 1;
        self.on_alias += 1;
        self.on_deployment += 1;
        let time_left = self.time_left(now_ms);
        if time_left == Some(Duration::ZERO) {
            return Next::GiveUp;
        }
        let class = err.class();
        let next = match class {
            ErrorClass::ContextTooLong => self.special(self.fallbacks.context.clone()),
            ErrorClass::ContentPolicy => self.special(self.fallbacks.content_policy.clone()),
            ErrorClass::Fatal => Next::GiveUp,
            ErrorClass::Misconfigured if remaining > 0 => Next::Failover {
                after: Duration::ZERO,
            },
            ErrorClass::Misconfigured => self.chain(),
            _ if !self.policy.retry_on.allows(class) => Next::GiveUp,
            _ if self.on_alias >= self.policy.max_attempts.max(1) => self.chain(),
            _ if remaining > 0 => Next::Failover {
                after: Duration::ZERO,
            },
            _ => {
                let backoff = self.backoff.delay(self.on_deployment, &mut self.rng);
                let wait = backoff.max(err.retry_after().unwrap_or_default());
                let fits = wait <= self.policy.max_backoff && time_left.is_none_or(|t| wait < t);
                if fits {
                    Next::RetrySame { after: wait }
                } else {
                    self.chain()
                }
            }
        };
        self.moved(&next);
        next
    }

    /// The current alias offers nothing to try, so no attempt was made: where next.
    /// [`Skip::AllOpen`] moves down the chain (an alias whose every breaker is open
    /// would fail at once; its fallbacks may well be healthy). [`Skip::NothingFits`]
    /// takes the context fallback once. `GiveUp` when there is nowhere left to go.
    pub fn skip(&mut self, why: Skip) -> Next {
        let next = match why {
            Skip::AllOpen => self.chain(),
            Skip::NothingFits => self.special(self.fallbacks.context.clone()),
        };
        self.moved(&next);
        next
    }

    /// Resets the per-alias and per-deployment counts when the plan moves on.
    fn moved(&mut self, next: &Next) {
        match next {
            Next::Failover { .. } => {
                self.on_deployment = 0;
                self.backoff.reset();
            }
            Next::FallbackAlias(alias) => {
                self.visited.push(alias.clone());
                self.on_alias = 0;
                self.on_deployment = 0;
                self.backoff.reset();
            }
            Next::RetrySame { .. } | Next::GiveUp => {}
        }
    }

    /// The next unvisited alias of the chain.
    fn chain(&mut self) -> Next {
        while let Some(alias) = self.fallbacks.chain.get(self.next_in_chain) {
            self.next_in_chain += 1;
            if !self.visited.contains(alias) {
                return Next::FallbackAlias(alias.clone());
            }
        }
        Next::GiveUp
    }

    /// A context or content-policy fallback, if configured and not visited yet.
    fn special(&self, alias: Option<String>) -> Next {
        match alias {
            Some(a) if !self.visited.contains(&a) => Next::FallbackAlias(a),
            _ => Next::GiveUp,
        }
    }
}
