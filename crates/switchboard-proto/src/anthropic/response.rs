//! Non-streamed Anthropic answers: an upstream's answer read into canonical form
//! ([`parse`]), and a canonical answer written for an Anthropic client ([`write`]).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::Value;

use super::tool_input;
use super::wire::{self, Block, TextBlock, ToolUseBlock};
use crate::chat::{ChatResponse, Choice, FinishReason, ToolCall};
use crate::error::{ProtoError, parse_upstream};

/// Reads an Anthropic Messages answer. Text blocks are concatenated into the one choice's
/// text (`None` when there are none); `tool_use` blocks become tool calls; thinking and
/// server-tool blocks are skipped, since no other family can show them.
pub fn parse(body: &[u8]) -> Result<ChatResponse, ProtoError> {
    let resp: wire::Response = parse_upstream(body)?;
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in resp.content {
        match block {
            Block::Text(t) => text.get_or_insert_with(String::new).push_str(&t.text),
            Block::ToolUse(call) => tool_calls.push(ToolCall {
                id: call.id,
                name: call.name,
                arguments: super::to_json(&call.input),
            }),
            _ => {}
        }
    }
    let finish_reason = resp.stop_reason.as_deref().map(super::finish_reason_of);
    Ok(ChatResponse {
        id: resp.id,
        model: resp.model,
        created: now(),
        choices: vec![Choice {
            index: 0,
            text,
            tool_calls,
            finish_reason,
        }],
        usage: resp.usage.to_usage(),
    })
}

/// Writes a canonical answer as an Anthropic Messages answer. Only choice 0 is written
/// (Anthropic has no `n`); tool-call arguments that are not a JSON object become `{}`,
/// since Anthropic's `input` must be one. Cached input tokens are reported as
/// `cache_read_input_tokens`, outside `input_tokens`, as Anthropic counts them.
pub fn write(resp: &ChatResponse) -> Bytes {
    let choice = resp
        .choices
        .iter()
        .find(|c| c.index == 0)
        .or(resp.choices.first());
    let mut content = Vec::new();
    let mut reason = FinishReason::Stop;
    if let Some(choice) = choice {
        if let Some(text) = choice.text.as_ref().filter(|t| !t.is_empty()) {
            content.push(Block::Text(TextBlock { text: text.clone() }));
        }
        for call in &choice.tool_calls {
            let input = tool_input(&call.arguments)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
            content.push(Block::ToolUse(ToolUseBlock {
                id: call.id.clone(),
                name: call.name.clone(),
                input,
            }));
        }
        reason = choice.finish_reason.unwrap_or(FinishReason::Stop);
    }
    super::to_bytes(&wire::ResponseOut {
        id: super::message_id(&resp.id),
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content,
        stop_reason: super::stop_reason_of(reason),
        stop_sequence: None,
        usage: resp.usage.into(),
    })
}

/// Anthropic answers carry no timestamp; the canonical `created` is when it was read.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
