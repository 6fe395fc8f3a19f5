//! A canonical request written as an Anthropic Messages request, for a client of another
//! family calling a Claude model.
//!
//! Lossy on purpose, where Anthropic has no equivalent: `seed`, `presence_penalty`,
//! `frequency_penalty` and participant `name`s are dropped; `temperature` is clamped to
//! Anthropic's 0..=1 (OpenAI allows up to 2); JSON output is asked for in words (below).

use bytes::Bytes;
use serde_json::Value;

use super::super::wire::{
    self, Block, Content, ImageBlock, ImageSource, TextBlock, ToolChoiceKind, ToolResultBlock,
    ToolUseBlock,
};
use crate::chat::{ChatRequest, Image, Message, Part, ResponseFormat, Role, ToolChoice};
use crate::error::ProtoError;

/// `max_tokens` when the client gave none: Anthropic requires one. 4096 is within every
/// current Claude model's output limit and long enough that ordinary answers are not cut.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Appended to the system prompt when JSON output is requested. Anthropic has no JSON
/// mode, so this is best-effort: the model is told, not constrained.
const JSON_INSTRUCTION: &str = "Respond with a single JSON object and nothing else.";

/// Writes `req` as a Messages request body for `upstream_model`.
///
/// System messages, wherever they are, are joined into the top-level `system`. Tool
/// results become `tool_result` blocks in user turns, and consecutive turns of the same
/// role are merged, since Anthropic requires user and assistant to alternate.
pub fn write(req: &ChatRequest, upstream_model: &str) -> Result<Bytes, ProtoError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(ProtoError::Unsupported(
            "n > 1 is not supported by Anthropic models".into(),
        ));
    }
    let mut system = Vec::new();
    let mut turns = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let (role, blocks) = match message.role {
            Role::System => {
                system.extend(system_texts(i, message)?);
                continue;
            }
            Role::User => (wire::Role::User, parts(&message.content)),
            Role::Assistant => (wire::Role::Assistant, assistant_blocks(i, message)?),
            Role::Tool => (wire::Role::User, vec![tool_result(i, message)?]),
        };
        push_turn(&mut turns, role, blocks);
    }
    if turns.is_empty() {
        // Anthropic refuses a request with no turns; say why in the gateway's words.
        return Err(ProtoError::field(
            "messages",
            "no user or assistant message with content: Anthropic models need at least one",
        ));
    }
    if let Some(instruction) = json_instruction(req.response_format.as_ref()) {
        system.push(instruction);
    }
    let out = wire::Request {
        model: upstream_model.to_owned(),
        max_tokens: req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        messages: turns.into_iter().map(turn).collect(),
        system: text_content(system),
        tools: req
            .tools
            .iter()
            .map(|t| wire::Tool {
                kind: None,
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: Some(input_schema(&t.parameters)),
            })
            .collect(),
        tool_choice: if req.tools.is_empty() {
            None
        } else {
            tool_choice(req)
        },
        stop_sequences: req.stop.clone(),
        temperature: req.temperature.map(|t| t.clamp(0.0, 1.0)),
        top_p: req.top_p,
        top_k: req.top_k,
        stream: req.stream,
        metadata: req.user.clone().map(|user_id| wire::Metadata {
            user_id: Some(user_id),
        }),
        output_config: None,
        output_format: None,
    };
    Ok(super::super::to_bytes(&out))
}

/// Adds a turn, merged into the previous one when the role repeats. In a merged user turn
/// the `tool_result` blocks are moved first (stably), as Anthropic requires them to lead.
/// Turns left without blocks (an empty assistant message) are skipped: Anthropic refuses
/// empty content.
fn push_turn(turns: &mut Vec<(wire::Role, Vec<Block>)>, role: wire::Role, blocks: Vec<Block>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((last_role, existing)) if *last_role == role => {
            existing.extend(blocks);
            if role == wire::Role::User {
                existing.sort_by_key(|b| !matches!(b, Block::ToolResult(_)));
            }
        }
        _ => turns.push((role, blocks)),
    }
}

/// A finished turn; a lone text block reads better, and round-trips, as the string
/// shorthand.
fn turn((role, mut blocks): (wire::Role, Vec<Block>)) -> wire::Message {
    let content = match blocks.as_mut_slice() {
        [Block::Text(text)] => Content::Text(std::mem::take(&mut text.text)),
        _ => Content::Blocks(blocks),
    };
    wire::Message { role, content }
}

