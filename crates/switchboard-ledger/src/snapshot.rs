//! A quota ledger's state as data: what an owner replicates to its backup and what a
//! node taking a quota over installs, so ownership can move without losing settled spend
//! or the leases other nodes hold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::owner::QuotaLedger;
use crate::quota::NodeId;

/// Settlement ids carried in a snapshot per period: enough for the retries in flight
/// when ownership moves, without shipping the owner's whole memory with every change.
pub const SNAPSHOT_IDS: usize = 1024;

/// One period's book in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSnapshot {
    pub period: u64,
    pub spent: i64,
    /// The latest applied settlement ids, oldest first.
    pub recent_ids: Vec<String>,
}

/// The owner's whole state of one quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Increases with every change: of two snapshots, the higher version is newer.
    pub version: u64,
    pub limit: i64,
    pub current: BookSnapshot,
    pub previous: Option<BookSnapshot>,
    pub leases: BTreeMap<NodeId, i64>,
}

impl QuotaLedger {
    /// The state as a snapshot.
    pub fn snapshot(&self) -> LedgerSnapshot {
        self.to_snapshot()
    }

    /// A ledger resuming from `snapshot` (a quota taken over, or restarted from disk).
    pub fn from_snapshot(snapshot: &LedgerSnapshot) -> QuotaLedger {
        QuotaLedger::restore_snapshot(snapshot)
    }
}
