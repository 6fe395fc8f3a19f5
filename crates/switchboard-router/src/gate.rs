//! [`Gate`]: the published snapshot of a breaker that requests are admitted against.
//!
//! The breaker actor publishes its state here after every change; the request path
//! reads it without awaiting anything. Closed, the common case, costs one atomic load.
//! Otherwise a mutex is held for a few comparisons, because handing out the half-open
//! probe must be exclusive: the gate records a claim (the opening's epoch and the
//! time), and while that claim is live every other caller is turned away.
//!
//! The gate also decides on its own that an opening has ended: it compares the
//! published `until_ms` with the caller's clock, so a probe is available the moment the
//! cooldown ends even if the actor has nothing to process. A claim dies when its lease
//! ([`crate::BreakerConfig::probe_timeout`]) runs out, or when the actor publishes a new
//! epoch (the probe was answered, or the breaker reopened).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::breaker::{Breaker, BreakerState, add_ms};
use crate::strategy::Availability;

/// One breaker's published state and its probe claim.
#[derive(Debug)]
pub struct Gate {
    closed: AtomicBool,
    inner: Mutex<Published>,
    probe_lease: Duration,
    /// Transitions the actor has made; for metrics.
    pub(crate) transitions: AtomicU64,
    /// The latest transition this node's own outcomes caused, until gossip takes it.
    pub(crate) local_change: Mutex<Option<crate::breaker::Transition>>,
    /// Successes recorded while the gate was closed that the actor has not applied yet.
    successes: AtomicU64,
}

#[derive(Debug)]
struct Published {
    state: BreakerState,
    epoch: u64,
    claim: Option<Claim>,
}

#[derive(Debug, Clone, Copy)]
struct Claim {
    epoch: u64,
    at_ms: u64,
}

/// What [`Gate::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed or open: nothing to tell the actor.
    Plain(Availability),
    /// This caller holds the probe of opening `epoch` since `at_ms`.
    Probe { epoch: u64, at_ms: u64 },
}

impl Admission {
    pub fn availability(self) -> Availability {
        match self {
            Admission::Plain(a) => a,
            Admission::Probe { .. } => Availability::HalfOpenProbe,
        }
    }
}

impl Gate {
    /// A closed gate whose probes are leased for `probe_lease`.
    pub fn new(probe_lease: Duration) -> Self {
        Self {
            closed: AtomicBool::new(true),
            inner: Mutex::new(Published {
                state: BreakerState::Closed,
                epoch: 0,
                claim: None,
            }),
            probe_lease,
            transitions: AtomicU64::new(0),
            local_change: Mutex::new(None),
            successes: AtomicU64::new(0),
        }
    }

