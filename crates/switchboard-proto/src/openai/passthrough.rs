//! OpenAI client, OpenAI-family upstream: chunks go through as they are.
//!
//! The gateway always asks the upstream for usage (`stream_options.include_usage`), so the
//! last chunk before `[DONE]` carries it. Only chunks that mention `"usage"` with a value
//! other than `null`, or that mention `"error"`, are parsed; every other chunk is only
//! checked to be JSON (not decoded) and copied. When the client did not ask for usage,
//! the usage-only chunk is dropped so the client sees exactly the stream it asked for.

use std::sync::LazyLock;

use bytes::BytesMut;
use memchr::memmem::Finder;
use serde::Deserialize;
use switchboard_core::Usage;

use super::error::WireError;
use super::response::WireUsage;
use super::stream::Encoder;
use crate::error::ProtoError;
use crate::sse::{SseEvent, write_event};
use crate::stream::{StreamEncoder, StreamFailure, StreamTransform, check_json};

#[derive(Debug)]
pub struct Passthrough {
    client_wants_usage: bool,
    usage: Usage,
    content_events: u64,
    done: bool,
    finished: bool,
}

impl Passthrough {
    pub fn new(client_wants_usage: bool) -> Self {
        Self {
            client_wants_usage,
            usage: Usage::default(),
            content_events: 0,
            done: false,
            finished: false,
        }
    }
}

