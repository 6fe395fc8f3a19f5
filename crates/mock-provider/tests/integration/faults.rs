//! Fault injection: per-request header, server-wide rules, every fault kind.

use std::time::{Duration, Instant};

use http::Method;
use http_body_util::BodyExt;
use mock_provider::{FaultRule, MockServer, Route};
use serde_json::{Value, json};

use crate::common::*;

pub fn chat(stream: bool) -> Value {
    json!({"model": "mock-gpt", "stream": stream, "max_tokens": 4, "messages": [{"role": "user", "content": "fault me"}]})
}

pub fn url(server: &MockServer) -> String {
    format!("{}/v1/chat/completions", server.url())
}

pub fn fault(spec: &str) -> [(&str, &str); 2] {
    [OPENAI_AUTH, ("x-mock-fault", spec)]
}

#[tokio::test]
async fn echo_auth_quotes_the_credentials_received_in_each_providers_shape() {
    let server = start().await;
    let r = post(&url(&server), &fault("echo-auth=400"), &chat(false)).await;
    assert_eq!(r.status, 400);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("authorization=Bearer sk-test"),
        "{message}"
    );
    let anthropic = format!("{}/v1/messages", server.url());
    let mut headers = ANTHROPIC_AUTH.to_vec();
    headers.push(("x-mock-fault", "echo-auth=500"));
    let body = json!({"model": "mock-claude", "max_tokens": 4, "messages": [{"role": "user", "content": "x"}]});
    let r = post(&anthropic, &headers, &body).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["type"], "error");
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("x-api-key={}", ANTHROPIC_AUTH[0].1)),
        "{message}"
    );
    let gemini = format!(
        "{}/v1beta/models/mock-gemini:generateContent?key=query-key",
        server.url()
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]});
    let r = post(&gemini, &[("x-mock-fault", "echo-auth=429")], &body).await;
    assert_eq!(r.status, 429);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("key=query-key"), "{message}");
}

#[tokio::test]
async fn status_faults_are_provider_shaped() {
    let server = start().await;
    let r = post(
        &url(&server),
        &fault("status=429;retry-after=7"),
        &chat(false),
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let r = post(&url(&server), &fault("status=500"), &chat(true)).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["type"], "server_error");
    assert!(r.header("retry-after").is_none());

    let anthropic =
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let a_url = format!("{}/v1/messages", server.url());
    let mut h = ANTHROPIC_AUTH.to_vec();
    h.push(("x-mock-fault", "status=529"));
    let r = post(&a_url, &h, &anthropic).await;
    assert_eq!(r.status, 529);
    assert_eq!(
        r.json(),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "mock fault: injected status 529"}})
    );
    h[2] = ("x-mock-fault", "status=429");
    assert_eq!(
        post(&a_url, &h, &anthropic).await.json()["error"]["type"],
        "rate_limit_error"
    );
    h[2] = ("x-mock-fault", "status=400");
    assert_eq!(
        post(&a_url, &h, &anthropic).await.json()["error"]["type"],
        "invalid_request_error"
    );

    let g_url = format!("{}/v1beta/models/g:generateContent", server.url());
    let g_body = json!({"contents": [{"parts": [{"text": "x"}]}]});
    for (code, status) in [
        (503, "UNAVAILABLE"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (400, "INVALID_ARGUMENT"),
    ] {
        let spec = format!("status={code}");
        let r = post(&g_url, &[GEMINI_AUTH, ("x-mock-fault", &spec)], &g_body).await;
        assert_eq!(r.status, code);
        assert_eq!(r.json()["error"]["status"], status);
        assert_eq!(r.json()["error"]["code"], code);
    }
}

#[tokio::test]
async fn malformed_spec_is_400() {
    let server = start().await;
    for spec in ["explode", "status=200", "cut-after=x"] {
        let r = post(&url(&server), &fault(spec), &chat(false)).await;
        assert_eq!(r.status, 400, "{spec}");
        assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    }
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn server_wide_rules() {
    let server = start().await;
    server.add_fault(FaultRule::new("status=503").times(2));
    assert_eq!(
        post(&url(&server), &[OPENAI_AUTH], &chat(false))
            .await
            .status,
        503
    );
    assert_eq!(
        post(&url(&server), &[OPENAI_AUTH], &chat(false))
            .await
            .status,
        503
    );
    assert_eq!(
        post(&url(&server), &[OPENAI_AUTH], &chat(false))
            .await
            .status,
        200,
        "rule expired"
    );

    // Model filter, route filter, first match wins, header wins over rules.
    server.add_fault(FaultRule::new("status=429").model("flaky"));
    server.add_fault(FaultRule::new("status=500").route(Route::AnthropicMessages));
    server.add_fault(FaultRule::new("status=502"));
    let mut flaky = chat(false);
    flaky["model"] = json!("flaky");
    assert_eq!(
        post(&url(&server), &[OPENAI_AUTH], &flaky).await.status,
        429
    );
    assert_eq!(
        post(&url(&server), &[OPENAI_AUTH], &chat(false))
            .await
            .status,
        502
    );
    let a =
        json!({"model": "flaky", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let a_url = format!("{}/v1/messages", server.url());
    assert_eq!(post(&a_url, &ANTHROPIC_AUTH, &a).await.status, 429);
    let mut a2 = a.clone();
    a2["model"] = json!("steady");
    assert_eq!(post(&a_url, &ANTHROPIC_AUTH, &a2).await.status, 500);
    assert_eq!(
        post(&url(&server), &fault("status=418"), &flaky)
            .await
            .status,
        418
    );
    // Gemini model filter uses the path model.
    server.clear_faults();
    server.add_fault(FaultRule::new("status=503").model("gem-b"));
    let g = json!({"contents": [{"parts": [{"text": "x"}]}]});
    let g_url = |m: &str| format!("{}/v1beta/models/{m}:generateContent", server.url());
    assert_eq!(post(&g_url("gem-a"), &[GEMINI_AUTH], &g).await.status, 200);
    assert_eq!(post(&g_url("gem-b"), &[GEMINI_AUTH], &g).await.status, 503);
    server.clear_faults();
    assert_eq!(post(&g_url("gem-b"), &[GEMINI_AUTH], &g).await.status, 200);
}

#[tokio::test]
async fn latency_knobs() {
    let server = start().await;
    let t = Instant::now();
    let r = post(
        &url(&server),
        &[OPENAI_AUTH, ("x-mock-ttft-ms", "60")],
        &chat(false),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(60));

    // Non-stream total = ttft + N * token_delay (N = 4 here).
    let t = Instant::now();
    post(
        &url(&server),
        &[OPENAI_AUTH, ("x-mock-token-delay-ms", "15")],
        &chat(false),
    )
    .await;
    assert!(t.elapsed() >= Duration::from_millis(60));

    // Stream: headers after ttft, chunks paced by the token delay.
    server.set_ttft(Duration::from_millis(30));
    let t = Instant::now();
    let resp = open(
        Method::POST,
        &url(&server),
        &[OPENAI_AUTH, ("x-mock-token-delay-ms", "20")],
        Some(&chat(true)),
    )
    .await;
    let headers_at = t.elapsed();
    assert!(headers_at >= Duration::from_millis(30));
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).ends_with("[DONE]\n\n"));
    assert!(
        t.elapsed() >= headers_at + Duration::from_millis(60),
        "3 paced gaps between 4 tokens"
    );
}
