//! An owner's changes reaching its backup.
//!
//! Every change an owner acknowledges is first held by the quota's backup. The state
//! goes whole when the backup holds nothing this owner knows of; after that, as a
//! [`LedgerDelta`] on the state the backup last acknowledged: the new state but for the
//! settlement ids both already share, of which a change adds a few while a whole state
//! carries up to a thousand per period. Whole states were most of each replication's
//! bytes, signature and decoding (`benches/PROFILE.md`, "Replication as deltas").
//!
//! The base is named by its order `(epoch, term owner, version)`, which names one state
//! (one owner changes a quota within a term, a version at a time). A backup that holds
//! another state (it restarted, a later term reached it, or two changes of the quota
//! crossed on the way) answers `NeedWhole` and is sent the whole state, as is one that
//! cannot read a delta at all (an older peer): a delta is never applied to a state it
//! was not made from.

use switchboard_cluster::NodeId;
use switchboard_ledger::{LedgerDelta, LedgerError, LedgerSnapshot, Quota, QuotaId};

use super::NodeOwners;
use super::rpc::{RpcRequest, RpcResponse};

/// The backup of a quota and the order of the state it last acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backed {
    backup: String,
    order: (u64, String, u64),
}

/// What goes to the backup.
enum Outgoing {
    Delta(LedgerDelta),
    Whole(LedgerSnapshot),
}

impl NodeOwners {
    /// After a change as owner: keep the new state on disk and on the backup before the
    /// change is acknowledged.
    pub(super) async fn replicate(
        &self,
        quota: &QuotaId,
        backup: Option<NodeId>,
    ) -> Result<(), LedgerError> {
        let Some(link) = &self.0.link else {
            return Ok(());
        };
        let Some(snapshot) = self.0.local.snapshot(quota).await else {
            return Ok(());
        };
        // The limit as of this snapshot: a caller may have read the quota before a limit
        // change that the snapshot already carries.
        let quota = Quota::new(quota.clone(), snapshot.limit);
        let Some(backup) = backup else {
            link.store.offer(&quota, snapshot);
            return Ok(());
        };
        let id = quota.id.clone();
        let mut order = snapshot.order_key();
        let backed = link.backed.lock().get(&id).cloned();
        // A delta when the state this one replaces is the one the backup acknowledged.
        let acknowledged = |r: &LedgerSnapshot| {
            backed
                .as_ref()
                .is_some_and(|b| b.backup == backup.name && b.order == r.order_key())
        };
        let outgoing = link
            .store
            .offer_then(&quota, snapshot, |before, new| {
                match before
                    .filter(|r| acknowledged(r))
                    .and_then(|r| new.delta_from(r))
                {
                    Some(delta) => Outgoing::Delta(delta),
                    None => Outgoing::Whole(new.clone()),
                }
            })
            .unwrap_or_else(|s| Outgoing::Whole(*s));
        let snapshot = match outgoing {
            Outgoing::Whole(snapshot) => snapshot,
            Outgoing::Delta(delta) => {
                let req = RpcRequest::ReplicateDelta {
                    quota: quota.clone(),
                    delta,
                };
                match self.call(&backup, &req).await {
                    // Another base, or a peer that cannot read deltas: the whole state.
                    Ok(RpcResponse::NeedWhole | RpcResponse::Failed(_)) => {
                        metrics::counter!("switchboard_cluster_replications_total", "as" => "whole_after_delta")
                            .increment(1);
                        // Taken again: the one offered moved into the store. An owner
                        // gone meanwhile (ownership moved) leaves the change
                        // unacknowledged: its sender asks again, of the next owner.
                        let Some(snapshot) = self.0.local.snapshot(&id).await else {
                            return Err(LedgerError::OwnerUnavailable(id));
                        };
                        order = snapshot.order_key();
                        snapshot
                    }
                    other => return self.replicated(&id, &backup, order, other),
                }
            }
        };
        metrics::counter!("switchboard_cluster_replications_total", "as" => "whole").increment(1);
        let answer = self
            .call(&backup, &RpcRequest::Replicate { quota, snapshot })
            .await;
        self.replicated(&id, &backup, order, answer)
    }

    /// What the backup's answer to the change of `order` means for the quota.
    fn replicated(
        &self,
        id: &QuotaId,
        backup: &NodeId,
        order: (u64, String, u64),
        answer: Result<RpcResponse, String>,
    ) -> Result<(), LedgerError> {
        let Some(link) = &self.0.link else {
            return Ok(());
        };
        match answer {
            Ok(RpcResponse::Done) => {
                let mut backed = link.backed.lock();
                let newer = backed
                    .get(id)
                    .is_none_or(|b| b.backup != backup.name || b.order < order);
                if newer {
                    backed.insert(
                        id.clone(),
                        Backed {
                            backup: backup.name.clone(),
                            order,
                        },
                    );
                }
                Ok(())
            }
            other => {
                tracing::warn!(quota = %id, backup = %backup.name, answer = ?other, "backup did not take the change");
                // Fenced, or the backup is gone: take the quota over afresh before
                // serving it again.
                link.backed.lock().remove(id);
                link.owned.lock().remove(id);
                Err(LedgerError::OwnerUnavailable(id.clone()))
            }
        }
    }

    /// As backup: holds `snapshot` unless its term is over here.
    pub(super) async fn take_replica(
        &self,
        quota: &Quota,
        snapshot: LedgerSnapshot,
    ) -> RpcResponse {
        let Some(link) = &self.0.link else {
            return RpcResponse::Done;
        };
        if let Some(why) = self.fenced(&quota.id, &snapshot).await {
            // An owner whose term is over tried to change the books: refused.
            metrics::counter!("switchboard_cluster_fenced_total").increment(1);
            return RpcResponse::Failed(why);
        }
        // Anything else older is superseded by what is held (the same term's later
        // snapshot, which includes it): kept out, but acknowledged.
        link.store.offer(quota, snapshot);
        RpcResponse::Done
    }

    /// As backup: the state `delta` makes of the one held, taken as a whole state is;
    /// `NeedWhole` if the held state is not the delta's base.
    pub(super) async fn take_delta(&self, quota: &Quota, delta: &LedgerDelta) -> RpcResponse {
        let Some(link) = &self.0.link else {
            return RpcResponse::Done;
        };
        match link.store.rebuild(&quota.id, delta) {
            Some(snapshot) => self.take_replica(quota, snapshot).await,
            None => RpcResponse::NeedWhole,
        }
    }
}
