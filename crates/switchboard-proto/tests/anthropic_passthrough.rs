//! The Anthropic passthrough: events forwarded unchanged, usage sniffed, failures closed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::anthropic::Passthrough;
use switchboard_proto::sse::{SseEvent, SseParser};
use switchboard_proto::stream::{StreamFailure, StreamTransform};

const FIXTURE: &str = include_str!("golden/anthropic/stream/text_and_tool_use.sse");

fn events(sse: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    parser.push(sse);
    std::iter::from_fn(|| parser.next_event())
        .map(Result::unwrap)
        .collect()
}

fn named(event: &str, data: &str) -> SseEvent {
    SseEvent {
        event: Some(event.into()),
        data: data.into(),
    }
}

#[test]
fn the_passthrough_forwards_bytes_unchanged_and_sniffs_usage() {
    let mut pass = Passthrough::new();
    let mut out = BytesMut::new();
    for event in events(FIXTURE.as_bytes()) {
        pass.on_event(&event, &mut out).unwrap();
    }
    assert_eq!(String::from_utf8(out.to_vec()).unwrap(), FIXTURE);
    assert!(pass.is_complete());
    assert_eq!(
        pass.usage(),
        Usage {
            input_tokens: 600,
            output_tokens: 89,
            cached_input_tokens: 128
        }
    );
    assert_eq!(
        pass.content_events(),
        6,
        "every content_block_delta, the empty one included"
    );
    let mut tail = BytesMut::new();
    pass.finish(&mut tail);
    assert!(
        tail.is_empty(),
        "the upstream's message_stop already closed the stream"
    );
}

#[test]
fn the_passthrough_forwards_an_upstream_error_and_stops() {
    let mut pass = Passthrough::new();
    let mut out = BytesMut::new();
    let data = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let err = pass.on_event(&named("error", data), &mut out).unwrap_err();
    assert_eq!(
        err,
        ProtoError::UpstreamStream {
            kind: "overloaded_error".into(),
            message: "Overloaded".into()
        }
    );
    assert_eq!(
        String::from_utf8(out.to_vec()).unwrap(),
        format!("event: error\ndata: {data}\n\n")
    );
    let mut tail = BytesMut::new();
    pass.fail(
        &StreamFailure {
            message: "x".into(),
            timeout: false,
        },
        &mut tail,
    );
    assert!(
        tail.is_empty(),
        "the client already has the upstream's error event"
    );
}

#[test]
fn a_passthrough_cut_mid_block_closes_it_before_the_error() {
    let mut pass = Passthrough::new();
    let mut out = BytesMut::new();
    let all = events(FIXTURE.as_bytes());
    for event in &all[..8] {
        pass.on_event(event, &mut out).unwrap();
    }
    let mut tail = BytesMut::new();
    pass.fail(
        &StreamFailure {
            message: "connection reset".into(),
            timeout: false,
        },
        &mut tail,
    );
    assert_eq!(
        String::from_utf8(tail.to_vec()).unwrap(),
        concat!(
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"connection reset\"}}\n\n",
        )
    );
    assert!(!pass.is_complete());
}

/// A delta that is not JSON is not forwarded: it breaks the stream, and the failure
/// closes the open block and ends with an error event the client's SDK can read. The
/// same holds for an `error` event whose body is not an error.
#[test]
fn a_passthrough_refuses_an_event_that_is_not_json() {
    for (name, data) in [
        ("content_block_delta", "{not json"),
        ("ping", "garbage"),
        ("error", "{\"type\":"),
    ] {
        let mut pass = Passthrough::new();
        let mut out = BytesMut::new();
        let all = events(FIXTURE.as_bytes());
        for event in &all[..8] {
            pass.on_event(event, &mut out).unwrap();
        }
        let before = out.len();
        assert!(
            pass.on_event(&named(name, data), &mut out).is_err(),
            "{name}"
        );
        assert_eq!(out.len(), before, "{name}: nothing of it was forwarded");
        let mut tail = BytesMut::new();
        pass.fail(
            &StreamFailure {
                message: "unreadable".into(),
                timeout: false,
            },
            &mut tail,
        );
        let tail = String::from_utf8(tail.to_vec()).unwrap();
        assert!(
            tail.starts_with("event: content_block_stop\n"),
            "{name}: {tail}"
        );
        assert!(tail.contains("event: error\ndata: {"), "{name}: {tail}");
    }
}
