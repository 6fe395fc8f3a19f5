//! The writer actor: the only code that appends to a log directory.
//!
//! # Group commit
//!
//! Appended records land in the intake (`writer/intake.rs`), which the writer takes
//! whole into its buffer at the start of every message; the first append of a batch
//! wakes it with a `Wake`. A buffer that was empty schedules a `Flush` for
//! `commit_delay` later (or casts it at once when the delay is zero); when it arrives,
//! the buffered records go out in one write and one `sync_data`, `HEAD` is rewritten
//! when due, then every waiter is answered. While that commit runs, new records pile up
//! in the intake and become the next batch, so the number of fsyncs follows the disk's
//! speed, not the request rate. A buffer that reaches `max_batch` is committed at once.
//!
//! The commit itself, its blocking I/O and its retries are in `writer/commit.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::{OwnedSemaphorePermit, oneshot};

use crate::config::AuditConfig;
use crate::error::AuditError;
use crate::lock::DirLock;
use crate::record::AuditRecord;
use crate::recovery::{HeadCheck, RecoveryReport};
use crate::sink::SegmentSink;

mod commit;
mod disk;
mod intake;

pub(crate) use intake::{Intake, Pushed};

/// What an append resolves to once its record is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// The record's chain hash (the next record's `prev`).
    pub hash: String,
}

/// Counters the actor publishes to every handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Records appended and not yet taken by the writer.
    pub intake: parking_lot::Mutex<Intake>,
    pub healthy: AtomicBool,
    pub backlog: AtomicUsize,
    pub commits: AtomicU64,
}

/// One record on its way, with whom to tell and the capacity it holds until durable.
pub(crate) struct Pending {
    pub record: AuditRecord,
    /// `None` for a record submitted without a waiter: the writer logs its failure.
    pub reply: Option<oneshot::Sender<Result<Appended, AuditError>>>,
    pub permit: OwnedSemaphorePermit,
    /// Dropped once the record is durable, or known never to be written.
    pub hold: Option<Box<dyn Send>>,
}

impl Pending {
    pub(crate) fn tell(self, result: Result<Appended, AuditError>) {
        let Pending { record, reply, .. } = self;
        Self::reply_to(reply, &record, result);
    }

    /// Answers the waiter, or, for a record nobody waits on, logs a failure.
    fn reply_to(
        reply: Option<oneshot::Sender<Result<Appended, AuditError>>>,
        record: &AuditRecord,
        result: Result<Appended, AuditError>,
    ) {
        match (reply, result) {
            (Some(reply), result) => {
                let _ = reply.send(result);
            }
            (None, Err(e)) => {
                tracing::error!(request_id = %record.request_id, error = %e, "audit record could not be written");
            }
            (None, Ok(_)) => {}
        }
    }
}

pub(crate) enum AuditMsg {
    /// Records are waiting in the intake (cast by the append that found it unannounced).
    Wake,
    /// Commit the buffer (cast by the actor to itself).
    Flush,
    /// Bring `HEAD` up to date if commits left it behind (sent by a timer).
    HeadDue,
    /// Commit after a failure (sent by the backoff timer).
    Retry,
    /// Answer once everything accepted before it is durable.
    Barrier(oneshot::Sender<()>),
    /// Like `Barrier`, then refuse further records and stop.
    Shutdown(oneshot::Sender<()>),
}

pub(crate) struct WriterArgs {
    pub config: AuditConfig,
    pub sink: Box<dyn SegmentSink>,
    pub lock: DirLock,
    pub recovery: RecoveryReport,
    pub shared: Arc<Shared>,
}

/// The segment being appended to.
#[derive(Debug, Clone, Copy)]
struct Segment {
    first_seq: u64,
    bytes: u64,
    opened: Instant,
}

pub(crate) struct WriterState {
    config: AuditConfig,
    /// The thread that owns the sink and does its blocking I/O.
    disk: disk::DiskThread,
    lock: Option<DirLock>,
    shared: Arc<Shared>,
    last_seq: u64,
    last_hash: String,
    /// `None` after a start: the first commit opens a new segment.
    segment: Option<Segment>,
    buffer: VecDeque<Pending>,
    /// Empty between messages; swapped with the intake's queue to take it.
    spare: Vec<Pending>,
    head_dirty: bool,
    /// When `HEAD` was last rewritten, and whether a `HeadDue` is on its way.
    head_written: Option<Instant>,
    head_due_pending: bool,
    flush_scheduled: bool,
    retry_pending: bool,
    /// The current backoff while commits fail.
    failing: Option<Duration>,
    /// Records accepted into the buffer, and records answered (durable or refused).
    accepted: u64,
    settled: u64,
    barriers: Vec<(u64, oneshot::Sender<()>)>,
    shutdown: Option<(u64, oneshot::Sender<()>)>,
}

pub(crate) struct AuditWriterActor;

