//! `verify`: re-walks the whole chain and names the first thing wrong with it.
//!
//! Every record is checked in order, streaming, against three rules: its seq is the one
//! after the previous record's (a deletion or reorder breaks this), its `prev` is the hash
//! of the previous line (an edit of the previous record breaks this; the first record's
//! `prev` is [`GENESIS_PREV`]), and the first record of a segment has the seq its file name
//! announces. At the end the last record must be the one `HEAD` names, which catches
//! truncation (see [`crate::head`] for what this does and does not prove).
//!
//! Verification is read-only and may run while a writer appends, in which case it may
//! see the writer's latest line half written (`PartialLine`) or `HEAD` not yet rewritten
//! (`HeadMismatch` with `head_seq < last_seq`); run it on a stopped writer's directory,
//! or re-run it, before concluding anything from those two.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::head::{HEAD_FILE, read_head};
use crate::record::{AuditRecord, GENESIS_PREV, line_hash};
use crate::scan::{Filter, ScanStats};
use crate::segment::{Line, LineReader, list_segments};

/// A chain that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: usize,
    pub records: u64,
    pub last_seq: u64,
    /// The last record's hash ([`GENESIS_PREV`] for an empty log), to compare with a copy
    /// of `HEAD` kept elsewhere.
    pub last_hash: String,
}

/// The first problem found: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct VerifyError {
    pub file: PathBuf,
    /// 1-based line number in `file`; 0 when the problem is the file as a whole.
    pub line: u64,
    /// The seq of the record at fault, when it could be read.
    pub seq: Option<u64>,
    pub kind: VerifyErrorKind,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    /// Not JSON, or not a record (a missing field).
    #[error("not an audit record: {0}")]
    Malformed(String),
    /// `prev` is not the previous line's hash: the previous record was edited, or
    /// records were reordered.
    #[error("chain broken: prev is {found_prev}, the previous record hashes to {expected_prev}")]
    BadLink {
        expected_prev: String,
        found_prev: String,
    },
    /// A seq out of order: records or segments were deleted or reordered.
    #[error("expected seq {expected}, found {found}")]
    SeqGap { expected: u64, found: u64 },
    /// A segment's first record is not the one its name announces.
    #[error("the segment is named for seq {named} but starts with seq {first_seq}")]
    SegmentName { named: u64, first_seq: u64 },
    /// An empty segment before the last one.
    #[error("empty segment in the middle of the log")]
    EmptySegment,
    /// The last line has no newline: cut mid-record.
    #[error("the file ends in the middle of a line")]
    PartialLine,
    /// The chain does not end where `HEAD` says: truncated if `head_seq > last_seq`.
    #[error(
        "HEAD names seq {head_seq} ({head_hash}), the chain ends at seq {last_seq} ({last_hash})"
    )]
    HeadMismatch {
        head_seq: u64,
        last_seq: u64,
        head_hash: String,
        last_hash: String,
    },
    /// Records but no `HEAD`: the end of the chain cannot be vouched for.
    #[error("records exist but there is no HEAD")]
    MissingHead,
}

fn fail(file: &Path, line: u64, seq: Option<u64>, kind: VerifyErrorKind) -> VerifyError {
    VerifyError {
        file: file.to_owned(),
        line,
        seq,
        kind,
    }
}

/// Checks the whole log in `dir`. An empty directory is a valid, empty log.
pub fn verify(dir: &Path) -> Result<VerifyReport, VerifyError> {
    let chain = walk(dir, |_| {})?;
    check_head(dir, &chain)?;
    Ok(chain)
}

/// Calls `f` with every record of `dir` that matches `filter`, in seq order, as
/// [`crate::scan()`] does, checking the chain as [`verify()`] does on the way (all but
/// `HEAD`: the writer checks the tail against it when it opens the directory, and a
/// check here would race its appends). Stops at the first fault: records read before it
/// have been handed to `f`, so a caller must discard what it gathered on an error.
pub fn scan_verified(
    dir: &Path,
    filter: &Filter,
    mut f: impl FnMut(AuditRecord),
) -> Result<ScanStats, VerifyError> {
    let mut matched = 0;
    let chain = walk(dir, |record| {
        if filter.matches(&record) {
            matched += 1;
            f(record);
        }
    })?;
    Ok(ScanStats {
        segments: chain.segments,
        records: chain.records,
        matched,
        partial_lines: 0,
    })
}

