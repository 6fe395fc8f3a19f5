//! Shared by the golden-file tests of every family: every `<case>.<input>` under
//! `tests/golden/<family>/<kind>/` is translated and compared, as JSON values, with its
//! `<case>.<expected>` beside it. `UPDATE_GOLDEN=1 cargo test` rewrites the expectations
//! (review the diff before keeping it).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use switchboard_proto::chat::ChatRequest;
use switchboard_proto::stream::StreamEvent;

fn dir(family: &str, kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(family)
        .join(kind)
}

/// Runs `translate` over every `*.<input>` file in `kind`, comparing with `*.<expected>`.
pub fn golden(
    family: &str,
    kind: &str,
    input: &str,
    expected: &str,
    translate: impl Fn(&[u8]) -> Value,
) {
    let mut cases = 0;
    for entry in std::fs::read_dir(dir(family, kind)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(case) = name.strip_suffix(&format!(".{input}")) else {
            continue;
        };
        cases += 1;
        let actual = translate(&std::fs::read(&path).unwrap());
        let expected_path = dir(family, kind).join(format!("{case}.{expected}"));
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
pub fn canonical_request(body: &[u8]) -> ChatRequest {
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

pub fn json_body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

pub fn event_json(event: &StreamEvent) -> Value {
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
