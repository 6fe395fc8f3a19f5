//! Terms of ownership: how a node becomes a quota's owner without two nodes ever granting
//! from the same headroom, even while their views of the membership disagree.
//!
//! Views disagree for a moment whenever a member comes or goes: one node may still see
//! itself as a quota's owner while another, seeing the change, takes the quota over.
//! So ownership comes in terms, ordered by `(epoch, owner name)`:
//!
//! 1. The node taking over claims the next term from every live member (itself
//!    included). A member that knows no later term promises to refuse changes of earlier
//!    terms from now on and answers with the newest state it holds; one that does answers
//!    `Outbid`, and the claimant tries again above it.
//! 2. With a majority of the cluster's configured size behind it, the claimant adopts the
//!    newest state among the answers and begins its term.
//! 3. Every change an owner makes is acknowledged only once its backup has stored it,
//!    and a backup refuses a change of an earlier term than one it has seen or promised.
//!
//! Two majorities share a member, so of two claims only the later one can have been
//! seen by every majority afterwards; the older owner's next change fails at its backup
//! (in a three-node cluster every member is in every majority but one, and the backup is
//! always another member), so it is never acknowledged, and the new owner started from
//! the newest state any acknowledged change left.

use std::time::Duration;

use switchboard_ledger::{LedgerError, LedgerSnapshot, Quota, QuotaId};

use super::NodeOwners;
use super::rpc::{RpcRequest, RpcResponse};

/// Claims one take-over may make before it gives up (each outbid raises the epoch).
const CLAIM_ROUNDS: u32 = 8;

impl NodeOwners {
    /// Makes sure this node runs `quota` as its owner in a term a majority accepted,
    /// from the newest state any of them held: the take-over after a membership change.
    pub(super) async fn take_over(&self, quota: &Quota) -> Result<(), LedgerError> {
        let Some(link) = &self.0.link else {
            return Ok(());
        };
        if link.owned.lock().contains(&quota.id) {
            return Ok(());
        }
        let gate = std::sync::Arc::clone(link.taking.lock().entry(quota.id.clone()).or_default());
        let _taking = gate.lock().await;
        if link.owned.lock().contains(&quota.id) {
            return Ok(());
        }
        let me = self.0.me.clone();
        let running = self.running_term(&quota.id).await;
        let known = running.max(link.store.highest_term(&quota.id));
        let mut epoch = known.map_or(0, |t| t.0) + 1;
        for round in 0..CLAIM_ROUNDS {
            if round > 0 {
                // Two claimants outbidding each other: let one of them get ahead.
                let jitter = u64::from(getrandom::u32().unwrap_or(0) % 40);
                tokio::time::sleep(Duration::from_millis(10 + jitter)).await;
            }
            if let Err(higher) = link.store.promise(&quota.id, (epoch, me.clone())) {
                epoch = epoch.max(higher.0) + 1;
                continue;
            }
            let mut best: Option<LedgerSnapshot> = self.0.local.snapshot(&quota.id).await;
            let mut consider = |s: LedgerSnapshot| {
                if best.as_ref().is_none_or(|b| s.order() > b.order()) {
                    best = Some(s);
                }
            };
            if let Some((_, s)) = link.store.get(&quota.id) {
                consider(s);
            }
            let mut asks = tokio::task::JoinSet::new();
            for peer in link.cluster.members().into_iter().filter(|m| m.name != me) {
                let owners = self.clone();
                let claim = RpcRequest::Claim {
                    quota: quota.id.clone(),
                    epoch,
                    claimant: me.clone(),
                };
                asks.spawn(async move { (peer.name.clone(), owners.call(&peer, &claim).await) });
            }
            let mut accepted = 1;
            let mut outbid = epoch;
            for (peer, answer) in asks.join_all().await {
                match answer {
                    Ok(RpcResponse::Snapshot(held)) => {
                        accepted += 1;
                        if let Some(held) = held {
                            consider(held.1);
                        }
                    }
                    Ok(RpcResponse::Outbid(e, _)) => outbid = outbid.max(e),
                    Ok(other) => {
                        tracing::debug!(quota = %quota.id, %peer, answer = ?other, "claim not answered")
                    }
                    Err(e) => {
                        tracing::debug!(quota = %quota.id, %peer, error = %e, "claim not answered")
                    }
                }
            }
            if accepted > link.cluster.quorum() / 2 {
                self.0.local.take_over(quota, &me, epoch, best).await?;
                link.owned.lock().insert(quota.id.clone());
                tracing::debug!(quota = %quota.id, epoch, "took over quota ownership");
                return Ok(());
            }
            epoch = outbid + 1;
        }
        tracing::warn!(quota = %quota.id, "no majority accepted this node's claim");
        Err(LedgerError::OwnerUnavailable(quota.id.clone()))
    }

    /// Answers a peer's claim of term `(epoch, claimant)` of `quota`.
    pub(super) async fn answer_claim(
        &self,
        quota: &QuotaId,
        epoch: u64,
        claimant: String,
    ) -> RpcResponse {
        let Some(link) = &self.0.link else {
            return RpcResponse::Failed("not clustered".into());
        };
        let claim = (epoch, claimant);
        if let Some(running) = self.running_term(quota).await
            && running >= claim
        {
            return RpcResponse::Outbid(running.0, running.1);
        }
        match link.store.promise(quota, claim.clone()) {
            Err((e, owner)) => RpcResponse::Outbid(e, owner),
            Ok(()) => {
                if claim.1 != self.0.me {
                    // Whatever this node thought, it owns the quota no more.
                    link.owned.lock().remove(quota);
                }
                RpcResponse::Snapshot(self.held(quota).await.map(Box::new))
            }
        }
    }

    /// Why a change of `snapshot`'s term must be refused here, if it must: this node
    /// has seen, or promised, a later term.
    pub(super) async fn fenced(
        &self,
        quota: &QuotaId,
        snapshot: &LedgerSnapshot,
    ) -> Option<String> {
        let link = self.0.link.as_ref()?;
        let running = self.running_term(quota).await;
        let highest = running.max(link.store.highest_term(quota))?;
        let term = (snapshot.epoch, snapshot.term_owner.clone());
        (term < highest).then(|| {
            format!(
                "fenced: term {}/{} of {quota} is older than {}/{}",
                term.0, term.1, highest.0, highest.1
            )
        })
    }

    /// The term of the owner this node runs for `quota`, if it runs one.
    async fn running_term(&self, quota: &QuotaId) -> Option<(u64, String)> {
        self.0
            .local
            .snapshot(quota)
            .await
            .map(|s| (s.epoch, s.term_owner))
    }
}
