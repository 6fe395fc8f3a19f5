//! Resuming a log directory: where the chain ends, and whether that agrees with `HEAD`.
//!
//! The writer does not re-verify the whole chain on start (the gateway does, as it replays
//! the log with [`crate::scan_verified()`]; [`crate::verify()`] offline); it reads only
//! the end of the last segment, which is enough to continue the chain, and checks it
//! against `HEAD`:
//!
//! - the tail and `HEAD` agree: the normal case;
//! - `HEAD` is behind, and the record at `HEAD`'s seq has `HEAD`'s hash: a crash between
//!   a segment fsync and the `HEAD` rename (or a failed `HEAD` write); those records were
//!   durable, accepted with a warning;
//! - no `HEAD` but records: a crash before the very first `HEAD` write, accepted with a
//!   warning (deleting `HEAD` is rewriting it, which the threat model already concedes);
//! - `HEAD` ahead of the tail, or naming a different hash: records were removed or
//!   altered. The writer refuses to start, because continuing the chain from the
//!   shortened tail would hide the loss; the operator inspects with `verify` and moves the
//!   directory aside.
//!
//! A restarted writer always opens a new segment, named for the next seq (or reuses an
//! empty one left by a crash): a segment is only ever appended to by one writer run.
//!
//! A partial last line (a write cut short by a crash, never acknowledged) is cut off with
//! a warning, once every check has passed, and reported in [`RecoveryReport`].

use std::fs::OpenOptions;
use std::path::Path;

use crate::error::{AuditError, IoContext};
use crate::head::{Head, read_head};
use crate::record::{AuditRecord, GENESIS_PREV, line_hash};
use crate::segment::{Line, LineReader, SegmentFile, list_segments, read_tail};

/// How the tail compared with `HEAD` on start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// An empty directory: nothing to compare.
    Fresh,
    /// `HEAD` names the last record.
    Matched,
    /// `HEAD` named an earlier record of the chain (a crash between commit and `HEAD`).
    Lagged { head_seq: u64 },
    /// Records but no `HEAD` (a crash before the first `HEAD` was written).
    Missing,
}

/// What the writer found when it opened the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The last record's seq (0 for an empty log); the writer continues at the next.
    pub last_seq: u64,
    /// The last record's hash ([`GENESIS_PREV`] for an empty log).
    pub last_hash: String,
    /// Segment files found.
    pub segments: usize,
    /// Bytes of a partial last line cut off (0 if the last line was whole).
    pub cut_partial_bytes: u64,
    pub head: HeadCheck,
}

/// Finds where the chain in `dir` ends, checks it against `HEAD`, and cuts a partial last
/// line. The caller must hold the directory's lock.
pub(crate) fn recover(dir: &Path) -> Result<RecoveryReport, AuditError> {
    let refuse = |reason: String| AuditError::Recovery {
        dir: dir.to_owned(),
        reason,
    };
    let segments = list_segments(dir)?;
    let mut last: Option<(u64, String)> = None;
    let mut cut = None;
    if let Some(seg) = segments.last() {
        let tail = read_tail(&seg.path).at(&seg.path)?;
        if tail.file_len > tail.valid_len {
            cut = Some((seg, tail.valid_len, tail.file_len - tail.valid_len));
        }
        match tail.last_line {
            Some(line) => last = Some(parse_last(seg, &line)?),
            None => {
                // An empty last segment: created, then the process died before its first
                // write became durable. The chain ends in the segment before.
                if let Some(prev) = segments.len().checked_sub(2).map(|i| &segments[i]) {
                    let t = read_tail(&prev.path).at(&prev.path)?;
                    let line = t
                        .last_line
                        .filter(|_| t.valid_len == t.file_len)
                        .ok_or_else(|| {
                            refuse(format!(
                                "{} is not a complete segment, yet a later one exists",
                                prev.path.display()
                            ))
                        })?;
                    last = Some(parse_last(prev, &line)?);
                }
                let expected = last.as_ref().map_or(1, |(seq, _)| seq + 1);
                if seg.first_seq != expected {
                    return Err(refuse(format!(
                        "the empty segment {} should be named for seq {expected}",
                        seg.path.display()
                    )));
                }
            }
        }
    }
    let (last_seq, last_hash) = last.unwrap_or_else(|| (0, GENESIS_PREV.to_owned()));

    let head = match read_head(dir) {
        Ok(head) => head,
        Err(e) => return Err(refuse(format!("HEAD is unreadable: {e}"))),
    };
    let head_check = match head {
        None if last_seq == 0 => HeadCheck::Fresh,
        None => {
            tracing::warn!(dir = %dir.display(), last_seq, "audit log has records but no HEAD");
            HeadCheck::Missing
        }
        Some(h) if h.seq == last_seq && h.hash == last_hash => HeadCheck::Matched,
        Some(h) if h.seq < last_seq && hash_of(&segments, h.seq)?.as_ref() == Some(&h.hash) => {
            tracing::warn!(dir = %dir.display(), head_seq = h.seq, last_seq,
                "audit HEAD was behind the last durable record (crash before HEAD update)");
            HeadCheck::Lagged { head_seq: h.seq }
        }
        Some(Head { seq, hash }) => {
            return Err(refuse(format!(
                "HEAD names seq {seq} with hash {hash}, but the chain ends at seq {last_seq} \
                 with hash {last_hash}: records were removed or altered. Run verify, then \
                 move the directory aside to start a new log"
            )));
        }
    };

    let mut cut_partial_bytes = 0;
    if let Some((seg, keep, bytes)) = cut {
        tracing::warn!(file = %seg.path.display(), bytes,
            "cutting a partial audit line left by a crash (never acknowledged)");
        let file = OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .at(&seg.path)?;
        file.set_len(keep).at(&seg.path)?;
        file.sync_data().at(&seg.path)?;
        cut_partial_bytes = bytes;
    }
    Ok(RecoveryReport {
        last_seq,
        last_hash,
        segments: segments.len(),
        cut_partial_bytes,
        head: head_check,
    })
}

/// The seq and hash of a segment's last line.
fn parse_last(seg: &SegmentFile, line: &[u8]) -> Result<(u64, String), AuditError> {
    let record: AuditRecord = serde_json::from_slice(line).map_err(|e| AuditError::Malformed {
        file: seg.path.clone(),
        line: 0,
        reason: format!("last line: {e}"),
    })?;
    Ok((record.seq, line_hash(line)))
}

/// The hash of the record with `seq`, found by streaming the segment that holds it.
fn hash_of(segments: &[SegmentFile], seq: u64) -> Result<Option<String>, AuditError> {
    let Some(seg) = segments.iter().rev().find(|s| s.first_seq <= seq) else {
        return Ok(None);
    };
    let mut reader = LineReader::open(&seg.path).at(&seg.path)?;
    while let Some((_, line)) = reader.next_line().at(&seg.path)? {
        let Line::Complete(bytes) = line else { break };
        match serde_json::from_slice::<AuditRecord>(bytes) {
            Ok(r) if r.seq == seq => return Ok(Some(line_hash(bytes))),
            Ok(_) => {}
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}
