//! Relays an upstream's SSE stream to the client, event by event, as it arrives.
//!
//! Each upstream frame is pushed through the SSE parser and the call's
//! [`StreamTransform`]; whatever client bytes that yields are sent as soon as the
//! upstream has nothing more *already received*. Nothing waits for data still to come:
//! beyond one partial event, the relay only holds what arrived in the same burst (see
//! [`SseRelay::hold_for_more`]), so a burst of events goes to the client in one write
//! instead of one write (and one wake-up of the client) per event. The relay also
//! guarantees the client is never left hanging: if the upstream breaks, closes early or
//! goes silent past the idle or total timeout, the transform writes an error event in the
//! client's shape and the body ends.
//! When the relay finishes, or is dropped because the client went away, it reports once
//! what the stream used, so a stream cut short is still accounted for.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use hyper::body::Incoming;
use switchboard_core::Usage;
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::{StreamFailure, StreamTransform};
use tokio::time::{Instant, Sleep};

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The upstream finished properly.
    Complete,
    /// The upstream broke, closed early or sent garbage.
    UpstreamBroke(String),
    /// The upstream went silent past the idle timeout or ran past the total timeout.
    Timeout,
    /// The client stopped reading before the end.
    ClientGone,
}

/// What a stream used, reported once when it ends.
#[derive(Debug, Clone)]
pub struct StreamOutcome {
    pub end: StreamEnd,
    /// As the upstream reported it (zero where it never did).
    pub usage: Usage,
    /// Content events forwarded: a floor on output tokens when usage never arrived.
    pub content_events: u64,
    /// What the client was sent, when the tenant's audit policy captures responses.
    pub captured: Option<String>,
}

/// Receives the outcome of a stream.
pub type OutcomeSink = Box<dyn FnOnce(StreamOutcome) + Send + Sync>;

/// Timeouts of one relayed stream.
#[derive(Debug, Clone, Copy)]
pub struct RelayTimeouts {
    /// Longest silence between two upstream frames.
    pub idle: Duration,
    /// The whole stream's deadline.
    pub deadline: Instant,
    /// Keep a copy of what the client is sent (up to [`MAX_CAPTURE_BYTES`]) for the audit
    /// record.
    pub capture: bool,
}

/// Most bytes of a stream kept for the audit record.
pub const MAX_CAPTURE_BYTES: usize = 1024 * 1024;

/// Client bytes gathered from one burst before they are sent regardless.
const COALESCE_LIMIT: usize = 16 * 1024;

/// On a stream whose last burst was a single frame, how many pieces go out before the
/// relay checks again whether frames now come in bursts.
const PROBE_EVERY: u8 = 8;

/// Yields in a row that bring no frame before a burst counts as over.
const EMPTY_YIELDS: u8 = 3;

pub struct SseRelay {
    upstream: Incoming,
    parser: SseParser,
    transform: Box<dyn StreamTransform>,
    out: BytesMut,
    idle_timeout: Duration,
    /// Fires at the earliest moment the stream can have been idle too long; only then is
    /// it checked against `last_frame` and re-armed (resetting a timer on every frame
    /// costs more than the frame's parsing).
    idle: Pin<Box<Sleep>>,
    last_frame: Instant,
    deadline: Pin<Box<Sleep>>,
    done: bool,
    sink: Option<OutcomeSink>,
    captured: Option<Vec<u8>>,
    /// The first chunk, read before the stream was committed.
    prefix: Option<Bytes>,
    /// Why the stream failed, when it did.
    failure: Option<String>,
    /// While the relay holds client bytes to let the upstream's connection hand over
    /// frames it has already read: `out`'s length at the last yield, and how many
    /// yields in a row brought nothing.
    holding: Option<(usize, u8)>,
    /// Whether the last burst had more than one frame, so the next one likely will too.
    bursty: bool,
    /// Pieces sent without holding since the relay last held.
    since_probe: u8,
}

impl SseRelay {
    pub fn new(
        upstream: Incoming,
        transform: Box<dyn StreamTransform>,
        timeouts: RelayTimeouts,
    ) -> Self {
        Self {
            upstream,
            parser: SseParser::new(),
            transform,
            out: BytesMut::with_capacity(1024),
            idle_timeout: timeouts.idle,
            idle: Box::pin(tokio::time::sleep(timeouts.idle)),
            last_frame: Instant::now(),
            deadline: Box::pin(tokio::time::sleep_until(timeouts.deadline)),
            done: false,
            sink: None,
            captured: timeouts.capture.then(Vec::new),
            prefix: None,
            failure: None,
            holding: None,
            bursty: true,
            since_probe: 0,
        }
    }

    /// Where the stream's outcome is reported once it is committed to the client.
    pub fn set_sink(&mut self, sink: OutcomeSink) {
        self.sink = Some(sink);
    }

    /// Waits for the stream's first client bytes, before anything is sent to the client.
    /// An upstream that breaks, closes or stalls before producing any is an attempt that
    /// failed (`Err`, with why), so the caller can still fail over; the bytes are kept and
    /// sent first once the stream is committed.
    pub async fn first_chunk(&mut self) -> Result<(), String> {
        // The first event alone decides whether the attempt succeeded: a stream that
        // breaks after it is the client's (an error event), not a failed attempt, so
        // nothing more is gathered here.
        let first = std::future::poll_fn(|cx| self.poll_upstream(cx, false)).await;
        if let Some(why) = self.failure.take() {
            return Err(why);
        }
        self.prefix = first;
        Ok(())
    }

