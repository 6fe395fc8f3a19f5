//! OpenAI (and Azure OpenAI) chat completions: request parsing and rendering.
//!
//! Azure uses the same bodies; the only differences (deployment in the path
//! becomes the response `model`, `api-key` auth, `api-version`) are handled by
//! the dispatcher. Streams follow the real wire format exactly:
//!
//! ```text
//! data: {..,"choices":[{"index":0,"delta":{"role":"assistant","content":""},..}]}
//! data: {..,"choices":[{"index":0,"delta":{"content":"word "},..}]}     <- one per token
//! data: {..,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}
//! data: {..,"choices":[],"usage":{..}}                                  <- include_usage only
//! data: [DONE]
//! ```
//!
//! With `stream_options.include_usage` every chunk also carries `"usage":null`.
//! With `n > 1` every choice gets the same text, chunks are interleaved per
//! token, and `completion_tokens` is `N * n`.

use serde::Deserialize;

use crate::content::{Answer, ChatRequest, Finish, ToolChoice, mentions_tool};
use crate::json;
use crate::sse::{Frames, Part};
use crate::text::Text;

/// Largest `n` honoured (keeps a typo from rendering megabytes).
const MAX_CHOICES: u32 = 128;

/// Body of `GET /v1/models`.
pub(crate) const MODELS: &str = concat!(
    r#"{"object":"list","data":["#,
    r#"{"id":"mock-gpt","object":"model","created":0,"owned_by":"mock"},"#,
    r#"{"id":"mock-gpt-mini","object":"model","created":0,"owned_by":"mock"},"#,
    r#"{"id":"mock-reasoner","object":"model","created":0,"owned_by":"mock"},"#,
    r#"{"id":"mock-embedding","object":"model","created":0,"owned_by":"mock"}"#,
    "]}"
);

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    response_format: Option<ResponseFormat>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    tool_choice: Option<RawToolChoice>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Text,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    function: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawToolChoice {
    Mode(String),
    Function { function: Named },
}

/// Parses a chat completion request. `needs_model`: plain OpenAI requires
/// `model`; Azure takes it from the deployment.
pub(crate) fn parse(body: &[u8], needs_model: bool) -> Result<ChatRequest, String> {
    let b: Body = serde_json::from_slice(body).map_err(|e| format!("Invalid request body: {e}"))?;
    if needs_model && b.model.as_deref().is_none_or(str::is_empty) {
        return Err("you must provide a model parameter".into());
    }
    if b.messages.is_empty() {
        return Err("'messages' must contain at least one message".into());
    }
    let mut prompt = Text::default();
    for m in &b.messages {
        prompt.push(&m.content.text);
    }
    let tool_trigger = b
        .messages
        .last()
        .is_some_and(|m| m.role.as_deref() == Some("user") && mentions_tool(&m.content.text));
    let tool_choice = match b.tool_choice {
        None => ToolChoice::Auto,
        Some(RawToolChoice::Mode(m)) => match m.as_str() {
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => ToolChoice::Auto,
        },
        Some(RawToolChoice::Function { function }) => ToolChoice::Named(function.name),
    };
    Ok(ChatRequest {
        model: b.model,
        prompt: prompt.text,
        messages: b.messages.len() as u64,
        tool_trigger,
        max_tokens: b.max_completion_tokens.or(b.max_tokens),
        stream: b.stream.unwrap_or(false),
        include_usage: b
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        json_mode: b
            .response_format
            .is_some_and(|f| f.kind == "json_object" || f.kind == "json_schema"),
        tools: b
            .tools
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| t.function.map(|f| f.name))
            .collect(),
        tool_choice,
        n: b.n.unwrap_or(1).clamp(1, MAX_CHOICES),
    })
}

/// Identity of one response.
pub(crate) struct Meta<'a> {
    pub model: &'a str,
    pub id: u64,
    pub created: u64,
}

fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCall => "tool_calls",
    }
}

fn push_usage(out: &mut String, prompt: u64, completion: u64) {
    out.push_str("{\"prompt_tokens\":");
    json::push_u64(out, prompt);
    out.push_str(",\"completion_tokens\":");
    json::push_u64(out, completion);
    out.push_str(",\"total_tokens\":");
    json::push_u64(out, prompt + completion);
    out.push('}');
}

fn push_call_id(out: &mut String, id: u64, choice: u32) {
    out.push_str("\"call_");
    json::push_hex(out, (id << 8) | u64::from(choice));
    out.push('"');
}

