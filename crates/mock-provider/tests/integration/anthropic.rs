//! Anthropic Messages API coverage.

use mock_provider::Route;
use serde_json::{Value, json};

use crate::common::*;

fn url(server: &mock_provider::MockServer) -> String {
    format!("{}/v1/messages", server.url())
}

fn body(prompt: &str) -> Value {
    json!({
        "model": "claude-mock",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "you are terse"}],
        "messages": [
            {"role": "user", "content": "earlier words"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": prompt}
        ]
    })
}

#[tokio::test]
async fn non_stream_shape() {
    let server = start().await;
    let r = post(&url(&server), &ANTHROPIC_AUTH, &body("hello claude")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-mock");
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    assert_eq!(v["content"][0]["type"], "text");
    assert_eq!(
        v["content"][0]["text"].as_str().unwrap().split(' ').count(),
        16
    );
    // system counts as a message: 3 messages + 1.
    let expected = prompt_tokens(&["you are terse", "earlier words", "ok", "hello claude"], 4);
    assert_eq!(
        v["usage"],
        json!({"input_tokens": expected, "output_tokens": 16})
    );
    assert_eq!(server.calls_for(Route::AnthropicMessages), 1);
    assert_eq!(server.calls_for_model("claude-mock"), 1);
}

#[tokio::test]
async fn stream_event_sequence() {
    let server = start().await;
    let mut b = body("stream it");
    b["max_tokens"] = json!(5);
    let whole = post(&url(&server), &ANTHROPIC_AUTH, &b).await.json();
    assert_eq!(whole["stop_reason"], "max_tokens");
    b["stream"] = json!(true);
    let r = post(&url(&server), &ANTHROPIC_AUTH, &b).await;
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let events = sse(&r.text());
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", 5));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    for e in &events {
        assert_eq!(
            e.json()["type"],
            e.event.as_deref().unwrap(),
            "type field matches event name"
        );
    }
    let start = events[0].json();
    assert_eq!(start["message"]["content"], json!([]));
    assert_eq!(start["message"]["stop_reason"], Value::Null);
    assert_eq!(
        start["message"]["usage"]["input_tokens"],
        whole["usage"]["input_tokens"]
    );
    assert_eq!(start["message"]["usage"]["output_tokens"], 1);
    assert_eq!(
        events[1].json()["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = events[3..8]
        .iter()
        .map(|e| {
            let d = e.json()["delta"].clone();
            assert_eq!(d["type"], "text_delta");
            d["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, whole["content"][0]["text"]);
    let delta = events[9].json();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "max_tokens", "stop_sequence": null})
    );
    assert_eq!(delta["usage"]["output_tokens"], 5);
}

#[tokio::test]
async fn tool_use() {
    let server = start().await;
    let mut b = body("please call the tool now");
    b["tools"] =
        json!([{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]);
    let v = post(&url(&server), &ANTHROPIC_AUTH, &b).await.json();
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "lookup");
    assert_eq!(block["input"], json!({"query": "you are terse"}));
    assert_eq!(v["usage"]["output_tokens"], 3);

    // A tool_result turn does not trigger another call by keyword.
    let mut follow = b.clone();
    follow["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": [block.clone()]}));
    follow["messages"].as_array_mut().unwrap().push(json!({
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "tool said hi"}]
    }));
    let v = post(&url(&server), &ANTHROPIC_AUTH, &follow).await.json();
    assert_eq!(v["stop_reason"], "end_turn");

    // Forced via tool_choice any, streamed.
    let mut forced = body("no keyword here");
    forced["tools"] = b["tools"].clone();
    forced["tool_choice"] = json!({"type": "any"});
    forced["stream"] = json!(true);
    let events = sse(&post(&url(&server), &ANTHROPIC_AUTH, &forced).await.text());
    let start = events[1].json();
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["input"], json!({}));
    let partial: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(|e| {
            let d = e.json()["delta"].clone();
            assert_eq!(d["type"], "input_json_delta");
            d["partial_json"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap(),
        json!({"query": "you are terse"})
    );
    let delta = events
        .iter()
        .find(|e| e.event.as_deref() == Some("message_delta"))
        .unwrap()
        .json();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn auth_and_validation() {
    let server = start().await;
    let r = post(
        &url(&server),
        &[("anthropic-version", "2023-06-01")],
        &body("x"),
    )
    .await;
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    let r = post(&url(&server), &[("x-api-key", "k")], &body("x")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let mut no_max = body("x");
    no_max.as_object_mut().unwrap().remove("max_tokens");
    let r = post(&url(&server), &ANTHROPIC_AUTH, &no_max).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert_eq!(server.calls_for(Route::AnthropicMessages), 3);
}
