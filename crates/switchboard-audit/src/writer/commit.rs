//! One group commit: format a batch, write and fsync it, rewrite `HEAD`, answer.
//!
//! # Blocking I/O
//!
//! Writes and fsyncs are blocking `std::fs` calls run on the writer's own I/O thread
//! (`disk.rs`), which owns the sink; the batch's bytes are moved in. `block_in_place`
//! would hold a runtime worker for the whole fsync (on a two-core box, half the runtime)
//! and panics on a current-thread runtime. The actor simply awaits the thread and
//! handles no message meanwhile, which is exactly what lets the next batch accumulate.
//!
//! # Failures
//!
//! A failed commit (disk full, read-only, I/O error) drops nothing: the records stay
//! buffered, [`crate::AuditLog::healthy`] turns false, and a `Retry` is scheduled with
//! exponential backoff (`retry_min` doubling to `retry_max`). Until it succeeds the
//! waiters keep waiting and the semaphore, whose permits are released only when records
//! are durable, pushes back on new requests. A record is only ever answered with `Ok`
//! once durable, or with an error (the writer is shutting down, or the record cannot be
//! encoded); it is never silently dropped.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ractor::ActorRef;

use super::{Appended, AuditMsg, Segment, WriterState};
use crate::error::AuditError;
use crate::head::Head;
use crate::record::line_hash;

/// A formatted batch: the bytes to write and each record's seq and hash.
struct Batch {
    segment: u64,
    new_segment: bool,
    bytes: Vec<u8>,
    appended: Vec<Appended>,
}

impl WriterState {
    /// Formats up to `max_batch` buffered records, continuing the chain, in the segment
    /// the rotation rules pick. Records that cannot be encoded are answered and removed.
    fn format_batch(&mut self) -> Batch {
        let (segment, new_segment) = match self.segment {
            Some(s)
                if s.bytes < self.config.max_segment_bytes
                    && s.opened.elapsed() < self.config.max_segment_age =>
            {
                (s.first_seq, false)
            }
            _ => (self.last_seq + 1, true),
        };
        let records = self.buffer.len().min(self.config.max_batch);
        let mut batch = Batch {
            segment,
            new_segment,
            // A record's line is typically well under 1 KiB.
            bytes: Vec::with_capacity(records * 1024),
            appended: Vec::with_capacity(records),
        };
        let mut hash = self.last_hash.clone();
        let mut i = 0;
        while i < self.buffer.len() && batch.appended.len() < self.config.max_batch {
            let seq = self.last_seq + 1 + batch.appended.len() as u64;
            let record = &mut self.buffer[i].record;
            record.seq = seq;
            record.prev.clone_from(&hash);
            let start = batch.bytes.len();
            // Encoded straight into the batch: no buffer per record.
            match record.write_line(&mut batch.bytes) {
                Ok(()) => {
                    hash = line_hash(&batch.bytes[start..]);
                    batch.bytes.push(b'\n');
                    batch.appended.push(Appended {
                        seq,
                        hash: hash.clone(),
                    });
                    i += 1;
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit record cannot be encoded; refused");
                    if let Some(bad) = self.buffer.remove(i) {
                        self.answer(bad, Err(AuditError::Encode(e.to_string())));
                    }
                }
            }
        }
        batch
    }

    /// One group commit: write and fsync a batch, rewrite `HEAD`, answer the waiters; on
    /// failure keep everything and schedule a retry.
    pub(super) async fn commit(&mut self, myself: &ActorRef<AuditMsg>) {
        let batch = self.format_batch();
        if batch.appended.is_empty() && !self.head_dirty {
            return;
        }
        let head = Head {
            seq: self.last_seq + batch.appended.len() as u64,
            hash: batch
                .appended
                .last()
                .map_or_else(|| self.last_hash.clone(), |a| a.hash.clone()),
        };
        // HEAD only when it is due, or someone waits for it; otherwise it catches up
        // at the next due commit or tick.
        let write_head = self
            .head_written
            .is_none_or(|t| t.elapsed() >= self.config.head_interval)
            || batch.appended.is_empty()
            || !self.barriers.is_empty()
            || self.shutdown.is_some();
        let (segment, bytes) = (batch.segment, batch.bytes);
        let len = bytes.len() as u64;
        let joined = self
            .disk
            .run(move |sink| {
                if !bytes.is_empty() {
                    sink.append(segment, &bytes)?;
                }
                Ok::<_, std::io::Error>(if write_head {
                    sink.write_head(&head)
                } else {
                    Ok(())
                })
            })
            .await;
        let outcome = match joined {
            Ok(result) => result,
            Err(why) => Err(std::io::Error::other(why)),
        };
        let head_result = match outcome {
            Err(e) => {
                self.fail(myself, &format!("write: {e}"));
                return;
            }
            Ok(head_result) => head_result,
        };
        // The records are durable: advance the chain and answer, whatever HEAD did.
        if !batch.appended.is_empty() {
            self.shared.commits.fetch_add(1, Ordering::Relaxed);
            self.segment = Some(match self.segment.filter(|_| !batch.new_segment) {
                Some(s) => Segment {
                    bytes: s.bytes + len,
                    ..s
                },
                None => Segment {
                    first_seq: segment,
                    bytes: len,
                    opened: Instant::now(),
                },
            });
        }
        for appended in batch.appended {
            self.last_seq = appended.seq;
            self.last_hash.clone_from(&appended.hash);
            if let Some(pending) = self.buffer.pop_front() {
                self.answer(pending, Ok(appended));
            }
        }
        match head_result {
            Ok(()) => {
                if write_head {
                    self.head_dirty = false;
                    self.head_written = Some(Instant::now());
                } else {
                    self.head_dirty = true;
                    if !self.head_due_pending {
                        self.head_due_pending = true;
                        myself.send_after(self.config.head_interval, || AuditMsg::HeadDue);
                    }
                }
                if self.failing.take().is_some() {
                    tracing::info!(seq = self.last_seq, "audit log writes recovered");
                }
                self.shared.healthy.store(true, Ordering::Relaxed);
                if !self.buffer.is_empty() {
                    // These records already waited out a commit: no further delay.
                    self.schedule_flush(myself, Duration::ZERO);
                }
            }
            Err(e) => {
                self.head_dirty = true;
                self.fail(myself, &format!("HEAD update: {e}"));
            }
        }
    }

    fn fail(&mut self, myself: &ActorRef<AuditMsg>, what: &str) {
        let backoff = match self.failing {
            Some(d) => (d * 2).min(self.config.retry_max),
            None => self.config.retry_min,
        };
        self.failing = Some(backoff);
        self.shared.healthy.store(false, Ordering::Relaxed);
        tracing::error!(dir = %self.config.dir.display(), error = what,
            backlog = self.buffer.len(), retry_in_ms = backoff.as_millis() as u64,
            "audit commit failed; records kept, retrying");
        if !self.retry_pending {
            self.retry_pending = true;
            myself.send_after(backoff, || AuditMsg::Retry);
        }
    }
}
