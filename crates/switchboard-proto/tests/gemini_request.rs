//! Gemini requests and answers: tool-result names, lossy edges, invented call ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchboard_proto::chat::{ChatRequest, FinishReason, Image, Message, Part, Role, ToolCall};
use switchboard_proto::{ProtoError, gemini};

fn write(req: &ChatRequest) -> Value {
    serde_json::from_slice(&gemini::request::write(req).unwrap()).unwrap()
}

fn call(id: &str, name: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: "{}".into(),
    }
}

fn assistant_calling(calls: Vec<ToolCall>) -> Message {
    let mut message = Message::new(Role::Assistant, vec![]);
    message.tool_calls = calls;
    message
}

fn result(id: &str, content: Vec<Part>) -> Message {
    let mut message = Message::new(Role::Tool, content);
    message.tool_call_id = Some(id.into());
    message
}

fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        messages,
        ..ChatRequest::default()
    }
}

#[test]
fn a_plain_request_has_only_contents() {
    let out = write(&request(vec![Message::text(Role::User, "hi")]));
    assert_eq!(
        out,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}

#[test]
fn a_tool_result_for_an_unknown_call_is_refused() {
    let req = request(vec![
        Message::text(Role::User, "go"),
        result("call_9", vec![Part::Text("x".into())]),
    ]);
    let err = gemini::request::write(&req).unwrap_err();
    assert_eq!(err.param(), Some("messages[1].tool_call_id"), "{err:?}");
}

/// Gemini ids restart at `call_0` in every answer; a result names the latest such call.
#[test]
fn a_repeated_call_id_resolves_to_the_nearest_earlier_call() {
    let req = request(vec![
        Message::text(Role::User, "go"),
        assistant_calling(vec![call("call_0", "first")]),
        result("call_0", vec![Part::Text("1".into())]),
        assistant_calling(vec![call("call_0", "second")]),
        result("call_0", vec![Part::Text("[1, 2]".into())]),
    ]);
    let out = write(&req);
    assert_eq!(
        out["contents"][2]["parts"][0]["functionResponse"]["name"],
        "first"
    );
    assert_eq!(
        out["contents"][4]["parts"][0]["functionResponse"],
        json!({"name": "second", "response": {"content": "[1, 2]"}}),
        "only a JSON object is sent as structured output"
    );
}

#[test]
fn images_in_a_tool_result_follow_its_function_response() {
    let image = Image::Base64 {
        media_type: "image/png".into(),
        data: "AAAA".into(),
    };
    let req = request(vec![
        assistant_calling(vec![call("c", "shot")]),
        result(
            "c",
            vec![Part::Text("see image".into()), Part::Image(image)],
        ),
    ]);
    let parts = &write(&req)["contents"][1]["parts"];
    assert_eq!(
        parts[0]["functionResponse"]["response"],
        json!({"content": "see image"})
    );
    assert_eq!(
        parts[1],
        json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}})
    );
}

#[test]
fn bad_arguments_and_system_images_are_refused() {
    let mut bad = call("c", "f");
    bad.arguments = "[1]".into();
    let err = gemini::request::write(&request(vec![assistant_calling(vec![bad])])).unwrap_err();
    assert_eq!(
        err.param(),
        Some("messages[0].tool_calls[0].function.arguments")
    );

    let image = Image::Url {
        url: "https://x/y.png".into(),
        detail: None,
    };
    let err = gemini::request::write(&request(vec![Message::new(
        Role::System,
        vec![Part::Image(image)],
    )]));
    assert!(matches!(err, Err(ProtoError::Unsupported(_))), "{err:?}");
}

#[test]
fn unreadable_answers_are_the_upstreams_fault() {
    for body in [
        &b"not json"[..],
        br#"{"candidates":[]}"#,
        br#"{"error":{"code":500,"message":"x","status":"INTERNAL"}}"#,
    ] {
        assert!(matches!(
            gemini::response::parse(body),
            Err(ProtoError::BadUpstream(_))
        ));
    }
}

