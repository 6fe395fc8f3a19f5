//! One connection's worth of load: a task that takes released slots in turn, sends the
//! request on its own keep-alive connection and reads the answer to the last byte.
//!
//! Each worker owns one hyper HTTP/1.1 connection (rather than sharing a pool) so a run
//! at concurrency C keeps exactly C connections open, as C clients would. A connection
//! that breaks or times out is dropped and dialled again for the next request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Mutex, mpsc};

use super::pacer::Slot;
use super::plan::Plan;

type Sender = SendRequest<Full<Bytes>>;

/// Why a request did not count as a success.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Connect,
    Io,
    Timeout,
    Status(u16),
    /// A stream that did not end with `data: [DONE]`.
    Truncated,
}

impl Failure {
    fn label(self) -> String {
        match self {
            Failure::Connect => "connect".into(),
            Failure::Io => "io".into(),
            Failure::Timeout => "timeout".into(),
            Failure::Status(code) => format!("status_{code}"),
            Failure::Truncated => "truncated_stream".into(),
        }
    }

    /// Whether the connection can carry another request after this.
    fn keeps_connection(self) -> bool {
        matches!(self, Failure::Status(_) | Failure::Truncated)
    }
}

/// What a successful answer looked like.
struct Answer {
    first_byte: Instant,
    bytes: u64,
    /// SSE events (blank-line separated) in the body.
    events: u64,
}

/// What the workers saw, merged at the end of a run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Release to last byte, per success.
    pub latency: Vec<Duration>,
    /// Release to the first body byte, per success.
    pub first_byte: Vec<Duration>,
    /// How late the pacer released each slot it handed out.
    pub pacer_late: Vec<Duration>,
    pub errors: BTreeMap<String, u64>,
    /// Slots still queued when the run had to stop.
    pub unsent: u64,
    pub bytes: u64,
    pub events: u64,
    pub warmup_sent: u64,
    pub warmup_errors: u64,
    /// When the last answer was complete.
    pub last_done: Option<Instant>,
}

impl Tally {
    pub fn merge(&mut self, other: Tally) {
        self.latency.extend(other.latency);
        self.first_byte.extend(other.first_byte);
        self.pacer_late.extend(other.pacer_late);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.unsent += other.unsent;
        self.bytes += other.bytes;
        self.events += other.events;
        self.warmup_sent += other.warmup_sent;
        self.warmup_errors += other.warmup_errors;
        self.last_done = self.last_done.max(other.last_done);
    }

    fn fail(&mut self, failure: Failure) {
        *self.errors.entry(failure.label()).or_default() += 1;
    }
}

/// One connection and the loop that drives it.
pub struct Worker {
    /// Which connection this is: decides its share of the warm-up.
    pub index: usize,
    pub plan: Arc<Plan>,
    /// Released slots, taken in turn by every worker.
    pub queue: Arc<Mutex<mpsc::UnboundedReceiver<Slot>>>,
    /// Passed once every worker has connected and warmed up.
    pub ready: Arc<Barrier>,
    /// Set by the first worker to see a request wait past the plan's `give_up`.
    pub stop: Arc<AtomicBool>,
}

impl Worker {
    /// Connects, warms up, waits for the others, then serves slots until the pacer is
    /// done, the run gives up or its hard stop passes.
    pub async fn run(self) -> Tally {
        let mut tally = Tally::default();
        // Every connection is open before the first timed request, as C clients' would
        // be; one that fails here is dialled again by the first request that needs it.
        let dialled = tokio::time::timeout(self.plan.timeout, connect(&self.plan)).await;
        let mut conn = Connection {
            sender: dialled.ok().and_then(Result::ok),
        };
        let rounds = self.plan.warmup.saturating_sub(self.index as u64);
        let share = rounds.div_ceil(self.plan.concurrency as u64);
        for _ in 0..share {
            tally.warmup_sent += 1;
            if conn.exchange(&self.plan).await.is_err() {
                tally.warmup_errors += 1;
            }
        }
        self.ready.wait().await;

        let hard_stop = Instant::now() + self.plan.hard_stop();
        loop {
            // The lock is held only while waiting for the next slot: workers take turns.
            let slot = self.queue.lock().await.recv().await;
            let Some(slot) = slot else { break };
            tally.pacer_late.push(slot.released - slot.due);
            if self.gives_up(&slot) || Instant::now() >= hard_stop {
                tally.unsent += 1;
                continue;
            }
            match conn.exchange(&self.plan).await {
                Ok(answer) => {
                    let done = Instant::now();
                    tally.latency.push(done - slot.released);
                    tally.first_byte.push(answer.first_byte - slot.released);
                    tally.bytes += answer.bytes;
                    tally.events += answer.events;
                    tally.last_done = tally.last_done.max(Some(done));
                }
                Err(failure) => tally.fail(failure),
            }
        }
        tally
    }

