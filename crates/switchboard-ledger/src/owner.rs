//! The owner's book of one quota: [`QuotaLedger`], a pure state machine.
//!
//! Exactly one node owns each quota. Nodes never spend against the limit directly:
//! they spend out of leases the owner granted them, and the owner never grants past the
//! limit. Its one rule, checked after every grant:
//!
//! ```text
//! spent + leased <= limit        leased = sum over nodes of max(0, lease)
//! ```
//!
//! Every lease is the owner's mirror of what that node holds (free plus reserved in
//! calls in flight). A settlement moves a call's real cost from the node's lease to
//! `spent`; the difference between reservation and cost stays with the node. Mirror
//! updates are plain additions, so they commute: grant replies, settlements and
//! give-backs may arrive in any order and the mirror is never below what the node holds.
//!
//! A call whose real cost exceeds its reservation (an estimate is an upper bound, so
//! this is the rare case) can take a lease below zero: the node owes the overrun. The
//! debt is not counted in `leased` (the node cannot spend with it) and is repaid out of
//! the node's next grant, so the overrun is absorbed exactly once. Spend can exceed the
//! limit only by such overruns.
//!
//! The ledger holds one period at a time; the previous period is kept (spent and ids)
//! only so late settlements of calls that straddled the boundary land in their own period.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::quota::NodeId;
use crate::recent::RecentIds;

/// The owner's answer to a lease request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Added to the node's lease; 0 is a refusal.
    pub amount: i64,
    /// The period the lease belongs to (the owner's, after rolling).
    pub period: u64,
    pub limit: i64,
    /// Settled in `period` so far.
    pub spent: i64,
    /// Left for further grants, after this one.
    pub available_after: i64,
    /// The node's whole lease after this grant as the owner counts it: what the node
    /// holds plus its settlements still on their way (negative while it owes).
    pub lease: i64,
}

/// A node's report of one finished call, charged to one quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Makes a retried report idempotent. Shared: one call's settlements for all of its
    /// quotas, their resends and the owner's memory of them hold the one id.
    pub request_id: Arc<str>,
    /// The period the reservation was made in; the cost belongs there.
    pub period: u64,
    /// What the call reserved out of the node's lease (kept for the journal).
    pub reserved: i64,
    /// What it really cost.
    pub charged: i64,
    /// The sending node's settlement stream (its flusher's start time: a restarted node
    /// begins a later one) and this settlement's place in it for its quota, from 1; 0 for
    /// both when unsequenced. See [`QuotaLedger::settle`].
    #[serde(default)]
    pub stream: u64,
    #[serde(default)]
    pub seq: u64,
}

/// What the owner did with a settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Settled {
    /// Charged to the current period.
    Applied,
    /// Charged to the previous period's history; the current one is untouched.
    Late,
    /// Already applied: a retry.
    Duplicate,
    /// Older than the previous period: nothing remembers it.
    Expired,
}

/// A quota's numbers as the owner sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerStatus {
    pub limit: i64,
    pub period: u64,
    pub spent: i64,
    /// Granted to nodes and neither spent nor given back.
    pub leased: i64,
    /// Left for grants: `limit - spent - leased`, never below 0.
    pub available: i64,
}

/// One period's settled spend and the settlement ids applied to it.
#[derive(Debug, Clone)]
struct Book {
    period: u64,
    spent: i64,
    applied: RecentIds,
    /// What each node's settlements charged in the period: compared with a node's own
    /// journal when it rejoins (see [`QuotaLedger::rejoin`]).
    by_node: BTreeMap<NodeId, i64>,
}

impl Book {
    fn new(period: u64) -> Self {
        Self {
            period,
            spent: 0,
            applied: RecentIds::default(),
            by_node: BTreeMap::new(),
        }
    }

    fn charge(&mut self, node: &str, s: &Settlement) -> bool {
        if !self.applied.insert(&s.request_id) {
            return false;
        }
        self.add(node, s.charged.max(0));
        true
    }

