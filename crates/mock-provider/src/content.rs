//! The deterministic content generator: the contract gateway tests rely on.
//!
//! # Prompt text
//! All text of the request, system prompt first, then every message in order
//! (OpenAI string or `{type:"text"}` parts; Anthropic `system` and message
//! blocks including text inside `tool_result`; Gemini `systemInstruction` and
//! `contents[].parts[].text`). Non-empty pieces are joined with `'\n'`.
//!
//! # Prompt tokens
//! `words(prompt text) + messages`, where `words` counts whitespace-separated
//! words and `messages` is the number of messages (`messages[]`/`contents[]`),
//! plus one for a top-level system prompt (Anthropic `system`, Gemini
//! `systemInstruction`) when present.
//!
//! # Output length `N`
//! * `x-mock-output-tokens: K` header: `N = clamp(K, 1, 100000)`;
//! * else the request's max tokens `M` (OpenAI `max_completion_tokens` or
//!   `max_tokens`, Anthropic `max_tokens`, Gemini
//!   `generationConfig.maxOutputTokens`): `N = clamp(M, 1, 16)`;
//! * else `N = 16`.
//!
//! The finish reason is "length" (`length` / `max_tokens` / `MAX_TOKENS`) when
//! `M` was given and `N == M`, otherwise "stop" (`stop` / `end_turn` / `STOP`).
//!
//! # Output text
//! `N` words from the fixed 64-word [`VOCABULARY`]. The generator is seeded
//! with the 64-bit FNV-1a hash of the prompt text and advanced with
//! xorshift64*; token `i` is `VOCABULARY[next() >> 58]`. Every token is its
//! word followed by one space, except the last. Same prompt, same text — on
//! every route, streaming or not.
//!
//! JSON mode (OpenAI `response_format.type` `json_object`/`json_schema`,
//! Gemini `responseMimeType: "application/json"`): the content is
//! `{"answer":"<the N words>"}`, still `N` pieces: the first carries the
//! `{"answer":"` prefix, the last the `"}` suffix.
//!
//! # Tool calls
//! When the request declares tools and either the tool choice forces a call
//! (OpenAI `required` or a named function, Anthropic `any`/`tool`, Gemini mode
//! `ANY`) or the choice is automatic and the *last* message is a user turn (not
//! a tool result) containing the word `tool` (case-insensitive, punctuation
//! trimmed), the answer is one call to the named tool (else the first declared
//! tool) with arguments `{"query":"<first three words of the prompt>"}`. The
//! arguments are emitted as exactly 3 pieces (`{"query":"`, the words, `"}`)
//! and **every provider reports 3 output tokens** for a tool call.

use crate::json;

/// Default and ceiling of `N` when only max tokens is known.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 16;
/// Ceiling of `N` set through `x-mock-output-tokens`.
pub const MAX_OUTPUT_TOKENS: u64 = 100_000;
/// Output tokens reported for a tool call (its argument pieces).
pub const TOOL_CALL_TOKENS: u64 = 3;

/// The 64 words output text is drawn from.
pub const VOCABULARY: [&str; 64] = [
    "alpha", "bravo", "cedar", "delta", "ember", "fable", "garnet", "harbor", "iris", "jasper",
    "kettle", "lunar", "maple", "nectar", "orbit", "pepper", "quartz", "raven", "saffron",
    "timber", "umber", "velvet", "willow", "xenon", "yonder", "zephyr", "amber", "basil", "copper",
    "dune", "echo", "falcon", "glacier", "hazel", "indigo", "juniper", "kelp", "lagoon", "meadow",
    "nimbus", "onyx", "pebble", "quill", "ripple", "summit", "thistle", "upland", "vapor",
    "walnut", "yarrow", "zinc", "acorn", "breeze", "cobalt", "drift", "ferry", "grove", "heron",
    "island", "jade", "kindle", "lantern", "marble", "north",
];

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// xorshift64* generator (never seeded with 0).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Whitespace-separated words.
pub fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// The text the mock answers for `prompt` (the joined prompt text described
/// above) with `n` output tokens, outside JSON mode and tool calls. Lets
/// gateway tests compute expected content without hard-coding it.
pub fn text_for(prompt: &str, n: u64) -> String {
    let req = ChatRequest {
        prompt: prompt.to_owned(),
        n: 1,
        ..ChatRequest::default()
    };
    answer(&req, Some(n)).text
}

/// Prompt tokens for a prompt text and message count: `words + messages`.
pub fn prompt_tokens(prompt: &str, messages: u64) -> u64 {
    words(prompt) + messages
}

/// Whether `text` contains the word `tool` (case-insensitive, surrounding
/// punctuation ignored).
pub(crate) fn mentions_tool(text: &str) -> bool {
    text.split_whitespace().any(|w| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .eq_ignore_ascii_case("tool")
    })
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum ToolChoice {
    #[default]
    Auto,
    None,
    Required,
    Named(String),
}

/// A chat request normalised across providers.
#[derive(Debug, Default)]
pub(crate) struct ChatRequest {
    /// Body model (None for Azure/Gemini, where the path names it).
    pub model: Option<String>,
    pub prompt: String,
    pub messages: u64,
    /// Last message is a user turn mentioning `tool`.
    pub tool_trigger: bool,
    pub max_tokens: Option<u64>,
    pub stream: bool,
    pub include_usage: bool,
    pub json_mode: bool,
    pub tools: Vec<String>,
    pub tool_choice: ToolChoice,
    /// OpenAI `n` (choices); 1 elsewhere.
    pub n: u32,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCall,
}

