//! Where the owner of a quota is: the [`Owners`] seam, and [`LocalOwners`].
//!
//! The node's [`crate::Ledger`] talks to owners only through this trait. On a single
//! node every owner is a local [`LedgerActor`], spawned on first use. The cluster plugs
//! in an implementation that places each quota on a node (rendezvous hashing over the
//! live members), forwards to remote owners and retries on a membership change; nothing
//! else in the ledger needs to change.

use crate::QuotaMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef, RpcReplyPort};
use tokio::sync::OnceCell;

use crate::actor::{LedgerActor, LedgerMsg};
use crate::error::LedgerError;
use crate::owner::{Grant, OwnerStatus, Settled, Settlement};
use crate::quota::{Quota, QuotaId};

/// A node's request for lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GrantRequest {
    /// Unique per request of a node (across its restarts): a retry of the same request
    /// is answered once. 0: not deduplicated.
    #[serde(default)]
    pub id: u64,
    /// The period of the node's clock.
    pub period: u64,
    pub want: i64,
    /// Anything less is refused: it could not serve the reservation that asked.
    pub min: i64,
}

/// The owners of quotas, wherever they are. Calls that take a [`Quota`] may create its
/// owner (with that limit); the others need one to exist already.
pub trait Owners: Send + Sync + 'static {
    fn grant(
        &self,
        quota: &Quota,
        node: &str,
        request: GrantRequest,
    ) -> impl Future<Output = Result<Grant, LedgerError>> + Send;

    /// Applies a batch of `node`'s settlements; resolves once all are applied.
    fn settle(
        &self,
        quota: &QuotaId,
        node: &str,
        batch: Vec<Settlement>,
    ) -> impl Future<Output = Result<Vec<Settled>, LedgerError>> + Send;

    /// `node` returns `amount` of its lease of `period`; `id` makes a retry idempotent
    /// (0: not deduplicated).
    fn give_back(
        &self,
        quota: &QuotaId,
        node: &str,
        id: u64,
        period: u64,
        amount: i64,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Changes the limit of `quota`, creating its owner with `limit` if there is none.
    fn set_limit(
        &self,
        quota: &QuotaId,
        limit: i64,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    fn status(
        &self,
        quota: &Quota,
        period: u64,
    ) -> impl Future<Output = Result<OwnerStatus, LedgerError>> + Send;

    fn restore(
        &self,
        quota: &Quota,
        period: u64,
        spent: i64,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

type Slot = Arc<OnceCell<ActorRef<LedgerMsg>>>;

/// Every owner on this node: one [`LedgerActor`] per quota, spawned on first use and
/// stopped when this is dropped.
#[derive(Default)]
pub struct LocalOwners {
    actors: Mutex<QuotaMap<Slot>>,
}

impl LocalOwners {
    pub fn new() -> Self {
        Self::default()
    }

    /// The owner of `quota`, spawned with `limit` if it does not exist yet. Concurrent
    /// first uses wait for the same spawn.
    async fn owner(&self, quota: &QuotaId, limit: i64) -> Result<ActorRef<LedgerMsg>, LedgerError> {
        let slot = Arc::clone(self.actors.lock().entry(quota.clone()).or_default());
        slot.get_or_try_init(|| async {
            Actor::spawn(None, LedgerActor, limit)
                .await
                .map(|(actor, _handle)| actor)
                .map_err(|e| {
                    tracing::error!(quota = %quota, error = %e, "cannot start the owner");
                    LedgerError::OwnerUnavailable(quota.clone())
                })
        })
        .await
        .cloned()
    }

    /// Whether this node runs the owner of `quota`.
    pub fn holds(&self, quota: &QuotaId) -> bool {
        self.actors
            .lock()
            .get(quota)
            .is_some_and(|slot| slot.get().is_some())
    }

    /// The state of `quota`'s owner on this node, if it runs one.
    pub async fn snapshot(&self, quota: &QuotaId) -> Option<crate::snapshot::LedgerSnapshot> {
        let actor = self.existing(quota).ok()?;
        ask(&actor, quota, LedgerMsg::Snapshot).await.ok()
    }

    /// The limit of `quota`'s owner on this node, if it runs one: what a call that names
    /// only the quota's id needs, without the snapshot's settlement ids.
    pub async fn limit(&self, quota: &QuotaId) -> Option<i64> {
        let actor = self.existing(quota).ok()?;
        ask(&actor, quota, LedgerMsg::Limit).await.ok()
    }

    /// `node` is back: charges what its journal says it spent in `period` beyond what it
    /// settled, and drops the lease of its previous life. Returns the amount charged.
    pub async fn rejoin(
        &self,
        quota: &Quota,
        node: &str,
        period: u64,
        journal_total: i64,
    ) -> Result<i64, LedgerError> {
        let actor = self.owner(&quota.id, quota.limit).await?;
        ask(&actor, &quota.id, |reply| LedgerMsg::Rejoin {
            node: node.to_owned(),
            period,
            journal_total,
            reply,
        })
        .await
    }

    /// Starts term `epoch` of `quota` on this node, owned by `me` (creating the owner):
    /// the owner adopts `newest` if it is newer than its own state, then begins the term,
    /// in one step, so no change it applied meanwhile is overwritten.
    pub async fn take_over(
        &self,
        quota: &Quota,
        me: &str,
        epoch: u64,
        newest: Option<crate::snapshot::LedgerSnapshot>,
    ) -> Result<(), LedgerError> {
        let limit = newest.as_ref().map_or(quota.limit, |s| s.limit);
        let actor = self.owner(&quota.id, limit).await?;
        ask(&actor, &quota.id, |reply| LedgerMsg::TakeOver {
            owner: me.to_owned(),
            epoch,
            newest: newest.map(Box::new),
            reply,
        })
        .await
    }

    /// Stops and forgets `quota`'s owner on this node (its ownership moved away).
    pub fn forget(&self, quota: &QuotaId) {
        if let Some(actor) = self
            .actors
            .lock()
            .remove(quota)
            .and_then(|slot| slot.get().cloned())
        {
            actor.stop(None);
        }
    }

    /// Every quota whose owner runs on this node.
    pub fn quotas(&self) -> Vec<QuotaId> {
        self.actors
            .lock()
            .iter()
            .filter(|(_, slot)| slot.get().is_some())
            .map(|(q, _)| q.clone())
            .collect()
    }

    fn existing(&self, quota: &QuotaId) -> Result<ActorRef<LedgerMsg>, LedgerError> {
        self.actors
            .lock()
            .get(quota)
            .and_then(|slot| slot.get().cloned())
            .ok_or_else(|| LedgerError::UnknownQuota(quota.clone()))
    }
}

/// Asks `actor` and waits for the answer; a stopped actor is an unavailable owner.
async fn ask<T: Send + 'static>(
    actor: &ActorRef<LedgerMsg>,
    quota: &QuotaId,
    build: impl FnOnce(RpcReplyPort<T>) -> LedgerMsg,
) -> Result<T, LedgerError> {
    match actor.call(build, None).await {
        Ok(CallResult::Success(answer)) => Ok(answer),
        _ => Err(LedgerError::OwnerUnavailable(quota.clone())),
    }
}

fn tell(actor: &ActorRef<LedgerMsg>, quota: &QuotaId, msg: LedgerMsg) -> Result<(), LedgerError> {
    actor
        .cast(msg)
        .map_err(|_| LedgerError::OwnerUnavailable(quota.clone()))
}

impl Owners for LocalOwners {
    async fn grant(
        &self,
        quota: &Quota,
        node: &str,
        request: GrantRequest,
    ) -> Result<Grant, LedgerError> {
        let actor = self.owner(&quota.id, quota.limit).await?;
        ask(&actor, &quota.id, |reply| LedgerMsg::Grant {
            id: request.id,
            node: node.to_owned(),
            period: request.period,
            want: request.want,
            min: request.min,
            reply,
        })
        .await
    }

    async fn settle(
        &self,
        quota: &QuotaId,
        node: &str,
        batch: Vec<Settlement>,
    ) -> Result<Vec<Settled>, LedgerError> {
        let actor = self.existing(quota)?;
        let node = node.to_owned();
        ask(&actor, quota, |reply| LedgerMsg::Settle {
            node,
            batch,
            reply,
        })
        .await
    }

    async fn give_back(
        &self,
        quota: &QuotaId,
        node: &str,
        id: u64,
        period: u64,
        amount: i64,
    ) -> Result<(), LedgerError> {
        let actor = self.existing(quota)?;
        let node = node.to_owned();
        tell(
            &actor,
            quota,
            LedgerMsg::GiveBack {
                id,
                node,
                period,
                amount,
            },
        )
    }

    async fn set_limit(&self, quota: &QuotaId, limit: i64) -> Result<(), LedgerError> {
        let actor = self.owner(quota, limit).await?;
        tell(&actor, quota, LedgerMsg::SetLimit(limit))
    }

    async fn status(&self, quota: &Quota, period: u64) -> Result<OwnerStatus, LedgerError> {
        let actor = self.owner(&quota.id, quota.limit).await?;
        ask(&actor, &quota.id, |reply| LedgerMsg::Status {
            period,
            reply,
        })
        .await
    }

    async fn restore(&self, quota: &Quota, period: u64, spent: i64) -> Result<(), LedgerError> {
        let actor = self.owner(&quota.id, quota.limit).await?;
        tell(&actor, &quota.id, LedgerMsg::Restore { period, spent })
    }
}

impl Drop for LocalOwners {
    fn drop(&mut self) {
        for slot in self.actors.get_mut().values() {
            if let Some(actor) = slot.get() {
                actor.stop(None);
            }
        }
    }
}
