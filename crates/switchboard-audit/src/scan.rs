//! `scan`: streams the records of a log directory, in seq order, through a filter.
//!
//! Used by the admin API (spend reports, audit queries) and by the gateway at restart to
//! rebuild budget spend from the settlement journal. Segments are read line by line,
//! never loaded whole. Scanning does not verify the chain (that is [`crate::verify()`],
//! and [`crate::scan_verified()`] does both in one pass); it only refuses lines that are
//! not records. A partial last line is skipped and
//! counted: after a crash it is a write that was never acknowledged, and while the
//! writer runs it is the write in progress (a scan can run next to a live writer and
//! sees the records durable when it reaches them).
//!
//! Every segment is read, whatever the time range: `time_ms` is when a request
//! completed, and records reach the writer in arrival order, which is close to but not
//! exactly time order, so skipping segments by their first and last times could miss a
//! record. A cheaper skip would need an index the writer does not keep yet.

use std::path::Path;

use crate::error::{AuditError, IoContext};
use crate::record::AuditRecord;
use crate::segment::{Line, LineReader, list_segments};

/// Which records a scan yields. Every `Some` must match; the default matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Records with `time_ms >= from_ms`.
    pub from_ms: Option<u64>,
    /// Records with `time_ms < to_ms` (half open, so adjacent windows do not overlap).
    pub to_ms: Option<u64>,
    pub tenant: Option<String>,
    pub status: Option<u16>,
}

impl Filter {
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.from_ms.is_none_or(|from| record.time_ms >= from)
            && self.to_ms.is_none_or(|to| record.time_ms < to)
            && self.tenant.as_ref().is_none_or(|t| *t == record.tenant)
            && self.status.is_none_or(|s| s == record.status)
    }
}

/// What a scan read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub segments: usize,
    /// Records read.
    pub records: u64,
    /// Records that matched the filter and were handed to the callback.
    pub matched: u64,
    /// Partial lines skipped (see the module docs).
    pub partial_lines: u64,
}

/// Calls `f` with every record of `dir` that matches `filter`, in seq order.
pub fn scan(
    dir: &Path,
    filter: &Filter,
    mut f: impl FnMut(AuditRecord),
) -> Result<ScanStats, AuditError> {
    let segments = list_segments(dir)?;
    let mut stats = ScanStats {
        segments: segments.len(),
        ..ScanStats::default()
    };
    for seg in &segments {
        let path = seg.path.as_path();
        let mut reader = LineReader::open(path).at(path)?;
        while let Some((line_no, line)) = reader.next_line().at(path)? {
            let bytes = match line {
                Line::Complete(bytes) => bytes,
                Line::Partial(_) => {
                    stats.partial_lines += 1;
                    continue;
                }
            };
            let record: AuditRecord =
                serde_json::from_slice(bytes).map_err(|e| AuditError::Malformed {
                    file: path.to_owned(),
                    line: line_no,
                    reason: e.to_string(),
                })?;
            stats.records += 1;
            if filter.matches(&record) {
                stats.matched += 1;
                f(record);
            }
        }
    }
    Ok(stats)
}