/// `{"id":..,"object":<object>,"created":..,"model":..,"system_fingerprint":..`
fn push_envelope(out: &mut String, meta: &Meta<'_>, object: &str) {
    out.push_str("{\"id\":\"chatcmpl-");
    json::push_hex(out, meta.id);
    out.push_str("\",\"object\":\"");
    out.push_str(object);
    out.push_str("\",\"created\":");
    json::push_u64(out, meta.created);
    out.push_str(",\"model\":");
    json::push_str(out, meta.model);
    out.push_str(",\"system_fingerprint\":\"fp_mock\"");
}

/// Non-stream `chat.completion`.
pub(crate) fn render(meta: &Meta<'_>, req: &ChatRequest, ans: &Answer) -> String {
    let mut out = String::with_capacity(256 + ans.text.len() * 2 * req.n as usize);
    push_envelope(&mut out, meta, "chat.completion");
    out.push_str(",\"choices\":[");
    for i in 0..req.n {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"index\":");
        json::push_u64(&mut out, u64::from(i));
        out.push_str(",\"message\":{\"role\":\"assistant\",\"content\":");
        if let Some(name) = &ans.tool {
            out.push_str("null,\"tool_calls\":[{\"id\":");
            push_call_id(&mut out, meta.id, i);
            out.push_str(",\"type\":\"function\",\"function\":{\"name\":");
            json::push_str(&mut out, name);
            out.push_str(",\"arguments\":");
            json::push_str(&mut out, &ans.text);
            out.push_str("}}]");
        } else {
            json::push_str(&mut out, &ans.text);
        }
        out.push_str(",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"");
        out.push_str(finish_reason(ans.finish));
        out.push_str("\"}");
    }
    out.push_str("],\"usage\":");
    push_usage(
        &mut out,
        ans.prompt_tokens,
        ans.output_tokens * u64::from(req.n),
    );
    out.push('}');
    out
}

/// Streamed `chat.completion.chunk`s, ending with `data: [DONE]`.
pub(crate) fn render_stream(meta: &Meta<'_>, req: &ChatRequest, ans: &Answer) -> Frames {
    let mut prefix = String::with_capacity(160);
    prefix.push_str("data: ");
    push_envelope(&mut prefix, meta, "chat.completion.chunk");
    prefix.push_str(",\"choices\":[{\"index\":");
    let suffix = if req.include_usage {
        "}],\"usage\":null}\n\n"
    } else {
        "}]}\n\n"
    };
    let pieces = ans.output_tokens as usize * req.n as usize;
    let mut f = Frames::with_capacity((pieces + 3) * (prefix.len() + 80), pieces + 4);
    let chunk =
        |f: &mut Frames, i: u32, delta: &dyn Fn(&mut String), finish: Option<Finish>, part| {
            f.buf.push_str(&prefix);
            json::push_u64(&mut f.buf, u64::from(i));
            f.buf.push_str(",\"delta\":");
            delta(&mut f.buf);
            f.buf.push_str(",\"logprobs\":null,\"finish_reason\":");
            match finish {
                Some(r) => {
                    f.buf.push('"');
                    f.buf.push_str(finish_reason(r));
                    f.buf.push('"');
                }
                None => f.buf.push_str("null"),
            }
            f.buf.push_str(suffix);
            f.end(part);
        };
    for i in 0..req.n {
        let head = |out: &mut String| match &ans.tool {
            Some(name) => {
                out.push_str(
                    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":",
                );
                push_call_id(out, meta.id, i);
                out.push_str(",\"type\":\"function\",\"function\":{\"name\":");
                json::push_str(out, name);
                out.push_str(",\"arguments\":\"\"}}]}");
            }
            None => out.push_str("{\"role\":\"assistant\",\"content\":\"\"}"),
        };
        chunk(&mut f, i, &head, None, Part::Head);
    }
    for piece in ans.pieces() {
        for i in 0..req.n {
            let delta = |out: &mut String| {
                if ans.is_tool() {
                    out.push_str("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
                    json::push_str(out, piece);
                    out.push_str("}}]}");
                } else {
                    out.push_str("{\"content\":");
                    json::push_str(out, piece);
                    out.push('}');
                }
            };
            chunk(&mut f, i, &delta, None, Part::Content);
        }
    }
    for i in 0..req.n {
        chunk(
            &mut f,
            i,
            &|out| out.push_str("{}"),
            Some(ans.finish),
            Part::Tail,
        );
    }
    if req.include_usage {
        f.buf.push_str("data: ");
        push_envelope(&mut f.buf, meta, "chat.completion.chunk");
        f.buf.push_str(",\"choices\":[],\"usage\":");
        push_usage(
            &mut f.buf,
            ans.prompt_tokens,
            ans.output_tokens * u64::from(req.n),
        );
        f.buf.push_str("}\n\n");
        f.end(Part::Tail);
    }
    f.buf.push_str("data: [DONE]\n\n");
    f.end(Part::Tail);
    f
}
