//! [`Breaker`]: one deployment's circuit breaker, a pure state machine.
//!
//! ```text
//! Closed ──trip──▶ Open ──cooldown ends──▶ HalfOpen ──probe succeeds──▶ Closed
//!                   ▲                          │
//!                   └──────probe fails─────────┘ (longer cooldown)
//! ```
//!
//! Rules:
//! - **Trip** (Closed → Open) when either the last `window` outcomes hold at least
//!   `min_requests` outcomes (clamped to `1..=window`) and a failure ratio of at least
//!   `failure_ratio`, or `consecutive_failures` failures came in a row (0 disables).
//!   A 429 counts as a failure: a deployment rejecting traffic should lose it.
//! - **Retry-After**: a 429 carrying a non-zero Retry-After opens the breaker until then
//!   even if no rule trips (the provider said exactly when to come back); when a rule
//!   trips too, the longer of the cooldown and the Retry-After wins. While Open, a later
//!   Retry-After can only extend the opening.
//! - **Cooldown** of the n-th consecutive opening: `cooldown * 2^(n-1)`, capped at
//!   `max_cooldown` (the backoff ceiling of [`crate::backoff`]).
//! - **Half-open**: once the cooldown ends, [`Breaker::allow`] hands out one probe at a
//!   time. The first outcome recorded while half-open decides: a success closes the
//!   breaker (window cleared, trip count reset), a failure or 429 reopens it with the
//!   next, longer cooldown. Outcomes of requests admitted before the trip that finish
//!   during the half-open phase count too: they are as recent as the probe.
//! - **Probe lease**: a probe nobody reports on (the request was dropped, or the gateway
//!   planned it and never sent it) expires after `probe_timeout`, and the next caller
//!   gets a probe. Set it above the gateway's time to first byte, so a slow probe is not
//!   joined by a second.
//! - While Open, outcomes of requests admitted earlier are ignored: they say nothing new.
//!
//! Time comes in as `now_ms` (Unix ms) on every call, so tests drive it with plain
//! numbers and the state can be gossiped: [`BreakerState`] is `Serialize`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::ceiling;
use crate::window::OutcomeWindow;

/// Breaker thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Outcomes in the sliding window.
    pub window: usize,
    /// Outcomes needed in the window before the ratio rule may trip.
    pub min_requests: usize,
    /// Failure share (0..=1) that trips.
    pub failure_ratio: f64,
    /// Failures in a row that trip; 0 disables the rule.
    pub consecutive_failures: u32,
    /// The first opening's length.
    pub cooldown: Duration,
    /// The longest opening from the cooldown rule (a Retry-After may be longer).
    pub max_cooldown: Duration,
    /// How long a probe is held for its caller before another is handed out.
    pub probe_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: 20,
            min_requests: 10,
            failure_ratio: 0.5,
            consecutive_failures: 5,
            cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(120),
            probe_timeout: Duration::from_secs(30),
        }
    }
}

/// Where a breaker stands. `trips` counts consecutive openings (reset on closing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open { until_ms: u64, trips: u32 },
    HalfOpen { trips: u32, probe_in_flight: bool },
}

impl BreakerState {
    /// A label for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half_open",
        }
    }
}

/// How a call to the deployment went, as far as its health is concerned
/// (see [`crate::breaker_outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    RateLimited { retry_after: Option<Duration> },
}

/// The answer of [`Breaker::allow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Yes, as the one probe of a half-open breaker: report its outcome.
    Probe,
    /// Not before `until_ms`.
    No {
        until_ms: u64,
    },
}

/// A change of state, for metrics and gossip. A probe being handed out or expiring is
/// not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
    pub at_ms: u64,
}

