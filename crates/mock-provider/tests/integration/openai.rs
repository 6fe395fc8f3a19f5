//! OpenAI chat completions, models, auth and protocol coverage.

use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mock_provider::{MockConfig, Route};
use serde_json::{Value, json};

use crate::common::*;

pub fn chat(prompt: &str) -> Value {
    json!({
        "model": "mock-gpt",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": prompt}]}
        ]
    })
}

pub fn url(server: &mock_provider::MockServer) -> String {
    format!("{}/v1/chat/completions", server.url())
}

#[tokio::test]
async fn non_stream_shape_and_usage() {
    let server = start().await;
    let r = post(&url(&server), &[OPENAI_AUTH], &chat("hello there world")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "mock-gpt");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["finish_reason"], "stop");
    let text = choice["message"]["content"].as_str().unwrap();
    assert_eq!(text.split(' ').count(), 16);
    let usage = &v["usage"];
    assert_eq!(
        usage["prompt_tokens"],
        prompt_tokens(&["be brief", "hello there world"], 2)
    );
    assert_eq!(usage["completion_tokens"], 16);
    assert_eq!(
        usage["total_tokens"],
        usage["prompt_tokens"].as_u64().unwrap() + 16
    );

    // The documented rule: prompt pieces joined with '\n', seeded generator.
    assert_eq!(
        text,
        mock_provider::content::text_for("be brief\nhello there world", 16)
    );
    // Deterministic: same prompt, same text; different prompt, different text.
    let again = post(&url(&server), &[OPENAI_AUTH], &chat("hello there world"))
        .await
        .json();
    assert_eq!(again["choices"][0]["message"]["content"], text);
    let other = post(&url(&server), &[OPENAI_AUTH], &chat("something else"))
        .await
        .json();
    assert_ne!(other["choices"][0]["message"]["content"], text);
    assert_eq!(server.calls_for(Route::OpenAiChat), 3);
    assert_eq!(server.calls_for_model("mock-gpt"), 3);
}

#[tokio::test]
async fn stream_matches_non_stream() {
    let server = start().await;
    let body = chat("stream me please");
    let whole = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let r = post(&url(&server), &[OPENAI_AUTH], &sbody).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = r.text();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let events = sse(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let mut content = String::new();
    let mut content_chunks = 0;
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["id"], chunks[0]["id"]);
        assert!(c.get("usage").is_none(), "no usage without include_usage");
        if let Some(piece) = c["choices"][0]["delta"]["content"].as_str()
            && !piece.is_empty()
        {
            content_chunks += 1;
            content.push_str(piece);
        }
    }
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["delta"], json!({}));
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(content, whole["choices"][0]["message"]["content"]);
    assert_eq!(content_chunks, whole["usage"]["completion_tokens"]);
}

#[tokio::test]
async fn include_usage_adds_final_chunk() {
    let server = start().await;
    let mut body = chat("count my usage");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body["max_tokens"] = json!(4);
    let r = post(&url(&server), &[OPENAI_AUTH], &body).await;
    let events = sse(&r.text());
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    let (usage_chunk, rest) = chunks.split_last().unwrap();
    for c in rest {
        assert_eq!(c["usage"], Value::Null);
        assert!(c.as_object().unwrap().contains_key("usage"));
    }
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 4);
    assert_eq!(
        usage_chunk["usage"]["prompt_tokens"],
        prompt_tokens(&["be brief", "count my usage"], 2)
    );
    let finish = rest.last().unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    let pieces = rest
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert_eq!(pieces, 4);
}

#[tokio::test]
async fn output_length_rules() {
    let server = start().await;
    let mut body = chat("x");
    body["max_completion_tokens"] = json!(3);
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    body["max_completion_tokens"] = json!(500);
    let v = post(&url(&server), &[OPENAI_AUTH], &body).await.json();
    assert_eq!(v["usage"]["completion_tokens"], 16);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let v = post(
        &url(&server),
        &[OPENAI_AUTH, ("x-mock-output-tokens", "40")],
        &body,
    )
    .await
    .json();
    assert_eq!(v["usage"]["completion_tokens"], 40);
    assert_eq!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        40
    );
    let r = post(
        &url(&server),
        &[OPENAI_AUTH, ("x-mock-output-tokens", "lots")],
        &body,
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn auth_and_bad_requests() {
    let server = start_with(MockConfig {
        require_key: Some("sk-right".into()),
        ..MockConfig::default()
    })
    .await;
    let r = post(&url(&server), &[], &chat("x")).await;
    assert_eq!(r.status, 401);
    let v = r.json();
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["type"].is_string());
    assert_eq!(v["error"]["param"], Value::Null);
    assert!(v["error"].as_object().unwrap().contains_key("code"));
    let r = post(
        &url(&server),
        &[("authorization", "Bearer sk-wrong")],
        &chat("x"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    let ok = [("authorization", "Bearer sk-right")];
    assert_eq!(post(&url(&server), &ok, &chat("x")).await.status, 200);

    // Malformed JSON -> 400 in OpenAI shape.
    let resp = client()
        .request(
            http::Request::post(url(&server))
                .header("authorization", "Bearer sk-right")
                .body(Full::new(Bytes::from_static(b"{not json")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    // Missing model -> 400.
    let r = post(
        &url(&server),
        &ok,
        &json!({"messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    // All of them reached the mock.
    assert_eq!(server.calls_for(Route::OpenAiChat), 5);
}

#[tokio::test]
async fn models_and_unknown_paths() {
    let server = start().await;
    let r = get(&format!("{}/v1/models", server.url()), &[OPENAI_AUTH]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"][0],
        json!({"id": "mock-gpt", "object": "model", "created": 0, "owned_by": "mock"})
    );
    assert_eq!(
        get(&format!("{}/v1/models", server.url()), &[])
            .await
            .status,
        401
    );
    let r = get(&format!("{}/v2/whatever", server.url()), &[OPENAI_AUTH]).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v2/whatever")
    );
    let r = send(Method::GET, &url(&server), &[OPENAI_AUTH], None).await;
    assert_eq!(r.status, 404);
    // 404s are not calls.
    assert_eq!(server.calls(), 2);
}

#[tokio::test]
async fn h2c_and_keep_alive() {
    let server = start().await;
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let mut body = chat("over h2");
    for stream in [false, true] {
        body["stream"] = json!(stream);
        let resp = h2
            .request(request(
                Method::POST,
                &url(&server),
                &[OPENAI_AUTH],
                Some(&body),
            ))
            .await
            .unwrap();
        assert_eq!(resp.version(), http::Version::HTTP_2);
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(!bytes.is_empty());
    }
    // Many requests over one HTTP/1.1 client reuse connections.
    let c = client();
    body["stream"] = json!(false);
    for _ in 0..20 {
        let resp = c
            .request(request(
                Method::POST,
                &url(&server),
                &[OPENAI_AUTH],
                Some(&body),
            ))
            .await
            .unwrap();
        assert_eq!(resp.version(), http::Version::HTTP_11);
        resp.into_body().collect().await.unwrap();
    }
    assert_eq!(server.calls(), 22);
}