/// Walks the chain, handing each record that checks out to `f`.
fn walk(dir: &Path, mut f: impl FnMut(AuditRecord)) -> Result<VerifyReport, VerifyError> {
    let io_err =
        |file: &Path, e: io::Error| fail(file, 0, None, VerifyErrorKind::Io(e.to_string()));
    let segments =
        list_segments(dir).map_err(|e| fail(dir, 0, None, VerifyErrorKind::Io(e.to_string())))?;

    let mut expected_seq = 1u64;
    let mut prev = GENESIS_PREV.to_owned();
    let mut records = 0u64;
    for (i, seg) in segments.iter().enumerate() {
        let path = seg.path.as_path();
        let mut reader = LineReader::open(path).map_err(|e| io_err(path, e))?;
        let mut first = true;
        while let Some((line_no, line)) = reader.next_line().map_err(|e| io_err(path, e))? {
            let bytes = match line {
                Line::Complete(bytes) => bytes,
                Line::Partial(_) => {
                    return Err(fail(path, line_no, None, VerifyErrorKind::PartialLine));
                }
            };
            let record: AuditRecord = serde_json::from_slice(bytes).map_err(|e| {
                fail(
                    path,
                    line_no,
                    None,
                    VerifyErrorKind::Malformed(e.to_string()),
                )
            })?;
            let at = |kind| fail(path, line_no, Some(record.seq), kind);
            if first && record.seq != seg.first_seq {
                return Err(at(VerifyErrorKind::SegmentName {
                    named: seg.first_seq,
                    first_seq: record.seq,
                }));
            }
            first = false;
            if record.seq != expected_seq {
                return Err(at(VerifyErrorKind::SeqGap {
                    expected: expected_seq,
                    found: record.seq,
                }));
            }
            if record.prev != prev {
                return Err(at(VerifyErrorKind::BadLink {
                    expected_prev: prev,
                    found_prev: record.prev.clone(),
                }));
            }
            prev = line_hash(bytes);
            expected_seq += 1;
            records += 1;
            f(record);
        }
        if first {
            // Empty: only the last segment may be (created just before a crash), and it
            // must be named for the record that would come next.
            if i + 1 < segments.len() {
                return Err(fail(path, 0, None, VerifyErrorKind::EmptySegment));
            }
            if seg.first_seq != expected_seq {
                return Err(fail(
                    path,
                    0,
                    None,
                    VerifyErrorKind::SeqGap {
                        expected: expected_seq,
                        found: seg.first_seq,
                    },
                ));
            }
        }
    }

    Ok(VerifyReport {
        segments: segments.len(),
        records,
        last_seq: expected_seq - 1,
        last_hash: prev,
    })
}

/// The chain must end where `HEAD` says.
fn check_head(dir: &Path, chain: &VerifyReport) -> Result<(), VerifyError> {
    let io_err =
        |file: &Path, e: io::Error| fail(file, 0, None, VerifyErrorKind::Io(e.to_string()));
    let (records, last_seq, prev) = (chain.records, chain.last_seq, chain.last_hash.clone());
    let head_path = dir.join(HEAD_FILE);
    match read_head(dir) {
        Ok(None) if records > 0 => {
            return Err(fail(&head_path, 0, None, VerifyErrorKind::MissingHead));
        }
        Ok(None) => {}
        Ok(Some(head)) if head.seq == last_seq && head.hash == prev => {}
        Ok(Some(head)) => {
            return Err(fail(
                &head_path,
                0,
                Some(head.seq),
                VerifyErrorKind::HeadMismatch {
                    head_seq: head.seq,
                    last_seq,
                    head_hash: head.hash,
                    last_hash: prev,
                },
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(fail(
                &head_path,
                0,
                None,
                VerifyErrorKind::Malformed(e.to_string()),
            ));
        }
        Err(e) => return Err(io_err(&head_path, e)),
    }
    Ok(())
}
