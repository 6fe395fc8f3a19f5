//! Anthropic Messages: a family clients call in and upstreams are called in.
//!
//! - [`request`]: a client's Messages request into canonical form, and canonical into an
//!   upstream Messages request.
//! - [`response`]: an upstream's answer into canonical form, and canonical into the answer
//!   an Anthropic client expects.
//! - [`stream`]: the SSE [`stream::Decoder`] (upstream) and [`stream::Encoder`] (client).
//! - [`Passthrough`]: Anthropic client, Anthropic upstream: events forwarded as they are.
//! - [`error`]: Anthropic's error body, written and read.
//! - [`wire`], [`events`]: the serde types of bodies and stream events.

pub mod error;
pub mod events;
mod passthrough;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

pub use passthrough::Passthrough;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::Usage;

use crate::chat::FinishReason;
use crate::error::{ProtoError, parse_upstream};
use wire::WireUsage;

/// The usage of a non-streamed Anthropic answer, for billing a passed-through call without
/// reading its content (serde skips the other fields without building them).
pub fn usage_of(body: &[u8]) -> Result<Usage, ProtoError> {
    #[derive(Deserialize)]
    struct OnlyUsage {
        usage: WireUsage,
    }
    Ok(parse_upstream::<OnlyUsage>(body)?.usage.to_usage())
}

/// Anthropic `stop_reason` to canonical. `pause_turn` (a server tool paused a long turn)
/// and reasons newer than this code read as a plain stop.
pub(crate) fn finish_reason_of(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Canonical finish reason to Anthropic `stop_reason`.
pub(crate) fn stop_reason_of(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

/// Tool-call arguments as Anthropic's `input` object. Blank arguments (some clients send
/// `""` for a call without parameters) mean `{}`.
pub(crate) fn tool_input(arguments: &str) -> Option<Value> {
    if arguments.trim().is_empty() {
        return Some(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
}

/// Serializes a wire type. These types hold only strings, numbers and JSON values, which
/// cannot fail to serialize; the fallback keeps that an invariant rather than a panic.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"))
}

pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

/// Anthropic ids start with `msg_`; SDKs do not check, but logs and people do.
pub(crate) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}