fn system_texts(i: usize, message: &Message) -> Result<Vec<String>, ProtoError> {
    message
        .content
        .iter()
        .map(|part| match part {
            Part::Text(text) => Ok(text.clone()),
            Part::Image(_) => Err(ProtoError::Unsupported(format!(
                "messages[{i}]: images in system messages are not supported by Anthropic models"
            ))),
        })
        .collect()
}

/// Text and image parts as blocks. Empty text is dropped: Anthropic refuses empty text
/// blocks, and OpenAI clients send `content: ""` beside tool calls.
fn parts(content: &[Part]) -> Vec<Block> {
    content
        .iter()
        .filter(|part| !matches!(part, Part::Text(text) if text.is_empty()))
        .map(|part| match part {
            Part::Text(text) => Block::Text(TextBlock { text: text.clone() }),
            Part::Image(image) => Block::Image(ImageBlock {
                source: image_source(image),
            }),
        })
        .collect()
}

fn image_source(image: &Image) -> ImageSource {
    match image {
        Image::Base64 { media_type, data } => ImageSource::Base64 {
            media_type: media_type.clone(),
            data: data.clone(),
        },
        Image::Url { url, .. } => ImageSource::Url { url: url.clone() },
    }
}

fn assistant_blocks(i: usize, message: &Message) -> Result<Vec<Block>, ProtoError> {
    let mut blocks = parts(&message.content);
    for (j, call) in message.tool_calls.iter().enumerate() {
        let input = super::super::tool_input(&call.arguments).ok_or_else(|| {
            ProtoError::field(
                format!("messages[{i}].tool_calls[{j}].function.arguments"),
                "must be a JSON object encoded as a string",
            )
        })?;
        blocks.push(Block::ToolUse(ToolUseBlock {
            id: call.id.clone(),
            name: call.name.clone(),
            input,
        }));
    }
    Ok(blocks)
}

fn tool_result(i: usize, message: &Message) -> Result<Block, ProtoError> {
    let Some(id) = &message.tool_call_id else {
        return Err(ProtoError::field(
            format!("messages[{i}].tool_call_id"),
            "required on tool messages",
        ));
    };
    let content = match parts(&message.content) {
        blocks if blocks.is_empty() => None,
        mut blocks => match blocks.as_mut_slice() {
            [Block::Text(text)] => Some(Content::Text(std::mem::take(&mut text.text))),
            _ => Some(Content::Blocks(blocks)),
        },
    };
    Ok(Block::ToolResult(ToolResultBlock {
        tool_use_id: id.clone(),
        content,
        is_error: message.is_error.then_some(true),
    }))
}

/// The system prompt: a string when it is one text, else one text block per text.
fn text_content(mut texts: Vec<String>) -> Option<Content> {
    match texts.len() {
        0 => None,
        1 => texts.pop().map(Content::Text),
        _ => Some(Content::Blocks(
            texts
                .into_iter()
                .map(|text| Block::Text(TextBlock { text }))
                .collect(),
        )),
    }
}

/// Anthropic requires an object schema; OpenAI lets a tool omit its parameters.
fn input_schema(parameters: &Value) -> Value {
    match parameters {
        Value::Null => serde_json::json!({"type": "object", "properties": {}}),
        other => other.clone(),
    }
}

fn tool_choice(req: &ChatRequest) -> Option<wire::ToolChoice> {
    let disable = (req.parallel_tool_calls == Some(false)).then_some(true);
    let (kind, name) = match &req.tool_choice {
        None if disable.is_none() => return None,
        None | Some(ToolChoice::Auto) => (ToolChoiceKind::Auto, None),
        Some(ToolChoice::None) => {
            // Anthropic's `none` takes no other field.
            return Some(wire::ToolChoice {
                kind: ToolChoiceKind::None,
                name: None,
                disable_parallel_tool_use: None,
            });
        }
        Some(ToolChoice::Required) => (ToolChoiceKind::Any, None),
        Some(ToolChoice::Tool(name)) => (ToolChoiceKind::Tool, Some(name.clone())),
    };
    Some(wire::ToolChoice {
        kind,
        name,
        disable_parallel_tool_use: disable,
    })
}

fn json_instruction(format: Option<&ResponseFormat>) -> Option<String> {
    match format? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(JSON_INSTRUCTION.to_owned()),
        ResponseFormat::JsonSchema { schema, .. } => Some(format!(
            "{JSON_INSTRUCTION} It must conform to this JSON Schema: {}",
            super::super::to_json(schema)
        )),
    }
}
