//! Many requests racing for the last of a budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{Harness, JAN_2024_MS, quota, tenant};
use switchboard_ledger::{Actual, Metric, RefusalCause, Want, Window};
use tokio::sync::Barrier;

const TASKS: usize = 200;
/// $0.001 in nano-dollars.
const COST: i64 = 1_000_000;

/// Starts `TASKS` requests at once, each estimated at `COST` and really costing `real`;
/// returns how many were admitted, and the ledger.
async fn race(limit: i64, real: i64) -> (usize, Harness) {
    let h = Harness::at(JAN_2024_MS);
    let budget = Arc::new(quota(tenant("acme"), Metric::Money, Window::Day, limit));
    let ledger = Arc::new(h.ledger);
    let start = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let (ledger, budget, start) = (ledger.clone(), budget.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            match ledger
                .reserve(&format!("r{i}"), &[Want::new(&budget, COST)])
                .await
            {
                Ok(reservation) => {
                    tokio::task::yield_now().await;
                    let actual = Actual {
                        money: real,
                        ..Actual::default()
                    };
                    ledger.settle(reservation, &actual);
                    true
                }
                Err(refusal) => {
                    assert_eq!(refusal.cause, RefusalCause::Exhausted);
                    false
                }
            }
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    let ledger = Arc::into_inner(ledger).expect("every task has finished");
    (
        admitted,
        Harness {
            clock: h.clock,
            ledger,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_is_never_exceeded_under_200_concurrent_requests() {
    const K: i64 = 37;
    let limit = K * COST + COST / 2;
    let (admitted, h) = race(limit, COST).await;
    assert_eq!(admitted as i64, K);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, limit);
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(status.spent, K * COST);
    assert!(status.spent <= limit);
    assert_eq!(status.reserved, 0);
    assert_eq!(status.available, COST / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_costing_less_than_estimated_never_overspend() {
    const K: i64 = 37;
    let limit = K * COST;
    let (admitted, h) = race(limit, COST / 3).await;
    // Calls in flight hold a whole estimate each, so how many get in depends on timing;
    // never fewer than the estimates fit, and never more spend than the limit.
    assert!(admitted as i64 >= K, "{admitted} admitted");
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, limit);
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(status.spent, admitted as i64 * (COST / 3));
    assert!(status.spent <= limit);
}