#[derive(Deserialize)]
struct Sniff {
    #[serde(default)]
    choices: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

/// Every chunk is searched for these: searchers built once, not per chunk (building one
/// costs more than searching a chunk; it showed in stream profiles).
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(r#""usage""#));
static CONTENT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(r#""content""#));
static ARGUMENTS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(r#""arguments""#));
static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(r#""error""#));
static FINISH: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(r#""finish_reason":""#));
static FINISH_SPACED: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(r#""finish_reason": ""#));

/// The bytes after the key `finder` looks for and its colon, if `data` has that key.
fn value_after<'a>(data: &'a [u8], finder: &Finder<'_>) -> Option<&'a [u8]> {
    let at = finder.find(data)?;
    let rest = &data[at + finder.needle().len()..];
    let skip = rest
        .iter()
        .take_while(|b| b.is_ascii_whitespace() || **b == b':')
        .count();
    Some(&rest[skip..])
}

/// Whether `data` has `"usage"` followed by something other than `null`.
fn has_usage_value(data: &[u8]) -> bool {
    value_after(data, &USAGE).is_some_and(|v| !v.starts_with(b"null"))
}

/// Whether a chunk carries generated content: non-empty `content` text or tool-call
/// `arguments`. Role-only, finish and usage chunks do not count, so the count is a floor
/// on output tokens for a stream whose usage never arrives.
fn has_content(data: &[u8]) -> bool {
    let non_empty_string =
        |v: &[u8]| v.first() == Some(&b'"') && v.get(1).is_some_and(|b| *b != b'"');
    value_after(data, &CONTENT).is_some_and(non_empty_string)
        || value_after(data, &ARGUMENTS).is_some_and(non_empty_string)
}

impl StreamTransform for Passthrough {
    fn on_event(&mut self, event: &SseEvent, out: &mut BytesMut) -> Result<(), ProtoError> {
        let data = event.data.as_bytes();
        if event.data.trim() == "[DONE]" {
            self.done = true;
            write_event(out, None, "[DONE]");
            return Ok(());
        }
        if FINISH.find(data).is_some() || FINISH_SPACED.find(data).is_some() {
            self.finished = true;
        }
        if has_usage_value(data) || ERROR.find(data).is_some() {
            let sniff: Sniff =
                serde_json::from_slice(data).map_err(|e| ProtoError::BadUpstream(e.to_string()))?;
            if let Some(err) = sniff.error {
                return Err(ProtoError::UpstreamStream {
                    kind: err.kind.unwrap_or_default(),
                    message: err.message,
                });
            }
            if let Some(u) = &sniff.usage {
                self.usage.merge_max(Usage::from(u));
                if sniff.choices.is_empty() && !self.client_wants_usage {
                    return Ok(());
                }
            }
        } else {
            check_json(&event.data)?;
        }
        if has_content(data) {
            self.content_events += 1;
        }
        write_event(out, event.event.as_deref(), &event.data);
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.done || self.finished
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if !self.done {
            write_event(out, None, "[DONE]");
        }
    }

    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut) {
        Encoder::new(String::new(), 0, false).fail(failure, out);
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn content_events(&self) -> u64 {
        self.content_events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.to_owned(),
        }
    }

    #[test]
    fn usage_value_detection_ignores_null() {
        assert!(!has_usage_value(br#"{"choices":[],"usage":null}"#));
        assert!(!has_usage_value(br#"{"choices":[],"usage" : null}"#));
        assert!(has_usage_value(
            br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
        ));
        assert!(!has_usage_value(br#"{"choices":[]}"#));
    }

    #[test]
    fn only_chunks_with_generated_content_count() {
        assert!(has_content(br#"{"choices":[{"delta":{"content":"Hi"}}]}"#));
        assert!(has_content(
            br#"{"choices":[{"delta":{"content" : "Hi"}}]}"#
        ));
        assert!(!has_content(
            br#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#
        ));
        assert!(!has_content(
            br#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#
        ));
        assert!(has_content(br#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}}]}"#));
        assert!(!has_content(br#"{"choices":[{"delta":{"content":null}}]}"#));
    }

    #[test]
    fn injected_usage_chunk_is_captured_and_stripped_when_client_did_not_ask() {
        let mut p = Passthrough::new(false);
        let mut out = BytesMut::new();
        p.on_event(
            &ev(r#"{"choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}"#),
            &mut out,
        )
        .unwrap();
        p.on_event(&ev(r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#), &mut out)
            .unwrap();
        p.on_event(&ev("[DONE]"), &mut out).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.contains("\"hi\""));
        assert!(!text.contains("prompt_tokens"), "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"));
        assert_eq!(p.usage(), Usage::new(5, 2));
        assert!(p.is_complete());
    }

    #[test]
    fn usage_chunk_is_kept_when_client_asked() {
        let mut p = Passthrough::new(true);
        let mut out = BytesMut::new();
        p.on_event(
            &ev(r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#),
            &mut out,
        )
        .unwrap();
        assert!(
            String::from_utf8(out.to_vec())
                .unwrap()
                .contains("prompt_tokens")
        );
    }

    #[test]
    fn error_chunk_breaks_the_stream() {
        let mut p = Passthrough::new(false);
        let err = p.on_event(
            &ev(r#"{"error":{"message":"boom","type":"server_error"}}"#),
            &mut BytesMut::new(),
        );
        assert!(matches!(err, Err(ProtoError::UpstreamStream { .. })));
    }

    #[test]
    fn a_chunk_that_is_not_json_breaks_the_stream_and_is_not_forwarded() {
        let mut p = Passthrough::new(false);
        let mut out = BytesMut::new();
        for bad in [
            "{not json",
            r#"{"choices":[{"delta":{"content":"hi"}}]"#,
            "null x",
        ] {
            let err = p.on_event(&ev(bad), &mut out);
            assert!(
                matches!(err, Err(ProtoError::BadUpstream(_))),
                "{bad}: {err:?}"
            );
        }
        assert!(out.is_empty(), "{out:?}");
        p.on_event(&ev(r#"{"choices":[{"delta":{"content":"hi"}}]}"#), &mut out)
            .unwrap();
        assert!(!out.is_empty());
    }

    #[test]
    fn content_mentioning_error_is_forwarded() {
        let mut p = Passthrough::new(false);
        let mut out = BytesMut::new();
        p.on_event(
            &ev(r#"{"choices":[{"index":0,"delta":{"content":"\"error\""}}]}"#),
            &mut out,
        )
        .unwrap();
        assert!(!out.is_empty());
        assert!(!p.is_complete());
    }
}
