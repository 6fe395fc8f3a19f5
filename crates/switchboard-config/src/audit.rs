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
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("audit"),
            max_segment_bytes: 64 * 1024 * 1024,
            max_segment_age: Duration::from_secs(3600),
            capacity: 8192,
        }
    }
}
