//! OpenAI request reading, validation and writing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_proto::ProtoError;
use switchboard_proto::chat::{Image, Part, ResponseFormat, Role, ToolChoice};
use switchboard_proto::openai::request::{self, WriteOptions};

fn parse(v: Value) -> Result<request::Inbound, ProtoError> {
    request::parse(Bytes::from(v.to_string()))
}

#[test]
fn a_full_request_reads_into_canonical_form() {
    let inbound = parse(json!({
        "model": "gpt",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "a cat"}
        ],
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "look"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        "stop": "END",
        "max_tokens": 50,
        "stream": true,
        "stream_options": {"include_usage": true}
    }))
    .unwrap();
    let chat = &inbound.chat;
    assert!(inbound.include_usage);
    assert_eq!(chat.messages[0].role, Role::System);
    assert_eq!(
        chat.messages[1].content[1],
        Part::Image(Image::Base64 {
            media_type: "image/png".into(),
            data: "AAAA".into()
        })
    );
    assert_eq!(chat.messages[2].tool_calls[0].arguments, "{\"q\":1}");
    assert_eq!(chat.messages[3].tool_call_id.as_deref(), Some("c1"));
    assert_eq!(chat.tool_choice, Some(ToolChoice::Tool("look".into())));
    assert!(matches!(
        chat.response_format,
        Some(ResponseFormat::JsonSchema { .. })
    ));
    assert_eq!(chat.stop, vec!["END".to_owned()]);
    assert_eq!(chat.max_tokens, Some(50));
    assert!(chat.stream);
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (json!({"model": "m", "messages": "hi"}), "messages"),
        (json!({"model": 3, "messages": []}), "model"),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": 5}]}),
            "messages[0].content",
        ),
        (
            json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}),
            "max_tokens",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
            "stream",
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id",
        ),
        (json!({"model": "m", "messages": []}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "model",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
    ];
    for (body, field) in cases {
        let err = parse(body.clone()).unwrap_err();
        assert_eq!(err.param(), Some(field), "{body} -> {err}");
    }
}

#[test]
fn passthrough_replaces_model_and_asks_for_usage_keeping_unknown_fields() {
    let inbound = parse(json!({
        "model": "alias", "messages": [{"role": "user", "content": "hi"}],
        "stream": true, "logit_bias": {"50256": -100}, "reasoning_effort": "low"
    }))
    .unwrap();
    let out: Value = serde_json::from_slice(&request::passthrough_body(
        &inbound.raw,
        inbound.chat.stream,
        "gpt-4o-mini",
    ))
    .unwrap();
    assert_eq!(out["model"], "gpt-4o-mini");
    assert_eq!(out["stream_options"]["include_usage"], true);
    assert_eq!(out["logit_bias"]["50256"], -100);
    assert_eq!(out["reasoning_effort"], "low");
}

#[test]
fn canonical_request_writes_back_as_openai() {
    let inbound = parse(json!({
        "model": "alias",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}]},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
        "max_tokens": 7, "stream": true
    }))
    .unwrap();
    let body = request::write(
        &inbound.chat,
        "up",
        WriteOptions {
            max_completion_tokens: true,
        },
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model"], "up");
    assert_eq!(v["max_completion_tokens"], 7);
    assert!(v.get("max_tokens").is_none());
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(
        v["messages"][0],
        json!({"role": "system", "content": "sys"})
    );
    assert_eq!(
        v["messages"][1]["content"][1]["image_url"],
        json!({"url": "https://x/y.png", "detail": "low"})
    );
    assert_eq!(v["messages"][2]["content"], Value::Null);
    assert_eq!(v["messages"][2]["tool_calls"][0]["function"]["name"], "f");
    assert_eq!(
        v["messages"][3],
        json!({"role": "tool", "content": "r", "tool_call_id": "c1"})
    );
    assert_eq!(v["tools"][0]["function"]["description"], "d");
}

/// A data URL another family could not read as inline bytes is refused, naming the part
/// (it reached Gemini as a link with a guessed `image/jpeg` type).
#[test]
fn a_data_url_that_is_not_base64_with_a_type_is_refused() {
    for url in ["data:image/png,rawbytes", "data:;base64,AAAA"] {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}]});
        let err = parse(body).unwrap_err();
        assert_eq!(
            err.param(),
            Some("messages[0].content[1].image_url.url"),
            "{url}: {err:?}"
        );
    }
}
