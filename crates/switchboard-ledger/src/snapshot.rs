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
    /// Each node's settlement stream and the highest place in it applied.
    #[serde(default)]
    pub sequences: BTreeMap<NodeId, (u64, u64)>,
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

    /// [`LedgerSnapshot::order`], owned: to remember, or to name a delta's base.
    pub fn order_key(&self) -> (u64, NodeId, u64) {
        (self.epoch, self.term_owner.clone(), self.version)
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

/// A change of a quota's state sent as what it adds to a state the receiver holds
/// (`base`), not whole: every field of the new state, but each book's settlement ids only
/// from where the base's end. An owner replicates after every change it acknowledges,
/// and the ids (up to [`SNAPSHOT_IDS`] per period) were nearly all of every message, of
/// its signature and of its decoding at the backup; a few new ids is what a change adds.
///
/// A state is named by its order `(epoch, term owner, version)`: within a term only one
/// owner changes a quota, one version at a time, so two nodes holding the same order
/// hold the same state, and a receiver holding the base rebuilds exactly the new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerDelta {
    /// The order of the state this applies to.
    pub base: (u64, NodeId, u64),
    /// The new state, each book's `recent_ids` holding only the ids added since `base`.
    pub changed: LedgerSnapshot,
    /// How many ids each book (current, previous) holds in the new state: the base's
    /// and the added, the oldest dropped down to this many.
    pub lens: (usize, usize),
}

impl LedgerSnapshot {
    /// The delta that turns `base` into `self`; `None` when the books' periods differ
    /// (a period turned over since) or `base`'s ids are not where `self`'s continue
    /// from, and the whole state must go.
    pub fn delta_from(&self, base: &LedgerSnapshot) -> Option<LedgerDelta> {
        let current = added_since(&base.current, &self.current)?;
        let previous = match (&base.previous, &self.previous) {
            (Some(b), Some(n)) => Some(added_since(b, n)?),
            (_, None) => None,
            (None, Some(_)) => return None,
        };
        let lens = (
            self.current.recent_ids.len(),
            self.previous.as_ref().map_or(0, |b| b.recent_ids.len()),
        );
        let mut changed = LedgerSnapshot {
            current: BookSnapshot {
                recent_ids: current,
                ..book_without_ids(&self.current)
            },
            previous: None,
            ..self.without_books()
        };
        changed.previous = self
            .previous
            .as_ref()
            .zip(previous)
            .map(|(n, ids)| BookSnapshot {
                recent_ids: ids,
                ..book_without_ids(n)
            });
        Some(LedgerDelta {
            base: base.order_key(),
            changed,
            lens,
        })
    }

    /// The state `delta` makes of `self`; `None` unless `self` is the delta's base.
    pub fn apply(&self, delta: &LedgerDelta) -> Option<LedgerSnapshot> {
        if self.order() != (delta.base.0, delta.base.1.as_str(), delta.base.2) {
            return None;
        }
        let changed = &delta.changed;
        let current = rebuilt(&self.current, &changed.current, delta.lens.0)?;
        let previous = match (&self.previous, &changed.previous) {
            (Some(b), Some(n)) => Some(rebuilt(b, n, delta.lens.1)?),
            (_, None) => None,
            (None, Some(n)) if n.recent_ids.len() == delta.lens.1 => Some(n.clone()),
            (None, Some(_)) => return None,
        };
        Some(LedgerSnapshot {
            current,
            previous,
            ..changed.without_books()
        })
    }

    /// Every field but the books (left empty).
    fn without_books(&self) -> LedgerSnapshot {
        LedgerSnapshot {
            epoch: self.epoch,
            term_owner: self.term_owner.clone(),
            version: self.version,
            limit: self.limit,
            current: BookSnapshot {
                period: 0,
                spent: 0,
                recent_ids: Vec::new(),
                by_node: BTreeMap::new(),
            },
            previous: None,
            leases: self.leases.clone(),
            last_grants: self.last_grants.clone(),
            returns: self.returns.clone(),
            sequences: self.sequences.clone(),
        }
    }
}

fn book_without_ids(book: &BookSnapshot) -> BookSnapshot {
    BookSnapshot {
        period: book.period,
        spent: book.spent,
        recent_ids: Vec::new(),
        by_node: book.by_node.clone(),
    }
}

