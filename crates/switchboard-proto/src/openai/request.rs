//! OpenAI chat requests: read from clients into canonical form, written from canonical
//! form for OpenAI-family upstreams, and edited in place for passthrough.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use super::wire::{
    Content, ContentPart, ImageUrl, WireRequest, WireResponseFormat, WireRole, WireToolChoice,
};
use crate::chat::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use crate::error::{ProtoError, parse_request};
use crate::raw::{RawObject, json_string};

/// A parsed inbound OpenAI chat request: the canonical view for decisions and translation,
/// the raw fields for passthrough, and whether the client asked for usage in its stream.
#[derive(Debug)]
pub struct Inbound {
    pub chat: ChatRequest,
    pub raw: RawObject,
    pub include_usage: bool,
}

/// Reads and validates a client's Chat Completions body.
pub fn parse(body: Bytes) -> Result<Inbound, ProtoError> {
    let wire: WireRequest = parse_request(&body)?;
    let include_usage = wire
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let chat = to_canonical(wire)?;
    let raw = RawObject::parse(body)?;
    Ok(Inbound {
        chat,
        raw,
        include_usage,
    })
}

/// The body to forward to an OpenAI-family upstream when the client spoke OpenAI too:
/// the client's bytes with `model` replaced and, for streams, usage requested, so the
/// gateway can always account for what the call cost.
pub fn passthrough_body(raw: &RawObject, stream: bool, upstream_model: &str) -> Bytes {
    let model = json_string(upstream_model);
    if stream {
        let options = stream_options_with_usage(raw.get("stream_options"));
        raw.write(
            &[
                ("model", model.as_bytes()),
                ("stream_options", options.as_bytes()),
            ],
            &[],
        )
    } else {
        raw.write(&[("model", model.as_bytes())], &[])
    }
}

