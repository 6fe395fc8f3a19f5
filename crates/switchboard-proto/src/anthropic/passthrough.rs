//! Anthropic client, Anthropic upstream: the stream is forwarded as it came, and only the
//! usage is read on the way.

use bytes::BytesMut;
use switchboard_core::Usage;

use super::events::{BlockIndex, EventOut, UsageOnly};
use super::stream::{write, write_error};
use super::wire::ErrorEnvelope;
use crate::error::ProtoError;
use crate::sse::{SseEvent, write_event};
use crate::stream::{StreamFailure, StreamTransform, check_json};

/// Forwards every upstream event unchanged (re-framed, same name and data).
///
/// Events are told apart by their SSE name, so the hot path (`content_block_delta`, one
/// per few tokens) is never decoded, only checked to be JSON. Only `message_start` and
/// `message_delta` (usage), `content_block_start` (the open block's index, to close it on
/// failure) and `error` are decoded. An event is forwarded once it has been read: one that
/// is not JSON ends the stream with an error event instead.
#[derive(Debug, Default)]
pub struct Passthrough {
    usage: Usage,
    content_events: u64,
    complete: bool,
    open_block: Option<u32>,
    /// The upstream's own `error` event was forwarded; the client needs no second one.
    upstream_failed: bool,
}

impl Passthrough {
    pub fn new() -> Self {
        Self::default()
    }
}

impl StreamTransform for Passthrough {
    fn on_event(&mut self, event: &SseEvent, out: &mut BytesMut) -> Result<(), ProtoError> {
        match event.event.as_deref() {
            Some("content_block_delta") => {
                check_json(&event.data)?;
                self.content_events += 1;
            }
            Some("message_start" | "message_delta") => {
                let sniffed: UsageOnly = serde_json::from_str(&event.data).map_err(|e| {
                    ProtoError::BadUpstream(format!("unreadable Anthropic stream event: {e}"))
                })?;
                if let Some(usage) = sniffed.usage.or(sniffed.message.and_then(|m| m.usage)) {
                    self.usage.merge_max(usage.to_usage());
                }
            }
            Some("content_block_start") => {
                let block = serde_json::from_str::<BlockIndex>(&event.data).map_err(|e| {
                    ProtoError::BadUpstream(format!("unreadable Anthropic stream event: {e}"))
                })?;
                self.open_block = Some(block.index);
            }
            Some("content_block_stop") => {
                check_json(&event.data)?;
                self.open_block = None;
            }
            Some("message_stop") => {
                check_json(&event.data)?;
                self.complete = true;
            }
            Some("error") => {
                // The upstream's own error event goes to the client as it is, when it is
                // one; an unreadable one is replaced by ours (see `fail`).
                return Err(
                    match serde_json::from_str::<ErrorEnvelope<String>>(&event.data) {
                        Ok(envelope) => {
                            self.upstream_failed = true;
                            write_event(out, event.event.as_deref(), &event.data);
                            ProtoError::UpstreamStream {
                                kind: envelope.error.kind,
                                message: envelope.error.message,
                            }
                        }
                        Err(_) => ProtoError::UpstreamStream {
                            kind: "api_error".into(),
                            message: event.data.clone(),
                        },
                    },
                );
            }
            _ => check_json(&event.data)?,
        }
        write_event(out, event.event.as_deref(), &event.data);
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }

    /// The upstream's `message_stop` was forwarded already; nothing is left to close.
    fn finish(&mut self, _out: &mut BytesMut) {}

    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut) {
        if self.upstream_failed {
            return;
        }
        if let Some(index) = self.open_block.take() {
            write(out, &EventOut::ContentBlockStop { index });
        }
        write_error(out, failure);
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn content_events(&self) -> u64 {
        self.content_events
    }
}
