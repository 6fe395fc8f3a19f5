//! Response bodies: whole buffers, paced streams and deliberately broken ones.
//!
//! A stream is rendered up front into one buffer (one allocation) with frame
//! boundaries marked, then served as `Bytes` slices of it. No task or channel
//! per request: [`MockBody`] itself is the stream, sleeping between content
//! frames only when a token delay is set. Faults are applied by trimming the
//! frame list and choosing how the body ends (cleanly, with an error that makes
//! hyper abort the connection, or by hanging). When the client goes away hyper
//! drops the body, which ends any pending sleep or hang: nothing leaks.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::faults::Fault;
use crate::sse::{Dialect, Frames, Part};

/// A future that resolves when a hang must end (bound reached or shutdown).
pub(crate) type Hang = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How a body finishes once its frames are sent.
enum Ending {
    Done,
    /// Return `Pending` once (waking immediately) so hyper flushes what was
    /// written so far, then continue with the inner ending. Without it an
    /// abort would discard the buffered chunks the fault promised to send.
    Flush(Box<Ending>),
    /// Yield an error: hyper then closes the connection without the final
    /// chunk (HTTP/1) or resets the stream (HTTP/2).
    Abort,
    Hang(Hang),
}

struct Chunk {
    data: Bytes,
    paced: bool,
}

/// The response body type of every route.
pub(crate) struct MockBody {
    chunks: VecDeque<Chunk>,
    ending: Ending,
    delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    slept: bool,
    /// Exact length for whole bodies (lets hyper send Content-Length).
    exact: Option<u64>,
}

impl MockBody {
    /// A complete body.
    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        MockBody {
            exact: Some(data.len() as u64),
            chunks: VecDeque::from([Chunk { data, paced: false }]),
            ending: Ending::Done,
            delay: Duration::ZERO,
            sleep: None,
            slept: false,
        }
    }

    /// The first half of `data`, then abort (`hang` = None) or hang. The
    /// caller sets a `Content-Length` for the whole body.
    pub(crate) fn partial(data: Bytes, hang: Option<Hang>) -> Self {
        let half = data.slice(..data.len() / 2);
        MockBody {
            exact: None,
            chunks: VecDeque::from([Chunk {
                data: half,
                paced: false,
            }]),
            ending: hang.map_or(Ending::Flush(Box::new(Ending::Abort)), Ending::Hang),
            delay: Duration::ZERO,
            sleep: None,
            slept: false,
        }
    }

    /// A stream of `frames`, pacing content frames by `delay` and applying a
    /// stream fault. `hang` is only consulted for `hang-after`.
    pub(crate) fn stream(
        frames: Frames,
        dialect: Dialect,
        fault: Option<Fault>,
        delay: Duration,
        hang: impl FnOnce() -> Hang,
    ) -> Self {
        let limit = match fault {
            Some(Fault::CutAfter(n) | Fault::HangAfter(n)) => Some(n),
            Some(Fault::BadSse) => Some(1),
            _ => None,
        };
        let buf = Bytes::from(frames.buf);
        let mut chunks = VecDeque::with_capacity(frames.marks.len() + 1);
        let (mut start, mut content) = (0, 0u64);
        for (end, part) in frames.marks {
            let data = buf.slice(start..end);
            start = end;
            match part {
                // `cut-after=0`: headers, then the connection drops before any event.
                Part::Head if fault == Some(Fault::CutAfter(0)) => break,
                Part::Content if limit.is_some_and(|l| content >= l) => break,
                Part::Tail if limit.is_some() => break,
                Part::Content => {
                    chunks.push_back(Chunk {
                        data,
                        paced: content > 0,
                    });
                    content += 1;
                    if content == 1 && fault == Some(Fault::BadJson) {
                        chunks.push_back(Chunk {
                            data: Bytes::from_static(dialect.bad_json()),
                            paced: false,
                        });
                    }
                }
                Part::Head | Part::Tail => chunks.push_back(Chunk { data, paced: false }),
            }
        }
        let ending = match fault {
            Some(Fault::CutAfter(_)) => Ending::Flush(Box::new(Ending::Abort)),
            Some(Fault::HangAfter(_)) => Ending::Hang(hang()),
            Some(Fault::BadSse) => {
                chunks.push_back(Chunk {
                    data: Bytes::from_static(dialect.bad_sse()),
                    paced: false,
                });
                Ending::Done
            }
            _ => Ending::Done,
        };
        MockBody {
            chunks,
            ending,
            delay,
            sleep: None,
            slept: false,
            exact: None,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
                this.slept = true;
            }
            if let Some(chunk) = this.chunks.front() {
                if chunk.paced && !this.slept && !this.delay.is_zero() {
                    this.sleep = Some(Box::pin(tokio::time::sleep(this.delay)));
                    continue;
                }
                this.slept = false;
                let data = this.chunks.pop_front().map(|c| c.data);
                return Poll::Ready(data.map(|d| Ok(Frame::data(d))));
            }
            return match &mut this.ending {
                Ending::Done => Poll::Ready(None),
                Ending::Flush(next) => {
                    this.ending = std::mem::replace(&mut **next, Ending::Done);
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Ending::Abort => {
                    this.ending = Ending::Done;
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "mock fault: connection cut",
                    ))))
                }
                Ending::Hang(hang) => {
                    ready!(hang.as_mut().poll(cx));
                    this.ending = Ending::Done;
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "mock fault: hang ended",
                    ))))
                }
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && matches!(self.ending, Ending::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(_) if self.chunks.is_empty() => SizeHint::with_exact(0),
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn frames() -> Frames {
        let mut f = Frames::default();
        for (text, part) in [
            ("h", Part::Head),
            ("a", Part::Content),
            ("b", Part::Content),
            ("t", Part::Tail),
        ] {
            f.buf.push_str(text);
            f.end(part);
        }
        f
    }

    fn never() -> Hang {
        Box::pin(std::future::pending())
    }

    #[tokio::test]
    async fn stream_faults_trim_frames() {
        let all = MockBody::stream(frames(), Dialect::OpenAi, None, Duration::ZERO, never);
        assert_eq!(all.collect().await.unwrap().to_bytes(), "habt");
        let cut = MockBody::stream(
            frames(),
            Dialect::OpenAi,
            Some(Fault::CutAfter(1)),
            Duration::ZERO,
            never,
        );
        let mut cut = std::pin::pin!(cut);
        let mut got = Vec::new();
        while let Some(frame) = cut.frame().await {
            match frame {
                Ok(f) => got.extend_from_slice(f.data_ref().unwrap()),
                Err(_) => {
                    got.extend_from_slice(b"!");
                    break;
                }
            }
        }
        assert_eq!(got, b"ha!");
        let bad = MockBody::stream(
            frames(),
            Dialect::OpenAi,
            Some(Fault::BadJson),
            Duration::ZERO,
            never,
        );
        assert_eq!(
            bad.collect().await.unwrap().to_bytes(),
            "hadata: {not json\n\nbt"
        );
    }
}
