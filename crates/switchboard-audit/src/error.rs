//! The crate's error.

use std::io;
use std::path::{Path, PathBuf};

use crate::verify::VerifyError;

/// Everything that can go wrong opening, writing or reading an audit log.
///
/// A disk error while the writer is running is *not* one of these: the writer keeps the
/// records and retries (see [`crate::AuditLog::healthy`]). These are the errors a caller
/// has to act on.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log I/O on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another writer (this process or another) holds the directory's `LOCK`.
    #[error("audit directory {} is in use by another writer ({holder})", dir.display())]
    Locked { dir: PathBuf, holder: String },
    /// A line that is not a record where a record must be. `line` is 1-based; 0 means
    /// the last line of the file, read from the end when a writer resumes.
    #[error("{}:{line}: not an audit record: {reason}", file.display())]
    Malformed {
        file: PathBuf,
        line: u64,
        reason: String,
    },
    /// The directory's tail does not agree with its `HEAD`: records were lost or removed.
    /// The writer refuses to continue such a chain, which would hide the loss.
    #[error("cannot resume the audit log in {}: {reason}", dir.display())]
    Recovery { dir: PathBuf, reason: String },
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The record cannot be serialised (not expected from a well-formed record).
    #[error("the audit record cannot be encoded: {0}")]
    Encode(String),
    /// The writer has been shut down (or died): the record was not written.
    #[error("the audit writer is not running")]
    Closed,
    #[error("cannot start the audit writer: {0}")]
    Spawn(String),
}

impl AuditError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        AuditError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Attaches a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, AuditError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, AuditError> {
        self.map_err(|e| AuditError::io(path, e))
    }
}
