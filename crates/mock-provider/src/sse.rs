//! Stream framing: the four wire dialects and the frame buffer streams are
//! rendered into.
//!
//! Renderers write a whole stream into one `String` and mark where each frame
//! ends and what it is (`Head` preamble, `Content` token event, `Tail`
//! epilogue). [`MockBody::stream`](crate::MockBody) later slices the buffer
//! into zero-copy `Bytes` frames, paces `Content` frames, and applies faults
//! using the marks; the dialect supplies what "broken" looks like.

/// Which stream framing a route uses; decides what "broken" looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `data: {..}\n\n` ... `data: [DONE]\n\n`
    OpenAi,
    /// `event: x\ndata: {..}\n\n`
    Anthropic,
    /// `data: {..}\r\n\r\n`
    GeminiSse,
    /// `[{..},\r\n{..}]`
    GeminiArray,
}

impl Dialect {
    /// One syntactically invalid event, as injected by `bad-json`.
    pub(crate) fn bad_json(self) -> &'static [u8] {
        match self {
            Dialect::OpenAi => b"data: {not json\n\n",
            Dialect::Anthropic => b"event: content_block_delta\ndata: {not json\n\n",
            Dialect::GeminiSse => b"data: {not json\r\n\r\n",
            Dialect::GeminiArray => b",\r\n{not json",
        }
    }

    /// Broken framing, as injected by `bad-sse`: lines without a field name,
    /// an unterminated event and bytes that are not UTF-8.
    pub(crate) fn bad_sse(self) -> &'static [u8] {
        match self {
            Dialect::GeminiArray => b",\r\n\x00\xff\xfe}{ garbage ]]",
            _ => {
                b"this line has no field name\n\x00\xff\xfe\x01 garbage\ndata {\"broken\": \nevent"
            }
        }
    }
}

/// Which part of a stream a frame belongs to. Only `Content` frames count
/// for `cut-after`/`hang-after` and are paced by the token delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Head,
    Content,
    Tail,
}

/// A stream being rendered: one buffer plus frame boundaries.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// The rendered stream; renderers append to it directly.
    pub buf: String,
    /// End offset and kind of each frame, in order.
    pub marks: Vec<(usize, Part)>,
}

impl Frames {
    pub(crate) fn with_capacity(bytes: usize, frames: usize) -> Self {
        Frames {
            buf: String::with_capacity(bytes),
            marks: Vec::with_capacity(frames),
        }
    }

    /// Ends the frame written since the previous mark.
    pub(crate) fn end(&mut self, part: Part) {
        self.marks.push((self.buf.len(), part));
    }
}
