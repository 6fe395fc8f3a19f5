//! `[audit]`: where the tamper-evident audit log is written and how segments rotate.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Segment directory; relative paths are under `server.data_dir`. Default `audit`.
    pub dir: PathBuf,
    pub max_segment_bytes: u64,
    #[serde(deserialize_with = "duration::de")]
    pub max_segment_age: Duration,
    /// Records accepted but not yet on disk; beyond it new requests get 503 rather than
    /// going unaudited.
    pub capacity: usize,
    /// How long a batch's first record waits for more before the group commit's fsync.
    /// Appends are off the response path: no caller waits for it, but a crash can lose
    /// up to this much of the newest records. Default 5 ms; `0s` commits at once.
    #[serde(deserialize_with = "duration::de")]
    pub commit_delay: Duration,
    /// Check the whole chain when the node starts, as it replays the log to rebuild
    /// budget spend, and refuse to start on an edited, deleted or reordered record
    /// (default). `false` replays the log as it is, with a warning: the way to start
    /// from a log known to be damaged once the damage is understood.
    pub verify_at_start: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("audit"),
            max_segment_bytes: 64 * 1024 * 1024,
            max_segment_age: Duration::from_secs(3600),
            capacity: 8192,
            commit_delay: Duration::from_millis(5),
            verify_at_start: true,
        }
    }
}
