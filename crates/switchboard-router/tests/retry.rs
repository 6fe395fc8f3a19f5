#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The retry and fallback table of `plan`, and the backoff it waits by.

use std::time::Duration;

use proptest::prelude::*;
use switchboard_router::backoff::ceiling;
use switchboard_router::{
    AttemptError, Backoff, Fallbacks, Jitter, Next, Planner, RetryOn, RetryPolicy, Skip, SplitMix,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn status(s: u16) -> AttemptError {
    AttemptError::Status {
        status: s,
        retry_after: None,
    }
}

fn rate_limited(after: Duration) -> AttemptError {
    AttemptError::Status {
        status: 429,
        retry_after: Some(after),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        jitter: Jitter::None,
        ..RetryPolicy::default()
    }
}

fn planner(policy: RetryPolicy, fallbacks: Fallbacks) -> Planner {
    Planner::new("main", policy, fallbacks, 0, SplitMix::seeded(3))
}

fn chain(aliases: &[&str]) -> Fallbacks {
    Fallbacks {
        chain: aliases.iter().map(|a| a.to_string()).collect(),
        ..Fallbacks::default()
    }
}

const FAILOVER: Next = Next::Failover {
    after: Duration::ZERO,
};

#[test]
fn transient_errors_fail_over_at_once_while_other_deployments_remain() {
    for err in [
        status(429),
        status(500),
        status(503),
        status(529),
        status(409),
        status(408),
        AttemptError::Timeout,
        AttemptError::Connect,
    ] {
        let mut p = planner(policy(), Fallbacks::default());
        assert_eq!(p.after_failure(0, &err, 2), FAILOVER, "{err:?}");
    }
}

#[test]
fn transient_errors_retry_the_same_deployment_after_a_backoff_when_it_is_the_last() {
    for err in [
        status(500),
        status(429),
        AttemptError::Timeout,
        AttemptError::Connect,
    ] {
        let mut p = planner(policy(), Fallbacks::default());
        assert_eq!(
            p.after_failure(0, &err, 0),
            Next::RetrySame { after: MS(100) },
            "{err:?}"
        );
        assert_eq!(
            p.after_failure(0, &err, 0),
            Next::RetrySame { after: MS(200) }
        );
        assert_eq!(p.after_failure(0, &err, 0), Next::GiveUp, "3 attempts made");
    }
}

#[test]
fn client_errors_are_never_retried_nor_failed_over() {
    for err in [
        status(400),
        status(413),
        status(422),
        AttemptError::BadRequest,
    ] {
        let mut p = planner(policy(), chain(&["backup"]));
        assert_eq!(p.after_failure(0, &err, 3), Next::GiveUp, "{err:?}");
    }
}

#[test]
fn a_deployment_refusing_the_gateways_key_or_model_is_failed_over_never_retried() {
    for s in [401, 403, 404] {
        let mut p = planner(policy(), chain(&["backup"]));
        assert_eq!(
            p.after_failure(0, &status(s), 2),
            Next::Failover {
                after: Duration::ZERO
            },
            "{s}"
        );
        let mut p = planner(policy(), chain(&["backup"]));
        assert_eq!(
            p.after_failure(0, &status(s), 0),
            Next::FallbackAlias("backup".into()),
            "{s}: the last one"
        );
        let mut p = planner(policy(), chain(&[]));
        assert_eq!(
            p.after_failure(0, &status(s), 0),
            Next::GiveUp,
            "{s}: nowhere left"
        );
    }
}

#[test]
fn a_disabled_retry_class_gives_up() {
    let off = RetryPolicy {
        retry_on: RetryOn {
            timeouts: false,
            ..RetryOn::default()
        },
        ..policy()
    };
    let mut p = planner(off.clone(), chain(&["backup"]));
    assert_eq!(p.after_failure(0, &AttemptError::Timeout, 2), Next::GiveUp);
    let mut p = planner(off, chain(&["backup"]));
    assert_eq!(p.after_failure(0, &status(408), 2), Next::GiveUp);
}

#[test]
fn retry_after_is_waited_out_when_longer_than_the_backoff() {
    let mut p = planner(policy(), Fallbacks::default());
    let next = p.after_failure(0, &rate_limited(MS(2_500)), 0);
    assert_eq!(next, Next::RetrySame { after: MS(2_500) });
    // Shorter than the backoff: the backoff wins.
    let mut p = planner(policy(), Fallbacks::default());
    let next = p.after_failure(0, &rate_limited(MS(10)), 0);
    assert_eq!(next, Next::RetrySame { after: MS(100) });
}

#[test]
fn retry_after_does_not_delay_a_failover() {
    let mut p = planner(policy(), Fallbacks::default());
    assert_eq!(p.after_failure(0, &rate_limited(MS(3_000)), 1), FAILOVER);
}

#[test]
fn a_retry_after_beyond_max_backoff_moves_on_instead_of_waiting() {
    let mut p = planner(policy(), chain(&["backup"]));
    let next = p.after_failure(0, &rate_limited(Duration::from_secs(30)), 0);
    assert_eq!(next, Next::FallbackAlias("backup".into()));
    let mut p = planner(policy(), Fallbacks::default());
    let next = p.after_failure(0, &rate_limited(Duration::from_secs(30)), 0);
    assert_eq!(next, Next::GiveUp);
}

#[test]
fn no_wait_is_planned_past_the_deadline() {
    let tight = RetryPolicy {
        total_deadline: Some(MS(1_000)),
        ..policy()
    };
    let mut p = planner(tight.clone(), Fallbacks::default());
    // At 900 ms, 100 ms are left: a 100 ms wait would end exactly at the deadline.
    assert_eq!(p.after_failure(900, &status(500), 0), Next::GiveUp);
    let mut p = planner(tight.clone(), Fallbacks::default());
    assert_eq!(
        p.after_failure(899, &status(500), 0),
        Next::RetrySame { after: MS(100) }
    );
    let mut p = planner(tight.clone(), chain(&["backup"]));
    let next = p.after_failure(500, &rate_limited(MS(600)), 0);
    assert_eq!(
        next,
        Next::FallbackAlias("backup".into()),
        "wait exceeds time left"
    );
    let mut p = planner(tight, chain(&["backup"]));
    assert_eq!(
        p.after_failure(1_000, &status(500), 3),
        Next::GiveUp,
        "deadline reached"
    );
}

#[test]
fn the_attempt_timeout_is_shortened_to_the_time_left() {
    let p = Planner::new(
        "main",
        RetryPolicy {
            per_attempt_timeout: Some(MS(30_000)),
            total_deadline: Some(MS(60_000)),
            ..policy()
        },
        Fallbacks::default(),
        10_000,
        SplitMix::seeded(1),
    );
    assert_eq!(p.time_left(40_000), Some(MS(30_000)));
    assert_eq!(p.attempt_timeout(10_000), Some(MS(30_000)));
    assert_eq!(p.attempt_timeout(55_000), Some(MS(15_000)));
    assert_eq!(p.time_left(99_000), Some(Duration::ZERO));
    let p = planner(policy(), Fallbacks::default());
    assert_eq!((p.time_left(5), p.attempt_timeout(5)), (None, None));
}

#[test]
fn max_attempts_counts_failovers_and_retries_on_the_alias() {
    let mut p = planner(policy(), chain(&["b"]));
    assert_eq!(p.after_failure(0, &status(500), 5), FAILOVER);
    assert_eq!(p.after_failure(0, &status(500), 4), FAILOVER);
    assert_eq!(
        p.after_failure(0, &status(500), 3),
        Next::FallbackAlias("b".into())
    );
    assert_eq!(p.attempts(), 3);
}

#[test]
fn the_fallback_chain_is_tried_in_order_each_alias_once_with_a_fresh_budget() {
    let one = RetryPolicy {
        max_attempts: 1,
        ..policy()
    };
    let mut p = planner(one, chain(&["b", "main", "c", "b"]));
    assert_eq!(
        p.after_failure(0, &status(502), 2),
        Next::FallbackAlias("b".into())
    );
    assert_eq!(
        p.after_failure(0, &status(502), 2),
        Next::FallbackAlias("c".into())
    );
    assert_eq!(p.after_failure(0, &status(502), 2), Next::GiveUp);
    assert_eq!(p.attempts(), 3);

    let mut p = planner(policy(), chain(&["b"]));
    for _ in 0..2 {
        assert_eq!(p.after_failure(0, &status(500), 1), FAILOVER);
    }
    assert_eq!(
        p.after_failure(0, &status(500), 1),
        Next::FallbackAlias("b".into())
    );
    assert_eq!(
        p.after_failure(0, &status(500), 1),
        FAILOVER,
        "b has its own 3 attempts"
    );
}

#[test]
fn an_alias_with_every_breaker_open_is_skipped_down_the_chain_without_an_attempt() {
    let one = RetryPolicy {
        max_attempts: 1,
        ..policy()
    };
    let mut p = planner(one, chain(&["b", "c"]));
    assert_eq!(p.skip(Skip::AllOpen), Next::FallbackAlias("b".into()));
    assert_eq!(p.attempts(), 0, "a skip is not an attempt");
    // b is tried and fails: the chain continues after b, not from its start.
    assert_eq!(
        p.after_failure(0, &status(503), 0),
        Next::FallbackAlias("c".into())
    );
    assert_eq!(
        p.skip(Skip::AllOpen),
        Next::GiveUp,
        "the chain is exhausted"
    );

    // A fallback alias reached by a skip gets the full attempt budget.
    let mut p = planner(policy(), chain(&["b"]));
    assert_eq!(p.skip(Skip::AllOpen), Next::FallbackAlias("b".into()));
    for _ in 0..2 {
        assert_eq!(p.after_failure(0, &status(500), 1), FAILOVER);
    }
}

#[test]
fn an_alias_where_nothing_fits_is_skipped_to_the_context_fallback_once() {
    let fb = Fallbacks {
        context: Some("long".into()),
        ..chain(&["b"])
    };
    let mut p = planner(policy(), fb);
    assert_eq!(
        p.skip(Skip::NothingFits),
        Next::FallbackAlias("long".into())
    );
    assert_eq!(p.skip(Skip::NothingFits), Next::GiveUp);
    assert_eq!(
        p.skip(Skip::AllOpen),
        Next::FallbackAlias("b".into()),
        "the chain is still there"
    );
    let mut p = planner(policy(), chain(&["b"]));
    assert_eq!(
        p.skip(Skip::NothingFits),
        Next::GiveUp,
        "no context fallback"
    );
}

#[test]
fn a_prompt_too_long_goes_to_the_context_fallback_once() {
    let fb = Fallbacks {
        context: Some("long".into()),
        ..chain(&["b"])
    };
    let mut p = planner(policy(), fb);
    let err = AttemptError::ContextTooLong;
    assert_eq!(
        p.after_failure(0, &err, 2),
        Next::FallbackAlias("long".into())
    );
    assert_eq!(p.after_failure(0, &err, 2), Next::GiveUp);
    let mut p = planner(policy(), chain(&["b"]));
    assert_eq!(
        p.after_failure(0, &err, 2),
        Next::GiveUp,
        "no context fallback"
    );
}

#[test]
fn a_content_policy_refusal_goes_to_the_content_policy_fallback() {
    let fb = Fallbacks {
        content_policy: Some("lenient".into()),
        ..Fallbacks::default()
    };
    let mut p = planner(policy(), fb);
    let err = AttemptError::ContentPolicy;
    assert_eq!(
        p.after_failure(0, &err, 2),
        Next::FallbackAlias("lenient".into())
    );
    assert_eq!(p.after_failure(0, &err, 2), Next::GiveUp);
    let mut p = planner(policy(), chain(&["b"]));
    assert_eq!(p.after_failure(0, &err, 2), Next::GiveUp);
}

#[test]
fn backoff_grows_exponentially_and_stops_at_the_cap() {
    let capped = RetryPolicy {
        max_attempts: 10,
        max_backoff: MS(1_000),
        ..policy()
    };
    let mut p = planner(capped, Fallbacks::default());
    let waits: Vec<_> = (0..7)
        .map(|_| match p.after_failure(0, &status(503), 0) {
            Next::RetrySame { after } => after.as_millis(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(waits, vec![100, 200, 400, 800, 1_000, 1_000, 1_000]);
}

#[test]
fn backoff_starts_over_on_a_new_deployment() {
    let mut p = planner(policy(), Fallbacks::default());
    assert_eq!(
        p.after_failure(0, &status(500), 0),
        Next::RetrySame { after: MS(100) }
    );
    let mut p = planner(
        RetryPolicy {
            max_attempts: 5,
            ..policy()
        },
        Fallbacks::default(),
    );
    assert_eq!(p.after_failure(0, &status(500), 1), FAILOVER);
    assert_eq!(
        p.after_failure(0, &status(500), 0),
        Next::RetrySame { after: MS(100) },
        "the first retry of this deployment"
    );
}

proptest! {
    #[test]
    fn full_jitter_stays_within_zero_and_the_ceiling(
        seed in any::<u64>(),
        base_ms in 1u64..1_000,
        max_ms in 1u64..20_000,
        retry in 1u32..40,
    ) {
        let (base, max) = (MS(base_ms), MS(max_ms));
        let mut b = Backoff::new(base, max, Jitter::Full);
        let wait = b.delay(retry, &mut SplitMix::seeded(seed));
        prop_assert!(wait <= ceiling(base, max, retry));
    }

    #[test]
    fn decorrelated_jitter_stays_within_base_and_max(
        seed in any::<u64>(),
        base_ms in 1u64..1_000,
        extra_ms in 0u64..20_000,
        retries in 1usize..20,
    ) {
        let (base, max) = (MS(base_ms), MS(base_ms + extra_ms));
        let mut b = Backoff::new(base, max, Jitter::Decorrelated);
        let mut rng = SplitMix::seeded(seed);
        for n in 1..=retries {
            let wait = b.delay(u32::try_from(n).unwrap(), &mut rng);
            prop_assert!(base <= wait && wait <= max, "{wait:?}");
        }
    }

    #[test]
    fn the_planner_never_plans_a_wait_past_the_deadline_nor_past_max_attempts(
        seed in any::<u64>(),
        deadline_ms in 1u64..5_000,
        steps in proptest::collection::vec((0u64..800, 0usize..3, 0u8..6, 0u64..4_000), 1..12),
    ) {
        let policy = RetryPolicy {
            total_deadline: Some(MS(deadline_ms)),
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let mut p = Planner::new("main", policy, chain(&["b", "c"]), 0, SplitMix::seeded(seed));
        let mut now = 0;
        let mut on_alias = 0;
        for (dt, remaining, kind, retry_after) in steps {
            now += dt;
            let err = match kind {
                0 => status(500),
                1 => rate_limited(MS(retry_after)),
                2 => AttemptError::Timeout,
                3 => AttemptError::Connect,
                4 => status(502),
                _ => status(429),
            };
            on_alias += 1;
            let left = MS(deadline_ms.saturating_sub(now));
            match p.after_failure(now, &err, remaining) {
                Next::RetrySame { after } => {
                    prop_assert!(after < left, "waits {after:?} with {left:?} left");
                    prop_assert!(after <= MS(5_000));
                    prop_assert!(on_alias < 4);
                    if let AttemptError::Status { retry_after: Some(ra), .. } = err {
                        prop_assert!(after >= ra);
                    }
                }
                Next::Failover { after } => {
                    prop_assert_eq!(after, Duration::ZERO);
                    prop_assert!(left > Duration::ZERO && remaining > 0 && on_alias < 4);
                }
                Next::FallbackAlias(_) => {
                    prop_assert!(left > Duration::ZERO);
                    on_alias = 0;
                }
                Next::GiveUp => break,
            }
        }
    }
}