    fn add(&mut self, node: &str, amount: i64) {
        self.spent = self.spent.saturating_add(amount);
        let by = match self.by_node.get_mut(node) {
            Some(by) => by,
            None => self.by_node.entry(node.to_owned()).or_default(),
        };
        *by = by.saturating_add(amount);
    }
}

/// The owner's state for one quota.
#[derive(Debug, Clone)]
pub struct QuotaLedger {
    limit: i64,
    current: Book,
    previous: Option<Book>,
    leases: BTreeMap<NodeId, i64>,
    /// Changes so far: the version of the next snapshot.
    version: u64,
    /// Ownership moves so far (see [`crate::snapshot::LedgerSnapshot::epoch`]).
    epoch: u64,
    /// The node that began `epoch`.
    term_owner: NodeId,
    /// Each node's latest grant by request id: a retried request gets the same answer
    /// and changes nothing (its first answer may have been lost with a dying owner).
    last_grants: BTreeMap<NodeId, (u64, Grant)>,
    /// Each node's latest give-back ids, for the same reason.
    returns: BTreeMap<NodeId, Vec<u64>>,
    /// Per node, its latest settlement stream and the highest place in it applied here
    /// (see [`QuotaLedger::settle`]).
    sequences: BTreeMap<NodeId, (u64, u64)>,
}

/// Give-back ids remembered per node: retries come right after their original.
const RETURN_IDS: usize = 16;

impl QuotaLedger {
    /// A fresh ledger in period 0; the first request rolls it to the caller's period.
    pub fn new(limit: i64) -> Self {
        Self {
            limit: limit.max(0),
            current: Book::new(0),
            previous: None,
            leases: BTreeMap::new(),
            version: 0,
            epoch: 0,
            term_owner: NodeId::new(),
            last_grants: BTreeMap::new(),
            returns: BTreeMap::new(),
            sequences: BTreeMap::new(),
        }
    }

