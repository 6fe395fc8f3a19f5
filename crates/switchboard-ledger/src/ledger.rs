//! [`Ledger`]: the node's facade, used by the gateway's request pipeline.
//!
//! A request reserves its estimate in every quota it falls under (key RPM and TPM, team
//! budget, tenant budget...) before its call, all or nothing, and settles the real cost
//! after it. The common case touches only this node's [`LeaseTable`] under one short
//! lock and awaits nothing. Only when a lease runs short does the request ask that
//! quota's owner for a grant, sized by [`crate::sizing`], and try again. Grant requests
//! for one quota go one at a time (a gate per quota), and a request waiting at the gate
//! first looks whether the one before it has refilled the lease already.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::error::LedgerError;
use crate::flusher::{self, Outgoing};
use crate::lease::{LeaseTable, NodeLease};
use crate::node::NodeState;
use crate::owner::Grant;
use crate::owners::{GrantRequest, LocalOwners, Owners};
use crate::quota::{NodeId, Quota, QuotaId};
use crate::refusal::{RETRY_SOON_MS, Refusal};
use crate::reservation::{Actual, Held, Reports, Reservation, Want};

/// Grant rounds one reservation may take before it gives up. Each round either admits
/// the request or moves owner capacity to this node, so more rounds only happen when
/// concurrent requests keep taking the lease first; the bound keeps a bug from looping.
pub const MAX_GRANT_ROUNDS: usize = 64;

/// A quota's numbers, for response headers and the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStatus {
    pub limit: i64,
    pub period: u64,
    /// Settled in this period, this node's settlements included.
    pub spent: i64,
    /// Granted to nodes and neither spent nor returned (this node's free and reserved
    /// lease included).
    pub leased: i64,
    /// Held by calls in flight on this node.
    pub reserved: i64,
    /// What could still be reserved from this node: the owner's headroom plus this
    /// node's free lease.
    pub available: i64,
    /// When the period ends; `None` for a lifetime quota.
    pub resets_at_ms: Option<u64>,
}

/// The ledger as one node sees it. `O` says where owners are: [`LocalOwners`] on a
/// single node.
pub struct Ledger<O: Owners = LocalOwners> {
    node: NodeId,
    clock: Arc<dyn Clock>,
    owners: Arc<O>,
    state: Arc<NodeState>,
    /// The flusher's end of the outbox until the flusher starts (inside the runtime, on
    /// the first grant or flush: no settlement can exist before a grant).
    queue: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    /// See [`Ledger::refill_gate`].
    gates: Mutex<HashMap<QuotaId, Arc<tokio::sync::Mutex<()>>>>,
    /// Ids of this node's grant requests and give-backs, unique across its restarts:
    /// seeded from the start time (ms) shifted past any count one life could reach.
    ops: std::sync::atomic::AtomicU64,
}

impl Ledger<LocalOwners> {
    /// A single node's ledger: every owner is a local actor.
    pub fn new(node: NodeId, clock: Arc<dyn Clock>) -> Self {
        Self::with_owners(node, clock, LocalOwners::new())
    }
}