#[test]
fn call_ids_are_numbered_across_candidates() {
    let fc = |name: &str| json!({"functionCall": {"name": name, "args": {"a": 1}}});
    let body = json!({"candidates": [
        {"content": {"parts": [fc("f"), fc("g")]}, "finishReason": "STOP"},
        {"content": {"parts": [{"text": "no"}, fc("h")]}, "finishReason": "MAX_TOKENS"}
    ]});
    let resp = gemini::response::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    let ids: Vec<Vec<&str>> = resp
        .choices
        .iter()
        .map(|c| c.tool_calls.iter().map(|t| t.id.as_str()).collect())
        .collect();
    assert_eq!(ids, vec![vec!["call_0", "call_1"], vec!["call_2"]]);
    assert_eq!(
        resp.choices[1].index, 1,
        "position stands in for a missing index"
    );
    assert_eq!(
        resp.choices[1].finish_reason,
        Some(FinishReason::Length),
        "a cut-off answer stays cut off"
    );
}

/// The ids Switchboard invents for Gemini's calls come back in the client's next turn and
/// must lead to the right function names.
#[test]
fn invented_call_ids_round_trip_to_function_names() {
    let body = include_bytes!("golden/gemini/response/function_calls.gemini.json");
    let answer = gemini::response::parse(body).unwrap();
    let calls = answer.choices[0].tool_calls.clone();
    let mut messages = vec![
        Message::text(Role::User, "go"),
        assistant_calling(calls.clone()),
    ];
    messages.extend(
        calls
            .iter()
            .map(|c| result(&c.id, vec![Part::Text("ok".into())])),
    );
    let out = write(&request(messages));
    let names: Vec<&Value> = out["contents"][2]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["functionResponse"]["name"])
        .collect();
    assert_eq!(names, vec!["get_weather", "get_time", "ping"]);
}

#[test]
fn a_thought_signature_rides_in_the_call_id_and_goes_back_on_the_call() {
    let answer = br#"{"candidates":[{"content":{"role":"model","parts":[
        {"functionCall":{"name":"get_weather","args":{"query":"Paris"}},"thoughtSignature":"c2lnbmF0dXJl"}
    ]},"finishReason":"STOP","index":0}]}"#;
    let parsed = switchboard_proto::gemini::response::parse(answer).unwrap();
    let call = parsed.choices[0].tool_calls[0].clone();
    assert!(call.id.ends_with("~ts~c2lnbmF0dXJl"), "{}", call.id);

    // The client echoes the id in its history and tool result; the signature goes back.
    let mut assistant = Message::new(Role::Assistant, vec![]);
    assistant.tool_calls = vec![call.clone()];
    let mut result = Message::text(Role::Tool, "sunny");
    result.tool_call_id = Some(call.id.clone());
    let req = ChatRequest {
        messages: vec![Message::text(Role::User, "weather?"), assistant, result],
        ..ChatRequest::default()
    };
    let body: serde_json::Value =
        serde_json::from_slice(&gemini::request::write(&req).unwrap()).unwrap();
    let model_part = &body["contents"][1]["parts"][0];
    assert_eq!(model_part["thoughtSignature"], "c2lnbmF0dXJl");
    assert_eq!(model_part["functionCall"]["name"], "get_weather");
    assert_eq!(
        body["contents"][2]["parts"][0]["functionResponse"]["name"],
        "get_weather"
    );
}

/// Nothing but a system prompt: refused here, saying why, rather than by the provider.
#[test]
fn a_request_of_only_system_messages_is_refused_naming_messages() {
    let req = request(vec![Message::text(Role::System, "be brief")]);
    let err = gemini::request::write(&req).unwrap_err();
    assert_eq!(err.param(), Some("messages"), "{err:?}");
    let err = switchboard_proto::anthropic::request::write(&req, "claude-x").unwrap_err();
    assert_eq!(err.param(), Some("messages"), "{err:?}");
}