/// One deployment's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: BreakerState,
    window: OutcomeWindow,
    consecutive: u32,
    probe_since_ms: u64,
    epoch: u64,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        Self {
            window: OutcomeWindow::new(cfg.window),
            cfg,
            state: BreakerState::Closed,
            consecutive: 0,
            probe_since_ms: 0,
            epoch: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.cfg
    }

    /// Counts openings and extensions of an opening. A probe claimed in one epoch is
    /// void in the next: the handle uses it to tell a stale claim from a live one.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// May a request go to the deployment now? Applies [`Self::tick`] first; a caller
    /// that wants the Open → HalfOpen transition reported calls `tick` itself first.
    pub fn allow(&mut self, now_ms: u64) -> Admit {
        self.tick(now_ms);
        match self.state {
            BreakerState::Closed => Admit::Yes,
            BreakerState::Open { until_ms, .. } => Admit::No { until_ms },
            BreakerState::HalfOpen {
                trips,
                probe_in_flight: false,
            } => {
                self.state = BreakerState::HalfOpen {
                    trips,
                    probe_in_flight: true,
                };
                self.probe_since_ms = now_ms;
                Admit::Probe
            }
            // The probe decides within about a call's time, not its 30 s lease: a caller
            // told to come back at the lease's end (both SDKs honour Retry-After) waited
            // 30 s for a provider that was fine again 0.3 s later.
            BreakerState::HalfOpen { .. } => Admit::No {
                until_ms: self
                    .probe_lease_end()
                    .min(now_ms.saturating_add(PROBE_PENDING_RETRY_MS)),
            },
        }
    }

    /// The changes time alone makes: an ended cooldown opens the way to a probe (the
    /// returned transition), and an expired probe lease frees the probe.
    pub fn tick(&mut self, now_ms: u64) -> Option<Transition> {
        match self.state {
            BreakerState::Open { until_ms, trips } if now_ms >= until_ms => {
                let to = BreakerState::HalfOpen {
                    trips,
                    probe_in_flight: false,
                };
                Some(self.go(to, now_ms))
            }
            BreakerState::HalfOpen {
                trips,
                probe_in_flight: true,
            } if now_ms >= self.probe_lease_end() => {
                self.state = BreakerState::HalfOpen {
                    trips,
                    probe_in_flight: false,
                };
                None
            }
            _ => None,
        }
    }

    /// Applies the outcome of a call; returns the transition it caused, if any (an
    /// Open → HalfOpen by time alone included, folded into the one returned).
    pub fn record(&mut self, now_ms: u64, outcome: Outcome) -> Option<Transition> {
        let before = self.state;
        self.tick(now_ms);
        let failed = !matches!(outcome, Outcome::Success);
        let retry_after = match outcome {
            Outcome::RateLimited {
                retry_after: Some(d),
            } if !d.is_zero() => Some(d),
            _ => None,
        };
        match self.state {
            BreakerState::Closed => {
                self.window.push(failed);
                self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                if self.rules_trip() {
                    let wait = self.cooldown(1).max(retry_after.unwrap_or_default());
                    self.open(now_ms, 1, wait);
                } else if let Some(wait) = retry_after {
                    self.open(now_ms, 1, wait);
                }
            }
            BreakerState::Open { until_ms, trips } => {
                if let Some(wait) = retry_after
                    && add_ms(now_ms, wait) > until_ms
                {
                    self.open(now_ms, trips, wait);
                }
            }
            BreakerState::HalfOpen { trips, .. } => {
                if failed {
                    let trips = trips.saturating_add(1);
                    let wait = self.cooldown(trips).max(retry_after.unwrap_or_default());
                    self.open(now_ms, trips, wait);
                } else {
                    self.go(BreakerState::Closed, now_ms);
                    self.window.clear();
                    self.consecutive = 0;
                }
            }
        }
        (self.state != before).then_some(Transition {
            from: before,
            to: self.state,
            at_ms: now_ms,
        })
    }

    /// Takes on a state another node's breaker of the same deployment reached (heard by
    /// gossip): an opening elsewhere opens this one until the same time (never shorter
    /// than it already is), a close elsewhere (its probe succeeded) closes this one. A
    /// half-open state is not adopted: each node reaches it by its own clock. Returns the
    /// transition, if any.
    pub fn adopt(&mut self, remote: BreakerState, now_ms: u64) -> Option<Transition> {
        let before = self.state;
        match (remote, self.state) {
            (
                BreakerState::Open { until_ms, trips },
                BreakerState::Open {
                    until_ms: mine,
                    trips: my_trips,
                },
            ) => {
                if until_ms <= mine {
                    return None;
                }
                self.go(
                    BreakerState::Open {
                        until_ms,
                        trips: trips.max(my_trips),
                    },
                    now_ms,
                );
                self.epoch += 1;
            }
            (BreakerState::Open { until_ms, trips }, _) if until_ms > now_ms => {
                self.go(BreakerState::Open { until_ms, trips }, now_ms);
                self.window.clear();
                self.consecutive = 0;
                self.epoch += 1;
            }
            (BreakerState::Closed, BreakerState::Open { .. } | BreakerState::HalfOpen { .. }) => {
                self.go(BreakerState::Closed, now_ms);
                self.window.clear();
                self.consecutive = 0;
                self.epoch += 1;
            }
            _ => return None,
        }
        Some(Transition {
            from: before,
            to: self.state,
            at_ms: now_ms,
        })
    }

    fn rules_trip(&self) -> bool {
        let cfg = &self.cfg;
        let by_run = cfg.consecutive_failures > 0 && self.consecutive >= cfg.consecutive_failures;
        let min = cfg.min_requests.clamp(1, cfg.window.max(1));
        let by_ratio = cfg.window > 0
            && self.window.len() >= min
            && self.window.failures() > 0
            && self.window.failure_ratio() >= cfg.failure_ratio;
        by_run || by_ratio
    }

    /// The cooldown of the `trips`-th consecutive opening.
    pub fn cooldown(&self, trips: u32) -> Duration {
        ceiling(self.cfg.cooldown, self.cfg.max_cooldown, trips)
    }

    fn open(&mut self, now_ms: u64, trips: u32, wait: Duration) {
        let until_ms = add_ms(now_ms, wait);
        self.go(BreakerState::Open { until_ms, trips }, now_ms);
        self.window.clear();
        self.consecutive = 0;
        self.epoch += 1;
    }

    fn go(&mut self, to: BreakerState, now_ms: u64) -> Transition {
        let from = std::mem::replace(&mut self.state, to);
        Transition {
            from,
            to,
            at_ms: now_ms,
        }
    }

    pub(crate) fn probe_lease_end(&self) -> u64 {
        add_ms(self.probe_since_ms, self.cfg.probe_timeout)
    }
}

