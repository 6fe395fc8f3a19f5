//! Settlements on their way to the owners, in small batches, off the request path.
//!
//! Settling a request only updates the local lease and queues a report; one background
//! task per node drains the queue. Whatever has piled up while the previous batch was
//! on its way goes next, grouped into one message per quota, so batches grow with load
//! and need no timer. A flush marker in the queue is answered once everything queued
//! before it has been applied by its owner.
//!
//! A batch the owner did not take (unreachable, or ownership moving) is kept and sent
//! again with backoff until an owner takes it: owners ignore settlement ids they have
//! already applied, so a resend never counts twice, and until it lands the node's lease
//! still counts the spend, so the limit is safe meanwhile.

use crate::QuotaMap;
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

/// First and longest wait before settlements an owner did not take are sent again.
const RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(50);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// Drains `queue` until every sender is gone (and nothing is left to resend).
pub(crate) async fn run<O: Owners>(
    node: NodeId,
    owners: Arc<O>,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut taken = Vec::with_capacity(MAX_BATCH);
    let mut failure: Option<LedgerError> = None;
    let mut pending: QuotaMap<Vec<Settlement>> = QuotaMap::default();
    let mut backoff = RETRY_MIN;
    loop {
        let received = if pending.is_empty() {
            queue.recv_many(&mut taken, MAX_BATCH).await
        } else {
            // Something awaits a resend: take whatever arrives meanwhile, then retry.
            // A timeout counts as "something to do" so the retry runs.
            tokio::time::timeout(backoff, queue.recv_many(&mut taken, MAX_BATCH))
                .await
                .unwrap_or(1)
        };
        if received == 0 {
            if pending.is_empty() {
                return;
            }
            tokio::time::sleep(backoff).await;
        }
        let mut waiters = Vec::new();
        for item in taken.drain(..) {
            match item {
                Outgoing::Settle { quota, settlement } => {
                    pending.entry(quota).or_default().push(settlement)
                }
                Outgoing::Flush(waiter) => waiters.push(waiter),
            }
        }
        let mut failed = false;
        for (quota, batch) in std::mem::take(&mut pending) {
            let count = batch.len();
            if let Err(e) = owners.settle(&quota, &node, batch.clone()).await {
                tracing::warn!(quota = %quota, count, error = %e, "settlements not applied; will resend");
                failure.get_or_insert(e);
                pending.insert(quota, batch);
                failed = true;
            }
        }
        backoff = if failed {
            (backoff * 2).min(RETRY_MAX)
        } else {
            RETRY_MIN
        };
        if !waiters.is_empty() {
            let outcome = failure.take().map_or(Ok(()), Err);
            for waiter in waiters {
                let _ = waiter.send(outcome.clone());
            }
        }
    }
}
