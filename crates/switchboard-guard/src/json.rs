//! Scrubbing JSON: raw request and response bodies, and tool-call arguments.
//!
//! When client and upstream speak the same API family the gateway forwards the raw body,
//! so redaction has to happen in the JSON itself. Every string value is checked on its
//! own; object keys are never touched, so the body keeps its shape. Three kinds of string
//! are treated specially:
//!
//! - strings holding JSON (OpenAI's tool-call `arguments`, tool results) are parsed and
//!   scrubbed value by value, then written back compactly if something was redacted:
//!   redacting their text directly could cut through an escape sequence and leave
//!   invalid JSON behind;
//! - in the wire body itself (not inside such nested JSON), values of keys that are
//!   identifiers or enums of the format (`model`, `role`, `type`, `id`, `tool_call_id`,
//!   `tool_use_id`, `media_type`, `mime_type`, `mimeType`, `detail`, `object`,
//!   `finish_reason`, `stop_reason`, `tool_choice`) are skipped, so a deny pattern
//!   cannot break routing or pairing of tool calls;
//! - inline binary data is skipped, as images are in the canonical form: `data:` URLs
//!   with a base64 payload, and `data` fields next to a `media_type` / `mime_type` /
//!   `mimeType` (Anthropic and Gemini inline images). A deny pattern of a few letters
//!   matches somewhere in megabytes of base64 by chance, and would block or corrupt the
//!   image.
//!
//! Nesting is walked with an explicit stack, so no body is too deep to scrub.

use serde_json::Value;

use crate::guard::Guard;
use crate::scan::{Finding, Tally};
use crate::verdict::{Side, Verdict};

const STRUCTURAL_KEYS: &[&str] = &[
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_use_id",
    "media_type",
    "mime_type",
    "mimeType",
    "detail",
    "object",
    "finish_reason",
    "stop_reason",
    "tool_choice",
];

const MEDIA_TYPE_KEYS: &[&str] = &["media_type", "mime_type", "mimeType"];

/// How deep JSON held in strings of JSON is parsed; deeper strings are scanned as text.
const MAX_STRING_NESTING: usize = 4;

/// Redacts every string value inside `value` (keys untouched; wire-format identifiers and
/// inline binary data skipped, see the module docs) and returns what every rule found,
/// blocking and flagging ones included: the caller decides what a block means.
pub fn redact_json_strings(value: &mut serde_json::Value, guard: &Guard) -> Vec<Finding> {
    let mut tally = Tally::new(guard);
    Scrubber {
        guard,
        tally: &mut tally,
    }
    .value(value, 0);
    tally.findings(guard)
}

impl Guard {
    /// [`Guard::check_request`] for a raw JSON request body forwarded untranslated.
    pub fn check_request_json(&self, body: &mut Value, input_tokens: u64) -> Verdict {
        if let Some(blocked) = self.check_input_tokens(input_tokens) {
            return blocked;
        }
        if self.rules.is_empty() {
            return Verdict::allow();
        }
        let mut tally = Tally::new(self);
        Scrubber {
            guard: self,
            tally: &mut tally,
        }
        .value(body, 0);
        self.decide(&tally, Side::Request)
    }

    /// [`Guard::check_text`] for a raw JSON response body; allows untouched unless
    /// `check_output` is on.
    pub fn check_response_json(&self, body: &mut Value) -> Verdict {
        if !self.checks_output() {
            return Verdict::allow();
        }
        let mut tally = Tally::new(self);
        Scrubber {
            guard: self,
            tally: &mut tally,
        }
        .value(body, 0);
        self.decide(&tally, Side::Response)
    }
}

/// Scrubs a string that may hold JSON (tool-call arguments): as JSON if it parses as an
/// object or array, as text otherwise. Returns whether it changed.
pub(crate) fn scrub_json_text(guard: &Guard, text: &mut String, tally: &mut Tally) -> bool {
    Scrubber { guard, tally }.string(text, 1)
}

struct Scrubber<'a> {
    guard: &'a Guard,
    tally: &'a mut Tally,
}

impl Scrubber<'_> {
    /// Scrubs every string in `root`. `nesting` is how many JSON-in-string levels down
    /// `root` is (0 for a wire body); returns whether anything changed.
    fn value(&mut self, root: &mut Value, nesting: usize) -> bool {
        let mut changed = false;
        let mut stack = vec![root];
        while let Some(value) = stack.pop() {
            match value {
                Value::String(s) => changed |= self.string(s, nesting),
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    let has_media_type = MEDIA_TYPE_KEYS.iter().any(|k| map.contains_key(*k));
                    for (key, v) in map.iter_mut() {
                        if !skipped(key, v, has_media_type, nesting) {
                            stack.push(v);
                        }
                    }
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
        changed
    }

    fn string(&mut self, s: &mut String, nesting: usize) -> bool {
        if nesting < MAX_STRING_NESTING
            && s.trim_start().starts_with(['{', '['])
            && let Ok(mut inner) = serde_json::from_str::<Value>(s)
        {
            if self.value(&mut inner, nesting + 1) {
                *s = inner.to_string();
                return true;
            }
            return false;
        }
        self.guard.apply(s, self.tally)
    }
}

/// True for a value that is not content: an identifier of the wire format, or inline
/// binary data.
fn skipped(key: &str, value: &Value, has_media_type: bool, nesting: usize) -> bool {
    let Value::String(s) = value else {
        return false;
    };
    (nesting == 0 && STRUCTURAL_KEYS.contains(&key))
        || (key == "data" && has_media_type)
        || is_base64_data_url(s)
}

fn is_base64_data_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("data:") else {
        return false;
    };
    rest.split_once(";base64,").is_some_and(|(_, payload)| {
        payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
    })
}
