//! Anthropic Messages streams: upstream events decoded into canonical ones
//! ([`Decoder`]), and canonical events encoded for an Anthropic client ([`Encoder`]).
//!
//! An Anthropic stream is `message_start`, then per content block a
//! `content_block_start`, its `content_block_delta`s and a `content_block_stop`, then
//! `message_delta` (stop reason, final usage) and `message_stop`; `ping` may come anytime,
//! and `error` ends a stream that has already begun.

mod decoder;
mod encoder;

pub use decoder::Decoder;
pub use encoder::Encoder;

use bytes::BytesMut;

use super::events::EventOut;
use crate::sse::write_event;

/// Writes one event with its name, as Anthropic does (SDKs dispatch on the name).
pub(crate) fn write(out: &mut BytesMut, event: &EventOut<'_>) {
    write_event(out, Some(event.name()), &super::to_json(event));
}

/// Writes the `error` event a broken stream ends with.
pub(crate) fn write_error(out: &mut BytesMut, failure: &crate::stream::StreamFailure) {
    let kind = if failure.timeout {
        "timeout_error"
    } else {
        "api_error"
    };
    write_event(
        out,
        Some("error"),
        &super::error::data(kind, &failure.message),
    );
}