fn stream_options_with_usage(existing: Option<&[u8]>) -> String {
    let mut options = existing
        .and_then(|raw| serde_json::from_slice::<Value>(raw).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    options["include_usage"] = Value::Bool(true);
    options.to_string()
}

fn to_canonical(wire: WireRequest) -> Result<ChatRequest, ProtoError> {
    let mut messages = Vec::with_capacity(wire.messages.len());
    for (i, m) in wire.messages.into_iter().enumerate() {
        let role = match m.role {
            WireRole::System | WireRole::Developer => Role::System,
            WireRole::User => Role::User,
            WireRole::Assistant => Role::Assistant,
            WireRole::Tool => Role::Tool,
        };
        let content = match m.content {
            None => Vec::new(),
            Some(c) => content_parts(c, i)?,
        };
        let mut msg = Message::new(role, content);
        msg.name = m.name;
        if role == Role::Tool {
            msg.tool_call_id = Some(m.tool_call_id.ok_or_else(|| {
                ProtoError::field(
                    format!("messages[{i}].tool_call_id"),
                    "required for tool messages",
                )
            })?);
        }
        if let Some(calls) = m.tool_calls {
            msg.tool_calls = calls
                .into_iter()
                .map(|c| ToolCall {
                    id: c.id,
                    name: c.function.name,
                    arguments: c.function.arguments,
                })
                .collect();
        }
        if role != Role::Assistant && msg.content.is_empty() {
            return Err(ProtoError::field(
                format!("messages[{i}].content"),
                "required for this role",
            ));
        }
        messages.push(msg);
    }
    if messages.is_empty() {
        return Err(ProtoError::field(
            "messages",
            "must contain at least one message",
        ));
    }
    if wire.n == Some(0) {
        return Err(ProtoError::field("n", "must be at least 1"));
    }
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            if t.kind != "function" {
                return Err(ProtoError::field(
                    format!("tools[{i}].type"),
                    "only \"function\" tools are supported",
                ));
            }
            Ok(Tool {
                name: t.function.name,
                description: t.function.description,
                parameters: t
                    .function
                    .parameters
                    .unwrap_or_else(|| json!({"type":"object","properties":{}})),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChatRequest {
        model: wire.model,
        messages,
        tools,
        tool_choice: wire.tool_choice.map(|c| match c {
            WireToolChoice::Mode(m) if m == "none" => ToolChoice::None,
            WireToolChoice::Mode(m) if m == "required" => ToolChoice::Required,
            WireToolChoice::Mode(_) => ToolChoice::Auto,
            WireToolChoice::Function(name) => ToolChoice::Tool(name),
        }),
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format: wire.response_format.map(|f| match f {
            WireResponseFormat::Text => ResponseFormat::Text,
            WireResponseFormat::JsonObject => ResponseFormat::JsonObject,
            WireResponseFormat::JsonSchema { json_schema } => ResponseFormat::JsonSchema {
                name: json_schema.name,
                schema: json_schema.schema.unwrap_or_else(|| json!({})),
                strict: json_schema.strict,
            },
        }),
        max_tokens: wire.max_completion_tokens.or(wire.max_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: None,
        stop: wire.stop.map(|s| s.0).unwrap_or_default(),
        n: wire.n,
        seed: wire.seed,
        presence_penalty: wire.presence_penalty,
        frequency_penalty: wire.frequency_penalty,
        user: wire.user,
        stream: wire.stream.unwrap_or(false),
    })
}

fn content_parts(content: Content, msg: usize) -> Result<Vec<Part>, ProtoError> {
    match content {
        Content::Text(t) => Ok(vec![Part::Text(t)]),
        Content::Parts(parts) => parts
            .into_iter()
            .enumerate()
            .map(|(j, p)| match p {
                ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => Ok(Part::Text(text)),
                ContentPart::ImageUrl { image_url } => match Image::from_url(&image_url.url, image_url.detail) {
                    // A data URL that is not `data:<type>;base64,` would reach another
                    // family as a link it cannot fetch (or with a guessed type).
                    Image::Url { url, .. } if url.starts_with("data:") => Err(ProtoError::field(
                        format!("messages[{msg}].content[{j}].image_url.url"),
                        "a data URL must be data:<media type>;base64,<data>",
                    )),
                    Image::Base64 { media_type, .. } if media_type.is_empty() => Err(ProtoError::field(
                        format!("messages[{msg}].content[{j}].image_url.url"),
                        "a data URL must name its media type (data:image/png;base64,...)",
                    )),
                    image => Ok(Part::Image(image)),
                },
                ContentPart::InputAudio { .. } | ContentPart::File { .. } => Err(ProtoError::Unsupported(format!(
                    "messages[{msg}].content[{j}]: audio and file parts can only be sent to OpenAI-family models"
                ))),
            })
            .collect(),
    }
}

/// How to write a request for one OpenAI-family upstream.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// OpenAI's own API wants `max_completion_tokens` (its reasoning models refuse
    /// `max_tokens`); most compatible servers only know `max_tokens`.
    pub max_completion_tokens: bool,
}

/// Writes a canonical request as an OpenAI Chat Completions body for `upstream_model`.
/// Streams always ask for usage.
pub fn write(
    req: &ChatRequest,
    upstream_model: &str,
    opts: WriteOptions,
) -> Result<Bytes, ProtoError> {
    let body = OutRequest {
        model: upstream_model,
        messages: req.messages.iter().map(out_message).collect(),
        tools: req
            .tools
            .iter()
            .map(|t| {
                let mut function = json!({"name": t.name, "parameters": t.parameters});
                if let Some(d) = &t.description {
                    function["description"] = json!(d);
                }
                json!({"type": "function", "function": function})
            })
            .collect(),
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type":"function","function":{"name":name}}),
        }),
        parallel_tool_calls: req.parallel_tool_calls.filter(|_| !req.tools.is_empty()),
        response_format: req.response_format.as_ref().map(|f| match f {
            ResponseFormat::Text => json!({"type":"text"}),
            ResponseFormat::JsonObject => json!({"type":"json_object"}),
            ResponseFormat::JsonSchema { name, schema, strict } => {
                json!({"type":"json_schema","json_schema":{"name":name,"schema":schema,"strict":strict}})
            }
        }),
        max_tokens: req.max_tokens.filter(|_| !opts.max_completion_tokens),
        max_completion_tokens: req.max_tokens.filter(|_| opts.max_completion_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        n: req.n,
        stop: (!req.stop.is_empty()).then_some(&req.stop),
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        user: req.user.as_deref(),
        stream: req.stream.then_some(true),
        stream_options: req.stream.then(|| json!({"include_usage": true})),
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| ProtoError::Unsupported(e.to_string()))
}

fn out_message(m: &Message) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = json!({ "role": role });
    let only_text = m.content.iter().all(|p| matches!(p, Part::Text(_)));
    out["content"] = if m.role == Role::Assistant && m.content.is_empty() {
        Value::Null
    } else if only_text {
        Value::String(m.joined_text())
    } else {
        Value::Array(
            m.content
                .iter()
                .map(|p| match p {
                    Part::Text(t) => json!({"type":"text","text":t}),
                    Part::Image(img) => {
                        let detail = match img {
                            Image::Url { detail, .. } => detail.clone(),
                            Image::Base64 { .. } => None,
                        };
                        json!({"type":"image_url","image_url": ImageUrl { url: img.to_url(), detail }})
                    }
                })
                .collect(),
        )
    };
    if !m.tool_calls.is_empty() {
        out["tool_calls"] = m
            .tool_calls
            .iter()
            .map(|c| json!({"id":c.id,"type":"function","function":{"name":c.name,"arguments":c.arguments}}))
            .collect();
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    if let Some(name) = &m.name {
        out["name"] = json!(name);
    }
    out
}

#[derive(Serialize)]
struct OutRequest<'a> {
    model: &'a str,
    messages: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
}