    /// Counts a success here instead of messaging the actor, if the gate is closed: the
    /// common outcome of the common state then costs an atomic add, not an actor hop.
    /// The next message to the actor takes the count with it ([`Self::take_successes`])
    /// and the actor applies it first, so a failure is judged with every success before
    /// it in the window, and none after it. Publishing a state other than closed drops
    /// the count: the actor has tripped, and successes it had not heard of by then are
    /// ones an open breaker ignores.
    pub fn count_success(&self) -> bool {
        if !self.closed.load(Ordering::Acquire) {
            return false;
        }
        self.successes.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// The successes counted since the last call, for the message about to be sent.
    pub fn take_successes(&self) -> u64 {
        self.successes.swap(0, Ordering::AcqRel)
    }

    /// Replaces the snapshot with `breaker`'s state; a live claim on the same epoch
    /// survives (the actor may not have seen its probe message yet).
    pub fn publish(&self, breaker: &Breaker) {
        let state = breaker.state();
        let mut p = self.inner.lock();
        p.state = state;
        p.epoch = breaker.epoch();
        self.closed
            .store(state == BreakerState::Closed, Ordering::Release);
        if state != BreakerState::Closed {
            self.successes.store(0, Ordering::Release);
        }
    }

    /// May a request go now, and is it the probe?
    pub fn admit(&self, now_ms: u64) -> Admission {
        if self.closed.load(Ordering::Acquire) {
            return Admission::Plain(Availability::Closed);
        }
        let mut p = self.inner.lock();
        match p.state {
            BreakerState::Closed => Admission::Plain(Availability::Closed),
            BreakerState::Open { until_ms, .. } if now_ms < until_ms => {
                Admission::Plain(Availability::Open { until_ms })
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                if let Some(c) = p.claim
                    && c.epoch == p.epoch
                {
                    let lease_end = add_ms(c.at_ms, self.probe_lease);
                    if now_ms < lease_end {
                        // Come back in a second, not at the lease's end: the probe
                        // decides in about a call's time (see the breaker's `allow`).
                        let soon = now_ms.saturating_add(crate::breaker::PROBE_PENDING_RETRY_MS);
                        return Admission::Plain(Availability::Open {
                            until_ms: lease_end.min(soon),
                        });
                    }
                }
                let epoch = p.epoch;
                p.claim = Some(Claim {
                    epoch,
                    at_ms: now_ms,
                });
                Admission::Probe {
                    epoch,
                    at_ms: now_ms,
                }
            }
        }
    }

    pub fn state(&self) -> BreakerState {
        self.inner.lock().state
    }

    pub fn transitions(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerConfig, Outcome};

    fn open_breaker() -> Breaker {
        let mut b = Breaker::new(BreakerConfig {
            consecutive_failures: 1,
            cooldown: Duration::from_millis(100),
            probe_timeout: Duration::from_millis(1_000),
            ..BreakerConfig::default()
        });
        b.record(0, Outcome::Failure);
        b
    }

    #[test]
    fn successes_are_counted_only_while_closed_and_an_opening_drops_them() {
        let g = Gate::new(Duration::from_secs(1));
        assert!(g.count_success() && g.count_success());
        assert_eq!(g.take_successes(), 2);
        assert_eq!(g.take_successes(), 0, "taken once");
        assert!(g.count_success());
        g.publish(&open_breaker());
        assert_eq!(g.take_successes(), 0, "dropped by the opening");
        assert!(
            !g.count_success(),
            "an open gate sends outcomes to the actor"
        );
    }

    #[test]
    fn a_closed_gate_admits_everyone() {
        let g = Gate::new(Duration::from_secs(1));
        assert_eq!(g.admit(5), Admission::Plain(Availability::Closed));
    }

    #[test]
    fn one_probe_per_opening_until_its_lease_runs_out() {
        let g = Gate::new(Duration::from_millis(1_000));
        let b = open_breaker();
        g.publish(&b);
        let open = Admission::Plain(Availability::Open { until_ms: 100 });
        assert_eq!(g.admit(99), open);
        assert_eq!(
            g.admit(100),
            Admission::Probe {
                epoch: 1,
                at_ms: 100
            }
        );
        // Busy until the lease ends (1,100), each caller told to come back within a
        // second (the probe usually decides sooner than its lease).
        let busy = |until_ms| Admission::Plain(Availability::Open { until_ms });
        assert_eq!(g.admit(100), busy(1_100));
        assert_eq!(g.admit(1_099), busy(1_100));
        // The actor republishing the same opening keeps the claim.
        g.publish(&b);
        assert_eq!(g.admit(500), busy(1_100));
        assert_eq!(
            g.admit(1_100),
            Admission::Probe {
                epoch: 1,
                at_ms: 1_100
            }
        );
    }

    /// After a 429, calls arriving while the probe is out were told to come back at the
    /// end of its 30 s lease, and both SDKs waited that long for a provider already fine.
    #[test]
    fn while_the_probe_is_out_others_are_told_to_come_back_within_a_second() {
        let g = Gate::new(Duration::from_secs(30));
        g.publish(&open_breaker());
        assert!(matches!(g.admit(100), Admission::Probe { .. }));
        assert_eq!(
            g.admit(200),
            Admission::Plain(Availability::Open { until_ms: 1_200 })
        );
        assert_eq!(
            g.admit(29_900),
            Admission::Plain(Availability::Open { until_ms: 30_100 })
        );
    }

    #[test]
    fn a_new_opening_voids_the_old_claim() {
        let g = Gate::new(Duration::from_millis(1_000));
        let mut b = open_breaker();
        g.publish(&b);
        assert!(matches!(g.admit(100), Admission::Probe { .. }));
        b.record(150, Outcome::Failure); // the probe failed: reopened until 150 + 200
        g.publish(&b);
        assert_eq!(
            g.admit(349),
            Admission::Plain(Availability::Open { until_ms: 350 })
        );
        assert_eq!(
            g.admit(350),
            Admission::Probe {
                epoch: 2,
                at_ms: 350
            }
        );
    }
}
