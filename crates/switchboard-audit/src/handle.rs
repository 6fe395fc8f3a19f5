//! [`AuditLog`]: the handle the gateway holds, and how the writer is started.
//!
//! Ractor mailboxes are unbounded, so backpressure lives here: a semaphore with
//! `capacity` permits, one per record not yet durable. The gateway takes a permit at
//! admission with [`AuditLog::try_reserve`] (a request it could not audit is refused
//! with 503 instead of being served unaudited), and spends it with [`AuditSlot::append`]
//! when the request completes. The permit travels with the record into the actor and is
//! released when the record is durable, so the bound holds even if the appending future
//! is dropped. A slot dropped unused releases its permit at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;
use ractor::{Actor, ActorRef};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;

use crate::config::AuditConfig;
use crate::error::{AuditError, IoContext};
use crate::lock::DirLock;
use crate::record::AuditRecord;
use crate::recovery::{RecoveryReport, recover};
use crate::sink::{FileSink, SegmentSink};
use crate::writer::{Appended, AuditMsg, AuditWriterActor, Pending, Pushed, Shared, WriterArgs};

/// Opens (or creates) the log directory and starts its writer.
pub async fn start(config: AuditConfig) -> Result<AuditLog, AuditError> {
    start_with_sink(config, |files| files).await
}

/// Like [`start`], with the file sink wrapped by `wrap` (tests use it to stall or fail
/// writes). The directory is locked and recovered before `wrap` is called.
pub async fn start_with_sink<S, W>(mut config: AuditConfig, wrap: W) -> Result<AuditLog, AuditError>
where
    S: SegmentSink,
    W: FnOnce(FileSink) -> S,
{
    config.capacity = config.capacity.clamp(1, Semaphore::MAX_PERMITS);
    config.max_batch = config.max_batch.max(1);
    let dir = config.dir.clone();
    let opened = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).at(&dir)?;
        let lock = DirLock::acquire(&dir)?;
        let recovery = recover(&dir)?;
        Ok::<_, AuditError>((lock, recovery))
    })
    .await
    .map_err(|e| AuditError::Spawn(e.to_string()))?;
    let (lock, recovery) = opened?;
    tracing::info!(dir = %config.dir.display(), last_seq = recovery.last_seq,
        head = ?recovery.head, cut_partial_bytes = recovery.cut_partial_bytes,
        "audit log opened");

    let shared = Arc::new(Shared::default());
    let permits = Arc::new(Semaphore::new(config.capacity));
    let args = WriterArgs {
        sink: Box::new(wrap(FileSink::new(&config.dir))),
        config,
        lock,
        recovery: recovery.clone(),
        shared: Arc::clone(&shared),
    };
    let (actor, join) = Actor::spawn(None, AuditWriterActor, args)
        .await
        .map_err(|e| AuditError::Spawn(e.to_string()))?;
    Ok(AuditLog {
        inner: Arc::new(Inner {
            actor,
            permits,
            shared,
            recovery,
            join: Mutex::new(Some(join)),
        }),
    })
}

/// A cloneable handle to a running audit writer.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    actor: ActorRef<AuditMsg>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    recovery: RecoveryReport,
    join: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("healthy", &self.healthy())
            .field("backlog", &self.backlog())
            .field("commits", &self.commits())
            .finish()
    }
}

impl AuditLog {
    /// Waits for room for one more record (backpressure), then holds it.
    pub async fn reserve(&self) -> Result<AuditSlot, AuditError> {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| AuditError::Closed)?;
        Ok(self.slot(permit))
    }

    /// Holds room for one more record if there is some now; never waits.
    pub fn try_reserve(&self) -> Option<AuditSlot> {
        let permit = Arc::clone(&self.inner.permits).try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    /// [`Self::reserve`] then [`AuditSlot::append`].
    pub async fn append(&self, record: AuditRecord) -> Result<Appended, AuditError> {
        self.reserve().await?.append(record).await
    }

    /// Waits until every record appended before this call is durable.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .actor
            .cast(AuditMsg::Barrier(tx))
            .map_err(|_| AuditError::Closed)?;
        rx.await.map_err(|_| AuditError::Closed)
    }

    /// Makes everything appended so far durable, then stops the writer and releases the
    /// directory. Appends that reach the writer afterwards fail with
    /// [`AuditError::Closed`]. Like every append, this waits out a failing disk; put a
    /// deadline around it if the process must exit regardless.
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        self.inner.permits.close();
        let (tx, rx) = oneshot::channel();
        let sent = self.inner.actor.cast(AuditMsg::Shutdown(tx)).is_ok();
        let flushed = if sent { rx.await.is_ok() } else { false };
        let join = self.inner.join.lock().take();
        if let Some(join) = join {
            let _ = join.await;
        }
        if flushed {
            Ok(())
        } else {
            Err(AuditError::Closed)
        }
    }

    /// False while commits are failing (records are then kept and retried).
    pub fn healthy(&self) -> bool {
        self.inner.shared.healthy.load(Ordering::Relaxed)
    }

    /// Records sent to the writer and not yet durable.
    pub fn backlog(&self) -> usize {
        self.inner.shared.backlog.load(Ordering::Relaxed)
    }

    /// Successful group commits (segment fsyncs) since start.
    pub fn commits(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::Relaxed)
    }

    /// What the writer found when it opened the directory.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> AuditSlot {
        AuditSlot {
            permit,
            log: Arc::clone(&self.inner),
        }
    }
}