/// The generated answer: either text (possibly JSON-mode) or one tool call.
#[derive(Debug)]
pub(crate) struct Answer {
    pub prompt_tokens: u64,
    /// Output tokens for one choice (`N`, or 3 for a tool call).
    pub output_tokens: u64,
    pub finish: Finish,
    /// `Some(name)` for a tool call; `text` is then the arguments JSON.
    pub tool: Option<String>,
    /// The full content, or the tool-call arguments document.
    pub text: String,
    /// End offsets of each streamed piece within `text`.
    cuts: Vec<usize>,
}

impl Answer {
    /// The pieces streamed one per chunk; they concatenate to `text`.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.cuts.iter().map(move |&end| {
            let piece = &self.text[start..end];
            start = end;
            piece
        })
    }

    /// For a tool call: the arguments `{"query": ...}` as JSON text.
    pub(crate) fn is_tool(&self) -> bool {
        self.tool.is_some()
    }
}

/// Computes `N` and whether it hit the request's max tokens.
pub(crate) fn output_len(max_tokens: Option<u64>, header: Option<u64>) -> (u64, bool) {
    let n = match (header, max_tokens) {
        (Some(h), _) => h.clamp(1, MAX_OUTPUT_TOKENS),
        (None, Some(m)) => m.clamp(1, DEFAULT_OUTPUT_TOKENS),
        (None, None) => DEFAULT_OUTPUT_TOKENS,
    };
    (n, max_tokens == Some(n))
}

/// Generates the answer for `req`; `header_n` is `x-mock-output-tokens`.
pub(crate) fn answer(req: &ChatRequest, header_n: Option<u64>) -> Answer {
    let prompt_tokens = prompt_tokens(&req.prompt, req.messages);
    let call = !req.tools.is_empty()
        && match &req.tool_choice {
            ToolChoice::None => false,
            ToolChoice::Required | ToolChoice::Named(_) => true,
            ToolChoice::Auto => req.tool_trigger,
        };
    if call {
        let name = match &req.tool_choice {
            ToolChoice::Named(name) => name.clone(),
            _ => req.tools[0].clone(),
        };
        let mut text = String::from("{\"query\":\"");
        let first = text.len();
        let query: Vec<&str> = req.prompt.split_whitespace().take(3).collect();
        json::push_escaped(&mut text, &query.join(" "));
        let second = text.len();
        text.push_str("\"}");
        let cuts = vec![first, second, text.len()];
        return Answer {
            prompt_tokens,
            output_tokens: TOOL_CALL_TOKENS,
            finish: Finish::ToolCall,
            tool: Some(name),
            text,
            cuts,
        };
    }
    let (n, length) = output_len(req.max_tokens, header_n);
    let mut text = String::with_capacity(n as usize * 8 + 16);
    let mut cuts = Vec::with_capacity(n as usize);
    if req.json_mode {
        text.push_str("{\"answer\":\"");
    }
    let mut rng = Rng::new(fnv1a(req.prompt.as_bytes()));
    for i in 0..n {
        text.push_str(VOCABULARY[(rng.next_u64() >> 58) as usize]);
        if i + 1 < n {
            text.push(' ');
        } else if req.json_mode {
            text.push_str("\"}");
        }
        cuts.push(text.len());
    }
    Answer {
        prompt_tokens,
        output_tokens: n,
        finish: if length { Finish::Length } else { Finish::Stop },
        tool: None,
        text,
        cuts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str) -> ChatRequest {
        ChatRequest {
            prompt: prompt.into(),
            messages: 1,
            n: 1,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn deterministic_and_sized() {
        let a = answer(&req("hello world"), None);
        let b = answer(&req("hello world"), None);
        assert_eq!(a.text, b.text);
        assert_eq!(a.prompt_tokens, 3);
        assert_eq!(a.output_tokens, 16);
        assert_eq!(a.pieces().count(), 16);
        assert_eq!(a.pieces().collect::<String>(), a.text);
        assert!(!a.text.ends_with(' '));
        assert_ne!(a.text, answer(&req("hello there"), None).text);
    }

    #[test]
    fn length_rule() {
        assert_eq!(output_len(Some(5), None), (5, true));
        assert_eq!(output_len(Some(100), None), (16, false));
        assert_eq!(output_len(Some(100), Some(40)), (40, false));
        assert_eq!(output_len(Some(40), Some(40)), (40, true));
        assert_eq!(output_len(None, Some(0)), (1, false));
        assert_eq!(output_len(None, None), (16, false));
    }

    #[test]
    fn json_mode_and_tools() {
        let mut r = req("say \"hi\" now please");
        r.json_mode = true;
        let a = answer(&r, Some(3));
        let v: serde_json::Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(v["answer"].as_str().unwrap().split(' ').count(), 3);
        assert_eq!(a.pieces().count(), 3);
        r.tools = vec!["search".into()];
        r.tool_choice = ToolChoice::Required;
        let a = answer(&r, None);
        let v: serde_json::Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(v["query"], "say \"hi\" now");
        assert_eq!(a.pieces().count(), 3);
        assert!(mentions_tool("please use a Tool."));
        assert!(!mentions_tool("tools toolbox"));
    }
}
