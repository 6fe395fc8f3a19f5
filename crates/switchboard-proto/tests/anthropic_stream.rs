//! Anthropic streams: the decoder's error handling, and the encoder's exact output and
//! its round trip through the decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use proptest::prelude::*;
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::anthropic::stream::{Decoder, Encoder};
use switchboard_proto::chat::FinishReason;
use switchboard_proto::sse::{SseEvent, SseParser};
use switchboard_proto::stream::{StreamDecoder, StreamEncoder, StreamEvent, StreamFailure};

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

fn decode_all(sse: &[u8]) -> (Vec<StreamEvent>, bool) {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for event in events(sse) {
        decoder.decode(&event, &mut out).unwrap();
    }
    (out, decoder.is_complete())
}

#[test]
fn an_error_event_ends_the_stream_with_its_kind() {
    let error = named(
        "error",
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    let err = Decoder::new().decode(&error, &mut Vec::new()).unwrap_err();
    assert_eq!(
        err,
        ProtoError::UpstreamStream {
            kind: "overloaded_error".into(),
            message: "Overloaded".into()
        }
    );
}

#[test]
fn data_that_is_not_json_is_a_bad_upstream() {
    let err = Decoder::new()
        .decode(&named("content_block_delta", "{oops"), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, ProtoError::BadUpstream(_)), "{err:?}");
}

#[test]
fn the_stream_is_complete_only_after_message_stop() {
    let mut decoder = Decoder::new();
    let all = events(FIXTURE.as_bytes());
    let (last, rest) = all.split_last().unwrap();
    for event in rest {
        decoder.decode(event, &mut Vec::new()).unwrap();
    }
    assert!(!decoder.is_complete());
    decoder.decode(last, &mut Vec::new()).unwrap();
    assert!(decoder.is_complete());
}

fn encode(events: &[StreamEvent]) -> (BytesMut, Encoder) {
    let mut encoder = Encoder::new("claude-alias".into());
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    (out, encoder)
}

#[test]
fn the_encoder_writes_what_anthropic_sends_and_holds_finish_and_usage_until_the_end() {
    let (mut out, mut encoder) = encode(&[
        StreamEvent::Start {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
        },
        StreamEvent::Text {
            choice: 0,
            text: "Hi".into(),
        },
        StreamEvent::Text {
            choice: 1,
            text: "dropped".into(),
        },
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallArgs {
            choice: 0,
            index: 0,
            arguments: "{\"a\":1}".into(),
        },
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage(Usage {
            input_tokens: 10,
            output_tokens: 5,
            cached_input_tokens: 4,
        }),
    ]);
    assert!(!String::from_utf8_lossy(&out).contains("message_delta"));
    encoder.finish(&mut out);
    let expected = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}"#,
        "\n\nevent: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        "\n\nevent: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\n\nevent: content_block_start\n",
        r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_1","name":"f","input":{}}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}"#,
        "\n\nevent: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":1}"#,
        "\n\nevent: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":6,"output_tokens":5,"cache_read_input_tokens":4}}"#,
        "\n\nevent: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n",
    );
    assert_eq!(String::from_utf8(out.to_vec()).unwrap(), expected);
}

