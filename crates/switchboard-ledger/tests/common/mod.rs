//! What every ledger test starts from: a single-node [`Ledger`] on a [`ManualClock`].
#![allow(dead_code)]

use std::sync::Arc;

use switchboard_ledger::{Ledger, ManualClock, Metric, Quota, QuotaId, Scope, Window};

/// 2024-01-01T00:00:00Z.
pub const JAN_2024_MS: u64 = 1_704_067_200_000;
pub const MINUTE_MS: u64 = 60_000;

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub ledger: Ledger,
}

impl Harness {
    /// A node named `node-a` whose clock stands at `now_ms`.
    pub fn at(now_ms: u64) -> Self {
        let clock = Arc::new(ManualClock::new(now_ms));
        let ledger = Ledger::new("node-a".to_owned(), clock.clone());
        Self { clock, ledger }
    }
}

pub fn quota(scope: Scope, metric: Metric, window: Window, limit: i64) -> Quota {
    Quota::new(QuotaId::new(scope, metric, window), limit)
}

pub fn key(id: &str) -> Scope {
    Scope::Key(id.into())
}

pub fn tenant(id: &str) -> Scope {
    Scope::Tenant(id.into())
}
