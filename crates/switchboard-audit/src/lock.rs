//! `LOCK`: one writer per directory.
//!
//! Two writers appending to one directory would interleave two chains into garbage, so
//! the writer takes an exclusive lock on `dir/LOCK` before it reads the tail, and holds
//! it until it stops.
//!
//! The lock is an OS advisory file lock (`File::try_lock`, `flock(2)` on Unix,
//! `LockFileEx` on Windows), not the file's existence. The kernel releases it when the
//! holder's file is closed, which includes the process dying, so a crash never leaves a
//! stale lock behind and there is no pid take-over logic to get wrong. The file itself
//! stays, holding the pid of the last holder to help whoever reads the error. Caveats:
//! the lock is advisory (it stops other writers, not `rm`), and on network file systems
//! it is only as good as the server's lock support; keep the audit directory on a local
//! disk. Because the lock belongs to an open file, a second writer in the *same* process
//! is refused too.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use crate::error::{AuditError, IoContext};

const LOCK_FILE: &str = "LOCK";

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the directory's lock, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, AuditError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        // `File::try_lock` is std since 1.89, above the workspace's declared 1.85; the
        // workspace already needs 1.88 (let chains), and a lock the kernel releases on
        // death is worth the bump over a pid file.
        #[allow(clippy::incompatible_msrv)]
        let locked = file.try_lock();
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unknown holder".to_owned());
                return Err(AuditError::Locked {
                    dir: dir.to_owned(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(AuditError::io(&path, e)),
        }
        file.set_len(0).at(&path)?;
        writeln!(file, "pid {}", std::process::id()).at(&path)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        match DirLock::acquire(dir.path()) {
            Err(AuditError::Locked { holder, .. }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
