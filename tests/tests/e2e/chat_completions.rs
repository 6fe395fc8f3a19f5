//! An OpenAI client reaches every upstream family and gets the same answer the upstream
//! gave, complete or streamed.

use serde_json::{Value, json};
use switchboard_tests::config::CHAT_ALIASES;
use switchboard_tests::{Harness, KEY_A};

fn ask(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "name three colours of the rainbow"}
        ],
        "max_tokens": 12
    })
}

fn bearer() -> [(&'static str, &'static str); 1] {
    [("authorization", "Bearer sk-test-acme-0001")]
}

#[tokio::test]
async fn every_upstream_answers_an_openai_client_with_the_upstreams_words() {
    let h = Harness::start().await;
    let oracle = h.direct_openai(ask("mock-gpt")).await.json();
    let expected = oracle["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    for alias in CHAT_ALIASES {
        let r = h.post("/v1/chat/completions", KEY_A, ask(alias)).await;
        assert_eq!(r.status, 200, "{alias}: {}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "chat.completion", "{alias}");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant", "{alias}");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            expected.as_str(),
            "{alias}"
        );
        assert_eq!(
            v["choices"][0]["finish_reason"], "length",
            "{alias}: max_tokens 12 < 16 words"
        );
        assert_eq!(v["usage"]["completion_tokens"], 12, "{alias}");
        assert_eq!(
            v["usage"]["prompt_tokens"], oracle["usage"]["prompt_tokens"],
            "{alias}"
        );
    }
    assert_eq!(h.mock.calls(), 1 + CHAT_ALIASES.len() as u64);
}

#[tokio::test]
async fn streamed_text_equals_the_complete_answer_for_every_upstream() {
    let h = Harness::start().await;
    for alias in CHAT_ALIASES {
        let complete = h
            .post("/v1/chat/completions", KEY_A, ask(alias))
            .await
            .json();
        let mut body = ask(alias);
        body["stream"] = json!(true);
        let mut s = h.stream("/v1/chat/completions", &bearer(), body).await;
        assert_eq!(s.status, 200, "{alias}");
        assert_eq!(s.headers["content-type"], "text/event-stream");
        let events = s.rest().await;
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{alias}: {events:?}"
        );
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(
            text,
            complete["choices"][0]["message"]["content"]
                .as_str()
                .unwrap(),
            "{alias}"
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk"),
            "{alias}"
        );
        assert!(
            chunks
                .iter()
                .any(|c| c["choices"][0]["finish_reason"] == "length"),
            "{alias}"
        );
        assert!(
            chunks
                .iter()
                .all(|c| c.get("usage").is_none_or(Value::is_null)),
            "{alias}: no usage chunk unasked"
        );
    }
}

