//! Anthropic requests and answers: validation errors, tool-result splitting and merging,
//! round trips, and the lossy edges of translation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::anthropic;
use switchboard_proto::chat::{
    ChatRequest, ChatResponse, Choice, FinishReason, Message, Role, ToolCall,
};
use switchboard_proto::raw::RawObject;

fn parse(body: Value) -> Result<ChatRequest, ProtoError> {
    anthropic::request::parse(&serde_json::to_vec(&body).unwrap())
}

fn write(req: &ChatRequest) -> Value {
    serde_json::from_slice(&anthropic::request::write(req, "claude-x").unwrap()).unwrap()
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn a_missing_max_tokens_is_named() {
    let err = parse(json!({"model": "m", "messages": [user("hi")]})).unwrap_err();
    assert_eq!(err.param(), Some("max_tokens"), "{err:?}");
}

#[test]
fn a_zero_max_tokens_is_refused() {
    let err = parse(json!({"model": "m", "max_tokens": 0, "messages": [user("hi")]})).unwrap_err();
    assert_eq!(err.param(), Some("max_tokens"), "{err:?}");
}

#[test]
fn content_of_the_wrong_type_names_the_message() {
    let messages = json!([user("hi"), {"role": "assistant", "content": 5}]);
    let err = parse(json!({"model": "m", "max_tokens": 8, "messages": messages})).unwrap_err();
    assert_eq!(err.param(), Some("messages[1].content"), "{err:?}");
}

#[test]
fn a_malformed_block_names_its_index() {
    let content = json!([{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t"}]);
    let messages = json!([{"role": "assistant", "content": content}]);
    let err = parse(json!({"model": "m", "max_tokens": 8, "messages": messages})).unwrap_err();
    assert_eq!(err.param(), Some("messages[0].content[1]"), "{err:?}");
}

#[test]
fn an_unknown_role_names_the_field() {
    let messages = json!([{"role": "system", "content": "x"}]);
    let err = parse(json!({"model": "m", "max_tokens": 8, "messages": messages})).unwrap_err();
    assert_eq!(err.param(), Some("messages[0].role"), "{err:?}");
}

#[test]
fn server_tools_and_documents_cannot_be_translated() {
    let tools = json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]);
    let err =
        parse(json!({"model": "m", "max_tokens": 8, "messages": [user("hi")], "tools": tools}))
            .unwrap_err();
    assert!(
        matches!(&err, ProtoError::Unsupported(m) if m.contains("web_search_20250305")),
        "{err:?}"
    );

    let doc = json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}});
    let messages = json!([{"role": "user", "content": [doc]}]);
    let err = parse(json!({"model": "m", "max_tokens": 8, "messages": messages})).unwrap_err();
    assert!(
        matches!(&err, ProtoError::Unsupported(m) if m.contains("document")),
        "{err:?}"
    );
}

#[test]
fn a_tool_choice_of_one_tool_needs_its_name() {
    let body = json!({"model": "m", "max_tokens": 8, "messages": [user("hi")], "tool_choice": {"type": "tool"}});
    assert_eq!(parse(body).unwrap_err().param(), Some("tool_choice.name"));
}

#[test]
fn tool_results_split_into_tool_messages_before_the_rest_of_the_turn() {
    let content = json!([
        {"type": "tool_result", "tool_use_id": "a", "content": "1"},
        {"type": "text", "text": "and?"},
        {"type": "tool_result", "tool_use_id": "b", "is_error": true},
    ]);
    let req = parse(
        json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": content}]}),
    );
    let roles: Vec<_> = req
        .as_ref()
        .unwrap()
        .messages
        .iter()
        .map(|m| (m.role, m.tool_call_id.clone()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (Role::Tool, Some("a".into())),
            (Role::Tool, Some("b".into())),
            (Role::User, None)
        ],
    );
    let messages = &req.unwrap().messages;
    assert!(messages[1].is_error && messages[1].content.is_empty());
}

/// An Anthropic request already in the writer's normal form comes back byte-for-byte equal
/// as JSON after a trip through canonical form: messages, tools, results, system, options.
#[test]
fn anthropic_to_canonical_to_anthropic_preserves_the_request() {
    let original = json!({
        "model": "claude-x",
        "max_tokens": 512,
        "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Use tools."}],
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3°C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [
                    {"type": "text", "text": "no clock"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
                ], "is_error": true},
                {"type": "text", "text": "Thanks"}
            ]},
            {"role": "assistant", "content": "Cold."}
        ],
        "tools": [
            {"name": "weather", "description": "Weather now", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
            {"name": "time", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["###"],
        "temperature": 0.5,
        "top_p": 0.8,
        "top_k": 3,
        "stream": true,
        "metadata": {"user_id": "u1"}
    });
    assert_eq!(write(&parse(original.clone()).unwrap()), original);
}

