//! Anthropic stream event bodies (the `data` of each SSE event), read from upstreams and
//! written to clients.
//!
//! Read side: every event type is listed so its fields are checked, and
//! [`Event::Unknown`] absorbs types added after this was written (Anthropic promises new
//! event types may appear). Write side: borrowed types, so encoding a text delta copies
//! the text once, into the output.

use serde::{Deserialize, Serialize};

use super::wire::{Block, ErrorDetail, UsageOut, WireUsage};

/// One upstream stream event, dispatched on the `type` inside its data.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: Block,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorDetail<String>,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
pub struct StartMessage {
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    /// `thinking_delta`, `signature_delta`, `citations_delta`, and whatever comes next.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct MessageDelta {
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// Just the block index of a `content_block_start`/`content_block_stop`, for the
/// passthrough, which tracks open blocks without reading their content.
#[derive(Debug, Deserialize)]
pub struct BlockIndex {
    pub index: u32,
}

/// Just the usage of a `message_start` or `message_delta`, for the passthrough.
#[derive(Debug, Deserialize)]
pub struct UsageOnly {
    #[serde(default)]
    pub message: Option<UsageHolder>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct UsageHolder {
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// One event written to a client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventOut<'a> {
    MessageStart {
        message: StartOut<'a>,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockStartOut<'a>,
    },
    ContentBlockDelta {
        index: u32,
        delta: DeltaOut<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaOut,
        usage: DeltaUsageOut,
    },
    MessageStop,
}

impl EventOut<'_> {
    /// The SSE event name, which Anthropic always sets equal to the data's `type`.
    pub fn name(&self) -> &'static str {
        match self {
            EventOut::MessageStart { .. } => "message_start",
            EventOut::ContentBlockStart { .. } => "content_block_start",
            EventOut::ContentBlockDelta { .. } => "content_block_delta",
            EventOut::ContentBlockStop { .. } => "content_block_stop",
            EventOut::MessageDelta { .. } => "message_delta",
            EventOut::MessageStop => "message_stop",
        }
    }
}

/// The message skeleton of `message_start`: no content yet, no stop reason.
#[derive(Debug, Serialize)]
pub struct StartOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: [(); 0],
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<&'static str>,
    pub usage: UsageOut,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStartOut<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: serde_json::Map<String, serde_json::Value>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Debug, Serialize)]
pub struct MessageDeltaOut {
    pub stop_reason: &'static str,
    pub stop_sequence: Option<&'static str>,
}

/// `message_delta` usage: output is final here; input only when known.
#[derive(Debug, Serialize)]
pub struct DeltaUsageOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}
