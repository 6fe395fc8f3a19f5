//! What a tenant or key configures: which detectors act how, which patterns are denied,
//! and how large a prompt may be.
//!
//! The types are embedded as they are in the gateway's TOML or JSON configuration, with
//! snake_case names:
//!
//! ```toml
//! max_input_tokens = 32000
//! check_output = true
//! pii = [
//!     { detector = "email", action = "redact" },
//!     { detector = "card_number", action = "block" },
//! ]
//! deny = [{ name = "competitors", pattern = "(?i)\\bacme corp\\b", action = "flag" }]
//! ```
//!
//! Nothing here is validated: [`crate::Guard::compile`] does that, once, and names the
//! rule it rejects.

use serde::{Deserialize, Serialize};

/// A built-in kind of sensitive data. Each is a small set of regexes plus checks a regex
/// cannot express (Luhn, SSN area rules, number boundaries); see [`crate::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Email addresses (ASCII, practical form: `local@domain.tld`).
    Email,
    /// Phone numbers: `+` international forms, and national forms written with
    /// separators; at least 9 digits.
    Phone,
    /// Payment card numbers: 13-19 digits, Luhn-valid, from a known issuer range.
    CardNumber,
    /// US Social Security numbers and UK National Insurance numbers.
    NationalId,
    /// Credentials: provider API keys, tokens, JWTs and PEM private keys.
    Secret,
}

impl Detector {
    /// Every detector, in the order their rules are reported when configured together.
    pub const ALL: [Detector; 5] = [
        Detector::Email,
        Detector::Phone,
        Detector::CardNumber,
        Detector::NationalId,
        Detector::Secret,
    ];

    /// The snake_case name used in configuration, in rule ids (`pii:<name>`) and in
    /// placeholders (`[REDACTED:<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CardNumber => "card_number",
            Detector::NationalId => "national_id",
            Detector::Secret => "secret",
        }
    }

    /// What was found, for the message of a blocked call. It never quotes the match: the
    /// message goes back to the client and into logs.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Detector::Email => "an email address",
            Detector::Phone => "a phone number",
            Detector::CardNumber => "a payment card number",
            Detector::NationalId => "a national identification number",
            Detector::Secret => "a secret (API key, token or private key)",
        }
    }
}

/// What to do when a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse the call: the gateway answers 400 naming the rule.
    Block,
    /// Replace each match with `[REDACTED:<kind>]` and let the call through.
    Redact,
    /// Let the text through unchanged; the finding only goes into the audit record.
    Flag,
}

/// One built-in detector and what to do with its hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiRule {
    pub detector: Detector,
    pub action: Action,
}

/// A tenant's own pattern. The name identifies the rule in findings (`deny:<name>`), in
/// the 400 of a blocked call and in placeholders, so it is restricted to
/// `[A-Za-z0-9_.-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRule {
    pub name: String,
    /// A [`regex`](https://docs.rs/regex) pattern, case-sensitive unless it says `(?i)`.
    /// `\b` and `\w` are Unicode-aware and can make the regex engine fall back to a
    /// slower matcher on non-ASCII text; `(?-u:\b)` and `[A-Za-z0-9_]` avoid that where
    /// ASCII is enough.
    pub pattern: String,
    /// `block` unless configured otherwise: a deny-list blocks by nature.
    #[serde(default = "block")]
    pub action: Action,
}

fn block() -> Action {
    Action::Block
}

/// All guardrails of one tenant or key. The default guards nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Built-in detectors, each at most once. Their order is the order findings are
    /// reported in, and decides which rule a blocked call names.
    pub pii: Vec<PiiRule>,
    /// The tenant's patterns, checked after the built-in detectors, in order.
    pub deny: Vec<DenyRule>,
    /// Calls with more input tokens than this are blocked before anything else is checked.
    pub max_input_tokens: Option<u64>,
    /// Apply `pii` and `deny` to answers too (non-streamed text and tool-call arguments).
    pub check_output: bool,
}
