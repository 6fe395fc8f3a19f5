//! The writer's settings.

use std::path::PathBuf;
use std::time::Duration;

/// How the audit writer is set up. [`AuditConfig::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The log directory (created if missing). One writer at a time (see `LOCK`).
    pub dir: PathBuf,
    /// This node's name, written into every record's `node`.
    pub node: String,
    /// A commit that finds the current segment at least this big starts a new one.
    /// Default 64 MiB. Segments can exceed it by one batch: a batch is never split.
    pub max_segment_bytes: u64,
    /// A commit that finds the current segment older than this starts a new one.
    /// Default one hour.
    pub max_segment_age: Duration,
    /// Records accepted but not yet durable, at most: beyond this `reserve` waits and
    /// `try_reserve` refuses. Default 8192.
    pub capacity: usize,
    /// Records written by one commit (one write, one fsync), at most. Default 1024.
    pub max_batch: usize,
    /// First wait before retrying a failed commit; doubles up to `retry_max`.
    /// Default 100 ms.
    pub retry_min: Duration,
    /// Longest wait between retries of a failed commit. Default 5 s.
    pub retry_max: Duration,
    /// `HEAD` is rewritten at most this often while records stream in (and always once
    /// they stop, on `flush` and at shutdown): each rewrite costs two fsyncs, which under
    /// load would double the disk work of every group commit. A truncation of records
    /// younger than this may go unnoticed after a crash. Default 100 ms; zero: every
    /// commit.
    pub head_interval: Duration,
    /// How long the first record of a batch waits for company before the commit starts
    /// (like PostgreSQL's `commit_delay`). Appends are off the response path, so this
    /// costs no caller latency; it turns one fsync per record at low concurrency into one
    /// per `commit_delay`, and widens by as much the window of records a crash can lose
    /// before they are durable. A full batch, a barrier and shutdown commit at once.
    /// Default 5 ms; zero: commit as soon as the actor gets to it.
    pub commit_delay: Duration,
}

impl AuditConfig {
    pub fn new(dir: impl Into<PathBuf>, node: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            node: node.into(),
            max_segment_bytes: 64 * 1024 * 1024,
            max_segment_age: Duration::from_secs(3600),
            capacity: 8192,
            max_batch: 1024,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            head_interval: Duration::from_millis(100),
            commit_delay: Duration::from_millis(5),
        }
    }
}
