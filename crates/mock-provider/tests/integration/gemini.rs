//! Gemini generateContent, streaming (SSE and JSON array), auth.

use mock_provider::{MockConfig, Route};
use serde_json::{Value, json};

use crate::common::*;

fn body(prompt: &str) -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "system words"}]},
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "generationConfig": {"maxOutputTokens": 6}
    })
}

fn url(server: &mock_provider::MockServer, op: &str) -> String {
    format!("{}/v1beta/models/gemini-mock:{op}", server.url())
}

fn text_of(resp: &Value) -> String {
    resp["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[tokio::test]
async fn generate_shape() {
    let server = start().await;
    let r = post(
        &url(&server, "generateContent"),
        &[GEMINI_AUTH],
        &body("hi gemini"),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let cand = &v["candidates"][0];
    assert_eq!(cand["content"]["role"], "model");
    assert_eq!(cand["finishReason"], "MAX_TOKENS");
    assert_eq!(cand["index"], 0);
    assert_eq!(text_of(&v).split(' ').count(), 6);
    let prompt = prompt_tokens(&["system words", "hi gemini"], 2);
    assert_eq!(
        v["usageMetadata"],
        json!({"promptTokenCount": prompt, "candidatesTokenCount": 6, "totalTokenCount": prompt + 6})
    );
    assert_eq!(v["modelVersion"], "gemini-mock");
    assert_eq!(server.calls_for(Route::GeminiGenerate), 1);
    assert_eq!(server.calls_for_model("gemini-mock"), 1);
}

#[tokio::test]
async fn sse_stream_matches_generate() {
    let server = start().await;
    let whole = post(
        &url(&server, "generateContent"),
        &[GEMINI_AUTH],
        &body("stream"),
    )
    .await
    .json();
    let r = post(
        &format!("{}?alt=sse", url(&server, "streamGenerateContent")),
        &[GEMINI_AUTH],
        &body("stream"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let raw = r.text();
    assert!(raw.starts_with("data: {") && raw.ends_with("}\r\n\r\n"));
    let events: Vec<Value> = sse(&raw).iter().map(Event::json).collect();
    assert_eq!(events.len(), 6);
    let streamed: String = events.iter().map(text_of).collect();
    assert_eq!(streamed, text_of(&whole));
    for e in &events[..5] {
        assert!(e["candidates"][0].get("finishReason").is_none());
        assert_eq!(e["modelVersion"], "gemini-mock");
    }
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(last["usageMetadata"], whole["usageMetadata"]);
    assert_eq!(server.calls_for(Route::GeminiStream), 1);
}

#[tokio::test]
async fn array_stream_without_alt() {
    let server = start().await;
    let r = post(
        &url(&server, "streamGenerateContent"),
        &[GEMINI_AUTH],
        &body("array"),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let raw = r.text();
    assert!(raw.starts_with("[{") && raw.ends_with("}]"));
    assert!(raw.contains("},\r\n{"));
    let arr = r.json();
    let arr = arr.as_array().unwrap();
    assert_eq!(arr.len(), 6);
    assert_eq!(arr[5]["usageMetadata"]["candidatesTokenCount"], 6);
}

#[tokio::test]
async fn json_mode_and_tools() {
    let server = start().await;
    let mut b = body("structured");
    b["generationConfig"]["responseMimeType"] = json!("application/json");
    let v = post(&url(&server, "generateContent"), &[GEMINI_AUTH], &b)
        .await
        .json();
    let parsed: Value = serde_json::from_str(&text_of(&v)).unwrap();
    assert!(parsed["answer"].is_string());
    let events = sse(&post(
        &format!("{}?alt=sse", url(&server, "streamGenerateContent")),
        &[GEMINI_AUTH],
        &b,
    )
    .await
    .text());
    let streamed: String = events.iter().map(|e| text_of(&e.json())).collect();
    assert_eq!(streamed, text_of(&v));

    let mut t = body("find a tool for me");
    t["tools"] =
        json!([{"functionDeclarations": [{"name": "finder", "parameters": {"type": "object"}}]}]);
    let v = post(&url(&server, "generateContent"), &[GEMINI_AUTH], &t)
        .await
        .json();
    let part = &v["candidates"][0]["content"]["parts"][0];
    assert_eq!(
        part["functionCall"],
        json!({"name": "finder", "args": {"query": "system words find"}})
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 3);
    let events = sse(&post(
        &format!("{}?alt=sse", url(&server, "streamGenerateContent")),
        &[GEMINI_AUTH],
        &t,
    )
    .await
    .text());
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].json()["candidates"][0]["content"]["parts"][0],
        *part
    );

    // Mode NONE disables the keyword trigger.
    t["toolConfig"] = json!({"functionCallingConfig": {"mode": "NONE"}});
    let v = post(&url(&server, "generateContent"), &[GEMINI_AUTH], &t)
        .await
        .json();
    assert!(v["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[tokio::test]
async fn auth() {
    let server = start_with(MockConfig {
        require_key: Some("good".into()),
        ..MockConfig::default()
    })
    .await;
    let r = post(&url(&server, "generateContent"), &[], &body("x")).await;
    assert_eq!(r.status, 403);
    let v = r.json();
    assert_eq!(v["error"]["code"], 403);
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");
    assert!(v["error"]["message"].is_string());
    let r = post(
        &url(&server, "generateContent"),
        &[("x-goog-api-key", "bad")],
        &body("x"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    let r = post(
        &format!("{}?key=good", url(&server, "generateContent")),
        &[],
        &body("x"),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        &format!("{}?alt=sse&key=good", url(&server, "streamGenerateContent")),
        &[],
        &body("x"),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        &url(&server, "generateContent"),
        &[("x-goog-api-key", "good")],
        &json!({"contents": "nope"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
}
