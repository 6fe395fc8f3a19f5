//! The response body type: a whole buffer, or a stream relayed from an upstream.
//!
//! An enum rather than a boxed trait object keeps the common case (a small JSON answer)
//! free of allocation and dynamic dispatch, and lets hyper see its exact length.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::pipeline::relay::SseRelay;

/// Runs when the response body is finished with (sent or dropped): the connection uses
/// it to know when a request, streams included, is really over.
pub struct BodyGuard(Option<Box<dyn FnOnce() + Send + Sync>>);

impl BodyGuard {
    pub fn new(f: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self(Some(Box::new(f)))
    }
}

impl Drop for BodyGuard {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

enum Kind {
    Full(Option<Bytes>),
    Stream(Box<SseRelay>),
}

/// A response body.
pub struct ResponseBody {
    kind: Kind,
    guard: Option<BodyGuard>,
}

impl ResponseBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
            guard: None,
        }
    }

    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
            guard: None,
        }
    }

    pub fn stream(relay: SseRelay) -> Self {
        Self {
            kind: Kind::Stream(Box::new(relay)),
            guard: None,
        }
    }

    pub fn with_guard(mut self, guard: BodyGuard) -> Self {
        self.guard = Some(guard);
        self
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let polled = match &mut this.kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(relay) => relay.poll_next(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        };
        if let Poll::Ready(None) = polled {
            // Finished: release the in-flight slot now rather than when hyper drops us.
            this.guard.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_) => SizeHint::default(),
        }
    }
}
