#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The circuit breaker state machine, driven by a fake clock.

use std::time::Duration;

use proptest::prelude::*;
use switchboard_ledger::{Clock, ManualClock};
use switchboard_router::{Admit, Breaker, BreakerConfig, BreakerState, Outcome, Transition};

const S: Outcome = Outcome::Success;
const F: Outcome = Outcome::Failure;

fn cfg() -> BreakerConfig {
    BreakerConfig {
        window: 10,
        min_requests: 4,
        failure_ratio: 0.5,
        consecutive_failures: 3,
        cooldown: Duration::from_millis(1_000),
        max_cooldown: Duration::from_millis(5_000),
        probe_timeout: Duration::from_millis(10_000),
    }
}

/// A breaker and the fake clock it is driven by.
struct Rig {
    b: Breaker,
    clock: ManualClock,
}

impl Rig {
    fn new(cfg: BreakerConfig) -> Self {
        Self {
            b: Breaker::new(cfg),
            clock: ManualClock::new(0),
        }
    }

    fn feed(&mut self, outcomes: &[Outcome]) -> Option<Transition> {
        let mut last = None;
        for &o in outcomes {
            last = self.b.record(self.clock.now_ms(), o).or(last);
        }
        last
    }

    fn allow(&mut self) -> Admit {
        self.b.allow(self.clock.now_ms())
    }

    fn at(&self, ms: u64) {
        self.clock.set(ms);
    }
}

fn open(until_ms: u64, trips: u32) -> BreakerState {
    BreakerState::Open { until_ms, trips }
}

#[test]
fn it_trips_when_the_failure_ratio_is_reached_with_enough_requests() {
    let mut r = Rig::new(cfg());
    assert_eq!(r.feed(&[S, F, S]), None);
    assert_eq!(r.b.state(), BreakerState::Closed);
    r.at(40);
    let t = r.feed(&[F]).expect("2 of 4 failed");
    assert_eq!(
        (t.from, t.to, t.at_ms),
        (BreakerState::Closed, open(1_040, 1), 40)
    );
}

#[test]
fn it_does_not_trip_below_min_requests_whatever_the_ratio() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, S, F]);
    assert_eq!(
        r.b.state(),
        BreakerState::Closed,
        "2 of 3 failed, but 3 < 4"
    );
    assert_eq!(r.allow(), Admit::Yes);
}

#[test]
fn the_ratio_is_of_the_last_outcomes_not_of_all_history() {
    let mut r = Rig::new(BreakerConfig {
        window: 4,
        consecutive_failures: 0,
        ..cfg()
    });
    r.feed(&[F, S, S, S, S, S, F]);
    assert_eq!(r.b.state(), BreakerState::Closed, "last four: S S S F");
    r.feed(&[F]);
    assert_eq!(
        r.b.state(),
        open(1_000, 1),
        "last four: S S F F, though only 3 of 8 failed overall"
    );
}

#[test]
fn it_trips_on_consecutive_failures_even_with_a_good_ratio() {
    let mut r = Rig::new(cfg());
    r.feed(&[S, S, S, S, S, S, S, F, F]);
    assert_eq!(r.b.state(), BreakerState::Closed);
    r.feed(&[F]);
    assert_eq!(r.b.state(), open(1_000, 1), "3 in a row; ratio only 3/10");
}

#[test]
fn a_success_breaks_a_run_of_failures() {
    let mut r = Rig::new(BreakerConfig {
        min_requests: 100,
        ..cfg()
    });
    r.feed(&[F, F, S, F, F, S, F, F]);
    assert_eq!(r.b.state(), BreakerState::Closed);
}

#[test]
fn a_429_with_retry_after_opens_until_then() {
    let mut r = Rig::new(cfg());
    r.at(100);
    let t = r.feed(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_millis(3_000)),
    }]);
    assert_eq!(t.map(|t| t.to), Some(open(3_100, 1)));
    r.at(3_099);
    assert_eq!(r.allow(), Admit::No { until_ms: 3_100 });
    r.at(3_100);
    assert_eq!(r.allow(), Admit::Probe);
}

#[test]
fn a_429_without_retry_after_is_just_a_failure() {
    let mut r = Rig::new(cfg());
    let rl = Outcome::RateLimited { retry_after: None };
    r.feed(&[rl, rl]);
    assert_eq!(r.b.state(), BreakerState::Closed);
    r.feed(&[rl]);
    assert_eq!(r.b.state(), open(1_000, 1));
}

#[test]
fn when_a_rule_trips_too_the_longer_of_cooldown_and_retry_after_wins() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F]);
    r.feed(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_millis(200)),
    }]);
    assert_eq!(r.b.state(), open(1_000, 1));
    let mut r = Rig::new(cfg());
    r.feed(&[F, F]);
    r.feed(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_millis(4_000)),
    }]);
    assert_eq!(r.b.state(), open(4_000, 1));
}

#[test]
fn while_open_late_outcomes_are_ignored_but_a_retry_after_can_extend_it() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    r.at(500);
    assert_eq!(r.feed(&[S, S, F]), None);
    assert_eq!(r.b.state(), open(1_000, 1));
    let t = r.feed(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_millis(2_000)),
    }]);
    assert_eq!(t.map(|t| t.to), Some(open(2_500, 1)));
    r.feed(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_millis(1)),
    }]);
    assert_eq!(r.b.state(), open(2_500, 1), "never shortened");
}

