//! The owners behind the `Owners` seam: local actors, and what happens when an owner
//! does not answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{JAN_2024_MS, quota, tenant};
use switchboard_ledger::{
    Grant, GrantRequest, Ledger, LedgerError, LocalOwners, ManualClock, Metric, OwnerStatus,
    Owners, Quota, QuotaId, RefusalCause, Settled, Settlement, Want, Window,
};

fn settlement(id: &str, period: u64, charged: i64) -> Settlement {
    Settlement {
        request_id: id.into(),
        period,
        reserved: charged,
        charged,
        stream: 0,
        seq: 0,
    }
}

#[tokio::test]
async fn duplicate_settlement_ids_are_applied_once() {
    let owners = LocalOwners::new();
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let request = GrantRequest {
        id: 0,
        period: 7,
        want: 50,
        min: 10,
    };
    assert_eq!(
        owners.grant(&budget, "a", request).await.unwrap().amount,
        50
    );
    let s = settlement("r1", 7, 10);
    let outcomes = owners
        .settle(&budget.id, "a", vec![s.clone(), s.clone()])
        .await
        .unwrap();
    assert_eq!(outcomes, vec![Settled::Applied, Settled::Duplicate]);
    let outcomes = owners.settle(&budget.id, "a", vec![s]).await.unwrap();
    assert_eq!(outcomes, vec![Settled::Duplicate]);
    let status = owners.status(&budget, 7).await.unwrap();
    assert_eq!((status.spent, status.leased), (10, 40));
}

#[tokio::test]
async fn a_late_settlement_reaches_its_own_period_at_the_owner() {
    let owners = LocalOwners::new();
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let request = |period| GrantRequest {
        id: 0,
        period,
        want: 50,
        min: 10,
    };
    owners.grant(&budget, "a", request(7)).await.unwrap();
    owners.grant(&budget, "a", request(8)).await.unwrap();
    let outcomes = owners
        .settle(&budget.id, "a", vec![settlement("r1", 7, 30)])
        .await
        .unwrap();
    assert_eq!(outcomes, vec![Settled::Late]);
    let status = owners.status(&budget, 8).await.unwrap();
    assert_eq!((status.spent, status.leased, status.available), (0, 50, 50));
}

#[tokio::test]
async fn settling_a_quota_without_an_owner_is_an_error() {
    let owners = LocalOwners::new();
    let id = quota(tenant("acme"), Metric::Money, Window::Day, 100).id;
    let err = owners
        .settle(&id, "a", vec![settlement("r1", 7, 1)])
        .await
        .unwrap_err();
    assert_eq!(err, LedgerError::UnknownQuota(id));
}

/// Owners that never answer, like a cluster whose owner node is unreachable.
struct Unreachable;

impl Owners for Unreachable {
    async fn grant(&self, q: &Quota, _: &str, _: GrantRequest) -> Result<Grant, LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.id.clone()))
    }
    async fn settle(
        &self,
        q: &QuotaId,
        _: &str,
        _: Vec<Settlement>,
    ) -> Result<Vec<Settled>, LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.clone()))
    }
    async fn give_back(
        &self,
        q: &QuotaId,
        _: &str,
        _: u64,
        _: u64,
        _: i64,
    ) -> Result<(), LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.clone()))
    }
    async fn set_limit(&self, q: &QuotaId, _: i64) -> Result<(), LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.clone()))
    }
    async fn status(&self, q: &Quota, _: u64) -> Result<OwnerStatus, LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.id.clone()))
    }
    async fn restore(&self, q: &Quota, _: u64, _: i64) -> Result<(), LedgerError> {
        Err(LedgerError::OwnerUnavailable(q.id.clone()))
    }
}

#[tokio::test]
async fn a_request_needing_an_unreachable_owner_fails_closed() {
    let clock = Arc::new(ManualClock::new(JAN_2024_MS));
    let ledger = Ledger::with_owners("node-a".into(), clock, Unreachable);
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let refusal = ledger
        .reserve("r1", &[Want::new(&budget, 10)])
        .await
        .unwrap_err();
    assert_eq!(refusal.cause, RefusalCause::OwnerUnavailable);
    assert_eq!(refusal.quota, budget.id);
    assert!(ledger.status(&budget).await.is_err());
}

#[tokio::test]
async fn a_take_over_adopts_newer_state_keeps_its_own_when_newer_and_begins_the_term() {
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    let request = GrantRequest {
        id: 0,
        period: 7,
        want: 30,
        min: 10,
    };
    // The old owner: a grant and a settlement.
    let old = LocalOwners::new();
    old.grant(&budget, "a", request).await.unwrap();
    old.settle(&budget.id, "a", vec![settlement("r1", 7, 10)])
        .await
        .unwrap();
    let handed = old.snapshot(&budget.id).await.unwrap();

    // A new owner that had no state adopts it whole, in the term it claimed.
    let new = LocalOwners::new();
    new.take_over(&budget, "b", 4, Some(handed.clone()))
        .await
        .unwrap();
    let now = new.snapshot(&budget.id).await.unwrap();
    assert_eq!(now.term(), (4, "b"));
    assert_eq!(now.current.spent, 10);
    assert_eq!(now.leases, handed.leases);
    // The settlement id came along: a retry is not charged again.
    let again = new
        .settle(&budget.id, "a", vec![settlement("r1", 7, 10)])
        .await
        .unwrap();
    assert_eq!(again, vec![Settled::Duplicate]);

    // Offered an older state in a later term, the owner keeps its own newer one.
    new.grant(&budget, "c", request).await.unwrap();
    let before = new.snapshot(&budget.id).await.unwrap();
    new.take_over(&budget, "b", 5, Some(handed)).await.unwrap();
    let after = new.snapshot(&budget.id).await.unwrap();
    assert_eq!(after.term(), (5, "b"));
    assert_eq!(after.leases, before.leases, "the grant to c is kept");
    assert_eq!(after.current.spent, 10);
}

#[tokio::test]
async fn an_owners_limit_is_read_without_its_snapshot_and_follows_a_change() {
    let owners = LocalOwners::new();
    let budget = quota(tenant("acme"), Metric::Money, Window::Day, 100);
    assert_eq!(owners.limit(&budget.id).await, None, "no owner runs yet");
    owners.status(&budget, 7).await.unwrap();
    assert_eq!(owners.limit(&budget.id).await, Some(100));
    owners.set_limit(&budget.id, 250).await.unwrap();
    assert_eq!(owners.limit(&budget.id).await, Some(250));
    assert_eq!(owners.snapshot(&budget.id).await.unwrap().limit, 250);
}
