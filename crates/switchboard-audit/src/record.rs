//! One audit record per gateway request, and the hash that chains records together.
//!
//! A record is both evidence (who asked for what, what the gateway decided, what it cost)
//! and the node's settlement journal: on restart the gateway replays records to rebuild
//! budget spend, so identity, time, usage and cost are mandatory fields, while the
//! optional ones are left out of the line when empty to keep lines short.
//!
//! The chain hash of a record is the SHA-256 of its exact line bytes (the serde_json
//! serialisation in field declaration order, without the trailing newline). Hashing the
//! bytes rather than a re-serialisation means verification never depends on serde
//! producing the same text twice: it only needs the file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_core::{Money, Usage};

/// `prev` of the first record (seq 1): 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the gateway did with the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Admitted and sent upstream (it may still have failed there: see `status`).
    #[default]
    Allowed,
    /// Refused by the gateway itself (budget, rate limit, policy): see `reason`.
    Blocked,
}

/// One gateway request, as written to the audit log.
///
/// `seq`, `prev` and `node` belong to the writer: whatever the caller puts there is
/// overwritten when the record is appended, so a caller can never break the chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log: 1-based, contiguous across segments.
    pub seq: u64,
    /// Hex SHA-256 of the previous record's line ([`GENESIS_PREV`] for seq 1).
    pub prev: String,
    /// Unix milliseconds when the request completed.
    pub time_ms: u64,
    pub request_id: String,
    /// The node that served the request (the writer's [`crate::AuditConfig::node`]).
    pub node: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The key's id, never the key itself.
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The client-facing protocol family: `"openai"` or `"anthropic"`.
    pub api: String,
    /// `"chat"` or `"embeddings"`.
    pub endpoint: String,
    /// The model alias the client asked for.
    pub model: String,
    /// The upstream model that actually answered (after routing and fallbacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Upstream calls made, retries and fallbacks included.
    pub attempts: u32,
    /// Deployments tried and abandoned before the one that answered, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// How the serving alias and deployment were chosen, as in the `x-switchboard-route`
    /// header (`"tier=small; fallback=spare; strategy=priority"`). Optional, and left out
    /// when empty, so records written before it existed read and verify unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub route: String,
    /// What happened to each deployment touched, in order: attempt outcomes and breaker
    /// skips (`"mock-openai/gpt: 503"`, `"mock-openai/gpt: breaker open"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_log: Vec<String>,
    pub decision: Decision,
    /// Why the request was blocked or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// HTTP status returned to the client.
    pub status: u16,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// What the request cost, in nano-dollars ([`Money`]).
    pub cost_nanos: i64,
    pub latency_ms: u64,
    pub stream: bool,
    /// How a stream ended (`"complete"`, `"client_gone"`, `"upstream_broke"`, `"timeout"`,
    /// `"shutdown"`: cut at the end of the node's shutdown grace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_end: Option<String>,
    /// How the response cache answered: `"hit"`, `"semantic_hit"`, `"miss"`,
    /// `"refresh"`, `"bypass"`; absent when the alias does not cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// Guardrail findings: rules that flagged, redacted or blocked (`"pii:email:redact"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<String>,
    /// The prompt, when prompt logging is enabled for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<serde_json::Value>,
    /// The response text, when response logging is enabled for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl AuditRecord {
    /// What the request cost.
    pub fn cost(&self) -> Money {
        Money::from_nanos(self.cost_nanos)
    }

    /// The tokens the request consumed.
    pub fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: self.cached_input_tokens,
        }
    }

    /// Sets the token counts from a [`Usage`].
    pub fn set_usage(&mut self, usage: Usage) {
        self.input_tokens = usage.input_tokens;
        self.output_tokens = usage.output_tokens;
        self.cached_input_tokens = usage.cached_input_tokens;
    }

    /// The record's line: its JSON, without the newline. This is what is written and
    /// what [`line_hash`] is computed over.
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Appends the record's line ([`Self::to_line`]) to `out`, without the newline; on
    /// error `out` is left as it was.
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let start = out.len();
        serde_json::to_writer(&mut *out, self).inspect_err(|_| out.truncate(start))
    }
}