#[test]
fn cooldown_doubles_with_each_failed_probe_and_stops_at_the_cap() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    let mut untils = vec![];
    for _ in 0..5 {
        let BreakerState::Open { until_ms, .. } = r.b.state() else {
            panic!("{:?}", r.b.state())
        };
        untils.push(until_ms);
        r.at(until_ms);
        assert_eq!(r.allow(), Admit::Probe);
        r.feed(&[F]);
    }
    // Cooldowns 1s, 2s, 4s, then capped at 5s.
    assert_eq!(untils, vec![1_000, 3_000, 7_000, 12_000, 17_000]);
    assert_eq!(r.b.state(), open(22_000, 6));
}

#[test]
fn half_open_admits_exactly_one_probe_at_a_time() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    r.at(999);
    assert_eq!(r.allow(), Admit::No { until_ms: 1_000 });
    r.at(1_000);
    assert_eq!(r.allow(), Admit::Probe);
    assert_eq!(
        r.b.state(),
        BreakerState::HalfOpen {
            trips: 1,
            probe_in_flight: true
        }
    );
    // Others are refused until the probe's lease ends (11,000), told to come back within
    // a second rather than at the lease's end.
    for now in [1_000, 1_001, 10_999] {
        r.at(now);
        let until_ms = (now + 1_000).min(11_000);
        assert_eq!(r.allow(), Admit::No { until_ms }, "at {now}");
    }
}

#[test]
fn an_unanswered_probe_is_given_to_another_caller_after_its_lease() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    r.at(1_000);
    assert_eq!(r.allow(), Admit::Probe);
    r.at(11_000);
    assert_eq!(r.allow(), Admit::Probe);
    assert_eq!(r.allow(), Admit::No { until_ms: 12_000 });
}

#[test]
fn a_successful_probe_closes_clears_the_window_and_resets_the_trips() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    r.at(1_000);
    r.allow();
    r.feed(&[F]); // reopened until 3,000 with trips 2
    r.at(3_000);
    assert_eq!(r.allow(), Admit::Probe);
    let t = r.feed(&[S]).expect("closes");
    assert_eq!((t.from.name(), t.to), ("half_open", BreakerState::Closed));
    assert_eq!(r.allow(), Admit::Yes);
    // A fresh start: two failures neither make a run of three nor reach min_requests.
    r.feed(&[F, F]);
    assert_eq!(r.b.state(), BreakerState::Closed);
    r.at(5_000);
    r.feed(&[F]);
    assert_eq!(r.b.state(), open(6_000, 1), "the first cooldown again");
}

#[test]
fn an_outcome_reported_after_the_cooldown_decides_even_without_a_probe() {
    let mut r = Rig::new(cfg());
    r.feed(&[F, F, F]);
    r.at(1_500);
    let t = r.feed(&[S]).expect("closes");
    assert_eq!((t.from, t.to), (open(1_000, 1), BreakerState::Closed));
}

#[test]
fn cooldown_and_epoch_are_exposed_for_callers() {
    let r = Rig::new(cfg());
    assert_eq!(r.b.cooldown(1), Duration::from_millis(1_000));
    assert_eq!(r.b.cooldown(3), Duration::from_millis(4_000));
    assert_eq!(r.b.cooldown(30), Duration::from_millis(5_000));
    assert_eq!(r.b.epoch(), 0);
}

#[test]
fn the_state_serialises_for_gossip() {
    let json = serde_json::to_string(&open(5, 2)).unwrap();
    assert_eq!(json, r#"{"state":"open","until_ms":5,"trips":2}"#);
    let back: BreakerState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, open(5, 2));
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Allow,
    Record(Outcome),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..3_000).prop_map(Op::Advance),
        Just(Op::Allow),
        Just(Op::Allow),
        Just(Op::Record(S)),
        Just(Op::Record(F)),
        Just(Op::Record(F)),
        (proptest::option::of(0u64..4_000)).prop_map(|ms| Op::Record(Outcome::RateLimited {
            retry_after: ms.map(Duration::from_millis)
        })),
    ]
}

proptest! {
    #[test]
    fn it_never_admits_while_open_nor_hands_out_two_live_probes(
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let probe_timeout = 5_000;
        let mut b = Breaker::new(BreakerConfig {
            probe_timeout: Duration::from_millis(probe_timeout),
            ..cfg()
        });
        let mut now = 0u64;
        let mut outstanding_probe: Option<u64> = None;
        for op in ops {
            match op {
                Op::Advance(dt) => now += dt,
                Op::Record(o) => {
                    b.record(now, o);
                    // Any outcome reported while half-open decides the probe.
                    outstanding_probe = None;
                }
                Op::Allow => {
                    let before = b.state();
                    let admit = b.allow(now);
                    if let BreakerState::Open { until_ms, .. } = before
                        && now < until_ms
                    {
                        prop_assert_eq!(admit, Admit::No { until_ms });
                    }
                    match admit {
                        Admit::Yes => prop_assert_eq!(before, BreakerState::Closed),
                        Admit::Probe => {
                            if let Some(since) = outstanding_probe {
                                prop_assert!(now >= since + probe_timeout,
                                    "second probe at {} while one from {} is live", now, since);
                            }
                            outstanding_probe = Some(now);
                        }
                        Admit::No { until_ms } => prop_assert!(until_ms > now),
                    }
                }
            }
        }
    }

    #[test]
    fn only_successes_never_open_it(n in 0usize..200) {
        let mut b = Breaker::new(cfg());
        for i in 0..n {
            prop_assert_eq!(b.record(i as u64, S), None);
        }
        prop_assert_eq!(b.allow(0), Admit::Yes);
    }
}
