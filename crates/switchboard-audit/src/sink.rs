//! Where committed bytes go: the [`SegmentSink`] trait and the real, file-backed sink.
//!
//! The writer actor decides *what* to write (seq, chain, rotation); the sink only makes
//! bytes durable. The split exists so that tests can wrap the real sink to stall it or
//! make it fail (a read-only directory does not stop root, and tests run as root), and
//! so that the retry logic is exercised against the same contract the files obey.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::head::{Head, sync_dir, write_head};
use crate::segment::segment_name;

/// Durable storage for the writer. Called from a blocking thread, one call at a time.
pub trait SegmentSink: Send + 'static {
    /// Appends `lines` (whole lines, each ending in `\n`) to the segment whose first
    /// record is `segment`, creating it on the first write, and returns once they are
    /// durable. Segments are written in increasing order; once the writer moves to a new
    /// segment it never returns to an older one.
    ///
    /// On `Err` nothing counts as written: the writer keeps the records and calls again
    /// later, possibly with more lines and possibly for a newer segment. An implementation
    /// must therefore not let the bytes of a failed call survive into the file.
    fn append(&mut self, segment: u64, lines: &[u8]) -> io::Result<()>;

    /// Durably replaces `HEAD` (called after each successful [`Self::append`]).
    fn write_head(&mut self, head: &Head) -> io::Result<()>;
}

impl<S: SegmentSink + ?Sized> SegmentSink for Box<S> {
    fn append(&mut self, segment: u64, lines: &[u8]) -> io::Result<()> {
        (**self).append(segment, lines)
    }

    fn write_head(&mut self, head: &Head) -> io::Result<()> {
        (**self).write_head(head)
    }
}

/// The segment files of a log directory. Only [`crate::start_with_sink`] makes one,
/// after taking the directory's lock and recovering its tail.
pub struct FileSink {
    dir: PathBuf,
    current: Option<OpenSegment>,
}

struct OpenSegment {
    segment: u64,
    path: PathBuf,
    file: File,
    /// Bytes acknowledged as durable: anything past this is a failed attempt's debris.
    committed_len: u64,
}

impl FileSink {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            current: None,
        }
    }

    /// The directory this sink writes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The open segment `segment`, creating its file if the writer has just moved to it.
    fn open(&mut self, segment: u64) -> io::Result<&mut OpenSegment> {
        if self.current.as_ref().map(|o| o.segment) != Some(segment) {
            if let Some(old) = self.current.as_mut() {
                old.discard_uncommitted()?;
            }
            let path = self.dir.join(segment_name(segment));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            // Empty is fine: a segment created just before a crash (recovery checked its
            // name). Anything more would be someone else's records.
            if file.metadata()?.len() != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} already holds records", path.display()),
                ));
            }
            sync_dir(&self.dir)?;
            self.current = Some(OpenSegment {
                segment,
                path,
                file,
                committed_len: 0,
            });
        }
        self.current
            .as_mut()
            .ok_or_else(|| io::Error::other("no open segment"))
    }
}

impl OpenSegment {
    /// Cuts whatever a failed append left after the committed bytes.
    fn discard_uncommitted(&mut self) -> io::Result<()> {
        if self.file.metadata()?.len() != self.committed_len {
            tracing::debug!(file = %self.path.display(), len = self.committed_len,
                "discarding the bytes of a failed audit write");
            self.file.set_len(self.committed_len)?;
        }
        Ok(())
    }
}

impl SegmentSink for FileSink {
    fn append(&mut self, segment: u64, lines: &[u8]) -> io::Result<()> {
        let open = self.open(segment)?;
        open.discard_uncommitted()?;
        match open
            .file
            .write_all(lines)
            .and_then(|()| open.file.sync_data())
        {
            Ok(()) => {
                open.committed_len += lines.len() as u64;
                Ok(())
            }
            Err(e) => {
                // After a failed fsync the page cache cannot be trusted to still hold the
                // data, so the retry rewrites the whole batch rather than fsyncing again.
                let _ = open.file.set_len(open.committed_len);
                Err(e)
            }
        }
    }

    fn write_head(&mut self, head: &Head) -> io::Result<()> {
        write_head(&self.dir, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, segment: u64) -> String {
        std::fs::read_to_string(dir.join(segment_name(segment))).unwrap()
    }

    fn scribble(dir: &Path, segment: u64, debris: &[u8]) {
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(segment_name(segment)))
            .unwrap();
        f.write_all(debris).unwrap();
    }

    #[test]
    fn the_bytes_of_a_failed_append_do_not_survive_the_retry() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::new(dir.path());
        sink.append(1, b"a\n").unwrap();
        scribble(dir.path(), 1, b"{\"half a li");
        sink.append(1, b"b\n").unwrap();
        assert_eq!(read(dir.path(), 1), "a\nb\n");
    }

    #[test]
    fn moving_to_a_new_segment_cleans_up_the_old_one_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::new(dir.path());
        sink.append(1, b"a\n").unwrap();
        scribble(dir.path(), 1, b"debris");
        sink.append(2, b"b\n").unwrap();
        assert_eq!(read(dir.path(), 1), "a\n");
        assert_eq!(read(dir.path(), 2), "b\n");
    }

    #[test]
    fn a_segment_that_already_holds_records_is_never_appended_to_anew() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(3)), b"x\n").unwrap();
        let mut sink = FileSink::new(dir.path());
        let err = sink.append(3, b"y\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(read(dir.path(), 3), "x\n");
        std::fs::write(dir.path().join(segment_name(4)), b"").unwrap();
        sink.append(4, b"z\n").unwrap();
        assert_eq!(read(dir.path(), 4), "z\n");
    }
}
