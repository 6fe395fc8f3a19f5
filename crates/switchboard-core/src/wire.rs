//! Protocol families.

use serde::{Deserialize, Serialize};

/// A family of HTTP APIs that share one request and stream format. Clients speak
/// [`Wire::OpenAi`] or [`Wire::Anthropic`]; upstreams speak any of the three. When the
/// client's family equals the upstream's, the gateway passes the body through instead of
/// translating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// OpenAI Chat Completions and every server that copies it (Azure, vLLM, Groq...).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
}

impl Wire {
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gemini",
        }
    }
}
