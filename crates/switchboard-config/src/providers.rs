//! `[providers.NAME]`: where upstream calls go and with which credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use switchboard_core::Wire;

use crate::duration;
use crate::secret::Secret;

/// Which adapter speaks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// api.openai.com: like `openai-compatible`, but sends `max_completion_tokens`.
    Openai,
    /// Any server that copies OpenAI's API (vLLM, Groq, Together, Ollama, OpenRouter...).
    OpenaiCompatible,
    /// Azure OpenAI: deployment URLs, `api-version`, `api-key` header.
    Azure,
    Anthropic,
    Gemini,
    /// The offline provider built into the gateway: deterministic answers, no network.
    Builtin,
}

impl ProviderKind {
    /// The protocol family the provider speaks; `None` for the in-process provider.
    pub fn wire(self) -> Option<Wire> {
        match self {
            ProviderKind::Openai | ProviderKind::OpenaiCompatible | ProviderKind::Azure => {
                Some(Wire::OpenAi)
            }
            ProviderKind::Anthropic => Some(Wire::Anthropic),
            ProviderKind::Gemini => Some(Wire::Gemini),
            ProviderKind::Builtin => None,
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Openai => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::OpenaiCompatible | ProviderKind::Azure | ProviderKind::Builtin => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::OpenaiCompatible => "openai-compatible",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Builtin => "builtin",
        }
    }
}

/// One provider account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The table's name, filled in after parsing.
    #[serde(skip)]
    pub name: String,
    pub kind: ProviderKind,
    /// API root: `https://api.openai.com/v1` for OpenAI-family servers (paths such as
    /// `/chat/completions` are appended), the resource endpoint for Azure, the host for
    /// Anthropic and Gemini. Kinds with a public default may omit it.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Azure `api-version`; Anthropic `anthropic-version` (defaults provided).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Extra headers sent with every call (OpenRouter's `HTTP-Referer`, a proxy's auth).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Refuse to start when a `${VAR}` of this provider is unset, instead of switching it off.
    #[serde(default)]
    pub required: bool,
    #[serde(default = "default_connect", deserialize_with = "duration::de")]
    pub connect_timeout: Duration,
    /// Until the upstream's response headers arrive.
    #[serde(default = "default_first_byte", deserialize_with = "duration::de")]
    pub first_byte_timeout: Duration,
    /// The whole call, including the streamed body.
    #[serde(default = "default_total", deserialize_with = "duration::de")]
    pub total_timeout: Duration,
    /// Longest silence between two chunks of a streamed body.
    #[serde(default = "default_idle", deserialize_with = "duration::de")]
    pub stream_idle_timeout: Duration,
    /// Idle keep-alive connections kept per host.
    #[serde(default = "default_pool")]
    pub pool_max_idle: usize,
    /// Why the provider is switched off (an unset secret); `None` when it is on.
    #[serde(skip)]
    pub disabled: Option<String>,
}

fn default_connect() -> Duration {
    Duration::from_secs(5)
}
fn default_first_byte() -> Duration {
    Duration::from_secs(60)
}
fn default_total() -> Duration {
    Duration::from_secs(600)
}
fn default_idle() -> Duration {
    Duration::from_secs(60)
}
fn default_pool() -> usize {
    256
}

impl ProviderConfig {
    /// `base_url` or the kind's default, without a trailing slash.
    pub fn resolved_base_url(&self) -> Option<String> {
        self.base_url
            .as_deref()
            .or(self.kind.default_base_url())
            .map(|u| u.trim_end_matches('/').to_owned())
    }
}