    /// The next piece of client body, `None` at the end.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let next = match self.prefix.take() {
            Some(first) => Poll::Ready(Some(first)),
            None => self.poll_upstream(cx, true),
        };
        if let (Poll::Ready(Some(bytes)), Some(buf)) = (&next, self.captured.as_mut()) {
            let room = MAX_CAPTURE_BYTES.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        next
    }

    /// The next client bytes; with `gather`, a burst's frames are held and sent together
    /// (see [`Self::hold_for_more`]).
    fn poll_upstream(&mut self, cx: &mut Context<'_>, gather: bool) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut self.upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    self.parser.push(&data);
                    if let Err(why) = self.drain_events() {
                        return Poll::Ready(Some(self.fail(why, false)));
                    }
                    self.last_frame = Instant::now();
                    if !self.out.is_empty() && (!gather || self.out.len() >= COALESCE_LIMIT) {
                        self.holding = None;
                        return Poll::Ready(Some(self.out.split().freeze()));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(
                        self.fail(format!("the provider's stream broke: {e}"), false),
                    ));
                }
                Poll::Ready(None) => return Poll::Ready(Some(self.end_of_upstream())),
                Poll::Pending if !self.out.is_empty() => {
                    if self.hold_for_more(cx) {
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(self.out.split().freeze()));
                }
                Poll::Pending => {
                    if self.idle_expired(cx) {
                        let why = format!("the provider sent nothing for {:?}", self.idle_timeout);
                        return Poll::Ready(Some(self.fail(why, true)));
                    }
                    if self.deadline.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(
                            self.fail("the provider's stream ran past its deadline".into(), true),
                        ));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Whether to hold the client bytes gathered so far a moment longer, now that the
    /// upstream has no frame ready.
    ///
    /// hyper hands a client connection's body over one frame at a time: the next frame
    /// is decoded from bytes the connection already read only after this task has taken
    /// the last one and the connection's own task has run. So "nothing ready" often
    /// means "the rest of this burst is a task switch away". Holding means waking this
    /// task and yielding (it goes to the back of the runtime's queue, behind the upstream
    /// connection's task, which taking the frame woke), never waiting for the network.
    /// The connection's task sometimes needs a second turn before it hands the frame
    /// over, so a burst is declared over only after [`EMPTY_YIELDS`] yields in a row
    /// brought nothing; then the bytes go out. Measured on streams of 200 events that
    /// the upstream writes 16 at a time: 208 client writes per stream without holding,
    /// 178 giving up after one empty yield, 35 after two, 18 after three.
    ///
    /// A stream whose frames arrive one at a time (a real model, tokens milliseconds
    /// apart) stops holding after one such try and tries again every [`PROBE_EVERY`]
    /// pieces, so it pays a few extra polls every ninth piece, not on each.
    fn hold_for_more(&mut self, cx: &mut Context<'_>) -> bool {
        let len = self.out.len();
        let empty_yields = match self.holding.take() {
            // The last yield brought more frames: there may be more still.
            Some((at, _)) if at != len => {
                self.bursty = true;
                0
            }
            Some((_, empty)) if empty + 1 < EMPTY_YIELDS => empty + 1,
            // The burst is over.
            Some(_) => {
                self.bursty = false;
                return false;
            }
            None if self.bursty || self.since_probe >= PROBE_EVERY => 0,
            None => {
                self.since_probe += 1;
                return false;
            }
        };
        self.since_probe = 0;
        self.holding = Some((len, empty_yields));
        cx.waker().wake_by_ref();
        true
    }

    /// Whether the upstream has been silent for the idle timeout; otherwise the timer is
    /// left armed (and this task registered) for the earliest moment it could be.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.idle.as_mut().poll(cx).is_ready() {
            let due = self.last_frame + self.idle_timeout;
            if Instant::now() >= due {
                return true;
            }
            self.idle.as_mut().reset(due);
        }
        false
    }

    /// Runs every complete event through the transform.
    fn drain_events(&mut self) -> Result<(), String> {
        while let Some(event) = self.parser.next_event() {
            let event = event.map_err(|e| format!("the provider sent a malformed stream: {e}"))?;
            self.transform
                .on_event(&event, &mut self.out)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn end_of_upstream(&mut self) -> Bytes {
        // A final event without its blank line still counts.
        self.parser.push(b"\n\n");
        if let Err(why) = self.drain_events() {
            return self.fail(why, false);
        }
        if !self.transform.is_complete() {
            return self.fail(
                "the provider closed the stream before it was complete".into(),
                false,
            );
        }
        self.transform.finish(&mut self.out);
        self.report(StreamEnd::Complete);
        self.done = true;
        self.out.split().freeze()
    }

    /// Ends the stream with an error event after whatever was already produced.
    fn fail(&mut self, message: String, timeout: bool) -> Bytes {
        tracing::warn!(%message, "upstream stream failed");
        self.failure = Some(message.clone());
        self.transform.fail(
            &StreamFailure {
                message: message.clone(),
                timeout,
            },
            &mut self.out,
        );
        self.report(if timeout {
            StreamEnd::Timeout
        } else {
            StreamEnd::UpstreamBroke(message)
        });
        self.done = true;
        self.out.split().freeze()
    }

    fn report(&mut self, end: StreamEnd) {
        if let Some(sink) = self.sink.take() {
            // The closing frames are still in `out`: part of what the client receives.
            let captured = self.captured.take().map(|mut b| {
                let room = MAX_CAPTURE_BYTES.saturating_sub(b.len());
                b.extend_from_slice(&self.out[..self.out.len().min(room)]);
                String::from_utf8_lossy(&b).into_owned()
            });
            sink(StreamOutcome {
                end,
                usage: self.transform.usage(),
                content_events: self.transform.content_events(),
                captured,
            });
        }
    }
}

impl Drop for SseRelay {
    fn drop(&mut self) {
        self.report(StreamEnd::ClientGone);
    }
}

#[cfg(test)]
mod tests;
