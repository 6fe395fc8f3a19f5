//! Golden files for the Anthropic translations: every `<case>.<input>` under
//! `tests/golden/anthropic/<kind>/` is translated and compared, as JSON values, with its
//! `<case>.<expected>` beside it. `UPDATE_GOLDEN=1 cargo test` rewrites the expectations
//! (review the diff before keeping it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use switchboard_proto::anthropic;
use switchboard_proto::chat::{ChatRequest, ChatResponse};
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::{StreamDecoder, StreamEvent};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/anthropic")
        .join(kind)
}

/// Runs `translate` over every `*.<input>` file in `kind`, comparing with `*.<expected>`.
fn golden(kind: &str, input: &str, expected: &str, translate: impl Fn(&[u8]) -> Value) {
    let mut cases = 0;
    for entry in std::fs::read_dir(dir(kind)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(case) = name.strip_suffix(&format!(".{input}")) else {
            continue;
        };
        cases += 1;
        let actual = translate(&std::fs::read(&path).unwrap());
        let expected_path = dir(kind).join(format!("{case}.{expected}"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&actual).unwrap() + "\n",
            )
            .unwrap();
            continue;
        }
        let want: Value = serde_json::from_slice(&std::fs::read(&expected_path).unwrap()).unwrap();
        assert_eq!(
            actual,
            want,
            "{kind}/{case}: got\n{}",
            serde_json::to_string_pretty(&actual).unwrap()
        );
    }
    assert!(cases > 0, "no golden cases in {kind}");
}

/// A canonical request from a golden file, where omitted fields take their defaults.
fn canonical_request(body: &[u8]) -> ChatRequest {
    let mut value: Value = serde_json::from_slice(body).unwrap();
    let mut full = serde_json::to_value(ChatRequest::default()).unwrap();
    let message = json!({"content": [], "tool_calls": [], "tool_call_id": null, "is_error": false, "name": null});
    for m in value["messages"].as_array_mut().unwrap() {
        let mut filled = message.clone();
        filled
            .as_object_mut()
            .unwrap()
            .extend(m.as_object().unwrap().clone());
        *m = filled;
    }
    full.as_object_mut()
        .unwrap()
        .extend(value.as_object().unwrap().clone());
    serde_json::from_value(full).unwrap()
}

/// `created` is the time of reading; zeroed so expectations stay fixed.
fn without_created(mut response: ChatResponse) -> Value {
    response.created = 0;
    serde_json::to_value(response).unwrap()
}

fn json_body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn event_json(event: &StreamEvent) -> Value {
    match event {
        StreamEvent::Start { id, model } => json!({"start": {"id": id, "model": model}}),
        StreamEvent::Text { choice, text } => json!({"text": {"choice": choice, "text": text}}),
        StreamEvent::ToolCallStart {
            choice,
            index,
            id,
            name,
        } => {
            json!({"tool_call_start": {"choice": choice, "index": index, "id": id, "name": name}})
        }
        StreamEvent::ToolCallArgs {
            choice,
            index,
            arguments,
        } => {
            json!({"tool_call_args": {"choice": choice, "index": index, "arguments": arguments}})
        }
        StreamEvent::Finish { choice, reason } => {
            json!({"finish": {"choice": choice, "reason": reason}})
        }
        StreamEvent::Usage(usage) => json!({"usage": usage}),
    }
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
