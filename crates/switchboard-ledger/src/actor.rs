//! [`LedgerActor`]: the owner of one quota, a thin actor around a [`QuotaLedger`].
//!
//! The actor serialises every mutation of the quota's book, so grants never race each
//! other past the limit. It does no I/O and holds no clock: periods come in the
//! messages, from the caller's clock. Replicating each mutation to a backup and
//! journaling it go here later, before the reply.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::owner::{Grant, OwnerStatus, QuotaLedger, Settled, Settlement};
use crate::quota::NodeId;
use crate::snapshot::LedgerSnapshot;

/// Messages the owner of a quota understands.
#[derive(Debug)]
pub enum LedgerMsg {
    /// Lease up to `want` (at least `min`, else nothing) to `node` in `period`.
    Grant {
        /// Makes a retried request idempotent (0: not deduplicated).
        id: u64,
        node: NodeId,
        period: u64,
        want: i64,
        min: i64,
        reply: RpcReplyPort<Grant>,
    },
    /// Finished calls of `node`; answered once all are applied.
    Settle {
        node: NodeId,
        batch: Vec<Settlement>,
        reply: RpcReplyPort<Vec<Settled>>,
    },
    /// `node` returns unreserved lease of `period`.
    GiveBack {
        /// Makes a retried return idempotent (0: not deduplicated).
        id: u64,
        node: NodeId,
        period: u64,
        amount: i64,
    },
    /// An admin change of the limit.
    SetLimit(i64),
    /// The numbers as of `period`.
    Status {
        period: u64,
        reply: RpcReplyPort<OwnerStatus>,
    },
    /// Spend of `period` rebuilt from the audit journal at start-up.
    Restore { period: u64, spent: i64 },
    /// The whole state, for replication and hand-over.
    Snapshot(RpcReplyPort<LedgerSnapshot>),
    /// The limit alone (a snapshot carries a thousand settlement ids).
    Limit(RpcReplyPort<i64>),
    /// `node` is back and its journal charged `journal_total` in `period`; replies with
    /// the unreported amount charged now (see [`QuotaLedger::rejoin`]).
    Rejoin {
        node: NodeId,
        period: u64,
        journal_total: i64,
        reply: RpcReplyPort<i64>,
    },
    /// A new term of ownership: adopt `newest` if it is newer than the state held, then
    /// begin term `epoch` of `owner`.
    TakeOver {
        owner: NodeId,
        epoch: u64,
        newest: Option<Box<LedgerSnapshot>>,
        reply: RpcReplyPort<()>,
    },
}

/// Owns one quota's [`QuotaLedger`]; started with the quota's limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerActor;

impl Actor for LedgerActor {
    type Msg = LedgerMsg;
    type State = QuotaLedger;
    type Arguments = i64;

    async fn pre_start(
        &self,
        _myself: ActorRef<LedgerMsg>,
        limit: i64,
    ) -> Result<QuotaLedger, ActorProcessingErr> {
        Ok(QuotaLedger::new(limit))
    }

    async fn handle(
        &self,
        _myself: ActorRef<LedgerMsg>,
        msg: LedgerMsg,
        ledger: &mut QuotaLedger,
    ) -> Result<(), ActorProcessingErr> {
        // A caller that gave up waiting has dropped its reply port: nothing to do then.
        match msg {
            LedgerMsg::Grant {
                id,
                node,
                period,
                want,
                min,
                reply,
            } => {
                let _ = reply.send(ledger.grant_once(id, period, &node, want, min));
            }
            LedgerMsg::Settle { node, batch, reply } => {
                let outcomes = batch.iter().map(|s| ledger.settle(&node, s)).collect();
                let _ = reply.send(outcomes);
            }
            LedgerMsg::GiveBack {
                id,
                node,
                period,
                amount,
            } => ledger.give_back_once(id, &node, period, amount),
            LedgerMsg::SetLimit(limit) => ledger.set_limit(limit),
            LedgerMsg::Status { period, reply } => {
                let _ = reply.send(ledger.status(period));
            }
            LedgerMsg::Restore { period, spent } => ledger.restore(period, spent),
            LedgerMsg::Snapshot(reply) => {
                let _ = reply.send(ledger.snapshot());
            }
            LedgerMsg::Limit(reply) => {
                let _ = reply.send(ledger.limit());
            }
            LedgerMsg::Rejoin {
                node,
                period,
                journal_total,
                reply,
            } => {
                let _ = reply.send(ledger.rejoin(period, &node, journal_total));
            }
            LedgerMsg::TakeOver {
                owner,
                epoch,
                newest,
                reply,
            } => {
                if let Some(s) = newest
                    && s.order() > ledger.order()
                {
                    *ledger = QuotaLedger::from_snapshot(&s);
                }
                ledger.begin_term(epoch, &owner);
                let _ = reply.send(());
            }
        }
        Ok(())
    }
}