/// While a half-open breaker's probe is out, how soon others are told to try again.
pub(crate) const PROBE_PENDING_RETRY_MS: u64 = 1_000;

/// `now_ms + d`, saturating, at millisecond resolution rounded up (a 1.5 ms wait must
/// not end after 1 ms).
pub(crate) fn add_ms(now_ms: u64, d: Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    now_ms.saturating_add(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod adopt_tests {
    use super::*;

    /// Callers refused while the probe is out come back in a second, not at the end of
    /// the probe's 30 s lease.
    #[test]
    fn while_the_probe_is_out_others_are_told_to_come_back_soon() {
        let mut b = Breaker::new(BreakerConfig::default());
        b.adopt(
            BreakerState::Open {
                until_ms: 5_000,
                trips: 1,
            },
            1_000,
        );
        assert_eq!(b.allow(5_000), Admit::Probe);
        assert_eq!(b.allow(5_100), Admit::No { until_ms: 6_100 });
        assert!(b.probe_lease_end() >= 35_000);
        // Near the lease's end, its end.
        assert_eq!(
            b.allow(34_900),
            Admit::No {
                until_ms: b.probe_lease_end().min(35_900)
            }
        );
    }

    #[test]
    fn an_opening_elsewhere_opens_this_breaker_until_the_same_time() {
        let mut b = Breaker::new(BreakerConfig::default());
        let t = b
            .adopt(
                BreakerState::Open {
                    until_ms: 5_000,
                    trips: 1,
                },
                1_000,
            )
            .unwrap();
        assert_eq!(
            t.to,
            BreakerState::Open {
                until_ms: 5_000,
                trips: 1
            }
        );
        assert_eq!(b.allow(4_999), Admit::No { until_ms: 5_000 });
        assert!(
            b.adopt(
                BreakerState::Open {
                    until_ms: 4_000,
                    trips: 1
                },
                1_500
            )
            .is_none(),
            "never shortened"
        );
        assert!(
            b.adopt(
                BreakerState::Open {
                    until_ms: 6_000,
                    trips: 1
                },
                1_500
            )
            .is_some(),
            "extended"
        );
    }

    #[test]
    fn a_close_elsewhere_closes_this_breaker_and_half_open_is_not_adopted() {
        let mut b = Breaker::new(BreakerConfig::default());
        b.adopt(
            BreakerState::Open {
                until_ms: 5_000,
                trips: 2,
            },
            1_000,
        );
        assert!(
            b.adopt(
                BreakerState::HalfOpen {
                    trips: 2,
                    probe_in_flight: true
                },
                1_100
            )
            .is_none()
        );
        let t = b.adopt(BreakerState::Closed, 1_200).unwrap();
        assert_eq!(t.to, BreakerState::Closed);
        assert_eq!(b.allow(1_300), Admit::Yes);
        assert!(
            b.adopt(BreakerState::Closed, 1_400).is_none(),
            "closed already"
        );
        assert!(
            b.adopt(
                BreakerState::Open {
                    until_ms: 1_000,
                    trips: 1
                },
                2_000
            )
            .is_none(),
            "an opening already over"
        );
    }
}