#[test]
fn tool_messages_merge_with_the_next_user_message_into_one_turn_results_first() {
    let mut assistant = Message::new(Role::Assistant, vec![]);
    assistant.tool_calls.push(ToolCall {
        id: "c1".into(),
        name: "f".into(),
        arguments: "{}".into(),
    });
    let mut result = Message::text(Role::Tool, "done");
    result.tool_call_id = Some("c1".into());
    let req = ChatRequest {
        messages: vec![
            Message::text(Role::User, "go"),
            assistant,
            Message::text(Role::User, "note first"),
            result,
        ],
        ..ChatRequest::default()
    };
    let out = write(&req);
    assert_eq!(out["messages"].as_array().unwrap().len(), 3);
    assert_eq!(
        out["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "done"},
            {"type": "text", "text": "note first"}
        ]})
    );
}

#[test]
fn unparsable_tool_arguments_name_the_canonical_message_and_call() {
    let mut assistant = Message::new(Role::Assistant, vec![]);
    assistant.tool_calls.push(ToolCall {
        id: "c1".into(),
        name: "f".into(),
        arguments: "{\"a\":".into(),
    });
    let req = ChatRequest {
        messages: vec![Message::text(Role::User, "go"), assistant],
        ..ChatRequest::default()
    };
    let err = anthropic::request::write(&req, "claude-x").unwrap_err();
    assert_eq!(
        err.param(),
        Some("messages[1].tool_calls[0].function.arguments"),
        "{err:?}"
    );
}

#[test]
fn more_than_one_choice_is_unsupported() {
    let req = ChatRequest {
        n: Some(2),
        messages: vec![Message::text(Role::User, "hi")],
        ..ChatRequest::default()
    };
    let err = anthropic::request::write(&req, "claude-x").unwrap_err();
    assert!(matches!(err, ProtoError::Unsupported(_)), "{err:?}");
}

#[test]
fn a_tool_message_without_a_call_id_is_refused() {
    let req = ChatRequest {
        messages: vec![Message::text(Role::Tool, "x")],
        ..ChatRequest::default()
    };
    let err = anthropic::request::write(&req, "claude-x").unwrap_err();
    assert_eq!(err.param(), Some("messages[0].tool_call_id"));
}

#[test]
fn passthrough_bodies_change_only_the_model() {
    let raw = RawObject::parse(
        br#"{"model":"alias","thinking":{"type":"enabled","budget_tokens":1024}}"#
            .to_vec()
            .into(),
    );
    let out = anthropic::request::passthrough_body(&raw.unwrap(), "claude-opus-4-1");
    assert_eq!(
        &out[..],
        br#"{"model":"claude-opus-4-1","thinking":{"type":"enabled","budget_tokens":1024}}"#
    );
}

#[test]
fn usage_is_read_without_the_rest_of_the_answer() {
    let body = br#"{"id":"msg_1","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":5,"cache_read_input_tokens":20,"cache_creation_input_tokens":3,"output_tokens":7}}"#;
    let usage = anthropic::usage_of(body).unwrap();
    assert_eq!(
        usage,
        Usage {
            input_tokens: 28,
            output_tokens: 7,
            cached_input_tokens: 20
        }
    );
    assert!(matches!(
        anthropic::usage_of(b"{}"),
        Err(ProtoError::BadUpstream(_))
    ));
}

#[test]
fn an_answer_that_is_not_anthropic_json_is_the_upstreams_fault() {
    assert!(matches!(
        anthropic::response::parse(b"<html>"),
        Err(ProtoError::BadUpstream(_))
    ));
    assert!(matches!(
        anthropic::response::parse(br#"{"id":"x"}"#),
        Err(ProtoError::BadUpstream(_))
    ));
}

#[test]
fn a_written_answer_reads_back_as_the_same_choice() {
    let resp = ChatResponse {
        id: "msg_1".into(),
        model: "gpt-4o".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            text: Some("hello".into()),
            tool_calls: vec![ToolCall {
                id: "t".into(),
                name: "f".into(),
                arguments: r#"{"x":1}"#.into(),
            }],
            finish_reason: Some(FinishReason::ToolCalls),
        }],
        usage: Usage {
            input_tokens: 50,
            output_tokens: 5,
            cached_input_tokens: 10,
        },
    };
    let mut back = anthropic::response::parse(&anthropic::response::write(&resp)).unwrap();
    back.created = 0;
    assert_eq!(back, resp);
}

/// Structured outputs (`messages.parse(output_format=...)` in the SDK) become the
/// canonical JSON schema, under either field name, so another family is asked for the
/// same shape; a format type not known here is left alone (a passthrough forwards it).
#[test]
fn structured_outputs_become_the_canonical_json_schema() {
    use switchboard_proto::chat::ResponseFormat;
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    for field in [
        json!({"output_config": {"format": {"type": "json_schema", "schema": schema}}}),
        json!({"output_format": {"type": "json_schema", "schema": schema}}),
    ] {
        let mut body = json!({"model": "m", "max_tokens": 5, "messages": [user("hi")]});
        body.as_object_mut()
            .unwrap()
            .extend(field.as_object().unwrap().clone());
        let req = parse(body).unwrap();
        match req.response_format {
            Some(ResponseFormat::JsonSchema { schema: s, .. }) => assert_eq!(s, schema),
            other => panic!("{other:?}"),
        }
    }
    let odd = json!({"model": "m", "max_tokens": 5, "messages": [user("hi")],
        "output_config": {"format": {"type": "yaml"}}});
    assert_eq!(parse(odd).unwrap().response_format, None);
}
