//! The owner's memory of settlements it has applied, so a retried report counts once.
//!
//! A node resends a settlement batch when it is unsure the owner got it (a timeout, a
//! new owner after a failover, a replay after restart), and every settlement carries its
//! request id. The owner keeps the ids of one period and forgets them when the period is
//! two periods old: by then no settlement of it can still be in flight. Within a period
//! the memory is capped: it always holds the latest [`RecentIds::CAPACITY`] ids, and at
//! most twice as many (a month of a busy key would otherwise hold billions of ids, while
//! retries come within seconds). A retry older than that counts twice, erring on the
//! side of the limit. Settlements a node numbers are refused by their place first
//! ([`crate::owner::QuotaLedger::settle`]), which has no such window: the ids matter for
//! the rest (a node's settlements from before it restarted).
//!
//! # Shape
//!
//! Ids are remembered as 128-bit keyed hashes in two generations of plain sets: inserts
//! go to the newer one, and when it is full the older is dropped whole and a new one
//! begun. So a full memory never removes single entries (a hash set that does collects
//! tombstones and, every few tens of thousands of inserts, stalls for milliseconds
//! rehashing all of them, on the ledger's actor, in front of every request), and an id
//! costs 16 bytes instead of a string. Two distinct ids share a hash with probability
//! about 2^-128 per pair. The hash keys are random per process; hashes never leave it
//! (snapshots carry the latest ids as strings).

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Arc;
use std::sync::LazyLock;

/// The two keyed hashes an id is remembered by, the same for the whole process.
static KEYS: LazyLock<(RandomState, RandomState)> =
    LazyLock::new(|| (RandomState::new(), RandomState::new()));

fn fingerprint(id: &str) -> u128 {
    let (a, b) = &*KEYS;
    (u128::from(a.hash_one(id)) << 64) | u128::from(b.hash_one(id))
}

/// Hashes a fingerprint by taking its low bits: it is a keyed hash already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type Fingerprints = HashSet<u128, BuildHasherDefault<Prehashed>>;

/// Request ids seen, bounded, oldest forgotten first.
#[derive(Debug, Clone, Default)]
pub struct RecentIds {
    newer: Fingerprints,
    older: Fingerprints,
    /// The latest ids themselves, for snapshots: at most [`crate::snapshot::SNAPSHOT_IDS`].
    latest: VecDeque<Arc<str>>,
}

impl RecentIds {
    /// Ids always remembered per period: about a minute of 1,000 settlements per second.
    pub const CAPACITY: usize = 65_536;

    /// The latest `n` ids (at most [`crate::snapshot::SNAPSHOT_IDS`]), oldest first.
    /// Shared, not copied: an owner takes a snapshot after every change it acknowledges.
    pub fn latest(&self, n: usize) -> Vec<Arc<str>> {
        let skip = self.latest.len().saturating_sub(n);
        self.latest.iter().skip(skip).cloned().collect()
    }

    /// Records `id`; false if it was already there (a duplicate).
    pub fn insert(&mut self, id: &Arc<str>) -> bool {
        let print = fingerprint(id);
        if self.older.contains(&print) {
            return false;
        }
        if self.newer.len() >= Self::CAPACITY {
            if self.newer.contains(&print) {
                return false;
            }
            // The older generation goes whole; its allocation is reused for the next.
            std::mem::swap(&mut self.older, &mut self.newer);
            self.newer.clear();
        }
        // Two probes of these large sets, not three: `insert` says whether it was there.
        if !self.newer.insert(print) {
            return false;
        }
        if self.latest.len() >= crate::snapshot::SNAPSHOT_IDS {
            self.latest.pop_front();
        }
        self.latest.push_back(Arc::clone(id));
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        let print = fingerprint(id);
        self.newer.contains(&print) || self.older.contains(&print)
    }

    /// How many ids are remembered: between [`Self::CAPACITY`] and twice that once that
    /// many have been seen.
    pub fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    pub fn is_empty(&self) -> bool {
        self.newer.is_empty() && self.older.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_once() {
        let mut ids = RecentIds::default();
        assert!(ids.insert(&"r1".into()));
        assert!(!ids.insert(&"r1".into()));
        assert!(ids.insert(&"r2".into()));
        assert_eq!(ids.len(), 2);
        assert!(ids.contains("r1") && !ids.contains("r3"));
    }

    #[test]
    fn a_duplicate_arriving_when_the_newer_generation_is_full_is_still_a_duplicate() {
        let mut ids = RecentIds::default();
        for i in 0..RecentIds::CAPACITY {
            assert!(ids.insert(&i.to_string().into()));
        }
        let last = (RecentIds::CAPACITY - 1).to_string();
        assert!(!ids.insert(&last.into()), "the newest id, at the turn");
        assert!(!ids.insert(&"0".into()), "the oldest id, at the turn");
        assert_eq!(ids.len(), RecentIds::CAPACITY, "nothing turned over");
    }

    #[test]
    fn the_latest_capacity_ids_are_always_remembered_and_the_oldest_forgotten() {
        let mut ids = RecentIds::default();
        let total = 3 * RecentIds::CAPACITY + 17;
        for i in 0..total {
            assert!(ids.insert(&i.to_string().into()), "id {i} is new");
            assert!(ids.len() <= 2 * RecentIds::CAPACITY, "bounded at {i}");
        }
        // Every one of the latest CAPACITY ids is still a duplicate.
        for i in total - RecentIds::CAPACITY..total {
            assert!(ids.contains(&i.to_string()), "recent id {i} forgotten");
        }
        // The first ones are long gone.
        assert!(!ids.contains("0"));
        assert!(ids.insert(&"0".into()), "a forgotten id counts again");
        assert!(ids.len() >= RecentIds::CAPACITY);
    }

    #[test]
    fn snapshots_carry_the_latest_ids_oldest_first() {
        let mut ids = RecentIds::default();
        let n = crate::snapshot::SNAPSHOT_IDS + 5;
        for i in 0..n {
            ids.insert(&format!("r{i}").into());
        }
        ids.insert(&"r0".into()); // a duplicate changes nothing
        let latest = ids.latest(crate::snapshot::SNAPSHOT_IDS);
        assert_eq!(latest.len(), crate::snapshot::SNAPSHOT_IDS);
        assert_eq!(latest.first().map(|id| &**id), Some("r5"));
        assert_eq!(
            latest.last().map(|id| id.to_string()),
            Some(format!("r{}", n - 1))
        );
        assert_eq!(
            ids.latest(2)
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>(),
            vec![format!("r{}", n - 2), format!("r{}", n - 1)]
        );
    }
}
