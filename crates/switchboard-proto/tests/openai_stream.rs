//! OpenAI stream decoding and encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use switchboard_core::Usage;
use switchboard_proto::chat::FinishReason;
use switchboard_proto::openai::stream::{Decoder, Encoder};
use switchboard_proto::sse::{SseEvent, SseParser};
use switchboard_proto::stream::{StreamDecoder, StreamEncoder, StreamEvent, StreamFailure};

fn decode_all(bytes: &[u8]) -> (Vec<StreamEvent>, bool) {
    let mut parser = SseParser::new();
    parser.push(bytes);
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    while let Some(ev) = parser.next_event() {
        dec.decode(&ev.unwrap(), &mut out).unwrap();
    }
    (out, dec.is_complete())
}

const RECORDED: &str = concat!(
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn a_recorded_stream_decodes_into_canonical_events() {
    let (events, complete) = decode_all(RECORDED.as_bytes());
    assert!(complete);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "chatcmpl-1".into(),
                model: "gpt-4o".into()
            },
            StreamEvent::Text {
                choice: 0,
                text: "Hel".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "call_1".into(),
                name: "f".into()
            },
            StreamEvent::ToolCallArgs {
                choice: 0,
                index: 0,
                arguments: "{}".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls
            },
            StreamEvent::Usage(Usage::new(9, 4)),
        ]
    );
}

#[test]
fn encoded_events_decode_back_to_the_same_events() {
    let (events, _) = decode_all(RECORDED.as_bytes());
    let mut enc = Encoder::new("m".into(), 1, true);
    let mut out = BytesMut::new();
    for e in &events {
        enc.encode(e, &mut out);
    }
    enc.finish(&mut out);
    let (again, complete) = decode_all(&out);
    assert!(complete);
    assert_eq!(again, events);
    assert!(out.ends_with(b"data: [DONE]\n\n"));
}

#[test]
fn usage_chunk_is_only_sent_when_asked() {
    let mut enc = Encoder::new("m".into(), 1, false);
    let mut out = BytesMut::new();
    enc.encode(&StreamEvent::Usage(Usage::new(1, 1)), &mut out);
    enc.finish(&mut out);
    assert!(!String::from_utf8_lossy(&out).contains("usage"));
}

#[test]
fn failure_is_an_error_chunk_without_done() {
    let mut enc = Encoder::new("m".into(), 1, false);
    let mut out = BytesMut::new();
    enc.fail(
        &StreamFailure {
            message: "upstream broke".into(),
            timeout: false,
        },
        &mut out,
    );
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"));
    let mut dec = Decoder::new();
    let err = dec.decode(
        &SseEvent {
            event: None,
            data: text[6..].trim().to_owned(),
        },
        &mut Vec::new(),
    );
    assert!(err.is_err());
}