#[test]
fn a_failed_stream_closes_the_open_block_then_reports_a_timeout() {
    let (mut out, mut encoder) = encode(&[
        StreamEvent::Start {
            id: "x".into(),
            model: String::new(),
        },
        StreamEvent::Text {
            choice: 0,
            text: "par".into(),
        },
    ]);
    encoder.fail(
        &StreamFailure {
            message: "upstream went quiet".into(),
            timeout: true,
        },
        &mut out,
    );
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(
        text.contains(r#""model":"claude-alias""#),
        "the hint names the model when the upstream does not"
    );
    assert!(text.ends_with(concat!(
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: error\n",
        "data: {\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"upstream went quiet\"}}\n\n",
    )));
}

#[test]
fn a_repeated_start_of_the_same_tool_call_opens_no_second_block() {
    let start = StreamEvent::ToolCallStart {
        choice: 0,
        index: 0,
        id: "c".into(),
        name: "f".into(),
    };
    let args = |a: &str| StreamEvent::ToolCallArgs {
        choice: 0,
        index: 0,
        arguments: a.into(),
    };
    let (out, _) = encode(&[start.clone(), args("{\"a\""), start, args(":1}")]);
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert_eq!(text.matches("event: content_block_start").count(), 1);
    assert_eq!(text.matches(r#""index":0,"delta""#).count(), 2);
}

/// What a client ends up with from a stream: choice 0's text, tool calls and finish reason,
/// and the usage.
type Summary = (
    String,
    Vec<(String, String, String)>,
    Option<FinishReason>,
    Usage,
);

fn summarize(events: &[StreamEvent]) -> Summary {
    let (mut text, mut calls, mut reason, mut usage) =
        (String::new(), Vec::new(), None, Usage::default());
    for event in events {
        match event {
            StreamEvent::Text { choice: 0, text: t } => text.push_str(t),
            StreamEvent::ToolCallStart {
                choice: 0,
                id,
                name,
                ..
            } => calls.push((id.clone(), name.clone(), String::new())),
            StreamEvent::ToolCallArgs {
                choice: 0,
                index,
                arguments,
            } => calls[*index as usize].2.push_str(arguments),
            StreamEvent::Finish {
                choice: 0,
                reason: r,
            } => reason = Some(*r),
            StreamEvent::Usage(u) => usage.merge_max(*u),
            _ => {}
        }
    }
    (text, calls, reason, usage)
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Tool(String, String, Vec<String>),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "(?s).{0,12}".prop_map(Piece::Text),
        (
            "[a-z_0-9]{1,8}",
            "[a-z_]{1,8}",
            proptest::collection::vec("(?s).{0,8}", 0..4)
        )
            .prop_map(|(id, name, args)| Piece::Tool(id, name, args)),
    ]
}

fn reason() -> impl Strategy<Value = Option<FinishReason>> {
    proptest::option::of(prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::ContentFilter),
    ])
}

proptest! {
    #[test]
    fn encoded_streams_decode_to_what_the_client_should_see(
        pieces in proptest::collection::vec(piece(), 0..6),
        reason in reason(),
        (input, cached) in (0u64..10_000).prop_flat_map(|i| (Just(i), 0..=i)),
        output in 0u64..10_000,
        noise in "(?s).{0,6}",
    ) {
        let mut canonical = vec![StreamEvent::Start { id: "abc".into(), model: "m".into() }];
        let mut tools = 0;
        for piece in &pieces {
            match piece {
                Piece::Text(text) => canonical.push(StreamEvent::Text { choice: 0, text: text.clone() }),
                Piece::Tool(id, name, args) => {
                    canonical.push(StreamEvent::ToolCallStart { choice: 0, index: tools, id: id.clone(), name: name.clone() });
                    for a in args {
                        canonical.push(StreamEvent::ToolCallArgs { choice: 0, index: tools, arguments: a.clone() });
                    }
                    tools += 1;
                }
            }
            canonical.push(StreamEvent::Text { choice: 1, text: noise.clone() });
        }
        if let Some(reason) = reason {
            canonical.push(StreamEvent::Finish { choice: 0, reason });
        }
        let usage = Usage { input_tokens: input, output_tokens: output, cached_input_tokens: cached };
        canonical.push(StreamEvent::Usage(usage));

        let (mut out, mut encoder) = encode(&canonical);
        encoder.finish(&mut out);
        let (decoded, complete) = decode_all(&out);
        prop_assert!(complete);
        prop_assert_eq!(&decoded[0], &StreamEvent::Start { id: "msg_abc".into(), model: "m".into() });

        let mut want = summarize(&canonical);
        want.2 = Some(reason.unwrap_or(if tools > 0 { FinishReason::ToolCalls } else { FinishReason::Stop }));
        prop_assert_eq!(summarize(&decoded), want);
    }
}
