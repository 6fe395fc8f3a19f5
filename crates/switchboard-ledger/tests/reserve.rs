//! Reserving, settling and releasing through the node's `Ledger`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, JAN_2024_MS, MINUTE_MS, key, quota, tenant};
use switchboard_ledger::{Actual, Metric, RefusalCause, Want, Window};

fn requests(n: i64) -> Actual {
    Actual {
        requests: n,
        ..Actual::default()
    }
}

fn money(n: i64) -> Actual {
    Actual {
        money: n,
        ..Actual::default()
    }
}

#[tokio::test]
async fn no_phantom_refusals_when_calls_cost_less_than_their_estimate() {
    const LIMIT: i64 = 100;
    const ESTIMATE: i64 = 10;
    const REAL: i64 = 4;
    let h = Harness::at(JAN_2024_MS);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, LIMIT);
    // Request n + 1 fits while what is really spent leaves room for one more estimate.
    let expected = (0..).take_while(|n| LIMIT - REAL * n >= ESTIMATE).count();
    assert_eq!(expected, 23);
    let mut admitted = 0;
    let refusal = loop {
        match h
            .ledger
            .reserve(&format!("r{admitted}"), &[Want::new(&budget, ESTIMATE)])
            .await
        {
            Ok(r) => {
                h.ledger.settle(r, &money(REAL));
                admitted += 1;
            }
            Err(refusal) => break refusal,
        }
        assert!(admitted <= expected, "admitted past the limit");
    };
    assert_eq!(admitted, expected);
    assert_eq!(refusal.cause, RefusalCause::Exhausted);
    assert_eq!(refusal.remaining, LIMIT - REAL * expected as i64);
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(status.spent, REAL * expected as i64);
}

#[tokio::test]
async fn a_rate_window_refuses_past_its_limit_and_admits_again_next_minute() {
    let h = Harness::at(JAN_2024_MS + 20 * MINUTE_MS + 30_000);
    let rpm = quota(key("k1"), Metric::Requests, Window::Minute, 5);
    for i in 0..5 {
        let r = h
            .ledger
            .reserve(&format!("r{i}"), &[Want::new(&rpm, 1)])
            .await
            .unwrap();
        h.ledger.settle(r, &requests(1));
    }
    let refusal = h
        .ledger
        .reserve("r5", &[Want::new(&rpm, 1)])
        .await
        .unwrap_err();
    assert_eq!(refusal.quota, rpm.id);
    assert_eq!((refusal.limit, refusal.remaining), (5, 0));
    // All five are spent: only the next minute helps, and it starts in 30 s.
    assert_eq!(refusal.retry_after_ms, Some(30_000));
    h.clock.advance(30_000);
    assert!(h.ledger.reserve("r6", &[Want::new(&rpm, 1)]).await.is_ok());
}

#[tokio::test]
async fn a_refusal_while_calls_are_in_flight_suggests_retrying_soon() {
    let h = Harness::at(JAN_2024_MS + 59_500);
    let rpm = quota(key("k1"), Metric::Requests, Window::Minute, 5);
    let mut in_flight = Vec::new();
    for i in 0..5 {
        in_flight.push(
            h.ledger
                .reserve(&format!("r{i}"), &[Want::new(&rpm, 1)])
                .await
                .unwrap(),
        );
    }
    let refusal = h
        .ledger
        .reserve("r5", &[Want::new(&rpm, 1)])
        .await
        .unwrap_err();
    // A call in flight may still fail and give its reservation back; the minute ends
    // in 500 ms anyway.
    assert_eq!(refusal.retry_after_ms, Some(500));
    h.clock.set(JAN_2024_MS + 10_000);
    let refusal = h
        .ledger
        .reserve("r6", &[Want::new(&rpm, 1)])
        .await
        .unwrap_err();
    assert_eq!(refusal.retry_after_ms, Some(1_000));
    h.ledger.release(in_flight.pop().unwrap());
    assert!(h.ledger.reserve("r7", &[Want::new(&rpm, 1)]).await.is_ok());
}

#[tokio::test]
async fn when_one_quota_refuses_nothing_of_the_request_stays_reserved() {
    let h = Harness::at(JAN_2024_MS);
    let rpm = quota(key("k1"), Metric::Requests, Window::Minute, 100);
    let budget = quota(tenant("acme"), Metric::Money, Window::Month, 50);
    let wants = [Want::new(&rpm, 1), Want::new(&budget, 60)];
    let refusal = h.ledger.reserve("r1", &wants).await.unwrap_err();
    assert_eq!(refusal.quota, budget.id);
    let status = h.ledger.status(&rpm).await.unwrap();
    assert_eq!(
        (status.reserved, status.spent, status.available),
        (0, 0, 100)
    );
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!((status.reserved, status.available), (0, 50));
}