    /// Whether the run has given up; this slot gives up on it when it waited longer than
    /// the plan's `give_up` for a free connection.
    fn gives_up(&self, slot: &Slot) -> bool {
        if let Some(limit) = self.plan.give_up
            && slot.released.elapsed() > limit
        {
            self.stop.store(true, Ordering::Relaxed);
        }
        self.stop.load(Ordering::Relaxed)
    }
}

/// A worker's keep-alive connection, dialled again after it broke.
struct Connection {
    sender: Option<Sender>,
}

impl Connection {
    /// One request, bounded by the plan's timeout; a connection that broke or timed out
    /// is dropped, to be dialled again by the next request.
    async fn exchange(&mut self, plan: &Plan) -> Result<Answer, Failure> {
        let result = match tokio::time::timeout(plan.timeout, self.try_exchange(plan)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        };
        if let Err(failure) = result
            && !failure.keeps_connection()
        {
            self.sender = None;
        }
        result
    }

    async fn try_exchange(&mut self, plan: &Plan) -> Result<Answer, Failure> {
        let reused = self.sender.is_some();
        let response = match self.send(plan).await {
            // A kept-alive connection the server closed while it was idle: dial again,
            // once, as any HTTP client does.
            Err(Failure::Io) if reused => {
                self.sender = None;
                self.send(plan).await?
            }
            result => result?,
        };
        let status = response.status();
        let mut body = response.into_body();
        let mut first_byte = None;
        let mut bytes = 0;
        let mut events = EventCounter::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Failure::Io)?;
            if let Ok(data) = frame.into_data() {
                first_byte.get_or_insert_with(Instant::now);
                bytes += data.len() as u64;
                events.feed(&data);
            }
        }
        if !status.is_success() {
            return Err(Failure::Status(status.as_u16()));
        }
        if plan.stream && !events.ends_with_done() {
            return Err(Failure::Truncated);
        }
        Ok(Answer {
            first_byte: first_byte.unwrap_or_else(Instant::now),
            bytes,
            events: events.count,
        })
    }

    /// Sends the request and returns once the response's headers are in.
    async fn send(&mut self, plan: &Plan) -> Result<Response<Incoming>, Failure> {
        let sender = match self.sender.as_mut() {
            Some(sender) => sender,
            None => self.sender.insert(connect(plan).await?),
        };
        sender.ready().await.map_err(|_| Failure::Io)?;
        sender
            .send_request(request(plan))
            .await
            .map_err(|_| Failure::Io)
    }
}

async fn connect(plan: &Plan) -> Result<Sender, Failure> {
    let tcp = TcpStream::connect(plan.target.addr)
        .await
        .map_err(|_| Failure::Connect)?;
    tcp.set_nodelay(true).map_err(|_| Failure::Connect)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|_| Failure::Connect)?;
    // Drives the connection until it closes; errors surface on the sender.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(plan: &Plan) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(plan.body.clone()));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = plan.target.path.clone().into();
    let headers = req.headers_mut();
    headers.insert(header::HOST, plan.target.host.clone());
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    for (name, value) in &plan.headers {
        headers.insert(name.clone(), value.clone());
    }
    req
}

/// Counts SSE events (each ends with a blank line) across body frames, and keeps the
/// body's last bytes to check a stream ended with `data: [DONE]`.
#[derive(Default)]
struct EventCounter {
    count: u64,
    last_was_newline: bool,
    tail: Vec<u8>,
}

impl EventCounter {
    const DONE: &[u8] = b"[DONE]\n\n";

    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                if self.last_was_newline {
                    self.count += 1;
                }
                self.last_was_newline = true;
            } else if b != b'\r' {
                self.last_was_newline = false;
            }
        }
        self.tail
            .extend_from_slice(&data[data.len().saturating_sub(Self::DONE.len())..]);
        let excess = self.tail.len().saturating_sub(Self::DONE.len());
        self.tail.drain(..excess);
    }

    fn ends_with_done(&self) -> bool {
        self.tail == Self::DONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_across_frame_boundaries() {
        let mut counter = EventCounter::default();
        for piece in [
            "data: {\"a\":1}\n",
            "\ndata: {\"b\":2}\n\nda",
            "ta: [DONE]\n",
            "\n",
        ] {
            counter.feed(piece.as_bytes());
        }
        assert_eq!(counter.count, 3);
        assert!(counter.ends_with_done());
    }

    #[test]
    fn a_stream_cut_short_does_not_end_with_done() {
        let mut counter = EventCounter::default();
        counter.feed(b"data: {\"a\":1}\n\ndata: {\"b\"");
        assert!(!counter.ends_with_done());
    }
}
