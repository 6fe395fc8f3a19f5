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

fn order_of(s: &LedgerSnapshot) -> (u64, String, u64) {
    (s.epoch, s.term_owner.clone(), s.version)
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
        let replaced = link.store.replace(&quota, snapshot.clone()).ok().flatten();
        let Some(backup) = backup else { return Ok(()) };
        let id = quota.id.clone();
        let base = replaced.filter(|r| {
            link.backed.lock().get(&id)
                == Some(&Backed {
                    backup: backup.name.clone(),
                    order: order_of(r),
                })
        });
        let order = order_of(&snapshot);
        let mut answer = None;
        if let Some(delta) = base.and_then(|b| snapshot.delta_from(&b)) {
            let sent = self
                .call(
                    &backup,
                    &RpcRequest::ReplicateDelta {
                        quota: quota.clone(),
                        delta,
                    },
                )
                .await;
            match sent {
                // Another base, or a peer that cannot read deltas: the whole state.
                Ok(RpcResponse::NeedWhole | RpcResponse::Failed(_)) => {
                    metrics::counter!("switchboard_cluster_replications_total", "as" => "whole_after_delta")
                        .increment(1);
                }
                other => answer = Some(other),
            }
        }
        let answer = match answer {
            Some(a) => a,
            None => {
                metrics::counter!("switchboard_cluster_replications_total", "as" => "whole")
                    .increment(1);
                self.call(&backup, &RpcRequest::Replicate { quota, snapshot })
                    .await
            }
        };
        match answer {
            Ok(RpcResponse::Done) => {
                let mut backed = link.backed.lock();
                let newer = backed
                    .get(&id)
                    .is_none_or(|b| b.backup != backup.name || b.order < order);
                if newer {
                    backed.insert(
                        id,
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
                link.backed.lock().remove(&id);
                link.owned.lock().remove(&id);
                Err(LedgerError::OwnerUnavailable(id))
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
