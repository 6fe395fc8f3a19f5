//! Choosing the alias: request rules first, then complexity tiers.
//!
//! A client may call a routing alias rather than a model; the gateway then extracts the
//! request's [`Features`] and asks, in order:
//! 1. [`apply_rules`]: explicit operator rules (a tag, a header) — first match wins;
//! 2. [`tier`]: otherwise the complexity tier, from prompt size and conversation length.
//!
//! Tiering is deliberately coarse and explainable: two thresholds per signal, and the
//! request goes to the largest tier any signal reaches (a long prompt in a short chat
//! and a long chat of short turns both need the bigger model). The signals are the
//! prompt's tokens (system prompt included), the user turns, and the system prompt's own
//! tokens. The last is off unless configured: for many apps the system prompt is fixed
//! boilerplate already counted in `prompt_tokens`, and a threshold on it would send every
//! request of such an app to the same tier. Where the system prompt carries the task
//! (long instructions, an agent's rules), an operator sets its thresholds so that a
//! demanding system prompt raises the tier even when the user's message is short.

use serde::{Deserialize, Serialize};

/// What the gateway knows about a request before choosing where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Estimated input tokens, system prompt included.
    pub prompt_tokens: u64,
    pub has_system_prompt: bool,
    /// Tokens of the system prompt alone (0 without one, and when no tier uses it).
    pub system_prompt_tokens: u64,
    /// User messages in the conversation, counting the new one.
    pub turns: u32,
    /// Tags from the key or the request metadata.
    pub tags: Vec<String>,
    /// Request headers; names lowercased.
    pub headers: Vec<(String, String)>,
}

/// The three tiers, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Small,
    Medium,
    Large,
}

/// The aliases of the three tiers and where each starts. A threshold of `u64::MAX`
/// (`u32::MAX` for turns) disables that step; a threshold of 0 means "always". The
/// system-prompt thresholds are off (`u64::MAX`) by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierConfig {
    pub small: String,
    pub medium: String,
    pub large: String,
    pub medium_from_tokens: u64,
    pub large_from_tokens: u64,
    pub medium_from_turns: u32,
    pub large_from_turns: u32,
    #[serde(default = "off")]
    pub medium_from_system_tokens: u64,
    #[serde(default = "off")]
    pub large_from_system_tokens: u64,
}

fn off() -> u64 {
    u64::MAX
}

impl TierConfig {
    /// Whether any tier looks at the system prompt's size, so the gateway counts it only
    /// when it matters.
    pub fn uses_system_prompt(&self) -> bool {
        self.medium_from_system_tokens != u64::MAX || self.large_from_system_tokens != u64::MAX
    }

    pub fn alias(&self, tier: Tier) -> &str {
        match tier {
            Tier::Small => &self.small,
            Tier::Medium => &self.medium,
            Tier::Large => &self.large,
        }
    }
}

/// The tier of a request: the largest any threshold reaches.
pub fn tier_of(cfg: &TierConfig, f: &Features) -> Tier {
    let by_tokens = step(
        f.prompt_tokens,
        cfg.medium_from_tokens,
        cfg.large_from_tokens,
    );
    let by_turns = step(
        u64::from(f.turns),
        u64::from(cfg.medium_from_turns),
        u64::from(cfg.large_from_turns),
    );
    let by_system = step(
        f.system_prompt_tokens,
        cfg.medium_from_system_tokens,
        cfg.large_from_system_tokens,
    );
    by_tokens.max(by_turns).max(by_system)
}

/// The alias for the request's tier.
pub fn tier<'a>(cfg: &'a TierConfig, f: &Features) -> &'a str {
    cfg.alias(tier_of(cfg, f))
}

fn step(x: u64, medium_from: u64, large_from: u64) -> Tier {
    if x >= large_from {
        Tier::Large
    } else if x >= medium_from {
        Tier::Medium
    } else {
        Tier::Small
    }
}

/// An operator rule sending matching requests to an alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum Rule {
    /// The request carries `tag` (exact, case-sensitive: tags are identifiers).
    Tag { tag: String, alias: String },
    /// Header `name` (case-insensitive, as HTTP says) has exactly the value `equals`.
    Header {
        name: String,
        equals: String,
        alias: String,
    },
}

impl Rule {
    pub fn alias(&self) -> &str {
        match self {
            Rule::Tag { alias, .. } | Rule::Header { alias, .. } => alias,
        }
    }

    pub fn matches(&self, f: &Features) -> bool {
        match self {
            Rule::Tag { tag, .. } => f.tags.iter().any(|t| t == tag),
            Rule::Header { name, equals, .. } => f
                .headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == equals),
        }
    }
}

/// The alias of the first rule the request matches.
pub fn apply_rules<'a>(rules: &'a [Rule], f: &Features) -> Option<&'a str> {
    rules.iter().find(|r| r.matches(f)).map(Rule::alias)
}