#[tokio::test]
async fn a_dropped_reservation_releases_its_amounts() {
    let h = Harness::at(JAN_2024_MS);
    let tpm = quota(key("k1"), Metric::Tokens, Window::Minute, 100);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 1_000);
    let wants = [Want::new(&tpm, 30), Want::new(&budget, 200)];
    let reservation = h.ledger.reserve("r1", &wants).await.unwrap();
    assert_eq!(h.ledger.status(&tpm).await.unwrap().reserved, 30);
    drop(reservation);
    let status = h.ledger.status(&tpm).await.unwrap();
    assert_eq!(
        (status.reserved, status.spent, status.available),
        (0, 0, 100)
    );
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!((status.reserved, status.available), (0, 1_000));
}

#[tokio::test]
async fn a_released_reservation_costs_nothing() {
    let h = Harness::at(JAN_2024_MS);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let r = h
        .ledger
        .reserve("r1", &[Want::new(&budget, 100)])
        .await
        .unwrap();
    h.ledger.release(r);
    let r = h
        .ledger
        .reserve("r2", &[Want::new(&budget, 100)])
        .await
        .unwrap();
    h.ledger.settle(r, &money(100));
    assert_eq!(h.ledger.status(&budget).await.unwrap().spent, 100);
}

#[tokio::test]
async fn each_quota_is_charged_by_its_own_metric() {
    let h = Harness::at(JAN_2024_MS);
    let rpm = quota(key("k1"), Metric::Requests, Window::Minute, 10);
    let tpm = quota(key("k1"), Metric::Tokens, Window::Minute, 1_000);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 1_000);
    let wants = [
        Want::new(&rpm, 1),
        Want::new(&tpm, 500),
        Want::new(&budget, 900),
    ];
    let r = h.ledger.reserve("r1", &wants).await.unwrap();
    let actual = Actual {
        money: 321,
        tokens: 123,
        requests: 1,
    };
    h.ledger.settle(r, &actual);
    assert_eq!(h.ledger.status(&rpm).await.unwrap().spent, 1);
    assert_eq!(h.ledger.status(&tpm).await.unwrap().spent, 123);
    assert_eq!(h.ledger.status(&budget).await.unwrap().spent, 321);
}

#[tokio::test]
async fn a_quota_listed_twice_in_one_request_is_charged_once() {
    let h = Harness::at(JAN_2024_MS);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 1_000);
    let wants = [Want::new(&budget, 100), Want::new(&budget, 100)];
    let r = h.ledger.reserve("r1", &wants).await.unwrap();
    h.ledger.settle(r, &money(150));
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(
        (status.spent, status.reserved, status.available),
        (150, 0, 850)
    );
}

#[tokio::test]
async fn a_late_settlement_of_the_previous_minute_does_not_charge_the_new_one() {
    let h = Harness::at(JAN_2024_MS + MINUTE_MS - 1);
    let tpm = quota(key("k1"), Metric::Tokens, Window::Minute, 100);
    let old = h
        .ledger
        .reserve("r1", &[Want::new(&tpm, 10)])
        .await
        .unwrap();
    h.clock.advance(1);
    let new = h
        .ledger
        .reserve("r2", &[Want::new(&tpm, 20)])
        .await
        .unwrap();
    let tokens = |n| Actual {
        tokens: n,
        ..Actual::default()
    };
    h.ledger.settle(old, &tokens(10));
    h.ledger.settle(new, &tokens(20));
    let status = h.ledger.status(&tpm).await.unwrap();
    assert_eq!((status.spent, status.available), (20, 80));
}

#[tokio::test]
async fn a_call_costing_more_than_reserved_is_charged_in_full_and_absorbed_once() {
    let h = Harness::at(JAN_2024_MS);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let r = h
        .ledger
        .reserve("r0", &[Want::new(&budget, 10)])
        .await
        .unwrap();
    h.ledger.settle(r, &money(30));
    // 70 is left, not 60: the overrun is charged once, not also held against the lease.
    let mut admitted = 0;
    while let Ok(r) = h
        .ledger
        .reserve(&format!("r{}", admitted + 1), &[Want::new(&budget, 10)])
        .await
    {
        h.ledger.settle(r, &money(10));
        admitted += 1;
        assert!(admitted <= 7, "admitted past the limit");
    }
    assert_eq!(admitted, 7);
    assert_eq!(h.ledger.status(&budget).await.unwrap().spent, 100);
}
