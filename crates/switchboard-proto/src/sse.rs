//! Server-sent events: an incremental parser for upstream streams and a writer for client
//! streams.
//!
//! The parser follows the WHATWG event-stream rules that matter for LLM APIs: lines end in
//! `\n`, `\r\n` or `\r`; `data:` lines of one event are joined with `\n`; a blank line
//! dispatches; lines starting with `:` are comments (keep-alives). It is fed chunks as they
//! arrive from the socket, so an event may span chunks and a chunk may hold many events.

use bytes::{Buf, BytesMut};

/// Largest event the parser accepts. An upstream that sends more without a blank line is
/// broken or hostile; the stream is failed instead of buffering without bound.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (Anthropic names every event; OpenAI and Gemini never do).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Why an upstream stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("event larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("stream is not valid UTF-8")]
    NotUtf8,
}

/// Incremental parser. Push bytes with [`SseParser::push`], then drain events with
/// [`SseParser::next_event`] until it returns `None`.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
    event: Option<String>,
    data: String,
    has_data: bool,
    /// A `\r` ended the last line; a `\n` that follows belongs to it.
    after_cr: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received but not yet part of a dispatched event.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.data.len()
    }

    /// The next complete event, if the buffered bytes hold one.
    pub fn next_event(&mut self) -> Option<Result<SseEvent, SseError>> {
        loop {
            if self.after_cr {
                match self.buf.first() {
                    // The chunk ended on the `\r`: whether a `\n` follows is for the next
                    // chunk to say (read as a blank line, it would dispatch too early).
                    None => return None,
                    Some(b'\n') => self.buf.advance(1),
                    Some(_) => {}
                }
                self.after_cr = false;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', &self.buf) else {
                if self.pending() > MAX_EVENT_BYTES {
                    return Some(Err(SseError::TooLarge));
                }
                return None;
            };
            self.after_cr = self.buf[end] == b'\r';
            if end == 0 {
                self.buf.advance(1);
                if let Some(event) = self.dispatch() {
                    return Some(Ok(event));
                }
                continue;
            }
            // The line is read in place and then skipped (`advance` only moves the start
            // of the buffer; `split_to` would make it shared and refcounted, per line).
            let read = Fields {
                event: &mut self.event,
                data: &mut self.data,
                has_data: &mut self.has_data,
            }
            .read(&self.buf[..end]);
            self.buf.advance(end + 1);
            if let Err(e) = read {
                return Some(Err(e));
            }
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if !self.has_data {
            self.event = None;
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
        })
    }
}

/// The fields of the event being assembled, borrowed apart from the buffer a line is read
/// from.
struct Fields<'a> {
    event: &'a mut Option<String>,
    data: &'a mut String,
    has_data: &'a mut bool,
}

impl Fields<'_> {
    fn read(self, line: &[u8]) -> Result<(), SseError> {
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = std::str::from_utf8(value).map_err(|_| SseError::NotUtf8)?;
        match name {
            b"data" => {
                if *self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                *self.has_data = true;
                if self.data.len() > MAX_EVENT_BYTES {
                    return Err(SseError::TooLarge);
                }
            }
            b"event" => *self.event = Some(value.to_owned()),
            // `id` and `retry` steer browser reconnection; no LLM API relies on them.
            _ => {}
        }
        Ok(())
    }
}

/// Appends one event to `out` in the canonical form (`event:` line if named, one `data:`
/// line per line of data, blank line).
pub fn write_event(out: &mut BytesMut, event: Option<&str>, data: &str) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n");
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c);
            while let Some(ev) = p.next_event() {
                out.push(ev.unwrap());
            }
        }
        out
    }

    #[test]
    fn events_are_split_on_blank_lines_with_any_line_ending() {
        let evs = parse_all(&[b"data: a\n\ndata: b\r\n\r\nevent: x\rdata: c\r\r"]);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data, "a");
        assert_eq!(evs[1].data, "b");
        assert_eq!(
            evs[2],
            SseEvent {
                event: Some("x".into()),
                data: "c".into()
            }
        );
    }

    #[test]
    fn multi_line_data_is_joined_and_comments_skipped() {
        let evs = parse_all(&[b": keep-alive\n\ndata: one\ndata:two\n\n"]);
        assert_eq!(
            evs,
            vec![SseEvent {
                event: None,
                data: "one\ntwo".into()
            }]
        );
    }

    #[test]
    fn an_event_split_across_chunks_and_a_crlf_split_between_them_parse_once() {
        let evs = parse_all(&[b"da", b"ta: hel", b"lo\r", b"\n\r", b"\n"]);
        assert_eq!(
            evs,
            vec![SseEvent {
                event: None,
                data: "hello".into()
            }]
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::new();
        p.push(b"data: \xff\xfe\n\n");
        assert_eq!(p.next_event(), Some(Err(SseError::NotUtf8)));
    }

    #[test]
    fn unbounded_line_is_refused() {
        let mut p = SseParser::new();
        p.push(&vec![b'a'; MAX_EVENT_BYTES + 1]);
        assert_eq!(p.next_event(), Some(Err(SseError::TooLarge)));
    }

    #[test]
    fn a_crlf_split_between_two_chunks_is_one_line_end() {
        assert_eq!(parse_all(&[b"data: a\r", b"\n"]), vec![]);
        assert_eq!(
            parse_all(&[b"event: x\r", b"\ndata: a\r", b"\ndata: b\r\n\r\n"]),
            vec![SseEvent {
                event: Some("x".into()),
                data: "a\nb".into(),
            }]
        );
    }

    proptest! {
        /// However a stream is cut into chunks, it parses to the events it parses to
        /// whole (a `\r\n` cut in two included).
        #[test]
        fn the_chunking_never_changes_the_events(
            text in "(event: [a-z]{1,3}\r?\n|data: [a-z]{0,4}(\r\n|\r|\n)|: c\r\n|\r\n|\r|\n){0,12}",
            cuts in proptest::collection::vec(0usize..64, 0..6),
        ) {
            let bytes = text.as_bytes();
            let mut at: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            for end in at {
                chunks.push(&bytes[start..end]);
                start = end;
            }
            chunks.push(&bytes[start..]);
            prop_assert_eq!(parse_all(&chunks), parse_all(&[bytes]));
        }

        #[test]
        fn written_events_parse_back_whatever_the_chunking(
            datas in proptest::collection::vec("[a-z {}\":\n]{0,40}", 1..8),
            cut in 1usize..13,
        ) {
            let mut out = BytesMut::new();
            for d in &datas {
                write_event(&mut out, Some("e"), d);
            }
            let chunks: Vec<&[u8]> = out.chunks(cut).collect();
            let evs = parse_all(&chunks);
            let got: Vec<String> = evs.into_iter().map(|e| e.data).collect();
            prop_assert_eq!(got, datas);
        }
    }
}