/// The ids `new` holds after the last of `base`'s (all of them if `base` has none), if
/// both are the same period's book and `new` continues `base`.
fn added_since(base: &BookSnapshot, new: &BookSnapshot) -> Option<Vec<std::sync::Arc<str>>> {
    if base.period != new.period {
        return None;
    }
    let Some(last) = base.recent_ids.last() else {
        return Some(new.recent_ids.clone());
    };
    // Searched from the end: a change adds a few ids.
    let at = new.recent_ids.iter().rposition(|id| id == last)?;
    Some(new.recent_ids[at + 1..].to_vec())
}

/// `base`'s ids followed by `added`'s, the oldest dropped down to `len`, in a book
/// otherwise `added`'s; `None` if there are fewer than `len`.
fn rebuilt(base: &BookSnapshot, added: &BookSnapshot, len: usize) -> Option<BookSnapshot> {
    if base.period != added.period {
        return None;
    }
    let total = base.recent_ids.len() + added.recent_ids.len();
    let skip = total.checked_sub(len)?;
    let ids = base
        .recent_ids
        .iter()
        .chain(&added.recent_ids)
        .skip(skip)
        .cloned()
        .collect();
    Some(BookSnapshot {
        recent_ids: ids,
        ..book_without_ids(added)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;

    fn book(period: u64, spent: i64, ids: std::ops::Range<u32>) -> BookSnapshot {
        BookSnapshot {
            period,
            spent,
            recent_ids: ids.map(|i| Arc::from(format!("id-{i}"))).collect(),
            by_node: BTreeMap::from([("node-1".to_owned(), spent)]),
        }
    }

    fn state(
        version: u64,
        current: BookSnapshot,
        previous: Option<BookSnapshot>,
    ) -> LedgerSnapshot {
        LedgerSnapshot {
            epoch: 2,
            term_owner: "node-3".into(),
            version,
            limit: 1000,
            current,
            previous,
            leases: BTreeMap::from([("node-1".to_owned(), version as i64)]),
            last_grants: BTreeMap::new(),
            returns: BTreeMap::from([("node-2".to_owned(), vec![version])]),
            sequences: BTreeMap::from([("node-1".to_owned(), (7, version))]),
        }
    }

    #[test]
    fn a_delta_carries_only_the_added_ids_and_rebuilds_the_new_state() {
        let base = state(7, book(40, 100, 0..1024), Some(book(39, 5, 0..3)));
        let new = state(8, book(40, 130, 3..1027), Some(book(39, 6, 0..4)));
        let delta = new.delta_from(&base).expect("same periods");
        assert_eq!(delta.changed.current.recent_ids.len(), 3);
        assert_eq!(delta.changed.previous.as_ref().unwrap().recent_ids.len(), 1);
        assert_eq!(base.apply(&delta), Some(new));
    }

    #[test]
    fn a_delta_applies_only_to_its_base() {
        let base = state(7, book(40, 100, 0..10), None);
        let new = state(8, book(40, 130, 0..12), None);
        let delta = new.delta_from(&base).unwrap();
        let other = state(6, book(40, 90, 0..9), None);
        assert_eq!(other.apply(&delta), None, "an older version");
        let mut other_term = base.clone();
        other_term.term_owner = "node-1".into();
        assert_eq!(other_term.apply(&delta), None, "another term");
    }

    #[test]
    fn a_turned_period_or_ids_not_continued_need_the_whole_state() {
        let base = state(7, book(40, 100, 0..10), None);
        let turned = state(8, book(41, 1, 0..1), Some(book(40, 100, 0..10)));
        assert_eq!(turned.delta_from(&base), None);
        let gap = state(8, book(40, 130, 20..30), None);
        assert_eq!(gap.delta_from(&base), None, "the base's last id is gone");
    }

    proptest! {
        /// Whatever happened between two states of one period (ids added, the oldest
        /// dropped at the cap, spend and leases changed), the delta rebuilds the new one.
        #[test]
        fn any_delta_rebuilds_exactly(
            start in 0u32..50, held in 0u32..1100, added in 0u32..1100,
            with_previous in any::<bool>(), previous_added in 0u32..5,
        ) {
            let cap = SNAPSHOT_IDS as u32;
            let end = start + held;
            let ids = |from: u32, to: u32| to.saturating_sub(cap).max(from)..to;
            let base = state(1, book(9, 10, ids(start, end)),
                with_previous.then(|| book(8, 1, 0..3)));
            let new = state(2, book(9, 20, ids(start, end + added)),
                with_previous.then(|| book(8, 2, 0..3 + previous_added)));
            match new.delta_from(&base) {
                Some(delta) => prop_assert_eq!(base.apply(&delta), Some(new)),
                // Only when every id the base had was dropped since.
                None => prop_assert!(held > 0 && added >= cap),
            }
        }
    }
}
