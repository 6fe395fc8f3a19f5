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
    /// The latest applied settlement ids, oldest first (shared with the owner's memory:
    /// encoded as strings, like `String`s).
    pub recent_ids: Vec<std::sync::Arc<str>>,
    /// Settled charges by node.
    #[serde(default)]
    pub by_node: BTreeMap<NodeId, i64>,
}

/// The owner's whole state of one quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Increases every time ownership moves (the new owner takes the newest state and
    /// adds one): a backup refuses changes from an owner of an older epoch, which fences
    /// off a node that still thinks it owns the quota.
    #[serde(default)]
    pub epoch: u64,
    /// The node that began `epoch`.
    #[serde(default)]
    pub term_owner: NodeId,
    /// Increases with every change within an epoch.
    pub version: u64,
    pub limit: i64,
    pub current: BookSnapshot,
    pub previous: Option<BookSnapshot>,
    pub leases: BTreeMap<NodeId, i64>,
    /// Each node's latest grant, by request id (see [`QuotaLedger::grant_once`]).
    #[serde(default)]
    pub last_grants: BTreeMap<NodeId, (u64, crate::owner::Grant)>,
    /// Each node's latest give-back ids.
    #[serde(default)]
    pub returns: BTreeMap<NodeId, Vec<u64>>,
}

impl LedgerSnapshot {
    /// The term: `(epoch, who began it)`. Terms are totally ordered; a later term
    /// supersedes every change of an earlier one.
    pub fn term(&self) -> (u64, &str) {
        (self.epoch, &self.term_owner)
    }

    /// `(epoch, term owner, version)`: of two snapshots of a quota, the greater is newer.
    pub fn order(&self) -> (u64, &str, u64) {
        (self.epoch, &self.term_owner, self.version)
    }
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