impl<O: Owners> Ledger<O> {
    pub fn with_owners(node: NodeId, clock: Arc<dyn Clock>, owners: O) -> Self {
        let (outbox, queue) = mpsc::unbounded_channel();
        Self {
            node,
            owners: Arc::new(owners),
            state: Arc::new(NodeState::new(LeaseTable::new(), outbox)),
            queue: Mutex::new(Some(queue)),
            gates: Mutex::new(HashMap::new()),
            ops: std::sync::atomic::AtomicU64::new(clock.now_ms() << 20),
            clock,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Reserves `amount` of every wanted quota for `request_id`, or nothing: the first
    /// quota that cannot be granted is refused and whatever was reserved is released.
    pub async fn reserve(
        &self,
        request_id: &str,
        wants: &[Want<'_>],
    ) -> Result<Reservation, Refusal> {
        let now_ms = self.clock.now_ms();
        let mut short = match self.state.try_reserve_all(wants, now_ms) {
            Ok(held) => return Ok(self.reservation(request_id, held)),
            Err(short) => short,
        };
        self.start_flusher();
        let mut last = None;
        for _ in 0..MAX_GRANT_ROUNDS {
            let want = wants[short.index];
            let gate = self.refill_gate(&want.quota.id);
            let _refilling = gate.lock().await;
            // Whoever held the gate before may have refilled this lease already.
            match self.state.try_reserve_all(wants, now_ms) {
                Ok(held) => return Ok(self.reservation(request_id, held)),
                Err(next) if next.index != short.index => {
                    short = next;
                    continue;
                }
                Err(next) => short = next,
            }
            let request = GrantRequest {
                id: self.next_op(),
                period: short.need.period,
                want: short.need.want,
                min: short.need.min,
            };
            let grant = match self.owners.grant(want.quota, &self.node, request).await {
                Ok(grant) => grant,
                Err(_) => {
                    let held = self.state.table.lock().held(&want.quota.id, now_ms);
                    return Err(Refusal::unavailable(want.quota, &held));
                }
            };
            if grant.amount > 0 {
                let mut table = self.state.table.lock();
                table.credit(&want.quota.id, grant.period, grant.amount);
            }
            match self.state.try_reserve_all(wants, now_ms) {
                Ok(held) => return Ok(self.reservation(request_id, held)),
                Err(next) if grant.amount == 0 && next.index == short.index => {
                    let held = self.state.table.lock().held(&want.quota.id, now_ms);
                    return Err(Refusal::exhausted(want, &grant, &held, now_ms));
                }
                Err(next) => {
                    last = Some((short.index, grant));
                    short = next;
                }
            }
        }
        // Outraced every round: refuse, and say that room is likely back soon.
        let (index, grant) = last.unwrap_or((short.index, Grant::default()));
        let want = wants[index];
        let held = self.state.table.lock().held(&want.quota.id, now_ms);
        let mut refusal = Refusal::exhausted(want, &grant, &held, now_ms);
        refusal.retry_after_ms = Some(RETRY_SOON_MS);
        Err(refusal)
    }

    /// Charges each quota of `reservation` what the call really consumed, in this
    /// node's leases at once; the owners hear of it in the background once the returned
    /// [`Reports`] is dropped.
    pub fn settle(&self, reservation: Reservation, actual: &Actual) -> Reports {
        reservation.settle(actual)
    }

    /// Releases `reservation` whole: the call failed and cost nothing.
    pub fn release(&self, reservation: Reservation) {
        reservation.release();
    }

    /// The quota's numbers, once this node's pending settlements are applied.
    pub async fn status(&self, quota: &Quota) -> Result<QuotaStatus, LedgerError> {
        // A failed settlement is logged by the flusher; the numbers are still worth showing.
        let _ = self.flush().await;
        let now_ms = self.clock.now_ms();
        let period = quota.id.window.period(now_ms);
        let owner = self.owners.status(quota, period).await?;
        let held = self.state.table.lock().held(&quota.id, now_ms);
        let (free, reserved) = if held.period == owner.period {
            (held.free, held.reserved)
        } else {
            (0, 0)
        };
        Ok(QuotaStatus {
            limit: owner.limit,
            period: owner.period,
            spent: owner.spent,
            leased: owner.leased,
            reserved,
            available: owner.available.saturating_add(free.max(0)),
            resets_at_ms: quota.id.window.period_end_ms(owner.period),
        })
    }

    /// What this node holds of every quota it has touched, in the current periods:
    /// for gauges and the admin API.
    pub fn leases(&self) -> Vec<(QuotaId, NodeLease)> {
        let now_ms = self.clock.now_ms();
        let table = self.state.table.lock();
        table
            .quotas()
            .map(|q| (q.clone(), table.held(q, now_ms)))
            .collect()
    }

    /// Changes a quota's limit (an admin change). Leases already out are not revoked.
    pub async fn set_limit(&self, quota: &QuotaId, limit: i64) -> Result<(), LedgerError> {
        self.owners.set_limit(quota, limit).await
    }

    /// Sets the current period's spend of `quota`, as rebuilt from the audit journal at
    /// start-up.
    pub async fn restore(&self, quota: &Quota, spent_this_period: i64) -> Result<(), LedgerError> {
        let period = quota.id.window.period(self.clock.now_ms());
        self.owners.restore(quota, period, spent_this_period).await
    }

    /// Resolves once every settlement made before the call is applied by its owner;
    /// with the first failure since the previous flush, if any.
    pub async fn flush(&self) -> Result<(), LedgerError> {
        self.start_flusher();
        let (done, wait) = oneshot::channel();
        self.state.send(Outgoing::Flush(done));
        wait.await.unwrap_or(Ok(()))
    }

    /// Returns every free lease of the current period to its owner (on shutdown, so the
    /// cluster does not wait for the period to end to use it).
    pub async fn give_back_all(&self) -> Result<(), LedgerError> {
        let quotas: Vec<QuotaId> = self.state.table.lock().quotas().cloned().collect();
        let mut outcome = Ok(());
        for quota in quotas {
            let returned = self.give_back(&quota).await;
            if outcome.is_ok() {
                outcome = returned;
            }
        }
        outcome
    }

    /// Returns this node's free lease of `quota` to its owner. Lease held by calls in
    /// flight stays. If the owner does not acknowledge, the lease is not kept either:
    /// the owner may have applied the return, and spending it then could break the
    /// limit; the owner counts it as this node's until the period ends.
    pub async fn give_back(&self, quota: &QuotaId) -> Result<(), LedgerError> {
        let Some((period, amount)) = self.take_free(quota) else {
            return Ok(());
        };
        self.owners
            .give_back(quota, &self.node, self.next_op(), period, amount)
            .await
    }

    /// Takes this node's free lease of `quota` out of its table, to give back:
    /// `(period, amount)`, or `None` if none is free.
    pub fn take_free(&self, quota: &QuotaId) -> Option<(u64, i64)> {
        let now_ms = self.clock.now_ms();
        self.state.table.lock().take_free(quota, now_ms)
    }

    /// A fresh id for a grant request or a give-back.
    pub fn next_op(&self) -> u64 {
        self.ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    fn reservation(&self, request_id: &str, held: Vec<Held>) -> Reservation {
        Reservation::new(request_id, held, Arc::clone(&self.state))
    }

    /// The gate of `quota`'s refills: one grant request per quota at a time from this
    /// node. Besides sparing the owner a stampede, it makes a refusal exact: a request
    /// refused under the gate knows no grant to this node is still on its way.
    fn refill_gate(&self, quota: &QuotaId) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.gates.lock();
        if let Some(gate) = gates.get(quota) {
            return Arc::clone(gate);
        }
        Arc::clone(gates.entry(quota.clone()).or_default())
    }

    fn start_flusher(&self) {
        if let Some(queue) = self.queue.lock().take() {
            let node = self.node.clone();
            tokio::spawn(flusher::run(node, Arc::clone(&self.owners), queue));
        }
    }
}