impl Drop for Inner {
    /// The last handle (or slot) is gone: nobody can append any more, so the writer
    /// commits what it holds and stops, releasing the directory, as on `shutdown`.
    fn drop(&mut self) {
        let (tx, _rx) = oneshot::channel();
        let _ = self.actor.cast(AuditMsg::Shutdown(tx));
    }
}

/// Room for one record, reserved ahead of time. Dropping it unused frees the room.
pub struct AuditSlot {
    permit: OwnedSemaphorePermit,
    /// Keeps the writer alive until the record is sent.
    log: Arc<Inner>,
}

impl fmt::Debug for AuditSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditSlot")
    }
}

impl AuditSlot {
    /// Sends the record to the writer and resolves once it is durable. The writer sets
    /// `seq`, `prev` and `node`.
    pub async fn append(self, record: AuditRecord) -> Result<Appended, AuditError> {
        self.send(record).await
    }

    /// Sends the record to the writer now, before returning, so that a [`AuditLog::flush`]
    /// called afterwards covers it; the returned future resolves once it is durable (and
    /// need not be awaited: the record is on its way either way).
    pub fn send(
        self,
        record: AuditRecord,
    ) -> impl Future<Output = Result<Appended, AuditError>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        self.hand_over(record, Some(reply), None);
        async move { rx.await.map_err(|_| AuditError::Closed)? }
    }

    /// Sends the record to the writer now, like [`AuditSlot::send`], with nobody waiting
    /// on it: the writer logs it (with its request id) if it can never be written. Saves
    /// the caller a task per record that would only wait to log the same.
    pub fn submit(self, record: AuditRecord) {
        self.submit_holding(record, None);
    }

    /// [`AuditSlot::submit`], keeping `hold` until the record is durable, or known never
    /// to be written: its drop is the signal. The gateway holds a call's ledger reports
    /// this way, so no owner counts spend the audit log could still lose in a crash.
    pub fn submit_holding(self, record: AuditRecord, hold: Option<Box<dyn Send>>) {
        self.hand_over(record, None, hold);
    }

    /// Queues the record for the writer. If the log is closed (or its writer gone) the
    /// record is refused at once: its waiter gets [`AuditError::Closed`], or, with no
    /// waiter, the refusal is logged with its request id.
    fn hand_over(
        self,
        record: AuditRecord,
        reply: Option<oneshot::Sender<Result<Appended, AuditError>>>,
        hold: Option<Box<dyn Send>>,
    ) {
        let pending = Pending {
            record,
            reply,
            permit: self.permit,
            hold,
        };
        let shared = &self.log.shared;
        // Counted before it is queued: the writer may answer it (and count it off)
        // before this thread runs another line.
        shared.backlog.fetch_add(1, Ordering::Relaxed);
        let pushed = shared.intake.lock().push(pending);
        match pushed {
            Pushed::Closed(back) => {
                shared.backlog.fetch_sub(1, Ordering::Relaxed);
                back.tell(Err(AuditError::Closed));
            }
            Pushed::Queued { announce: false } => {}
            Pushed::Queued { announce: true } => {
                if self.log.actor.cast(AuditMsg::Wake).is_err() {
                    // The writer is gone and nothing will take the queue: close it and
                    // refuse what it holds (this record included), so no waiter hangs.
                    let stranded = shared.intake.lock().close();
                    for pending in stranded {
                        shared.backlog.fetch_sub(1, Ordering::Relaxed);
                        pending.tell(Err(AuditError::Closed));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    /// On a runtime crowded with busy tasks the writer gets one turn per round of them;
    /// in that one turn it must take every record appended so far, however many, or a
    /// loaded node's backlog grows until it refuses calls while the disk is idle.
    #[tokio::test(flavor = "current_thread")]
    async fn one_turn_of_the_writer_takes_every_record_appended_while_the_runtime_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AuditConfig::new(dir.path(), "node-a");
        config.capacity = 10_000;
        config.max_batch = 10_000;
        // No commit while the test looks: it is about taking records in, not writing.
        config.commit_delay = Duration::from_secs(3600);
        let log = start(config).await.unwrap();

        // Tasks that are always runnable, like connections on a saturated node.
        let stop = Arc::new(AtomicBool::new(false));
        let busy: Vec<_> = (0..100)
            .map(|_| {
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for i in 0..5_000 {
            let record = AuditRecord {
                request_id: format!("req-{i}"),
                ..AuditRecord::default()
            };
            log.try_reserve().unwrap().submit(record);
        }
        // Back of the run queue, behind the busy tasks and the writer's wake-up: when
        // this returns, the writer has had its turn (two rounds, for slack).
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let queued = format!("{:?}", log.inner.shared.intake.lock());
        assert!(queued.contains("queued: 0"), "{queued}");
        assert_eq!(log.backlog(), 5_000, "taken in, not yet durable");

        stop.store(true, Ordering::Relaxed);
        for task in busy {
            task.await.unwrap();
        }
        log.flush().await.unwrap();
        assert_eq!(log.backlog(), 0);
        assert_eq!(log.commits(), 1, "one group commit for all of them");
        // The burst's room is given back: the queues keep a few hundred records' worth,
        // not 5000 (about 3 MB) for the rest of the process's life.
        let room = log.inner.shared.intake.lock().room();
        assert!(room <= 256, "{room}");
        log.shutdown().await.unwrap();
    }
}