    /// Counts a change (every mutation calls it), so snapshots are ordered.
    fn changed(&mut self) {
        self.version += 1;
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Begins term `epoch` of `owner` (a claim a majority accepted; see the server's
    /// shard module).
    pub fn begin_term(&mut self, epoch: u64, owner: &str) {
        self.epoch = epoch;
        self.term_owner = owner.to_owned();
        self.changed();
    }

    /// As [`crate::snapshot::LedgerSnapshot::order`].
    pub fn order(&self) -> (u64, &str, u64) {
        (self.epoch, &self.term_owner, self.version)
    }

    pub(crate) fn to_snapshot(&self) -> crate::snapshot::LedgerSnapshot {
        let book = |b: &Book| crate::snapshot::BookSnapshot {
            period: b.period,
            spent: b.spent,
            recent_ids: b.applied.latest(crate::snapshot::SNAPSHOT_IDS),
            by_node: b.by_node.clone(),
        };
        crate::snapshot::LedgerSnapshot {
            epoch: self.epoch,
            term_owner: self.term_owner.clone(),
            version: self.version,
            limit: self.limit,
            current: book(&self.current),
            previous: self.previous.as_ref().map(book),
            leases: self.leases.clone(),
            last_grants: self.last_grants.clone(),
            returns: self.returns.clone(),
            sequences: self.sequences.clone(),
        }
    }

    pub(crate) fn restore_snapshot(s: &crate::snapshot::LedgerSnapshot) -> QuotaLedger {
        let book = |b: &crate::snapshot::BookSnapshot| {
            let mut applied = RecentIds::default();
            for id in &b.recent_ids {
                applied.insert(id);
            }
            Book {
                period: b.period,
                spent: b.spent,
                applied,
                by_node: b.by_node.clone(),
            }
        };
        QuotaLedger {
            limit: s.limit,
            current: book(&s.current),
            previous: s.previous.as_ref().map(book),
            leases: s.leases.clone(),
            version: s.version,
            epoch: s.epoch,
            term_owner: s.term_owner.clone(),
            last_grants: s.last_grants.clone(),
            returns: s.returns.clone(),
            sequences: s.sequences.clone(),
        }
    }

    /// Grants `node` up to `want`, never less than `min` (an amount below `min` could not
    /// serve the reservation that asked, so it is refused instead: amount 0).
    pub fn grant(&mut self, now_period: u64, node: &str, want: i64, min: i64) -> Grant {
        self.changed();
        self.roll(now_period);
        let debt = self.lease_of(node).min(0).saturating_neg();
        let room = self.headroom().saturating_add(debt);
        let amount = want.max(min).min(room);
        let amount = if amount <= 0 || amount < min {
            0
        } else {
            amount
        };
        if amount > 0 {
            let lease = self.leases.entry(node.to_owned()).or_insert(0);
            *lease = lease.saturating_add(amount);
        }
        Grant {
            amount,
            period: self.current.period,
            limit: self.limit,
            spent: self.current.spent,
            available_after: self.headroom().max(0),
            lease: self.lease_of(node),
        }
    }

    /// [`QuotaLedger::grant`] for request `id` of `node`: a retry of the node's latest
    /// granted request (same id) gets the first answer again and changes nothing; a
    /// refusal changed nothing, so a retried one is weighed afresh. Id 0 is never
    /// deduplicated.
    pub fn grant_once(
        &mut self,
        id: u64,
        now_period: u64,
        node: &str,
        want: i64,
        min: i64,
    ) -> Grant {
        if id != 0
            && let Some((last, grant)) = self.last_grants.get(node)
            && *last == id
            && grant.amount > 0
        {
            return *grant;
        }
        let grant = self.grant(now_period, node, want, min);
        if id != 0 {
            self.last_grants.insert(node.to_owned(), (id, grant));
        }
        grant
    }

    /// [`QuotaLedger::give_back`] for return `id` of `node`, applied once however often
    /// it is retried. Id 0 is never deduplicated.
    pub fn give_back_once(&mut self, id: u64, node: &str, period: u64, amount: i64) {
        if id != 0 {
            let seen = self.returns.entry(node.to_owned()).or_default();
            if seen.contains(&id) {
                return;
            }
            if seen.len() == RETURN_IDS {
                seen.remove(0);
            }
            seen.push(id);
        }
        self.give_back(node, period, amount);
    }

    /// Applies one settlement from `node`: in the current period its cost moves from the
    /// node's lease to `spent`; in the previous period it is recorded there only.
    ///
    /// A repeat is refused two ways. By place: a node's flusher numbers each quota's
    /// settlements in the order it sends them and resends a batch the owner did not take
    /// ahead of anything newer, so a settlement at or below the highest place applied
    /// from the node's current stream has been seen, however long ago: the places travel
    /// with every state (a few bytes per node), where the ids carried on a take-over are
    /// only the latest [`crate::snapshot::SNAPSHOT_IDS`]. By id: for settlements of an
    /// earlier stream (a node's previous life) or unsequenced ones, as before.
    pub fn settle(&mut self, node: &str, s: &Settlement) -> Settled {
        self.changed();
        if s.seq > 0 {
            match self.sequences.get_mut(node) {
                Some((stream, highest)) if *stream == s.stream => {
                    if s.seq <= *highest {
                        return Settled::Duplicate;
                    }
                    *highest = s.seq;
                }
                // A settlement of the node's earlier life: told by its id below.
                Some((stream, _)) if *stream > s.stream => {}
                Some(latest) => *latest = (s.stream, s.seq),
                None => {
                    self.sequences.insert(node.to_owned(), (s.stream, s.seq));
                }
            }
        }
        self.roll(s.period);
        if s.period == self.current.period {
            if !self.current.charge(node, s) {
                return Settled::Duplicate;
            }
            self.add_to_lease(node, s.charged.max(0).saturating_neg());
            return Settled::Applied;
        }
        match &mut self.previous {
            Some(book) if book.period == s.period => {
                if book.charge(node, s) {
                    Settled::Late
                } else {
                    Settled::Duplicate
                }
            }
            _ => Settled::Expired,
        }
    }

    /// `node` returns `amount` of its unreserved lease of `period`. A lease of an ended
    /// period is void already, so its return changes nothing.
    pub fn give_back(&mut self, node: &str, period: u64, amount: i64) {
        self.changed();
        if period == self.current.period && amount > 0 {
            self.add_to_lease(node, amount.saturating_neg());
        }
    }

    /// `node` is back after a crash, and its journal says its calls charged
    /// `journal_total` in `period`. Whatever of that no settlement reported (lost with
    /// the node's memory) is charged now, and the lease the owner still counts for the
    /// node's previous life is dropped: until this call, that lease counted against
    /// the limit as if spent. Returns the amount charged. After a clean shutdown the
    /// journal equals what was settled and the lease is already back: a no-op.
    pub fn rejoin(&mut self, period: u64, node: &str, journal_total: i64) -> i64 {
        self.changed();
        self.roll(period);
        if period != self.current.period {
            return 0;
        }
        let settled = self.current.by_node.get(node).copied().unwrap_or(0);
        let unreported = journal_total.saturating_sub(settled).max(0);
        if unreported > 0 {
            self.current.add(node, unreported);
        }
        self.leases.remove(node);
        self.last_grants.remove(node);
        self.returns.remove(node);
        unreported
    }

    /// An admin change. Outstanding leases are not revoked: a lower limit refuses further
    /// grants until spend and leases fit under it again.
    pub fn set_limit(&mut self, limit: i64) {
        self.changed();
        self.limit = limit.max(0);
    }

    /// Sets the spend of `period` as rebuilt from the audit journal at start-up.
    pub fn restore(&mut self, period: u64, spent: i64) {
        self.changed();
        self.roll(period);
        if period == self.current.period {
            self.current.spent = spent.max(0);
        } else if let Some(book) = self.previous.as_mut().filter(|b| b.period == period) {
            book.spent = spent.max(0);
        }
    }

    /// The numbers at `now_period`; a period that has ended reads as a fresh one.
    pub fn status(&self, now_period: u64) -> OwnerStatus {
        if now_period > self.current.period {
            return OwnerStatus {
                limit: self.limit,
                period: now_period,
                spent: 0,
                leased: 0,
                available: self.limit,
            };
        }
        OwnerStatus {
            limit: self.limit,
            period: self.current.period,
            spent: self.current.spent,
            leased: self.leased(),
            available: self.headroom().max(0),
        }
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    pub fn period(&self) -> u64 {
        self.current.period
    }

    pub fn spent(&self) -> i64 {
        self.current.spent
    }

    /// Spend of `period` if it is the current or the previous one.
    pub fn spent_in(&self, period: u64) -> Option<i64> {
        if period == self.current.period {
            return Some(self.current.spent);
        }
        self.previous
            .as_ref()
            .filter(|b| b.period == period)
            .map(|b| b.spent)
    }

    /// Sum of the nodes' leases, debts not counted.
    pub fn leased(&self) -> i64 {
        self.leases
            .values()
            .fold(0i64, |sum, &l| sum.saturating_add(l.max(0)))
    }

    /// The owner's mirror of what `node` holds; negative while it owes an overrun.
    pub fn lease_of(&self, node: &str) -> i64 {
        self.leases.get(node).copied().unwrap_or(0)
    }

    /// Whether `spent + leased <= limit`, the rule every grant keeps.
    pub fn within_limit(&self) -> bool {
        self.current.spent.saturating_add(self.leased()) <= self.limit
    }

    fn headroom(&self) -> i64 {
        self.limit
            .saturating_sub(self.current.spent)
            .saturating_sub(self.leased())
    }

    fn add_to_lease(&mut self, node: &str, delta: i64) {
        let lease = self.lease_of(node).saturating_add(delta);
        if lease == 0 {
            self.leases.remove(node);
        } else if let Some(held) = self.leases.get_mut(node) {
            *held = lease;
        } else {
            self.leases.insert(node.to_owned(), lease);
        }
    }

    /// Starts `now_period` if it is later than the current one: spend starts from zero,
    /// every lease is void, and the ended period is kept for late settlements.
    fn roll(&mut self, now_period: u64) {
        if now_period > self.current.period {
            let ended = std::mem::replace(&mut self.current, Book::new(now_period));
            self.previous = Some(ended);
            self.leases.clear();
        }
    }
}

#[cfg(test)]
mod tests;
