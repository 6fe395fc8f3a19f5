//! Golden files for the Gemini translations: every `<case>.<input>` under
//! `tests/golden/gemini/<kind>/` is translated and compared, as JSON values, with its
//! `<case>.<expected>` beside it. `UPDATE_GOLDEN=1 cargo test` rewrites the expectations
//! (review the diff before keeping it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{canonical_request, event_json, json_body};
use serde_json::Value;
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::gemini;
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::StreamDecoder;

/// `created` is the time of reading, and an answer without `responseId` gets an id made
/// from the clock; both are replaced so expectations stay fixed.
fn without_created(mut response: ChatResponse) -> Value {
    response.created = 0;
    if let Some(suffix) = response.id.strip_prefix("gemini-") {
        assert!(
            u128::from_str_radix(suffix, 16).is_ok(),
            "generated id {}",
            response.id
        );
        response.id = "gemini-<generated>".into();
    }
    serde_json::to_value(response).unwrap()
}

fn golden(kind: &str, input: &str, expected: &str, translate: impl Fn(&[u8]) -> Value) {
    common::golden("gemini", kind, input, expected, translate);
}

#[test]
fn canonical_requests_written_for_gemini() {
    golden("write", "canonical.json", "gemini.json", |body| {
        json_body(&gemini::request::write(&canonical_request(body)).unwrap())
    });
}

#[test]
fn gemini_answers_read_into_canonical_form() {
    golden("response", "gemini.json", "canonical.json", |body| {
        without_created(gemini::response::parse(body).unwrap())
    });
}

#[test]
fn gemini_streams_decode_into_canonical_events() {
    golden("stream", "sse", "events.json", |body| {
        let mut parser = SseParser::new();
        parser.push(body);
        let mut decoder = gemini::stream::Decoder::new();
        let mut events = Vec::new();
        while let Some(event) = parser.next_event() {
            decoder.decode(&event.unwrap(), &mut events).unwrap();
        }
        assert!(
            decoder.is_complete(),
            "stream fixture should finish every candidate"
        );
        Value::Array(events.iter().map(event_json).collect())
    });
}
