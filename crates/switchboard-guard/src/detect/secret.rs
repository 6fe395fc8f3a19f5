//! Secrets: credentials pasted into prompts (or echoed by a model) by mistake.
//!
//! Only formats with a distinctive shape are matched, so precision stays high:
//!
//! | Kind | Pattern |
//! |---|---|
//! | OpenAI / Anthropic keys | `sk-…` (incl. `sk-proj-…`, `sk-ant-api03-…`), 20+ of `[A-Za-z0-9_-]` with a digit, an upper- and a lower-case letter |
//! | AWS access key ids | `AKIA`, `ASIA`, `ABIA`, `ACCA` + 16 of `[0-9A-Z]` |
//! | GitHub tokens | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36+ alphanumerics; `github_pat_…` |
//! | Slack tokens | `xoxb-`, `xoxa-`, `xoxp-`, `xoxr-`, `xoxs-` + 10+ of `[A-Za-z0-9-]` with a digit |
//! | Google API keys | `AIza` + 35 of `[0-9A-Za-z_-]` |
//! | Stripe keys | `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_` + 16+ alphanumerics |
//! | JSON Web Tokens | `eyJ….eyJ….…` (two base64url JSON objects and a signature) |
//! | PEM private keys | `-----BEGIN … PRIVATE KEY-----` through the matching `END` line; without an `END` line, the header and the base64 lines right after it |
//!
//! Generic "high-entropy token" detection is deliberately not done. Every 32+ character
//! random-looking string would match: git and content hashes, UUIDs without dashes,
//! request ids, and above all the base64 image data that raw request bodies carry; no
//! entropy threshold separates those from keys well enough to block or rewrite on.

use std::ops::Range;

use super::{Pattern, keep};

const OPENAI_ANTHROPIC: &str = r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}";
const AWS: &str = r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)";
const GITHUB: &str =
    r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?-u:\b)";
const SLACK: &str = r"(?-u:\b)xox[abprs]-[A-Za-z0-9-]{10,}";
const GOOGLE: &str = r"(?-u:\b)AIza[0-9A-Za-z_-]{35}";
const STRIPE: &str = r"(?-u:\b)[rs]k_(?:live|test)_[0-9A-Za-z]{16,}";
const JWT: &str = r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}";
const PEM: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:\r?\n[A-Za-z0-9+/=]+)*)";

pub(crate) const PATTERNS: &[Pattern] = &[
    Pattern {
        source: OPENAI_ANTHROPIC,
        refine: mixed_case_and_digit,
    },
    Pattern {
        source: AWS,
        refine: keep,
    },
    Pattern {
        source: GITHUB,
        refine: keep,
    },
    Pattern {
        source: SLACK,
        refine: has_digit,
    },
    Pattern {
        source: GOOGLE,
        refine: keep,
    },
    Pattern {
        source: STRIPE,
        refine: keep,
    },
    Pattern {
        source: JWT,
        refine: keep,
    },
    Pattern {
        source: PEM,
        refine: keep,
    },
];

/// Random keys mix cases and digits; `sk-some-long-hyphenated-words` does not.
fn mixed_case_and_digit(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let body = text.get(candidate.start + 3..candidate.end)?;
    let ok = body.bytes().any(|b| b.is_ascii_digit())
        && body.bytes().any(|b| b.is_ascii_uppercase())
        && body.bytes().any(|b| b.is_ascii_lowercase());
    ok.then_some(candidate)
}

fn has_digit(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let found = text.get(candidate.clone())?;
    found
        .bytes()
        .any(|b| b.is_ascii_digit())
        .then_some(candidate)
}
