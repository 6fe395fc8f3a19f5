//! The canonical chat call: the one shape every inbound API is read into and every
//! upstream API is written from when the two differ.
//!
//! It holds what the three families can all express (messages with text, images, tool
//! calls and tool results; tools and tool choice; JSON output; sampling parameters). What
//! only one family can say stays out of it: a call whose client and upstream speak the same
//! family is passed through from the raw body instead (see [`crate::raw`]), so nothing is
//! lost where no translation is needed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::Usage;

/// A chat request in canonical form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model the client asked for: an alias until routing replaces it.
    pub model: String,
    /// Conversation in order. System messages may appear anywhere; families that take the
    /// system prompt apart from the turns (Anthropic, Gemini) hoist them.
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    /// Cap on generated tokens; `None` lets the upstream decide (Anthropic requires one,
    /// its writer fills in a default).
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub stop: Vec<String>,
    /// Number of choices (OpenAI `n`, Gemini `candidateCount`).
    pub n: Option<u32>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    /// End-user id for abuse tracking (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    pub stream: bool,
}

impl ChatRequest {
    /// All text a tokenizer should count as input: every text part of every message and
    /// the tool definitions' names and descriptions.
    pub fn input_text(&self) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .flat_map(|m| m.content.iter().filter_map(Part::as_text))
            .chain(self.tools.iter().map(|t| t.name.as_str()))
    }
}

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering the assistant's tool call named by `tool_call_id`.
    Tool,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
    /// Tool calls the assistant made in this turn (assistant messages only).
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (tool messages only).
    pub tool_call_id: Option<String>,
    /// Set on tool results that report a failure (Anthropic `is_error`).
    pub is_error: bool,
    /// Participant name (OpenAI `name`), kept when the upstream accepts it.
    pub name: Option<String>,
}

impl Message {
    pub fn new(role: Role, content: Vec<Part>) -> Self {
        Self {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            is_error: false,
            name: None,
        }
    }

    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self::new(role, vec![Part::Text(text.into())])
    }

    /// The message's text parts joined with newlines (images and other parts skipped).
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for text in self.content.iter().filter_map(Part::as_text) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(text);
        }
        out
    }
}

/// A piece of message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Text(String),
    Image(Image),
}

impl Part {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Part::Text(t) => Some(t),
            Part::Image(_) => None,
        }
    }
}

/// An image given by URL or inline. OpenAI `data:` URLs are read into [`Image::Base64`],
/// so families that only take inline images (Anthropic, Gemini) can still receive them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Image {
    Url { url: String, detail: Option<String> },
    Base64 { media_type: String, data: String },
}

impl Image {
    /// Reads an OpenAI image URL, turning `data:<type>;base64,<data>` into inline bytes.
    pub fn from_url(url: &str, detail: Option<String>) -> Self {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((media_type, data)) = rest.split_once(";base64,")
        {
            return Image::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
        Image::Url {
            url: url.to_owned(),
            detail,
        }
    }

    /// The image as an OpenAI `image_url.url` value.
    pub fn to_url(&self) -> String {
        match self {
            Image::Url { url, .. } => url.clone(),
            Image::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool (OpenAI `required`, Anthropic `any`).
    Required,
    /// Must call this tool.
    Tool(String),
}

/// A tool call the assistant made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// Arguments as JSON text, as OpenAI carries them; families that carry an object
    /// (Anthropic `input`, Gemini `args`) are converted at their edge.
    pub arguments: String,
}

/// The shape the output must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Why generation ended, mapped from each family's own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

/// A complete (non-streamed) chat answer in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    /// The model that answered, as the upstream named it.
    pub model: String,
    pub created: u64,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// One candidate answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    /// Generated text; `None` when the answer is only tool calls.
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<FinishReason>,
}

impl Choice {
    pub fn text(index: u32, text: impl Into<String>, finish_reason: FinishReason) -> Self {
        Self {
            index,
            text: Some(text.into()),
            tool_calls: Vec::new(),
            finish_reason: Some(finish_reason),
        }
    }
}