/// The chain hash of one line (without its newline): lowercase hex SHA-256.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> AuditRecord {
        AuditRecord {
            seq: 7,
            prev: GENESIS_PREV.to_owned(),
            time_ms: 1_700_000_000_000,
            request_id: "n1-42".into(),
            node: "n1".into(),
            tenant: "acme".into(),
            team: Some("search".into()),
            key: "key-1".into(),
            tags: vec!["batch".into()],
            api: "openai".into(),
            endpoint: "chat".into(),
            model: "gpt".into(),
            served_model: Some("gpt-4o-mini".into()),
            provider: Some("openai".into()),
            attempts: 2,
            fallbacks: vec!["azure-east".into()],
            route: "fallback=azure-east; strategy=priority".into(),
            route_log: vec![
                "openai/gpt-4o-mini: 503".into(),
                "azure/gpt-4o-mini: ok".into(),
            ],
            decision: Decision::Allowed,
            reason: None,
            status: 200,
            input_tokens: 100,
            output_tokens: 20,
            cached_input_tokens: 40,
            cost_nanos: 123_456,
            latency_ms: 850,
            stream: true,
            stream_end: Some("done".into()),
            cache: Some("miss".into()),
            guardrails: vec!["pii:email:redact".into()],
            prompt: Some(serde_json::json!([{"role": "user", "content": "hi"}])),
            response: Some("hello".into()),
        }
    }

    #[test]
    fn write_line_appends_exactly_the_line() {
        let r = full();
        let mut out = b"earlier\n".to_vec();
        r.write_line(&mut out).unwrap();
        assert_eq!(&out[..8], b"earlier\n");
        assert_eq!(out[8..], r.to_line().unwrap());
    }

    #[test]
    fn a_record_survives_a_round_trip_through_its_line() {
        let r = full();
        let line = r.to_line().unwrap();
        let back: AuditRecord = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, r);
        let minimal = AuditRecord::default();
        let back: AuditRecord = serde_json::from_slice(&minimal.to_line().unwrap()).unwrap();
        assert_eq!(back, minimal);
    }

    #[test]
    fn empty_optional_fields_are_left_out_of_the_line() {
        let line = String::from_utf8(AuditRecord::default().to_line().unwrap()).unwrap();
        for absent in [
            "team",
            "tags",
            "served_model",
            "provider",
            "fallbacks",
            "route",
            "route_log",
            "reason",
        ] {
            assert!(
                !line.contains(&format!("\"{absent}\"")),
                "{absent} in {line}"
            );
        }
        assert!(
            line.starts_with(r#"{"seq":0,"prev":"","time_ms":0,"#),
            "{line}"
        );
        assert!(line.contains(r#""decision":"allowed""#), "{line}");
    }

    #[test]
    fn a_line_written_before_the_route_fields_existed_reads_and_writes_back_byte_for_byte() {
        // The chain hash is over the line's bytes; an old record must still parse, and
        // rewriting it (as a re-serialising tool would) must not change a byte.
        let mut old = full();
        old.route = String::new();
        old.route_log.clear();
        let line = old.to_line().unwrap();
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(!text.contains("\"route"), "{text}");
        let back: AuditRecord = serde_json::from_slice(&line).unwrap();
        assert_eq!(back.to_line().unwrap(), line);
    }

    #[test]
    fn blocked_serialises_in_lowercase() {
        let r = AuditRecord {
            decision: Decision::Blocked,
            reason: Some("budget exhausted".into()),
            ..AuditRecord::default()
        };
        let line = String::from_utf8(r.to_line().unwrap()).unwrap();
        assert!(line.contains(r#""decision":"blocked","reason":"budget exhausted""#));
    }

    #[test]
    fn cost_and_usage_read_the_record_fields() {
        let r = full();
        assert_eq!(r.cost(), Money(123_456));
        assert_eq!(
            r.usage(),
            Usage {
                input_tokens: 100,
                output_tokens: 20,
                cached_input_tokens: 40
            }
        );
        let mut blank = AuditRecord::default();
        blank.set_usage(r.usage());
        assert_eq!(blank.usage(), r.usage());
    }

    #[test]
    fn a_missing_mandatory_field_is_refused() {
        let err = serde_json::from_str::<AuditRecord>(r#"{"seq":1}"#).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }

    #[test]
    fn the_line_hash_is_hex_sha256_of_the_bytes() {
        assert_eq!(
            line_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(GENESIS_PREV.len(), 64);
    }
}
