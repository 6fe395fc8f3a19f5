//! What the admin API and response headers see: status, restore, set_limit, resets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, key, quota, tenant};
use switchboard_ledger::calendar::{MS_PER_DAY, days_from_civil};
use switchboard_ledger::{Actual, Metric, Quota, Refusal, Reservation, Want, Window};

fn date_ms(year: i64, month: u32, day: u32) -> u64 {
    u64::try_from(days_from_civil(year, month, day)).unwrap() * MS_PER_DAY
}

/// Reserves `amount` of `q` for request `id`.
async fn reserve(h: &Harness, id: &str, q: &Quota, amount: i64) -> Result<Reservation, Refusal> {
    h.ledger.reserve(id, &[Want::new(q, amount)]).await
}

fn money(n: i64) -> Actual {
    Actual {
        money: n,
        ..Actual::default()
    }
}

#[tokio::test]
async fn status_shows_spend_reservations_room_and_the_reset_time() {
    let h = Harness::at(date_ms(2024, 2, 10));
    let budget = quota(tenant("acme"), Metric::Money, Window::Month, 1_000);
    let r = reserve(&h, "r1", &budget, 100).await.unwrap();
    h.ledger.settle(r, &money(60));
    let _in_flight = reserve(&h, "r2", &budget, 50).await.unwrap();
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(status.limit, 1_000);
    assert_eq!(status.spent, 60);
    assert_eq!(status.reserved, 50);
    assert_eq!(status.available, 1_000 - 60 - 50);
    assert!(status.leased >= 50);
    assert_eq!(status.resets_at_ms, Some(date_ms(2024, 3, 1)));
}

#[tokio::test]
async fn a_lifetime_quota_never_resets() {
    let h = Harness::at(date_ms(2024, 2, 10));
    let total = quota(key("k1"), Metric::Tokens, Window::Total, 10);
    let r = reserve(&h, "r1", &total, 10).await.unwrap();
    h.ledger.settle(
        r,
        &Actual {
            tokens: 10,
            ..Actual::default()
        },
    );
    let refusal = reserve(&h, "r2", &total, 1).await.unwrap_err();
    assert_eq!(refusal.retry_after_ms, None);
    assert_eq!(h.ledger.status(&total).await.unwrap().resets_at_ms, None);
}

#[tokio::test]
async fn a_monthly_budget_starts_over_on_the_first_of_the_month() {
    let h = Harness::at(date_ms(2024, 3, 1) - 1);
    let budget = quota(tenant("acme"), Metric::Money, Window::Month, 100);
    let r = reserve(&h, "r1", &budget, 100).await.unwrap();
    h.ledger.settle(r, &money(100));
    let refusal = reserve(&h, "r2", &budget, 1).await.unwrap_err();
    assert_eq!(refusal.retry_after_ms, Some(1));
    h.clock.advance(1);
    let r = reserve(&h, "r3", &budget, 100).await.unwrap();
    h.ledger.settle(r, &money(30));
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!((status.spent, status.available), (30, 70));
    assert_eq!(status.resets_at_ms, Some(date_ms(2024, 4, 1)));
}

#[tokio::test]
async fn restored_spend_counts_against_the_limit() {
    let h = Harness::at(date_ms(2024, 5, 5));
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    h.ledger.restore(&budget, 90).await.unwrap();
    let refusal = reserve(&h, "r1", &budget, 20).await.unwrap_err();
    assert_eq!(refusal.remaining, 10);
    // Only 10 is unspent: no call in flight can make room for 20 before tomorrow.
    assert_eq!(refusal.retry_after_ms, Some(MS_PER_DAY));
    let _in_flight = reserve(&h, "r2", &budget, 10).await.unwrap();
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!(
        (status.spent, status.reserved, status.available),
        (90, 10, 0)
    );
}

#[tokio::test]
async fn a_lower_limit_refuses_new_grants_but_leaves_leases_alone() {
    let h = Harness::at(date_ms(2024, 5, 5));
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let r = reserve(&h, "r1", &budget, 10).await.unwrap();
    h.ledger.settle(r, &money(10));
    let before = h.ledger.status(&budget).await.unwrap();
    let free_here = before.leased;
    assert!(
        free_here > 0,
        "the first grant is sized above one reservation"
    );
    h.ledger.set_limit(&budget.id, 5).await.unwrap();
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!((status.limit, status.spent), (5, 10));
    // What this node already holds is not revoked...
    let r = reserve(&h, "r2", &budget, free_here).await.unwrap();
    h.ledger.settle(r, &money(free_here));
    // ...but nothing more is granted.
    let refusal = reserve(&h, "r3", &budget, 1).await.unwrap_err();
    assert_eq!((refusal.limit, refusal.remaining), (5, 0));
    h.ledger.set_limit(&budget.id, 100).await.unwrap();
    assert!(reserve(&h, "r4", &budget, 1).await.is_ok());
}

#[tokio::test]
async fn returned_leases_are_available_to_the_owner_again() {
    let h = Harness::at(date_ms(2024, 5, 5));
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let r = reserve(&h, "r1", &budget, 10).await.unwrap();
    h.ledger.settle(r, &money(10));
    assert!(h.ledger.status(&budget).await.unwrap().leased > 0);
    h.ledger.give_back_all().await.unwrap();
    let status = h.ledger.status(&budget).await.unwrap();
    assert_eq!((status.spent, status.leased, status.available), (10, 0, 90));
}

/// A settled call counts in this node's lease at once (nothing more can be reserved
/// against it), but its owner hears of it only when the gateway lets go of the reports,
/// which it holds until the call's audit record is durable.
#[tokio::test]
async fn the_owner_hears_of_a_settlement_only_once_its_reports_are_let_go() {
    let h = Harness::at(date_ms(2024, 2, 10));
    let budget = quota(tenant("acme"), Metric::Money, Window::Month, 1_000);
    let r = reserve(&h, "r1", &budget, 100).await.unwrap();
    let reports = h.ledger.settle(r, &money(60));
    let held = h.ledger.status(&budget).await.unwrap();
    assert_eq!((held.spent, held.reserved), (0, 0));
    assert_eq!(
        held.available,
        1_000 - 60,
        "the node's lease counts it already"
    );
    drop(reports);
    let sent = h.ledger.status(&budget).await.unwrap();
    assert_eq!((sent.spent, sent.available), (60, 1_000 - 60));
}
