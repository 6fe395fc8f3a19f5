//! Settlements on their way to the owners, in small batches, off the request path.
//!
//! Settling a request only updates the local lease and queues a report; one background
//! task per node drains the queue. Whatever has piled up while the previous batch was
//! on its way goes next, grouped into one message per quota, so batches grow with load;
//! rounds begin at most every [`ROUND_EVERY`]. A flush marker in the queue is answered
//! once everything queued before it has been applied by its owner.
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

/// The shortest time between the starts of two rounds. A report made when the last
/// round began longer ago goes at once (at rest, every report); under load the reports
/// of each quota made in this time share one message, so an owner (which replicates
/// every change it acknowledges to its backup) takes a few dozen batches a second from
/// each node rather than one per audit commit (`benches/PROFILE.md`, "The owners' work
/// per change"). Delaying a report costs no limit its exactness: until it lands, the
/// node's lease still counts the spend. A flush never waits for it.
pub const ROUND_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Sorts what was taken off the queue: reports into their quota's batch, flush
/// markers into `waiters`.
fn absorb(
    taken: &mut Vec<Outgoing>,
    pending: &mut QuotaMap<Vec<Settlement>>,
    waiters: &mut Vec<oneshot::Sender<Result<(), LedgerError>>>,
) {
    for item in taken.drain(..) {
        match item {
            Outgoing::Settle { quota, settlement } => {
                pending.entry(quota).or_default().push(settlement)
            }
            Outgoing::Flush(waiter) => waiters.push(waiter),
        }
    }
}

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
    let mut last_round: Option<tokio::time::Instant> = None;
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
        absorb(&mut taken, &mut pending, &mut waiters);
        // Under load, rounds are paced: what arrives until the next is due joins it.
        // A flush does not wait.
        if let Some(due) = last_round.map(|t| t + ROUND_EVERY) {
            while waiters.is_empty() {
                match tokio::time::timeout_at(due, queue.recv_many(&mut taken, MAX_BATCH)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => absorb(&mut taken, &mut pending, &mut waiters),
                }
            }
        }
        last_round = Some(tokio::time::Instant::now());
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::time::Instant;

    use super::*;
    use crate::owner::{Grant, OwnerStatus, Settled};
    use crate::owners::GrantRequest;
    use crate::quota::{Metric, Quota, Scope};
    use crate::window::Window;

    /// Owners that take every batch and tell the test which ids came, and when.
    struct Seen(mpsc::UnboundedSender<(Vec<String>, Instant)>);

    fn unused(q: &QuotaId) -> LedgerError {
        LedgerError::OwnerUnavailable(q.clone())
    }

    impl Owners for Seen {
        async fn grant(&self, q: &Quota, _: &str, _: GrantRequest) -> Result<Grant, LedgerError> {
            Err(unused(&q.id))
        }
        async fn settle(
            &self,
            _: &QuotaId,
            _: &str,
            batch: Vec<Settlement>,
        ) -> Result<Vec<Settled>, LedgerError> {
            let ids = batch.iter().map(|s| s.request_id.to_string()).collect();
            self.0.send((ids, Instant::now())).unwrap();
            Ok(vec![Settled::Applied; batch.len()])
        }
        async fn give_back(
            &self,
            q: &QuotaId,
            _: &str,
            _: u64,
            _: u64,
            _: i64,
        ) -> Result<(), LedgerError> {
            Err(unused(q))
        }
        async fn set_limit(&self, q: &QuotaId, _: i64) -> Result<(), LedgerError> {
            Err(unused(q))
        }
        async fn status(&self, q: &Quota, _: u64) -> Result<OwnerStatus, LedgerError> {
            Err(unused(&q.id))
        }
        async fn restore(&self, q: &Quota, _: u64, _: i64) -> Result<(), LedgerError> {
            Err(unused(&q.id))
        }
    }

    fn report(id: &str) -> Outgoing {
        Outgoing::Settle {
            quota: QuotaId::new(Scope::Tenant("acme".into()), Metric::Money, Window::Day),
            settlement: Settlement {
                request_id: id.into(),
                period: 1,
                reserved: 5,
                charged: 3,
            },
        }
    }

    /// Time is paused: it moves only while every task waits on a timer, so a round that
    /// went without waiting shows no time passed.
    #[tokio::test(start_paused = true)]
    async fn a_report_at_rest_goes_at_once_and_a_burst_under_load_shares_the_next_round() {
        let (seen, mut batches) = mpsc::unbounded_channel();
        let (queue, taken) = mpsc::unbounded_channel();
        tokio::spawn(run("node-1".into(), Arc::new(Seen(seen)), taken));
        let start = Instant::now();

        queue.send(report("a")).unwrap();
        let (ids, at) = batches.recv().await.unwrap();
        assert_eq!(ids, ["a"]);
        assert_eq!(at, start, "the first report did not wait");

        // Three more while the round just sent is recent: they wait for the next.
        for id in ["b", "c", "d"] {
            queue.send(report(id)).unwrap();
        }
        let (ids, second) = batches.recv().await.unwrap();
        assert_eq!(ids, ["b", "c", "d"], "one batch for the three");
        assert!(second - at >= ROUND_EVERY, "paced: {:?}", second - at);

        // A flush does not wait for the pace: it sends what is queued now.
        queue.send(report("e")).unwrap();
        let (done, flushed) = oneshot::channel();
        queue.send(Outgoing::Flush(done)).unwrap();
        flushed.await.unwrap().unwrap();
        let (ids, third) = batches.recv().await.unwrap();
        assert_eq!(ids, ["e"]);
        assert_eq!(third, second, "the flush sent it without waiting");
    }
}
