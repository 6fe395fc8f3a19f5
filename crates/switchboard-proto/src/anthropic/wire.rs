//! Anthropic Messages request and response bodies as serde sees them; no translation here.
//!
//! The same types are read from clients and written to upstreams, so a body the gateway
//! writes is, by construction, one it would also accept.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::Usage;

/// A Messages request (`POST /v1/messages`). Fields this gateway cannot translate
/// (`thinking`, `service_tier`, `mcp_servers`, ...) are not listed: serde skips them, and
/// they still reach an Anthropic upstream because same-family calls are passed through raw.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Request {
    pub model: String,
    pub max_tokens: u32,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Structured outputs: `{"format": {"type": "json_schema", "schema": ...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// The same under its earlier (beta) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OutputConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<OutputFormat>,
}

/// The shape an answer must take.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OutputFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: Content,
}

/// Message, system or tool-result content: Anthropic takes a bare string as shorthand for
/// one text block.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

/// A content block. Deserialized by hand (see below) so that block types this gateway does
/// not model arrive as [`Block::Other`] with their name, for a precise error or to be
/// skipped, rather than as a serde "unknown variant" error.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text(TextBlock),
    Image(ImageBlock),
    ToolUse(ToolUseBlock),
    ToolResult(ToolResultBlock),
    /// Any other block type (`thinking`, `document`, `server_tool_use`, ...), by name.
    #[serde(skip_serializing)]
    Other(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TextBlock {
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ImageBlock {
    pub source: ImageSource,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    /// An upload to Anthropic's Files API: meaningless to any other upstream.
    File {
        file_id: String,
    },
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ToolUseBlock {
    pub id: String,
    pub name: String,
    pub input: Value,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

/// A tool definition. Client tools have no `type` (or `"custom"`); Anthropic's server
/// tools (`web_search_20250305`, `bash_20250124`, ...) name their version in `type` and
/// carry no schema.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Tool {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ToolChoice {
    #[serde(rename = "type")]
    pub kind: ToolChoiceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceKind {
    Auto,
    Any,
    Tool,
    None,
}

/// A non-streamed Messages answer, as read from an upstream.
#[derive(Debug, Clone, Deserialize)]
pub struct Response {
    pub id: String,
    pub model: String,
    pub content: Vec<Block>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub usage: WireUsage,
}

/// A non-streamed Messages answer, as written to a client.
#[derive(Debug, Serialize)]
pub struct ResponseOut<'a> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: Vec<Block>,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<&'a str>,
    pub usage: UsageOut,
}

/// Anthropic's token counts. Every count is optional because `message_delta` reports
/// only some of them (and sends `null` for others).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Anthropic's `input_tokens` excludes cache reads and writes; canonical input counts
    /// every prompt token, with cache reads also reported as cached.
    pub fn to_usage(self) -> Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let input =
            self.input_tokens.unwrap_or(0) + cached + self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: input,
            output_tokens: self.output_tokens.unwrap_or(0),
            cached_input_tokens: cached,
        }
    }
}

/// Token counts as written to a client: the inverse of [`WireUsage::to_usage`], so cached
/// tokens are moved out of `input_tokens` into `cache_read_input_tokens`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct UsageOut {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_read_input_tokens: u64,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        let cached = u.cached_input_tokens.min(u.input_tokens);
        Self {
            input_tokens: u.input_tokens - cached,
            output_tokens: u.output_tokens,
            cache_read_input_tokens: cached,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `{"type":"error","error":{"type":..,"message":..}}`: Anthropic's error body, both as
/// an HTTP answer and as the data of an `error` stream event.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorEnvelope<T> {
    #[serde(rename = "type")]
    pub kind: T,
    pub error: ErrorDetail<T>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ErrorDetail<T> {
    #[serde(rename = "type")]
    pub kind: T,
    pub message: T,
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string or an array of content blocks")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Content, E> {
        Ok(Content::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Content, E> {
        Ok(Content::Text(v))
    }

    /// Elements are read one by one through `seq`, so a bad block is reported with its
    /// index (`messages[1].content[2]`).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
        let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(block) = seq.next_element()? {
            blocks.push(block);
        }
        Ok(Content::Blocks(blocks))
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let kind = match value.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Err(de::Error::custom("content block `type` must be a string")),
            None => return Err(de::Error::missing_field("type")),
        };
        let block = match kind.as_str() {
            "text" => TextBlock::deserialize(value).map(Block::Text),
            "image" => ImageBlock::deserialize(value).map(Block::Image),
            "tool_use" => ToolUseBlock::deserialize(value).map(Block::ToolUse),
            "tool_result" => ToolResultBlock::deserialize(value).map(Block::ToolResult),
            _ => return Ok(Block::Other(kind)),
        };
        block.map_err(|e| de::Error::custom(format_args!("invalid `{kind}` block: {e}")))
    }
}
