//! Gemini `generateContent` / `streamGenerateContent`: parsing and rendering.
//!
//! Every streamed event is a complete `GenerateContentResponse` carrying one
//! token's text; the last one also has `finishReason` and `usageMetadata`.
//! Framing depends on the query, as with the real API:
//!
//! * `?alt=sse`: `data: {..}\r\n\r\n` per event;
//! * otherwise a JSON array streamed incrementally: `[{..}` then `,\r\n{..}`
//!   per event, then `]`.
//!
//! A tool call is a single event holding the whole `functionCall`.
//! Both camelCase and snake_case request fields are accepted, like the API.

use serde::Deserialize;

use crate::content::{Answer, ChatRequest, Finish, ToolChoice, mentions_tool};
use crate::json;
use crate::openai::Meta;
use crate::sse::{Dialect, Frames, Part};
use crate::text::Text;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    contents: Vec<Content>,
    #[serde(default, alias = "system_instruction")]
    system_instruction: Option<Text>,
    #[serde(default, alias = "generation_config")]
    generation_config: Option<GenerationConfig>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default, alias = "tool_config")]
    tool_config: Option<ToolConfig>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    parts: Text,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(default, alias = "max_output_tokens")]
    max_output_tokens: Option<u64>,
    #[serde(default, alias = "response_mime_type")]
    response_mime_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    #[serde(default, alias = "function_declarations")]
    function_declarations: Option<Vec<Declaration>>,
}

#[derive(Deserialize)]
struct Declaration {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig {
    #[serde(default, alias = "function_calling_config")]
    function_calling_config: Option<CallingConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallingConfig {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default, alias = "allowed_function_names")]
    allowed_function_names: Option<Vec<String>>,
}

/// Parses a generateContent request (stream or not; the route decides).
pub(crate) fn parse(body: &[u8]) -> Result<ChatRequest, String> {
    let b: Body =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON payload received. {e}"))?;
    if b.contents.is_empty() {
        return Err("* GenerateContentRequest.contents: contents is not specified".into());
    }
    let mut prompt = Text::default();
    if let Some(system) = &b.system_instruction {
        prompt.push(&system.text);
    }
    for c in &b.contents {
        prompt.push(&c.parts.text);
    }
    let tool_trigger = b.contents.last().is_some_and(|c| {
        c.role.as_deref().is_none_or(|r| r == "user")
            && !c.parts.tool_result
            && mentions_tool(&c.parts.text)
    });
    let calling = b.tool_config.and_then(|t| t.function_calling_config);
    let tool_choice = match calling {
        None => ToolChoice::Auto,
        Some(c) => match c.mode.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("NONE") => ToolChoice::None,
            Some("ANY") => match c.allowed_function_names.and_then(|n| n.into_iter().next()) {
                Some(name) => ToolChoice::Named(name),
                None => ToolChoice::Required,
            },
            _ => ToolChoice::Auto,
        },
    };
    let config = b.generation_config;
    Ok(ChatRequest {
        model: None,
        prompt: prompt.text,
        messages: b.contents.len() as u64 + u64::from(b.system_instruction.is_some()),
        tool_trigger,
        max_tokens: config.as_ref().and_then(|c| c.max_output_tokens),
        stream: false,
        include_usage: false,
        json_mode: config
            .as_ref()
            .and_then(|c| c.response_mime_type.as_deref())
            .is_some_and(|m| m == "application/json"),
        tools: b
            .tools
            .unwrap_or_default()
            .into_iter()
            .flat_map(|t| t.function_declarations.unwrap_or_default())
            .map(|d| d.name)
            .collect(),
        tool_choice,
        n: 1,
    })
}

fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::ToolCall => "STOP",
    }
}

/// One `GenerateContentResponse`; `parts` writes the parts array contents;
/// `last` adds `finishReason` and `usageMetadata`.
fn push_response(
    out: &mut String,
    meta: &Meta<'_>,
    ans: &Answer,
    parts: &dyn Fn(&mut String),
    last: bool,
) {
    out.push_str("{\"candidates\":[{\"content\":{\"parts\":[");
    parts(out);
    out.push_str("],\"role\":\"model\"}");
    if last {
        out.push_str(",\"finishReason\":\"");
        out.push_str(finish_reason(ans.finish));
        out.push('"');
    }
    out.push_str(",\"index\":0}]");
    if last {
        out.push_str(",\"usageMetadata\":{\"promptTokenCount\":");
        json::push_u64(out, ans.prompt_tokens);
        out.push_str(",\"candidatesTokenCount\":");
        json::push_u64(out, ans.output_tokens);
        out.push_str(",\"totalTokenCount\":");
        json::push_u64(out, ans.prompt_tokens + ans.output_tokens);
        out.push('}');
    }
    out.push_str(",\"modelVersion\":");
    json::push_str(out, meta.model);
    out.push_str(",\"responseId\":\"mock-");
    json::push_hex(out, meta.id);
    out.push_str("\"}");
}

fn push_text_part(out: &mut String, text: &str) {
    out.push_str("{\"text\":");
    json::push_str(out, text);
    out.push('}');
}

fn push_call_part(out: &mut String, name: &str, args: &str) {
    out.push_str("{\"functionCall\":{\"name\":");
    json::push_str(out, name);
    out.push_str(",\"args\":");
    out.push_str(args);
    out.push_str("}}");
}

/// Non-stream response.
pub(crate) fn render(meta: &Meta<'_>, ans: &Answer) -> String {
    let mut out = String::with_capacity(320 + ans.text.len() * 2);
    let parts = |out: &mut String| match &ans.tool {
        Some(name) => push_call_part(out, name, &ans.text),
        None => push_text_part(out, &ans.text),
    };
    push_response(&mut out, meta, ans, &parts, true);
    out
}

/// Streamed responses in SSE or JSON-array framing.
pub(crate) fn render_stream(meta: &Meta<'_>, ans: &Answer, dialect: Dialect) -> Frames {
    let sse = dialect == Dialect::GeminiSse;
    let n = if ans.is_tool() {
        1
    } else {
        ans.output_tokens as usize
    };
    let mut f = Frames::with_capacity(n * 200 + 300, n + 1);
    let event = |f: &mut Frames, first: bool, last: bool, parts: &dyn Fn(&mut String)| {
        f.buf.push_str(match (sse, first) {
            (true, _) => "data: ",
            (false, true) => "[",
            (false, false) => ",\r\n",
        });
        push_response(&mut f.buf, meta, ans, parts, last);
        if sse {
            f.buf.push_str("\r\n\r\n");
        }
        f.end(Part::Content);
    };
    match &ans.tool {
        Some(name) => event(&mut f, true, true, &|out| {
            push_call_part(out, name, &ans.text)
        }),
        None => {
            for (i, piece) in ans.pieces().enumerate() {
                event(&mut f, i == 0, i + 1 == n, &|out| {
                    push_text_part(out, piece)
                });
            }
        }
    }
    if !sse {
        f.buf.push(']');
        f.end(Part::Tail);
    }
    f
}
