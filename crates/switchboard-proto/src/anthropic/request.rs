//! Anthropic Messages requests: a client's request read into canonical form ([`parse`]),
//! and a canonical request written for an Anthropic upstream ([`write`]).
//!
//! [`parse`] serves translation (an Anthropic client served by another family) and
//! validation. Content it cannot carry over (documents, Files API images, server tools) is
//! refused with [`ProtoError::Unsupported`] rather than dropped, except
//! `thinking`/`redacted_thinking` blocks in assistant turns: they are the model's own
//! earlier reasoning, which no other family can take back, and dropping them changes no
//! instruction the client gave. Options that only tune how Anthropic runs the call
//! (`thinking`, `service_tier`, `cache_control` marks, ...) are dropped likewise.

mod write;

pub use write::{DEFAULT_MAX_TOKENS, write};

use bytes::Bytes;

use super::wire::{self, Block, Content, ImageSource, ToolChoiceKind};
use crate::chat::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use crate::error::{ProtoError, parse_request};
use crate::raw::RawObject;

/// Reads an Anthropic Messages request (as the official SDKs send it) into canonical form.
///
/// The system prompt becomes a leading system message. A user turn holding `tool_result`
/// blocks becomes one tool message per result, then a user message with the turn's other
/// blocks (if any). Assistant `tool_use` blocks become tool calls with their `input` as
/// JSON text. `disable_parallel_tool_use` becomes `parallel_tool_calls: false`.
pub fn parse(body: &[u8]) -> Result<ChatRequest, ProtoError> {
    let req: wire::Request = parse_request(body)?;
    if req.max_tokens < 1 {
        return Err(ProtoError::field("max_tokens", "must be at least 1"));
    }
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = req.system {
        messages.push(system_message(system)?);
    }
    for (i, message) in req.messages.into_iter().enumerate() {
        match message.role {
            wire::Role::User => push_user(i, message.content, &mut messages)?,
            wire::Role::Assistant => messages.push(assistant(i, message.content)?),
        }
    }
    let tools = req
        .tools
        .into_iter()
        .enumerate()
        .map(|(i, t)| tool(i, t))
        .collect::<Result<_, _>>()?;
    // Structured outputs become the canonical JSON schema, so another family is asked
    // for the same shape (it used to be dropped, and the SDK's `parse` failed). A format
    // type this gateway does not know is left to Anthropic (a passthrough forwards the
    // client's bytes) and dropped in translation, like the other Anthropic-only options.
    let format = req
        .output_config
        .and_then(|c| c.format)
        .or(req.output_format);
    let response_format = match format {
        None => None,
        Some(f) if f.kind == "json_schema" => Some(ResponseFormat::JsonSchema {
            name: "output".to_owned(),
            schema: f
                .schema
                .ok_or_else(|| ProtoError::field("output_config.format.schema", "is required"))?,
            strict: Some(true),
        }),
        Some(_) => None,
    };
    let (tool_choice, parallel_tool_calls) = match req.tool_choice {
        Some(choice) => {
            let parallel = (choice.disable_parallel_tool_use == Some(true)).then_some(false);
            (Some(tool_choice(choice)?), parallel)
        }
        None => (None, None),
    };
    Ok(ChatRequest {
        model: req.model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        max_tokens: Some(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        stop: req.stop_sequences,
        user: req.metadata.and_then(|m| m.user_id),
        stream: req.stream,
        response_format,
        ..ChatRequest::default()
    })
}

/// The body to forward to an Anthropic upstream when the client spoke Anthropic too: the
/// client's bytes with only `model` replaced, so every field this gateway does not model
/// (`thinking`, `cache_control`, server tools, ...) reaches the upstream intact.
pub fn passthrough_body(raw: &RawObject, upstream_model: &str) -> Bytes {
    let model = super::to_json(upstream_model);
    raw.write(&[("model", model.as_bytes())], &[])
}

fn system_message(system: Content) -> Result<Message, ProtoError> {
    let parts = match system {
        Content::Text(text) => vec![Part::Text(text)],
        Content::Blocks(blocks) => blocks
            .into_iter()
            .enumerate()
            .map(|(j, block)| match block {
                Block::Text(t) => Ok(Part::Text(t.text)),
                _ => Err(ProtoError::field(
                    format!("system[{j}]"),
                    "system blocks must be text blocks",
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Message::new(Role::System, parts))
}

/// A user turn: its tool results first, as tool messages, then what remains.
fn push_user(i: usize, content: Content, out: &mut Vec<Message>) -> Result<(), ProtoError> {
    let blocks = match content {
        Content::Text(text) => {
            out.push(Message::text(Role::User, text));
            return Ok(());
        }
        Content::Blocks(blocks) => blocks,
    };
    let has_results = blocks.iter().any(|b| matches!(b, Block::ToolResult(_)));
    let mut rest = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        let at = || format!("messages[{i}].content[{j}]");
        match block {
            Block::ToolResult(result) => {
                let content = match result.content {
                    None => Vec::new(),
                    Some(Content::Text(text)) => vec![Part::Text(text)],
                    Some(Content::Blocks(inner)) => inner
                        .into_iter()
                        .enumerate()
                        .map(|(k, b)| part(&format!("{}.content[{k}]", at()), b))
                        .collect::<Result<_, _>>()?,
                };
                let mut message = Message::new(Role::Tool, content);
                message.tool_call_id = Some(result.tool_use_id);
                message.is_error = result.is_error.unwrap_or(false);
                out.push(message);
            }
            Block::ToolUse(_) => {
                return Err(ProtoError::field(
                    at(),
                    "tool_use blocks belong in assistant messages",
                ));
            }
            other => rest.push(part(&at(), other)?),
        }
    }
    if !has_results || !rest.is_empty() {
        out.push(Message::new(Role::User, rest));
    }
    Ok(())
}

fn assistant(i: usize, content: Content) -> Result<Message, ProtoError> {
    let blocks = match content {
        Content::Text(text) => return Ok(Message::text(Role::Assistant, text)),
        Content::Blocks(blocks) => blocks,
    };
    let mut message = Message::new(Role::Assistant, Vec::new());
    for (j, block) in blocks.into_iter().enumerate() {
        let at = format!("messages[{i}].content[{j}]");
        match block {
            Block::ToolUse(call) => message.tool_calls.push(ToolCall {
                id: call.id,
                name: call.name,
                arguments: super::to_json(&call.input),
            }),
            Block::ToolResult(_) => {
                return Err(ProtoError::field(
                    at,
                    "tool_result blocks belong in user messages",
                ));
            }
            Block::Other(kind) if kind == "thinking" || kind == "redacted_thinking" => {}
            other => message.content.push(part(&at, other)?),
        }
    }
    Ok(message)
}

/// A text or image block as a canonical part; anything else cannot be translated.
fn part(at: &str, block: Block) -> Result<Part, ProtoError> {
    match block {
        Block::Text(t) => Ok(Part::Text(t.text)),
        Block::Image(image) => match image.source {
            ImageSource::Base64 { media_type, data } => {
                Ok(Part::Image(Image::Base64 { media_type, data }))
            }
            ImageSource::Url { url } => Ok(Part::Image(Image::Url { url, detail: None })),
            ImageSource::File { .. } => Err(ProtoError::Unsupported(format!(
                "{at}: images from the Files API cannot be translated"
            ))),
        },
        Block::Other(kind) => Err(ProtoError::Unsupported(format!(
            "{at}: `{kind}` blocks cannot be translated"
        ))),
        Block::ToolUse(_) | Block::ToolResult(_) => {
            Err(ProtoError::field(at, "tool blocks cannot be nested here"))
        }
    }
}

fn tool(i: usize, tool: wire::Tool) -> Result<Tool, ProtoError> {
    if let Some(kind) = tool.kind.filter(|k| k != "custom") {
        return Err(ProtoError::Unsupported(format!(
            "server tool `{kind}` cannot be translated"
        )));
    }
    let Some(parameters) = tool.input_schema else {
        return Err(ProtoError::field(
            format!("tools[{i}].input_schema"),
            "missing field `input_schema`",
        ));
    };
    Ok(Tool {
        name: tool.name,
        description: tool.description,
        parameters,
    })
}

fn tool_choice(choice: wire::ToolChoice) -> Result<ToolChoice, ProtoError> {
    Ok(match choice.kind {
        ToolChoiceKind::Auto => ToolChoice::Auto,
        ToolChoiceKind::Any => ToolChoice::Required,
        ToolChoiceKind::None => ToolChoice::None,
        ToolChoiceKind::Tool => match choice.name {
            Some(name) => ToolChoice::Tool(name),
            None => {
                return Err(ProtoError::field(
                    "tool_choice.name",
                    "required when `type` is `tool`",
                ));
            }
        },
    })
}
