//! Anthropic Messages API: request parsing and rendering.
//!
//! Streams use named SSE events in the real order:
//!
//! ```text
//! event: message_start         {"message":{..,"content":[],"stop_reason":null,"usage":{"input_tokens":P,"output_tokens":1}}}
//! event: content_block_start   {"index":0,"content_block":{"type":"text","text":""}}   (or tool_use with input {})
//! event: ping
//! event: content_block_delta   {"delta":{"type":"text_delta","text":"word "}}          <- one per token
//!                              (or {"type":"input_json_delta","partial_json":..} for tools)
//! event: content_block_stop
//! event: message_delta         {"delta":{"stop_reason":..,"stop_sequence":null},"usage":{"output_tokens":N}}
//! event: message_stop
//! ```
//!
//! Like the real API, `model`, `max_tokens` and `messages` are required.

use serde::Deserialize;

use crate::content::{Answer, ChatRequest, Finish, ToolChoice, mentions_tool};
use crate::json;
use crate::openai::Meta;
use crate::sse::{Frames, Part};
use crate::text::Text;

#[derive(Deserialize)]
struct Body {
    model: String,
    max_tokens: u64,
    messages: Vec<Message>,
    #[serde(default)]
    system: Option<Text>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    tool_choice: Option<RawToolChoice>,
}

#[derive(Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Text,
}

#[derive(Deserialize)]
struct Tool {
    name: String,
}

#[derive(Deserialize)]
struct RawToolChoice {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
}

/// Parses a Messages request.
pub(crate) fn parse(body: &[u8]) -> Result<ChatRequest, String> {
    let b: Body = serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
    if b.messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut prompt = Text::default();
    if let Some(system) = &b.system {
        prompt.push(&system.text);
    }
    for m in &b.messages {
        prompt.push(&m.content.text);
    }
    let tool_trigger = b.messages.last().is_some_and(|m| {
        m.role == "user" && !m.content.tool_result && mentions_tool(&m.content.text)
    });
    let tool_choice = match b.tool_choice {
        None => ToolChoice::Auto,
        Some(c) => match (c.kind.as_str(), c.name) {
            ("none", _) => ToolChoice::None,
            ("any", _) => ToolChoice::Required,
            ("tool", Some(name)) => ToolChoice::Named(name),
            _ => ToolChoice::Auto,
        },
    };
    Ok(ChatRequest {
        messages: b.messages.len() as u64 + u64::from(b.system.is_some()),
        model: Some(b.model),
        prompt: prompt.text,
        tool_trigger,
        max_tokens: Some(b.max_tokens),
        stream: b.stream.unwrap_or(false),
        include_usage: false,
        json_mode: false,
        tools: b
            .tools
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.name)
            .collect(),
        tool_choice,
        n: 1,
    })
}

fn stop_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCall => "tool_use",
    }
}

fn push_tool_id(out: &mut String, id: u64) {
    out.push_str("\"toolu_");
    json::push_hex(out, id);
    out.push('"');
}

/// `{"id":"msg_..","type":"message","role":"assistant","model":..,"content":`
fn push_message_head(out: &mut String, meta: &Meta<'_>) {
    out.push_str("{\"id\":\"msg_");
    json::push_hex(out, meta.id);
    out.push_str("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    json::push_str(out, meta.model);
    out.push_str(",\"content\":");
}

/// Non-stream message.
pub(crate) fn render(meta: &Meta<'_>, ans: &Answer) -> String {
    let mut out = String::with_capacity(256 + ans.text.len() * 2);
    push_message_head(&mut out, meta);
    match &ans.tool {
        Some(name) => {
            out.push_str("[{\"type\":\"tool_use\",\"id\":");
            push_tool_id(&mut out, meta.id);
            out.push_str(",\"name\":");
            json::push_str(&mut out, name);
            out.push_str(",\"input\":");
            out.push_str(&ans.text);
            out.push_str("}]");
        }
        None => {
            out.push_str("[{\"type\":\"text\",\"text\":");
            json::push_str(&mut out, &ans.text);
            out.push_str("}]");
        }
    }
    out.push_str(",\"stop_reason\":\"");
    out.push_str(stop_reason(ans.finish));
    out.push_str("\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    json::push_u64(&mut out, ans.prompt_tokens);
    out.push_str(",\"output_tokens\":");
    json::push_u64(&mut out, ans.output_tokens);
    out.push_str("}}");
    out
}

/// Appends `event: <name>\ndata: ` ... the caller writes the JSON, then
/// [`end_event`].
fn start_event(f: &mut Frames, name: &str) {
    f.buf.push_str("event: ");
    f.buf.push_str(name);
    f.buf.push_str("\ndata: ");
}

fn end_event(f: &mut Frames, part: Part) {
    f.buf.push_str("\n\n");
    f.end(part);
}

/// The named-event stream.
pub(crate) fn render_stream(meta: &Meta<'_>, ans: &Answer) -> Frames {
    let n = ans.output_tokens as usize;
    let mut f = Frames::with_capacity(700 + n * 110, n + 6);
    start_event(&mut f, "message_start");
    f.buf.push_str("{\"type\":\"message_start\",\"message\":");
    push_message_head(&mut f.buf, meta);
    f.buf
        .push_str("[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    json::push_u64(&mut f.buf, ans.prompt_tokens);
    f.buf.push_str(",\"output_tokens\":1}}}");
    end_event(&mut f, Part::Head);

    start_event(&mut f, "content_block_start");
    f.buf
        .push_str("{\"type\":\"content_block_start\",\"index\":0,\"content_block\":");
    match &ans.tool {
        Some(name) => {
            f.buf.push_str("{\"type\":\"tool_use\",\"id\":");
            push_tool_id(&mut f.buf, meta.id);
            f.buf.push_str(",\"name\":");
            json::push_str(&mut f.buf, name);
            f.buf.push_str(",\"input\":{}}}");
        }
        None => f.buf.push_str("{\"type\":\"text\",\"text\":\"\"}}"),
    }
    end_event(&mut f, Part::Head);

    start_event(&mut f, "ping");
    f.buf.push_str("{\"type\":\"ping\"}");
    end_event(&mut f, Part::Head);

    let (kind, field) = if ans.is_tool() {
        ("input_json_delta", "partial_json")
    } else {
        ("text_delta", "text")
    };
    for piece in ans.pieces() {
        start_event(&mut f, "content_block_delta");
        f.buf
            .push_str("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"");
        f.buf.push_str(kind);
        f.buf.push_str("\",\"");
        f.buf.push_str(field);
        f.buf.push_str("\":");
        json::push_str(&mut f.buf, piece);
        f.buf.push_str("}}");
        end_event(&mut f, Part::Content);
    }

    start_event(&mut f, "content_block_stop");
    f.buf
        .push_str("{\"type\":\"content_block_stop\",\"index\":0}");
    end_event(&mut f, Part::Tail);

    start_event(&mut f, "message_delta");
    f.buf
        .push_str("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
    f.buf.push_str(stop_reason(ans.finish));
    f.buf
        .push_str("\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
    json::push_u64(&mut f.buf, ans.output_tokens);
    f.buf.push_str("}}");
    end_event(&mut f, Part::Tail);

    start_event(&mut f, "message_stop");
    f.buf.push_str("{\"type\":\"message_stop\"}");
    end_event(&mut f, Part::Tail);
    f
}
