//! An Anthropic client (`POST /v1/messages`) reaches every upstream family.

use serde_json::{Value, json};
use switchboard_tests::client::sse_events;
use switchboard_tests::config::CHAT_ALIASES;
use switchboard_tests::{Harness, KEY_A};

fn ask(model: &str) -> Value {
    json!({
        "model": model,
        "max_tokens": 10,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "name three colours of the rainbow"}]
    })
}

const ANTHROPIC_HEADERS: [(&str, &str); 2] =
    [("x-api-key", KEY_A), ("anthropic-version", "2023-06-01")];

#[tokio::test]
async fn every_upstream_answers_an_anthropic_client_in_messages_shape() {
    let h = Harness::start().await;
    let oracle = h.direct_openai(json!({
        "model": "x", "max_tokens": 10,
        "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "name three colours of the rainbow"}]
    }))
    .await
    .json();
    let expected = oracle["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    for alias in CHAT_ALIASES {
        let r = h.post_anthropic(KEY_A, ask(alias)).await;
        assert_eq!(r.status, 200, "{alias}: {}", r.text());
        let v = r.json();
        assert_eq!(v["type"], "message", "{alias}");
        assert_eq!(v["role"], "assistant", "{alias}");
        assert!(v["id"].as_str().unwrap().starts_with("msg_"), "{alias}");
        assert_eq!(v["content"][0]["type"], "text", "{alias}");
        assert_eq!(v["content"][0]["text"], expected.as_str(), "{alias}");
        assert_eq!(v["stop_reason"], "max_tokens", "{alias}");
        assert_eq!(v["usage"]["output_tokens"], 10, "{alias}");
        assert_eq!(
            v["usage"]["input_tokens"], oracle["usage"]["prompt_tokens"],
            "{alias}"
        );
    }
}

#[tokio::test]
async fn streams_follow_the_anthropic_event_sequence_from_every_upstream() {
    let h = Harness::start().await;
    for alias in CHAT_ALIASES {
        let complete = h.post_anthropic(KEY_A, ask(alias)).await.json();
        let mut body = ask(alias);
        body["stream"] = json!(true);
        let r = h
            .post_raw("/v1/messages", &ANTHROPIC_HEADERS, body.to_string().into())
            .await;
        assert_eq!(r.status, 200, "{alias}");
        let events = sse_events(&r.text());
        let names: Vec<&str> = events
            .iter()
            .filter_map(|(n, _)| n.as_deref())
            .filter(|n| *n != "ping")
            .collect();
        assert_eq!(names.first(), Some(&"message_start"), "{alias}: {names:?}");
        assert_eq!(
            &names[names.len() - 2..],
            &["message_delta", "message_stop"],
            "{alias}: {names:?}"
        );
        assert!(
            names.contains(&"content_block_start") && names.contains(&"content_block_stop"),
            "{alias}"
        );
        let mut text = String::new();
        let mut stop_reason = Value::Null;
        let mut output_tokens = Value::Null;
        for (name, data) in &events {
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(
                v["type"].as_str(),
                name.as_deref(),
                "{alias}: event name matches its type"
            );
            if name.as_deref() == Some("content_block_delta") {
                text.push_str(v["delta"]["text"].as_str().unwrap_or(""));
            }
            if name.as_deref() == Some("message_delta") {
                stop_reason = v["delta"]["stop_reason"].clone();
                output_tokens = v["usage"]["output_tokens"].clone();
            }
        }
        assert_eq!(
            text,
            complete["content"][0]["text"].as_str().unwrap(),
            "{alias}"
        );
        assert_eq!(stop_reason, "max_tokens", "{alias}");
        assert_eq!(output_tokens, 10, "{alias}");
    }
}

#[tokio::test]
async fn anthropic_passthrough_keeps_fields_the_gateway_does_not_know() {
    let h = Harness::start().await;
    let body = json!({
        "model": "claude",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "cached prefix", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}],
        "thinking": {"type": "enabled", "budget_tokens": 1024}
    });
    assert_eq!(h.post_anthropic(KEY_A, body).await.status, 200);
    let seen = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(seen["model"], "mock-claude");
    assert_eq!(seen["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(
        seen["messages"][0]["content"][0]["cache_control"]["type"],
        "ephemeral"
    );
    assert_eq!(seen["thinking"]["budget_tokens"], 1024);
}

#[tokio::test]
async fn an_anthropic_client_gets_tool_use_blocks_from_an_openai_upstream() {
    let h = Harness::start().await;
    for alias in ["gpt", "gemini", "claude"] {
        let body = json!({
            "model": alias,
            "max_tokens": 100,
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}],
            "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "weather in Paris today"}]
        });
        let r = h.post_anthropic(KEY_A, body).await;
        assert_eq!(r.status, 200, "{alias}: {}", r.text());
        let v = r.json();
        let block = v["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "tool_use")
            .cloned();
        let block = block.unwrap_or_else(|| panic!("{alias}: no tool_use in {v}"));
        assert_eq!(block["name"], "get_weather", "{alias}");
        assert_eq!(block["input"]["query"], "weather in Paris", "{alias}");
        assert_eq!(v["stop_reason"], "tool_use", "{alias}");
    }
}

#[tokio::test]
async fn anthropic_tool_results_reach_an_openai_upstream_as_tool_messages() {
    let h = Harness::start().await;
    let body = json!({
        "model": "gpt",
        "max_tokens": 50,
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"query": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]}
        ],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]
    });
    let r = h.post_anthropic(KEY_A, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = h.mock.requests().last().unwrap().json().unwrap();
    let msgs = seen["messages"].as_array().unwrap();
    let tool_msg = msgs.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool_msg["tool_call_id"], "toolu_1");
    assert_eq!(tool_msg["content"], "sunny");
    let assistant = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    let args: Value = serde_json::from_str(
        assistant["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"query": "Paris"}));
}