impl Actor for AuditWriterActor {
    type Msg = AuditMsg;
    type State = WriterState;
    type Arguments = WriterArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<AuditMsg>,
        args: WriterArgs,
    ) -> Result<WriterState, ActorProcessingErr> {
        args.shared.healthy.store(true, Ordering::Relaxed);
        // A crash left `HEAD` behind the chain (or before its first write): bring it up
        // to date now, not only when new records come, which may be never.
        let head_dirty = matches!(
            args.recovery.head,
            HeadCheck::Lagged { .. } | HeadCheck::Missing
        );
        if head_dirty {
            let _ = myself.cast(AuditMsg::HeadDue);
        }
        Ok(WriterState {
            config: args.config,
            disk: disk::DiskThread::start(args.sink)?,
            lock: Some(args.lock),
            shared: args.shared,
            last_seq: args.recovery.last_seq,
            last_hash: args.recovery.last_hash,
            segment: None,
            buffer: VecDeque::new(),
            spare: Vec::new(),
            head_dirty,
            head_written: None,
            head_due_pending: false,
            flush_scheduled: false,
            retry_pending: false,
            failing: None,
            accepted: 0,
            settled: 0,
            barriers: Vec::new(),
            shutdown: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<AuditMsg>,
        msg: AuditMsg,
        state: &mut WriterState,
    ) -> Result<(), ActorProcessingErr> {
        // Whatever the message, records appended before it was cast are taken first: a
        // barrier covers them.
        state.take_intake();
        match msg {
            AuditMsg::Wake => {
                if state.buffer.len() >= state.config.max_batch && state.failing.is_none() {
                    state.commit(&myself).await;
                }
            }
            AuditMsg::Flush => {
                state.flush_scheduled = false;
                if state.failing.is_none() {
                    state.commit(&myself).await;
                }
            }
            AuditMsg::Retry => {
                state.retry_pending = false;
                state.commit(&myself).await;
            }
            AuditMsg::HeadDue => {
                state.head_due_pending = false;
                if state.failing.is_none() {
                    state.commit(&myself).await;
                }
            }
            AuditMsg::Barrier(tx) => {
                state.barriers.push((state.accepted, tx));
                state.commit_now(&myself).await;
            }
            AuditMsg::Shutdown(tx) => {
                // Records appended before the shutdown are still written; later ones
                // are refused by the intake itself.
                let rest = state.shared.intake.lock().close();
                state.accept(rest);
                state.shutdown = Some((state.accepted, tx));
                state.commit_now(&myself).await;
            }
        }
        if !state.buffer.is_empty() {
            state.schedule_flush(&myself, state.config.commit_delay);
        }
        state.settle_barriers(&myself);
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<AuditMsg>,
        state: &mut WriterState,
    ) -> Result<(), ActorProcessingErr> {
        // Only reached with records buffered if the actor was stopped from outside:
        // their callers learn it, nothing vanishes silently.
        let queued = state.shared.intake.lock().close();
        state.buffer.extend(queued);
        while let Some(pending) = state.buffer.pop_front() {
            state.answer(pending, Err(AuditError::Closed));
        }
        state.shared.healthy.store(false, Ordering::Relaxed);
        // Release the directory now, not whenever the state happens to be dropped, so a
        // new writer can open it as soon as `shutdown` returns.
        state.lock.take();
        Ok(())
    }
}

impl WriterState {
    /// A barrier or the shutdown waits for what is buffered and for `HEAD`: commit now
    /// rather than after the commit delay or at the next tick (unless a failed commit is
    /// being retried: the retry covers it).
    async fn commit_now(&mut self, myself: &ActorRef<AuditMsg>) {
        if (self.head_dirty || !self.buffer.is_empty()) && self.failing.is_none() {
            self.commit(myself).await;
        }
    }

    /// Makes sure a `Flush` is on its way, `delay` from now at the latest.
    fn schedule_flush(&mut self, myself: &ActorRef<AuditMsg>, delay: Duration) {
        if self.failing.is_none() && !self.flush_scheduled {
            self.flush_scheduled = true;
            if delay.is_zero() {
                let _ = myself.cast(AuditMsg::Flush);
            } else {
                // A timer task per batch, not per record: later appends find the flush
                // already scheduled.
                myself.send_after(delay, || AuditMsg::Flush);
            }
        }
    }

    /// Answers barriers (and the shutdown) whose records have all been answered and are
    /// covered by `HEAD`.
    fn settle_barriers(&mut self, myself: &ActorRef<AuditMsg>) {
        if self.head_dirty {
            return;
        }
        let settled = self.settled;
        if self.barriers.iter().any(|(target, _)| *target <= settled) {
            let (ready, waiting) = std::mem::take(&mut self.barriers)
                .into_iter()
                .partition::<Vec<_>, _>(|(target, _)| *target <= settled);
            self.barriers = waiting;
            for (_, tx) in ready {
                let _ = tx.send(());
            }
        }
        if self
            .shutdown
            .as_ref()
            .is_some_and(|(target, _)| *target <= settled)
            && let Some((_, tx)) = self.shutdown.take()
        {
            let _ = tx.send(());
            myself.stop(None);
        }
    }

    /// Takes every record queued in the intake into the batch being gathered.
    fn take_intake(&mut self) {
        /// Records' room kept between batches (a record is about 600 bytes): enough for a
        /// busy node's batches, while a burst's worth is given back rather than held for
        /// ever by the two queues that trade it.
        const KEEP: usize = 256;
        self.shared.intake.lock().take_into(&mut self.spare);
        let mut records = std::mem::take(&mut self.spare);
        self.accept(records.drain(..));
        records.shrink_to(KEEP);
        self.spare = records;
    }

    fn accept(&mut self, records: impl IntoIterator<Item = Pending>) {
        for mut pending in records {
            pending.record.node.clone_from(&self.config.node);
            self.buffer.push_back(pending);
            self.accepted += 1;
        }
    }

    fn answer(&mut self, pending: Pending, result: Result<Appended, AuditError>) {
        let Pending {
            record,
            reply,
            permit,
            hold,
        } = pending;
        Pending::reply_to(reply, &record, result);
        drop(permit);
        drop(hold);
        self.settled += 1;
        self.shared.backlog.fetch_sub(1, Ordering::Relaxed);
    }
}
