//! Golden files for the Anthropic translations: every `<case>.<input>` under
//! `tests/golden/anthropic/<kind>/` is translated and compared, as JSON values, with its
//! `<case>.<expected>` beside it. `UPDATE_GOLDEN=1 cargo test` rewrites the expectations
//! (review the diff before keeping it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{canonical_request, event_json, json_body};
use serde_json::Value;
use switchboard_proto::anthropic;
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::StreamDecoder;

/// `created` is the time of reading; zeroed so expectations stay fixed.
fn without_created(mut response: ChatResponse) -> Value {
    response.created = 0;
    serde_json::to_value(response).unwrap()
}

fn golden(kind: &str, input: &str, expected: &str, translate: impl Fn(&[u8]) -> Value) {
    common::golden("anthropic", kind, input, expected, translate);
}

#[test]
fn anthropic_requests_read_into_canonical_form() {
    golden("parse", "anthropic.json", "canonical.json", |body| {
        serde_json::to_value(anthropic::request::parse(body).unwrap()).unwrap()
    });
}

#[test]
fn canonical_requests_written_for_anthropic() {
    golden("write", "canonical.json", "anthropic.json", |body| {
        json_body(
            &anthropic::request::write(&canonical_request(body), "claude-sonnet-4-5").unwrap(),
        )
    });
}

#[test]
fn anthropic_answers_read_into_canonical_form() {
    golden("response", "anthropic.json", "canonical.json", |body| {
        without_created(anthropic::response::parse(body).unwrap())
    });
}

#[test]
fn canonical_answers_written_for_anthropic_clients() {
    golden(
        "response_write",
        "canonical.json",
        "anthropic.json",
        |body| {
            json_body(&anthropic::response::write(
                &serde_json::from_slice(body).unwrap(),
            ))
        },
    );
}

#[test]
fn anthropic_streams_decode_into_canonical_events() {
    golden("stream", "sse", "events.json", |body| {
        let mut parser = SseParser::new();
        parser.push(body);
        let mut decoder = anthropic::stream::Decoder::new();
        let mut events = Vec::new();
        while let Some(event) = parser.next_event() {
            decoder.decode(&event.unwrap(), &mut events).unwrap();
        }
        assert!(
            decoder.is_complete(),
            "stream fixture should end with message_stop"
        );
        Value::Array(events.iter().map(event_json).collect())
    });
}