#[tokio::test]
async fn usage_chunk_is_sent_only_when_the_client_asks_but_always_requested_upstream() {
    let h = Harness::start().await;
    for alias in CHAT_ALIASES {
        let mut body = ask(alias);
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let events = h
            .stream("/v1/chat/completions", &bearer(), body)
            .await
            .rest()
            .await;
        let usage_chunk: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        assert_eq!(usage_chunk["choices"], json!([]), "{alias}: {events:?}");
        assert_eq!(usage_chunk["usage"]["completion_tokens"], 12, "{alias}");
        assert!(
            usage_chunk["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
            "{alias}"
        );
    }
    // The OpenAI-family upstream was asked for usage even when the client did not ask.
    let mut body = ask("gpt");
    body["stream"] = json!(true);
    h.stream("/v1/chat/completions", &bearer(), body)
        .await
        .rest()
        .await;
    let seen = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(seen["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn openai_passthrough_replaces_the_model_and_keeps_everything_else() {
    let h = Harness::start().await;
    let mut body = ask("gpt");
    body["logit_bias"] = json!({"50256": -100});
    body["x_vendor_knob"] = json!({"depth": 3});
    let r = h.post("/v1/chat/completions", KEY_A, body).await;
    assert_eq!(r.status, 200);
    let seen = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(seen["model"], "mock-gpt");
    assert_eq!(seen["logit_bias"], json!({"50256": -100}));
    assert_eq!(seen["x_vendor_knob"], json!({"depth": 3}));
}

#[tokio::test]
async fn responses_name_the_deployment_that_served_them() {
    let h = Harness::start().await;
    let r = h.post("/v1/chat/completions", KEY_A, ask("claude")).await;
    assert_eq!(r.header("x-switchboard-provider"), Some("mock-anthropic"));
    assert_eq!(
        r.header("x-switchboard-upstream-model"),
        Some("mock-claude")
    );
    assert_eq!(r.header("x-switchboard-attempts"), Some("1"));
    assert!(
        r.header("x-request-id")
            .is_some_and(|id| id.starts_with("req_"))
    );
    let r = h
        .post_raw(
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer sk-test-acme-0001"),
                ("x-request-id", "trace-abc-123"),
            ],
            ask("gpt").to_string().into(),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
}

#[tokio::test]
async fn each_provider_receives_its_own_key_header_and_path() {
    let h = Harness::start().await;
    for alias in CHAT_ALIASES {
        assert_eq!(
            h.post("/v1/chat/completions", KEY_A, ask(alias))
                .await
                .status,
            200
        );
    }
    let seen = h.mock.requests();
    let find = |p: &str| {
        seen.iter()
            .find(|r| r.path.contains(p))
            .unwrap_or_else(|| panic!("no call to {p}"))
    };
    let openai = find("/v1/chat/completions");
    assert_eq!(
        openai.header("authorization"),
        Some("Bearer sk-provider-openai-secret")
    );
    let azure = find("/openai/deployments/mock-deployment/chat/completions");
    assert_eq!(azure.header("api-key"), Some("azure-provider-secret"));
    assert!(
        azure
            .query
            .as_deref()
            .unwrap()
            .contains("api-version=2024-10-21")
    );
    let anthropic = find("/v1/messages");
    assert_eq!(
        anthropic.header("x-api-key"),
        Some("sk-ant-provider-secret")
    );
    assert_eq!(anthropic.header("anthropic-version"), Some("2023-06-01"));
    let gemini = find("/v1beta/models/mock-gemini:generateContent");
    assert_eq!(
        gemini.header("x-goog-api-key"),
        Some("gemini-provider-secret")
    );
    // The client's key never travels upstream.
    assert!(
        seen.iter()
            .all(|r| r.headers.values().all(|v| !v.contains("sk-test-acme")))
    );
}

#[tokio::test]
async fn the_offline_model_answers_complete_and_streamed() {
    let h = Harness::start().await;
    let r = h.post("/v1/chat/completions", KEY_A, ask("demo")).await;
    assert_eq!(r.status, 200);
    let text = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("Hello from Switchboard's offline demo model"),
        "{text}"
    );
    let mut body = ask("demo");
    body["stream"] = json!(true);
    let events = h
        .stream("/v1/chat/completions", &bearer(), body)
        .await
        .rest()
        .await;
    let streamed: String = events[..events.len() - 1]
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(streamed, text);
    assert_eq!(
        h.mock.calls(),
        0,
        "the offline model makes no upstream call"
    );
}

#[tokio::test]
async fn stream_chunks_reach_the_client_while_the_upstream_is_still_generating() {
    let h = Harness::start().await;
    for alias in CHAT_ALIASES {
        // The upstream sends three chunks and then never finishes: whatever reaches the
        // client was forwarded as it arrived, not after the end of the stream.
        h.mock
            .add_fault(mock_provider::FaultRule::new("hang-after=3").times(1));
        let mut body = ask(alias);
        body["stream"] = json!(true);
        let mut s = h.stream("/v1/chat/completions", &bearer(), body).await;
        let mut text = String::new();
        while text.split_whitespace().count() < 3 {
            let data = s
                .next_data()
                .await
                .unwrap_or_else(|| panic!("{alias}: stream ended early"));
            let chunk: Value = serde_json::from_str(&data).unwrap();
            text.push_str(
                chunk["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or(""),
            );
        }
        assert_eq!(
            h.mock.hanging(),
            1,
            "{alias}: the upstream is still mid-stream"
        );
        drop(s);
    }
}
