//! Gemini streams: completion across candidates, blocks, errors, and a Gemini stream
//! served to an Anthropic client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use serde_json::{Value, json};
use switchboard_core::Usage;
use switchboard_proto::chat::FinishReason;
use switchboard_proto::sse::{SseEvent, SseParser};
use switchboard_proto::stream::{StreamDecoder, StreamEvent, StreamTransform, Translate};
use switchboard_proto::{ProtoError, anthropic, gemini};

fn data(value: Value) -> SseEvent {
    SseEvent {
        event: None,
        data: value.to_string(),
    }
}

#[test]
fn a_stream_is_complete_once_every_candidate_has_finished() {
    let mut decoder = gemini::stream::Decoder::new();
    let mut out = Vec::new();
    let text = |index: u32, t: &str| json!({"content": {"parts": [{"text": t}]}, "index": index});
    decoder
        .decode(
            &data(json!({"candidates": [text(0, "a"), text(1, "b")]})),
            &mut out,
        )
        .unwrap();
    let mut done = text(0, "");
    done["finishReason"] = json!("STOP");
    decoder
        .decode(&data(json!({"candidates": [done]})), &mut out)
        .unwrap();
    assert!(!decoder.is_complete(), "candidate 1 is still going");
    let mut done = text(1, "!");
    done["finishReason"] = json!("SAFETY");
    decoder
        .decode(&data(json!({"candidates": [done]})), &mut out)
        .unwrap();
    assert!(decoder.is_complete());
    let starts = out
        .iter()
        .filter(|e| matches!(e, StreamEvent::Start { .. }))
        .count();
    assert_eq!(starts, 1);
    assert!(out.contains(&StreamEvent::Finish {
        choice: 1,
        reason: FinishReason::ContentFilter
    }));
    assert!(
        !out.contains(&StreamEvent::Text {
            choice: 0,
            text: String::new()
        }),
        "empty text is not an event"
    );
}

#[test]
fn a_blocked_prompt_finishes_the_stream_by_the_content_filter() {
    let mut decoder = gemini::stream::Decoder::new();
    let mut out = Vec::new();
    let chunk = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 7}});
    decoder.decode(&data(chunk), &mut out).unwrap();
    assert!(decoder.is_complete());
    assert_eq!(
        out[1],
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ContentFilter
        }
    );
    assert_eq!(out[2], StreamEvent::Usage(Usage::new(7, 0)));
}

#[test]
fn stream_errors_and_junk_end_the_stream() {
    let error = json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}});
    let err = gemini::stream::Decoder::new()
        .decode(&data(error), &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err,
        ProtoError::UpstreamStream {
            kind: "UNAVAILABLE".into(),
            message: "The model is overloaded.".into()
        }
    );
    let junk = SseEvent {
        event: None,
        data: "[{".into(),
    };
    let err = gemini::stream::Decoder::new()
        .decode(&junk, &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, ProtoError::BadUpstream(_)), "{err:?}");
}

fn sse_events(bytes: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    parser.push(bytes);
    std::iter::from_fn(|| parser.next_event())
        .map(Result::unwrap)
        .collect()
}

/// A Gemini stream with function calls, served to an Anthropic client, reads back through
/// the Anthropic decoder as the same text, calls, finish and usage.
#[test]
fn a_gemini_stream_reaches_an_anthropic_client_intact() {
    let decoder = Box::new(gemini::stream::Decoder::new());
    let encoder = Box::new(anthropic::stream::Encoder::new("alias".into()));
    let mut translate = Translate::new(decoder, encoder);
    let mut out = BytesMut::new();
    for event in sse_events(include_bytes!("golden/gemini/stream/function_calls.sse")) {
        translate.on_event(&event, &mut out).unwrap();
    }
    assert!(translate.is_complete());
    translate.finish(&mut out);
    assert_eq!(translate.usage(), Usage::new(40, 25));

    let mut back = anthropic::stream::Decoder::new();
    let mut events = Vec::new();
    for event in sse_events(&out) {
        back.decode(&event, &mut events).unwrap();
    }
    assert!(back.is_complete());
    let expected = [
        StreamEvent::Start {
            id: "msg_sse-2".into(),
            model: "gemini-2.5-pro".into(),
        },
        // `message_start` goes out before Gemini's first usage report is read.
        StreamEvent::Usage(Usage::new(0, 0)),
        StreamEvent::Text {
            choice: 0,
            text: "Let me look that up.".into(),
        },
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 0,
            id: "call_0".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallArgs {
            choice: 0,
            index: 0,
            arguments: r#"{"city":"Paris"}"#.into(),
        },
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 1,
            id: "call_1".into(),
            name: "get_time".into(),
        },
        StreamEvent::ToolCallArgs {
            choice: 0,
            index: 1,
            arguments: r#"{"tz":"CET"}"#.into(),
        },
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage(Usage::new(40, 25)),
    ];
    assert_eq!(events, expected);
}
