//! `HEAD`: the seq and hash of the last durable record, and the threat model it serves.
//!
//! The hash chain alone proves that the records *present* are unaltered and in order:
//! editing a byte of a record changes its hash and breaks the next record's `prev`;
//! deleting or reordering records breaks the contiguous `seq`. What the chain alone cannot
//! show is that records are missing *at the end*: cut the last two lines (or delete the
//! last segment) and what remains is a perfectly valid, shorter chain. `HEAD` closes that
//! gap: the writer rewrites it after every group commit, so a tail shorter than `HEAD`
//! says is a truncation ([`crate::VerifyErrorKind::HeadMismatch`]).
//!
//! # Threat model, honestly
//!
//! The chain is not keyed (no MAC, no signature). Someone who can rewrite the whole
//! directory, `HEAD` included, can forge a consistent chain: recompute every hash after
//! the edit and write a matching `HEAD`. What the log does detect is any edit, deletion,
//! reordering or truncation by someone who does *not* recompute the chain: a careless
//! operator, a script, a disk or a backup tool gone wrong, an attacker who edits a line
//! in place. To raise the bar against a deliberate attacker, ship `HEAD` (or the hash of
//! each segment when it is closed) off the box, to a place the attacker cannot rewrite,
//! and compare; that is out of scope for this crate.
//!
//! `HEAD` is written atomically (temp file, fsync, rename, fsync of the directory), so
//! after a crash it is either the old or the new value. Because it is written *after*
//! the segment fsync, a crash between the two leaves `HEAD` one commit behind the
//! segments; the writer recognises that case on restart (`HEAD`'s record is in the chain
//! and has `HEAD`'s hash) and moves on, see [`crate::recovery`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file's name inside the log directory.
pub const HEAD_FILE: &str = "HEAD";
const HEAD_TMP: &str = "HEAD.tmp";

/// The last durable record: `{"seq":N,"hash":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// Reads `HEAD`; `Ok(None)` if there is none. Malformed content is an
/// `io::ErrorKind::InvalidData` error.
pub fn read_head(dir: &Path) -> io::Result<Option<Head>> {
    match std::fs::read(dir.join(HEAD_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `HEAD` atomically and durably.
pub(crate) fn write_head(dir: &Path, head: &Head) -> io::Result<()> {
    let tmp = dir.join(HEAD_TMP);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.write_all(&serde_json::to_vec(head).map_err(io::Error::other)?)?;
    file.sync_data()?;
    std::fs::rename(&tmp, dir.join(HEAD_FILE))?;
    sync_dir(dir)
}

/// Makes the directory's entries (a created or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_rewritten_in_place_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_head(dir.path()).unwrap(), None);
        let first = Head {
            seq: 1,
            hash: "a".repeat(64),
        };
        write_head(dir.path(), &first).unwrap();
        let second = Head {
            seq: 9,
            hash: "b".repeat(64),
        };
        write_head(dir.path(), &second).unwrap();
        assert_eq!(read_head(dir.path()).unwrap(), Some(second));
        let text = std::fs::read_to_string(dir.path().join(HEAD_FILE)).unwrap();
        assert!(text.starts_with(r#"{"seq":9,"hash":""#), "{text}");
        assert!(!dir.path().join(HEAD_TMP).exists());
    }

    #[test]
    fn a_garbled_head_is_invalid_data() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HEAD_FILE), b"{\"seq\":").unwrap();
        let err = read_head(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
