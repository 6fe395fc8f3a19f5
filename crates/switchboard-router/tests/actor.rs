#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The breaker actor and its handle: admission without awaiting, outcomes by cast,
//! synchronised with `sync` rather than sleeps.

use std::sync::Arc;
use std::time::Duration;

use switchboard_ledger::{Clock, ManualClock};
use switchboard_router::{
    Availability, BreakerConfig, BreakerHandle, BreakerState, Outcome, RouterError, spawn_breaker,
};

fn cfg() -> BreakerConfig {
    BreakerConfig {
        consecutive_failures: 3,
        cooldown: Duration::from_millis(1_000),
        max_cooldown: Duration::from_millis(60_000),
        probe_timeout: Duration::from_millis(10_000),
        ..BreakerConfig::default()
    }
}

async fn rig() -> (BreakerHandle, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(50_000));
    let h = spawn_breaker("openai/gpt-4o".into(), cfg(), clock.clone())
        .await
        .unwrap();
    (h, clock)
}

async fn trip(h: &BreakerHandle) {
    for _ in 0..3 {
        h.record(Outcome::Failure);
    }
    h.sync().await.unwrap();
}

#[tokio::test]
async fn a_new_breaker_admits_everyone() {
    let (h, clock) = rig().await;
    assert_eq!(h.name(), "openai/gpt-4o");
    assert_eq!(h.admit(clock.now_ms()), Availability::Closed);
    assert_eq!(h.state(), BreakerState::Closed);
    assert_eq!(h.transitions(), 0);
}

#[tokio::test]
async fn admission_follows_the_outcomes_recorded_before_a_sync() {
    let (h, clock) = rig().await;
    h.record(Outcome::Failure);
    h.record(Outcome::Failure);
    h.record(Outcome::Success);
    h.record(Outcome::Failure);
    h.sync().await.unwrap();
    assert_eq!(h.admit(clock.now_ms()), Availability::Closed, "no run of 3");
    trip(&h).await;
    let until_ms = 51_000;
    assert_eq!(h.state(), BreakerState::Open { until_ms, trips: 1 });
    assert_eq!(h.admit(50_999), Availability::Open { until_ms });
    assert_eq!(h.transitions(), 1);
}

#[tokio::test]
async fn the_probe_is_offered_once_the_cooldown_ends_without_waiting_for_the_actor() {
    let (h, _clock) = rig().await;
    trip(&h).await;
    // Nothing is sent to the actor between these admits: the gate decides alone.
    assert_eq!(h.admit(51_000), Availability::HalfOpenProbe);
    assert_eq!(
        h.admit(51_001),
        Availability::Open { until_ms: 52_001 },
        "one probe at a time; the others asked back within a second"
    );
    h.sync().await.unwrap();
    assert_eq!(
        h.state(),
        BreakerState::HalfOpen {
            trips: 1,
            probe_in_flight: true
        },
        "the actor mirrors the claim"
    );
    assert_eq!(h.admit(55_000), Availability::Open { until_ms: 56_000 });
    assert_eq!(
        h.admit(61_000),
        Availability::HalfOpenProbe,
        "the lease ran out"
    );
}

#[tokio::test]
async fn a_successful_probe_closes_the_breaker() {
    let (h, clock) = rig().await;
    trip(&h).await;
    clock.set(51_000);
    assert_eq!(h.admit(clock.now_ms()), Availability::HalfOpenProbe);
    h.record(Outcome::Success);
    h.sync().await.unwrap();
    assert_eq!(h.state(), BreakerState::Closed);
    assert_eq!(h.admit(clock.now_ms()), Availability::Closed);
    assert_eq!(h.transitions(), 3, "closed -> open -> half-open -> closed");
}

#[tokio::test]
async fn a_failed_probe_reopens_for_longer_and_a_new_probe_follows() {
    let (h, clock) = rig().await;
    trip(&h).await;
    clock.set(51_000);
    assert_eq!(h.admit(51_000), Availability::HalfOpenProbe);
    clock.set(51_200);
    h.record(Outcome::Failure);
    h.sync().await.unwrap();
    let until_ms = 51_200 + 2_000;
    assert_eq!(h.state(), BreakerState::Open { until_ms, trips: 2 });
    assert_eq!(h.admit(until_ms - 1), Availability::Open { until_ms });
    assert_eq!(
        h.admit(until_ms),
        Availability::HalfOpenProbe,
        "a new opening, a new probe"
    );
}

#[tokio::test]
async fn a_retry_after_opens_the_breaker_until_then() {
    let (h, _clock) = rig().await;
    h.record(Outcome::RateLimited {
        retry_after: Some(Duration::from_secs(7)),
    });
    h.sync().await.unwrap();
    assert_eq!(h.admit(56_999), Availability::Open { until_ms: 57_000 });
    assert_eq!(h.admit(57_000), Availability::HalfOpenProbe);
}

#[tokio::test]
async fn concurrent_callers_get_exactly_one_probe() {
    let (h, _clock) = rig().await;
    trip(&h).await;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let h = h.clone();
            std::thread::spawn(move || {
                (0..1_000)
                    .filter(|_| h.admit(52_000) == Availability::HalfOpenProbe)
                    .count()
            })
        })
        .collect();
    let probes: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(probes, 1);
}

#[tokio::test]
async fn a_stopped_breaker_reports_it_and_keeps_its_last_state() {
    let (h, clock) = rig().await;
    trip(&h).await;
    let other = h.clone();
    h.stop();
    assert_eq!(other.sync().await, Err(RouterError::Stopped));
    other.record(Outcome::Success);
    assert!(matches!(other.state(), BreakerState::Open { .. }));
    assert!(matches!(
        other.admit(clock.now_ms()),
        Availability::Open { .. }
    ));
}

#[tokio::test]
async fn successes_counted_at_the_gate_keep_their_place_before_later_failures() {
    // Ratio rule only: a window of 4, tripping at 60% failures once 2 outcomes are in.
    let cfg = BreakerConfig {
        window: 4,
        min_requests: 2,
        failure_ratio: 0.6,
        consecutive_failures: 0,
        ..cfg()
    };
    let clock = Arc::new(ManualClock::new(50_000));
    let h = spawn_breaker("d".into(), cfg, clock.clone()).await.unwrap();
    for _ in 0..3 {
        h.record(Outcome::Success);
    }
    h.record(Outcome::Failure);
    h.record(Outcome::Failure);
    h.sync().await.unwrap();
    // S S F F: 50% failures. Successes lost, or applied after the failures, would have
    // judged the failures alone (100%) and tripped.
    assert_eq!(h.state(), BreakerState::Closed);
    h.record(Outcome::Failure);
    h.sync().await.unwrap();
    // S F F F: 75%.
    assert!(matches!(h.state(), BreakerState::Open { .. }));
}
