//! Segment files: names, listing, and reading them line by line or from the end.
//!
//! A log directory holds segments named `audit-<first seq, 20 digits>.jsonl`, so that
//! the lexical order of the names is the order of the chain and a segment's name says
//! which record must open it. Each segment is JSON Lines: one record per line, each line
//! ending in `\n`. A last line without its `\n` is a *partial line*: a write cut short by
//! a crash (or, for a reader racing the live writer, a write still in progress). It was
//! never acknowledged, so readers skip it and the writer cuts it off on restart.
//!
//! Readers stream: [`LineReader`] holds one line at a time, and [`read_tail`] finds the
//! last complete line by reading backwards in chunks, so neither ever loads a segment
//! (up to `max_segment_bytes`, 64 MiB by default) into memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{AuditError, IoContext};

const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";
const SEQ_DIGITS: usize = 20;

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{PREFIX}{first_seq:0SEQ_DIGITS$}{SUFFIX}")
}

/// The first seq a segment file name announces, if it is a segment name at all.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One segment file of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// The seq its name announces for its first record.
    pub first_seq: u64,
    pub path: PathBuf,
}

/// The directory's segments in chain order. Files that are not segments (`HEAD`,
/// `LOCK`, anything else) are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>, AuditError> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        if let Some(first_seq) = name.to_str().and_then(parse_segment_name) {
            segments.push(SegmentFile {
                first_seq,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

/// One line of a segment, without its `\n`.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Complete(&'a [u8]),
    /// The file ends without a `\n` after these bytes.
    Partial(&'a [u8]),
}

/// Reads a segment one line at a time, reusing one buffer.
pub struct LineReader {
    reader: BufReader<File>,
    buf: Vec<u8>,
    line_no: u64,
}

impl LineReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            reader: BufReader::with_capacity(64 * 1024, File::open(path)?),
            buf: Vec::new(),
            line_no: 0,
        })
    }

    /// The next line and its 1-based number, or `None` at the end of the file.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        Ok(Some(match self.buf.split_last() {
            Some((b'\n', line)) => (self.line_no, Line::Complete(line)),
            _ => (self.line_no, Line::Partial(&self.buf)),
        }))
    }
}

/// The end of a segment, as the writer needs it to resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// Bytes up to and including the last `\n`: everything after is a partial line.
    pub valid_len: u64,
    pub file_len: u64,
    /// The last complete line, without its `\n`.
    pub last_line: Option<Vec<u8>>,
}

/// Finds the last complete line of a segment by reading backwards from its end.
pub fn read_tail(path: &Path) -> io::Result<Tail> {
    let mut file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let valid_len = rfind_newline(&mut file, file_len)?.map_or(0, |p| p + 1);
    let last_line = if valid_len == 0 {
        None
    } else {
        let end = valid_len - 1;
        let start = rfind_newline(&mut file, end)?.map_or(0, |p| p + 1);
        let mut line = vec![0; usize::try_from(end - start).map_err(io::Error::other)?];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        Some(line)
    };
    Ok(Tail {
        valid_len,
        file_len,
        last_line,
    })
}

/// The offset of the last `\n` before `before`, reading 64 KiB chunks backwards.
fn rfind_newline(file: &mut File, before: u64) -> io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut end = before;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_in_chain_order_and_parse_back() {
        assert_eq!(segment_name(1), "audit-00000000000000000001.jsonl");
        assert!(segment_name(9) < segment_name(10));
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_name("audit-1.jsonl"), None);
        assert_eq!(parse_segment_name("HEAD"), None);
        assert_eq!(parse_segment_name("audit-0000000000000000000x.jsonl"), None);
    }

    #[test]
    fn the_tail_is_the_last_complete_line_and_a_partial_line_is_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, b"one\ntwo\nthr").unwrap();
        let tail = read_tail(&path).unwrap();
        assert_eq!(tail.valid_len, 8);
        assert_eq!(tail.file_len, 11);
        assert_eq!(tail.last_line.as_deref(), Some(&b"two"[..]));

        std::fs::write(&path, b"only\n").unwrap();
        assert_eq!(
            read_tail(&path).unwrap().last_line.as_deref(),
            Some(&b"only"[..])
        );
        std::fs::write(&path, b"no newline").unwrap();
        assert_eq!(read_tail(&path).unwrap().valid_len, 0);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read_tail(&path).unwrap().last_line, None);
    }

    #[test]
    fn the_tail_of_lines_longer_than_a_read_chunk_is_found_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let long = vec![b'x'; 200_000];
        let mut content = b"first\n".to_vec();
        content.extend_from_slice(&long);
        content.push(b'\n');
        std::fs::write(&path, &content).unwrap();
        assert_eq!(read_tail(&path).unwrap().last_line, Some(long));
    }

    #[test]
    fn lines_are_read_one_at_a_time_with_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, b"a\nbb\nc").unwrap();
        let mut r = LineReader::open(&path).unwrap();
        assert_eq!(r.next_line().unwrap(), Some((1, Line::Complete(b"a"))));
        assert_eq!(r.next_line().unwrap(), Some((2, Line::Complete(b"bb"))));
        assert_eq!(r.next_line().unwrap(), Some((3, Line::Partial(b"c"))));
        assert_eq!(r.next_line().unwrap(), None);
    }
}
