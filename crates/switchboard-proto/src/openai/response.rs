//! OpenAI chat answers: read from OpenAI-family upstreams, written for OpenAI clients.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard_core::Usage;

use super::wire::{WireFunctionCall, WireToolCall};
use crate::chat::{ChatResponse, Choice, FinishReason, ToolCall};
use crate::error::{ProtoError, parse_upstream};

#[derive(Debug, Serialize, Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default = "object_completion")]
    object: String,
    #[serde(default)]
    created: u64,
    #[serde(default)]
    model: String,
    choices: Vec<WireChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<WireUsage>,
}

fn object_completion() -> String {
    "chat.completion".to_owned()
}

#[derive(Debug, Serialize, Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: u32,
    message: WireAnswer,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireAnswer {
    #[serde(default = "assistant")]
    role: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    tool_calls: Vec<WireToolCall>,
}

fn assistant() -> String {
    "assistant".to_owned()
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// OpenAI's usage object. Also used by stream chunks and embeddings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl From<&WireUsage> for Usage {
    fn from(u: &WireUsage) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cached_input_tokens: u
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}

impl From<Usage> for WireUsage {
    fn from(u: Usage) -> WireUsage {
        WireUsage {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.total(),
            prompt_tokens_details: (u.cached_input_tokens > 0).then_some(PromptDetails {
                cached_tokens: Some(u.cached_input_tokens),
            }),
        }
    }
}

/// Maps OpenAI's `finish_reason`. Unknown reasons are read as a normal stop.
pub fn finish_reason(s: &str) -> FinishReason {
    match s {
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

pub fn finish_reason_str(r: FinishReason) -> &'static str {
    match r {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

/// Reads an OpenAI-family upstream's answer.
pub fn parse(body: &[u8]) -> Result<ChatResponse, ProtoError> {
    let wire: WireResponse = parse_upstream(body)?;
    Ok(ChatResponse {
        id: wire.id,
        model: wire.model,
        created: wire.created,
        usage: wire.usage.as_ref().map(Usage::from).unwrap_or_default(),
        choices: wire
            .choices
            .into_iter()
            .map(|c| Choice {
                index: c.index,
                text: c.message.content,
                tool_calls: c
                    .message
                    .tool_calls
                    .into_iter()
                    .map(|t| ToolCall {
                        id: t.id,
                        name: t.function.name,
                        arguments: t.function.arguments,
                    })
                    .collect(),
                finish_reason: c.finish_reason.as_deref().map(finish_reason),
            })
            .collect(),
    })
}

/// The usage of an OpenAI-family answer, read without building the rest: the passthrough
/// path forwards the body untouched and only needs this.
pub fn usage_of(body: &[u8]) -> Result<Usage, ProtoError> {
    #[derive(Deserialize)]
    struct UsageOnly {
        #[serde(default)]
        usage: Option<WireUsage>,
    }
    let u: UsageOnly = parse_upstream(body)?;
    Ok(u.usage.as_ref().map(Usage::from).unwrap_or_default())
}

/// Writes a canonical answer as an OpenAI `chat.completion` object.
pub fn write(resp: &ChatResponse) -> Bytes {
    let wire = WireResponse {
        id: completion_id(&resp.id),
        object: object_completion(),
        created: resp.created,
        model: resp.model.clone(),
        choices: resp
            .choices
            .iter()
            .map(|c| WireChoice {
                index: c.index,
                message: WireAnswer {
                    role: assistant(),
                    content: c.text.clone(),
                    tool_calls: c
                        .tool_calls
                        .iter()
                        .map(|t| WireToolCall {
                            id: t.id.clone(),
                            kind: "function".to_owned(),
                            function: WireFunctionCall {
                                name: t.name.clone(),
                                arguments: t.arguments.clone(),
                            },
                        })
                        .collect(),
                },
                finish_reason: Some(
                    finish_reason_str(c.finish_reason.unwrap_or(FinishReason::Stop)).to_owned(),
                ),
            })
            .collect(),
        usage: Some(resp.usage.into()),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    Bytes::from(serde_json::to_vec(&wire).unwrap_or_default())
}

/// OpenAI ids start with `chatcmpl-`; ids from other families are prefixed so clients that
/// check the prefix stay happy.
pub fn completion_id(id: &str) -> String {
    if id.starts_with("chatcmpl-") {
        id.to_owned()
    } else {
        format!("chatcmpl-{id}")
    }
}
