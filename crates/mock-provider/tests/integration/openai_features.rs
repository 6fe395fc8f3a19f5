//! OpenAI JSON mode, tool calls and multiple choices.

use serde_json::{Value, json};

use crate::common::*;
use crate::openai::{chat, url};

#[tokio::test]
async fn json_mode_stream_and_whole() {
    let server = start().await;
    let mut body = chat("json please");
    body["response_format"] = json!({"type": "json_object"});
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed: Value = serde_json::from_str(&content).unwrap();
    assert_eq!(parsed["answer"].as_str().unwrap().split(' ').count(), 16);
    body["stream"] = json!(true);
    let events = sse(&post(&url(&server), &[OPENAI_AUTH], &body).await.text());
    let streamed: String = events[..events.len() - 1]
        .iter()
        .filter_map(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(streamed, content);
}

fn tool_body(prompt: &str) -> Value {
    json!({
        "model": "mock-gpt",
        "messages": [{"role": "user", "content": prompt}],
        "tools": [
            {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "weather"}}
        ]
    })
}

#[tokio::test]
async fn tool_calls() {
    let server = start().await;
    // Keyword trigger picks the first tool.
    let v = post(
        &url(&server),
        &[OPENAI_AUTH],
        &tool_body("use a tool for cats and dogs"),
    )
    .await
    .json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "search");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"query": "use a tool"}));
    assert_eq!(v["usage"]["completion_tokens"], 3);

    // No keyword, no forced choice: plain text.
    let v = post(&url(&server), &[OPENAI_AUTH], &tool_body("just chat"))
        .await
        .json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // tool_choice none beats the keyword.
    let mut body = tool_body("tool time");
    body["tool_choice"] = json!("none");
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    assert!(v["choices"][0]["message"]["tool_calls"].is_null());
    // Named function is used.
    body["tool_choice"] = json!({"type": "function", "function": {"name": "weather"}});
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "weather"
    );

    // Streaming: header delta, then 3 argument pieces, then finish.
    body["stream"] = json!(true);
    body["tool_choice"] = json!("required");
    let events = sse(&post(&url(&server), &[OPENAI_AUTH], &body).await.text());
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    assert_eq!(chunks.len(), 5);
    let first = &chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(first["function"]["name"], "search");
    assert_eq!(first["function"]["arguments"], "");
    assert!(first["id"].as_str().unwrap().starts_with("call_"));
    let args: String = chunks[1..4]
        .iter()
        .map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"query": "tool time"})
    );
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn multiple_choices() {
    let server = start().await;
    let mut body = chat("many");
    body["n"] = json!(3);
    body["max_tokens"] = json!(5);
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["message"]["content"], choices[0]["message"]["content"]);
    }
    assert_eq!(v["usage"]["completion_tokens"], 15);
    body["stream"] = json!(true);
    let events = sse(&post(&url(&server), &[OPENAI_AUTH], &body).await.text());
    let mut texts = [String::new(), String::new(), String::new()];
    for e in &events[..events.len() - 1] {
        let c = e.json();
        let idx = c["choices"][0]["index"].as_u64().unwrap() as usize;
        if let Some(s) = c["choices"][0]["delta"]["content"].as_str() {
            texts[idx].push_str(s);
        }
    }
    for t in &texts {
        assert_eq!(t, choices[0]["message"]["content"].as_str().unwrap());
    }
}
