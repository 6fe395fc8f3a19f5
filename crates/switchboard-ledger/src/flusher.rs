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
use std::sync::atomic::{AtomicU64, Ordering};

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

/// This flusher's numbering of its settlements: the stream (its start time, so a
/// restarted node's is later) and, per quota, the last place given. Batches go out in
/// this order and one the owner did not take goes again ahead of anything newer, so an
/// owner can tell any repeat by its place (see [`crate::owner::QuotaLedger::settle`]).
struct Numbering {
    stream: u64,
    last: QuotaMap<u64>,
}

impl Numbering {
    fn new() -> Numbering {
        // Later than any stream begun before in this process too (nodes restarted within
        // one process, in tests, within the same millisecond).
        static LAST: AtomicU64 = AtomicU64::new(0);
        let start_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let before = LAST
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(start_ms.max(last + 1))
            })
            .unwrap_or(0);
        Numbering {
            stream: start_ms.max(before + 1),
            last: QuotaMap::default(),
        }
    }

    fn number(&mut self, quota: &QuotaId, s: &mut Settlement) {
        let last = match self.last.get_mut(quota) {
            Some(last) => last,
            None => self.last.entry(quota.clone()).or_default(),
        };
        *last += 1;
        s.stream = self.stream;
        s.seq = *last;
    }
}

/// Sorts what was taken off the queue: reports into their quota's batch (numbered),
/// flush markers into `waiters`.
fn absorb(
    taken: &mut Vec<Outgoing>,
    numbering: &mut Numbering,
    pending: &mut QuotaMap<Vec<Settlement>>,
    waiters: &mut Vec<oneshot::Sender<Result<(), LedgerError>>>,
) {
    for item in taken.drain(..) {
        match item {
            Outgoing::Settle {
                quota,
                mut settlement,
            } => {
                numbering.number(&quota, &mut settlement);
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
    let mut numbering = Numbering::new();
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
        absorb(&mut taken, &mut numbering, &mut pending, &mut waiters);
        // Under load, rounds are paced: what arrives until the next is due joins it.
        // A flush does not wait.
        if let Some(due) = last_round.map(|t| t + ROUND_EVERY) {
            while waiters.is_empty() {
                match tokio::time::timeout_at(due, queue.recv_many(&mut taken, MAX_BATCH)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => absorb(&mut taken, &mut numbering, &mut pending, &mut waiters),
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

    /// Owners that take every batch (but the first, when `refuse_first`) and tell the
    /// test which settlements came, and when.
    struct Seen(
        mpsc::UnboundedSender<(Vec<Settlement>, Instant)>,
        std::sync::atomic::AtomicBool,
    );

    fn ids(batch: &[Settlement]) -> Vec<String> {
        batch.iter().map(|s| s.request_id.to_string()).collect()
    }

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
            let count = batch.len();
            self.0.send((batch, Instant::now())).unwrap();
            if self.1.swap(false, std::sync::atomic::Ordering::SeqCst) {
                return Err(LedgerError::OwnerUnavailable(QuotaId::new(
                    Scope::Tenant("acme".into()),
                    Metric::Money,
                    Window::Day,
                )));
            }
            Ok(vec![Settled::Applied; count])
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
                stream: 0,
                seq: 0,
            },
        }
    }

    /// Time is paused: it moves only while every task waits on a timer, so a round that
    /// went without waiting shows no time passed.
    #[tokio::test(start_paused = true)]
    async fn a_report_at_rest_goes_at_once_and_a_burst_under_load_shares_the_next_round() {
        let (seen, mut batches) = mpsc::unbounded_channel();
        let (queue, taken) = mpsc::unbounded_channel();
        let owners = Seen(seen, false.into());
        tokio::spawn(run("node-1".into(), Arc::new(owners), taken));
        let start = Instant::now();

        queue.send(report("a")).unwrap();
        let (batch, at) = batches.recv().await.unwrap();
        assert_eq!(ids(&batch), ["a"]);
        assert_eq!(at, start, "the first report did not wait");

        // Three more while the round just sent is recent: they wait for the next.
        for id in ["b", "c", "d"] {
            queue.send(report(id)).unwrap();
        }
        let (batch, second) = batches.recv().await.unwrap();
        assert_eq!(ids(&batch), ["b", "c", "d"], "one batch for the three");
        assert!(second - at >= ROUND_EVERY, "paced: {:?}", second - at);

        // A flush does not wait for the pace: it sends what is queued now.
        queue.send(report("e")).unwrap();
        let (done, flushed) = oneshot::channel();
        queue.send(Outgoing::Flush(done)).unwrap();
        flushed.await.unwrap().unwrap();
        let (batch, third) = batches.recv().await.unwrap();
        assert_eq!(ids(&batch), ["e"]);
        assert_eq!(third, second, "the flush sent it without waiting");
    }

    #[tokio::test(start_paused = true)]
    async fn settlements_are_numbered_in_order_and_a_resend_keeps_its_numbers_ahead_of_newer_ones()
    {
        let (seen, mut batches) = mpsc::unbounded_channel();
        let (queue, taken) = mpsc::unbounded_channel();
        let owners = Seen(seen, true.into());
        tokio::spawn(run("node-1".into(), Arc::new(owners), taken));
        let places = |batch: &[Settlement]| -> Vec<(String, u64)> {
            batch
                .iter()
                .map(|s| (s.request_id.to_string(), s.seq))
                .collect()
        };

        queue.send(report("a")).unwrap();
        queue.send(report("b")).unwrap();
        let (refused, _) = batches.recv().await.unwrap();
        let stream = refused[0].stream;
        assert!(stream > 0, "numbered in a stream");
        // Sent while the refused batch waits to go again: it goes after it.
        queue.send(report("c")).unwrap();
        let (resent, _) = batches.recv().await.unwrap();
        assert_eq!(places(&refused), [("a".to_owned(), 1), ("b".to_owned(), 2)]);
        assert_eq!(
            places(&resent),
            [
                ("a".to_owned(), 1),
                ("b".to_owned(), 2),
                ("c".to_owned(), 3)
            ],
            "the refused batch again, with its numbers, and the newer one after it"
        );
        assert!(resent.iter().all(|s| s.stream == stream));
    }
}
