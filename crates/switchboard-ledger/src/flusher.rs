//! Settlements on their way to the owners, in small batches, off the request path.
//!
//! Settling a request only updates the local lease and queues a report; one background
//! task per node drains the queue. Whatever has piled up while the previous batch was
//! on its way goes next, grouped into one message per quota, so batches grow with load
//! and need no timer. A flush marker in the queue is answered once everything queued
//! before it has been applied by its owner.
//!
//! A batch the owner did not take is logged and lost to the owner's book (its lease
//! still counts it, so the limit is safe; `spent` is short). The cluster work adds the
//! node's settlement journal, from which such batches are resent.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::LedgerError;
use crate::owner::Settlement;
use crate::owners::Owners;
use crate::quota::{NodeId, QuotaId};

/// Most reports taken off the queue per round.
pub const MAX_BATCH: usize = 256;

/// What the request path hands to the flusher.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Settle {
        quota: QuotaId,
        settlement: Settlement,
    },
    /// Answered when everything queued before it is applied; with the first error since
    /// the previous flush, if any.
    Flush(oneshot::Sender<Result<(), LedgerError>>),
}

/// Drains `queue` until every sender is gone.
pub(crate) async fn run<O: Owners>(
    node: NodeId,
    owners: Arc<O>,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut taken = Vec::with_capacity(MAX_BATCH);
    let mut failure: Option<LedgerError> = None;
    while queue.recv_many(&mut taken, MAX_BATCH).await > 0 {
        let mut batches: HashMap<QuotaId, Vec<Settlement>> = HashMap::new();
        let mut waiters = Vec::new();
        for item in taken.drain(..) {
            match item {
                Outgoing::Settle { quota, settlement } => {
                    batches.entry(quota).or_default().push(settlement);
                }
                Outgoing::Flush(waiter) => waiters.push(waiter),
            }
        }
        for (quota, batch) in batches {
            let count = batch.len();
            if let Err(e) = owners.settle(&quota, &node, batch).await {
                tracing::warn!(quota = %quota, count, error = %e, "settlements not applied");
                failure.get_or_insert(e);
            }
        }
        if !waiters.is_empty() {
            let outcome = failure.take().map_or(Ok(()), Err);
            for waiter in waiters {
                let _ = waiter.send(outcome.clone());
            }
        }
    }
}
