//! Bad input and broken upstreams get a clear error in the shape of the API called.

use std::time::Duration;

use bytes::Bytes;
use mock_provider::FaultRule;
use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A, KEY_LIMITED, client};

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hello"}]})
}

/// Every `data:` of a streamed chat completion of `model`, to its end.
async fn streamed(h: &Harness, model: &str) -> Vec<String> {
    let mut body = chat(model);
    body["stream"] = json!(true);
    h.stream(
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-test-acme-0001")],
        body,
    )
    .await
    .rest()
    .await
}

fn assert_openai_error(v: &Value, kind: &str) {
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    for member in ["param", "code"] {
        assert!(v["error"].get(member).is_some(), "{member} missing: {v}");
    }
}

fn assert_anthropic_error(v: &Value, kind: &str) {
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_in_each_apis_shape() {
    let h = Harness::start().await;
    let r = h
        .post_raw(
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-test-acme-0001")],
            Bytes::from("{\"model\": "),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_openai_error(&r.json(), "invalid_request_error");
    let r = h
        .post_raw(
            "/v1/messages",
            &[("x-api-key", KEY_A), ("anthropic-version", "2023-06-01")],
            Bytes::from("not json"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_anthropic_error(&r.json(), "invalid_request_error");
}

#[tokio::test]
async fn wrong_field_types_are_a_400_naming_the_field() {
    let h = Harness::start().await;
    let r = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            json!({"model": "gpt", "messages": [{"role": "user", "content": 42}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["param"], "messages[0].content", "{v}");
    let r = h
        .post_anthropic(
            KEY_A,
            json!({"model": "claude", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{}",
        r.text()
    );
    assert_eq!(h.mock.calls(), 0, "nothing invalid reaches the upstream");
}

#[tokio::test]
async fn missing_and_unknown_keys_are_a_401() {
    let h = Harness::start().await;
    let r = h
        .post_raw(
            "/v1/chat/completions",
            &[],
            Bytes::from(chat("gpt").to_string()),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_openai_error(&r.json(), "authentication_error");
    let r = h
        .post("/v1/chat/completions", "sk-not-a-key", chat("gpt"))
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .post_anthropic(
            "sk-not-a-key",
            json!({"model": "claude", "max_tokens": 5, "messages": []}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_anthropic_error(&r.json(), "authentication_error");
}

#[tokio::test]
async fn unknown_models_are_a_404_and_forbidden_ones_a_403() {
    let h = Harness::start().await;
    let r = h
        .post("/v1/chat/completions", KEY_A, chat("no-such-model"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["param"], "model");
    let r = h
        .post("/v1/chat/completions", KEY_A, chat("switched-off"))
        .await;
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("SWITCHBOARD_TEST_NEVER_SET is not set"),
        "{}",
        r.text()
    );
    let r = h
        .post("/v1/chat/completions", KEY_LIMITED, chat("claude"))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        h.post("/v1/chat/completions", KEY_LIMITED, chat("gpt"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_a_413() {
    let h = Harness::builder()
        .configure(|c| c.server.max_body_bytes = 1024)
        .start()
        .await;
    let big = json!({"model": "gpt", "messages": [{"role": "user", "content": "x".repeat(4096)}]});
    let r = h.post("/v1/chat/completions", KEY_A, big).await;
    assert_eq!(r.status, 413);
    assert_openai_error(&r.json(), "invalid_request_error");
    assert_eq!(h.mock.calls(), 0);
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, chat("gpt"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn upstream_failures_map_to_502_503_504_and_pass_429_retry_after() {
    let h = Harness::builder()
        .configure(|c| {
            c.providers
                .get_mut("mock-openai")
                .unwrap()
                .first_byte_timeout = Duration::from_millis(300);
            // One attempt and a breaker that never trips: this test is about how each
            // failure is shown, not about retries or breakers.
            let gpt = c.models.get_mut("gpt").unwrap();
            gpt.retry.max_attempts = 1;
            gpt.breaker.consecutive_failures = 1000;
            gpt.breaker.min_requests = 1000;
        })
        .start()
        .await;
    let cases: &[(&str, u16, &str)] = &[
        ("status=500", 502, "server_error"),
        ("status=503", 503, "server_error"),
        ("status=400", 400, "invalid_request_error"),
        ("hang", 504, "timeout"),
        ("bad-json", 502, "server_error"),
        ("cut-after=2", 502, "server_error"),
        // Last: a 429 with Retry-After opens the deployment's breaker until then.
        ("status=429;retry-after=7", 429, "rate_limit_error"),
    ];
    for (fault, status, kind) in cases {
        h.mock
            .add_fault(FaultRule::new(*fault).model("mock-gpt").times(1));
        let r = h.post("/v1/chat/completions", KEY_A, chat("gpt")).await;
        assert_eq!(r.status.as_u16(), *status, "{fault}: {}", r.text());
        assert_openai_error(&r.json(), kind);
        if fault.contains("retry-after") {
            assert_eq!(r.header("retry-after"), Some("7"));
        }
    }
}

#[tokio::test]
async fn provider_keys_never_appear_in_error_bodies() {
    let h = Harness::start().await;
    h.mock.add_fault(FaultRule::new("status=401").times(4));
    for alias in ["gpt", "azure-gpt", "claude", "gemini"] {
        let r = h.post("/v1/chat/completions", KEY_A, chat(alias)).await;
        assert_eq!(r.status, 502, "{alias}");
        let body = r.text();
        for secret in [
            "sk-provider-openai-secret",
            "azure-provider-secret",
            "sk-ant-provider-secret",
            "gemini-provider-secret",
        ] {
            assert!(!body.contains(secret), "{alias}: {body}");
        }
        assert!(body.contains("credentials"), "{alias}: {body}");
    }
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_an_error_event_in_each_shape() {
    let h = Harness::start().await;
    for alias in ["gpt", "claude", "gemini"] {
        h.mock.add_fault(FaultRule::new("cut-after=3").times(1));
        let events = streamed(&h, alias).await;
        let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
        assert!(last["error"]["message"].is_string(), "{alias}: {events:?}");
        assert!(
            !events.iter().any(|e| e == "[DONE]"),
            "{alias}: a broken stream must not claim success"
        );
        let text: String = events
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert!(
            !text.is_empty(),
            "{alias}: chunks before the cut were forwarded"
        );
    }
    h.mock.add_fault(FaultRule::new("cut-after=3").times(1));
    let body = json!({"model": "claude", "max_tokens": 16, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let r = h
        .post_raw(
            "/v1/messages",
            &[("x-api-key", KEY_A)],
            body.to_string().into(),
        )
        .await;
    let events = switchboard_tests::client::sse_events(&r.text());
    let (name, data) = events.last().unwrap();
    assert_eq!(name.as_deref(), Some("error"), "{events:?}");
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap()["type"],
        "error"
    );
}

/// Translated (Gemini to an OpenAI client) or passed through (OpenAI to OpenAI), a stream
/// the provider breaks with garbage ends with an error event, and every event the client
/// got before it is JSON.
#[tokio::test]
async fn garbage_from_the_upstream_stream_ends_with_an_error_event() {
    let h = Harness::start().await;
    for model in ["gemini", "gpt"] {
        for fault in ["bad-sse", "bad-json"] {
            h.mock.add_fault(FaultRule::new(fault).times(1));
            let events = streamed(&h, model).await;
            let last: Value = serde_json::from_str(events.last().unwrap()).unwrap_or(Value::Null);
            assert!(
                last["error"]["message"].is_string(),
                "{model} {fault}: {events:?}"
            );
            for e in &events {
                assert!(
                    serde_json::from_str::<Value>(e).is_ok(),
                    "{model} {fault}: {e}"
                );
            }
        }
    }
}

/// The same for an Anthropic client of an Anthropic provider (the stream passed through):
/// an `error` event the SDK can read, never the provider's garbage.
#[tokio::test]
async fn garbage_in_a_passed_through_anthropic_stream_ends_with_an_error_event() {
    let h = Harness::start().await;
    h.mock.add_fault(FaultRule::new("bad-json").times(1));
    let r = h
        .post_anthropic(
            "sk-test-acme-0001",
            json!({"model": "claude", "max_tokens": 32, "stream": true, "messages": [{"role": "user", "content": "hello"}]}),
        )
        .await;
    let events = switchboard_tests::client::sse_events(&r.text());
    let (name, data) = events.last().unwrap();
    assert_eq!(name.as_deref(), Some("error"), "{events:?}");
    for (name, data) in &events {
        assert!(
            serde_json::from_str::<Value>(data).is_ok(),
            "{name:?}: {data}"
        );
    }
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap()["type"],
        "error"
    );
}

#[tokio::test]
async fn a_silent_upstream_stream_times_out_instead_of_hanging_the_client() {
    let h = Harness::builder()
        .configure(|c| {
            c.providers
                .get_mut("mock-openai")
                .unwrap()
                .stream_idle_timeout = Duration::from_millis(300)
        })
        .start()
        .await;
    h.mock.add_fault(FaultRule::new("hang-after=2").times(1));
    let events = streamed(&h, "gpt").await;
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "timeout", "{events:?}");
}

/// The idle timeout is about silence, not length: a stream that runs well past it, with
/// chunks arriving more often than it, completes (the relay re-arms its idle timer from
/// the last chunk rather than on every chunk, so this is what keeps that honest).
#[tokio::test]
async fn a_stream_longer_than_the_idle_timeout_but_never_silent_that_long_completes() {
    let h = Harness::builder()
        .configure(|c| {
            let p = c.providers.get_mut("mock-openai").unwrap();
            p.stream_idle_timeout = Duration::from_millis(300);
            p.headers.insert(
                "x-mock-token-delay-ms".into(),
                switchboard_config::Secret::new("40"),
            );
            p.headers.insert(
                "x-mock-output-tokens".into(),
                switchboard_config::Secret::new("25"),
            );
        })
        .start()
        .await;
    let started = std::time::Instant::now();
    let events = streamed(&h, "gpt").await;
    assert!(
        started.elapsed() > Duration::from_millis(600),
        "the stream ran past twice the idle timeout"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| e.contains("\"error\"")),
        "{events:?}"
    );
}

/// An unknown route is a 404 that says so (not "model not found"); a known route with the
/// wrong method is a 405 naming the allowed ones; HEAD is served wherever GET is; errors
/// off the two chat APIs take Anthropic's shape when the client sends `anthropic-version`.
#[tokio::test]
async fn unknown_routes_and_methods_are_refused_for_what_they_are() {
    let h = Harness::start().await;
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    let r = h.get("/v1/chat/completions", &bearer).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    assert_openai_error(&r.json(), "invalid_request_error");
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    let r = h.post("/v1/models", KEY_A, json!({})).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET, HEAD");

    let r = h.post("/v2/nothing", KEY_A, json!({})).await;
    assert_eq!(r.status, 404);
    assert_openai_error(&r.json(), "invalid_request_error");
    assert_eq!(r.json()["error"]["code"], "unknown_url");

    let head = client::send(
        &h.client,
        client::request("HEAD", &h.url("/v1/models"), &bearer, Bytes::new()),
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    let anthropic = [("x-api-key", KEY_A), ("anthropic-version", "2023-06-01")];
    for path in ["/v1/models/no-such-model", "/v2/nothing"] {
        let r = h.get(path, &anthropic).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["type"], "error", "{path}: {}", r.json());
        assert_eq!(r.json()["error"]["type"], "not_found_error", "{path}");
    }
    let r = h
        .get("/v1/models", &[("anthropic-version", "2023-06-01")])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
    assert_eq!(r.json()["type"], "error");
}

/// A body in a coding the gateway does not decode is refused, never parsed as if it were
/// plain JSON: 415 for a content coding, 501 for a transfer coding.
#[tokio::test]
async fn a_compressed_body_is_refused_not_misread() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::start().await;
    let body = chat("gpt").to_string();
    let r = h
        .post_raw(
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer sk-test-acme-0001"),
                ("content-encoding", "gzip"),
            ],
            body.clone().into(),
        )
        .await;
    assert_eq!(r.status, 415);
    assert_openai_error(&r.json(), "invalid_request_error");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gzip")
    );
    let identity = h
        .post_raw(
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer sk-test-acme-0001"),
                ("content-encoding", "identity"),
            ],
            body.clone().into(),
        )
        .await;
    assert_eq!(identity.status, 200);

    let mut s = tokio::net::TcpStream::connect(h.gateway.addr)
        .await
        .unwrap();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY_A}\r\ntransfer-encoding: gzip, chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.read_to_end(&mut answer),
    )
    .await
    .expect("answered and closed")
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 501"), "{text}");
    assert!(
        text.contains(r#""type":"error""#),
        "Anthropic's shape: {text}"
    );
}

/// A stream cut before its first event fails the attempt with a message that says so once
/// (it read "the provider's answer broke off: the provider's stream broke: ...").
#[tokio::test]
async fn a_stream_cut_before_its_first_event_is_reported_once() {
    let h = Harness::start().await;
    h.mock
        .add_fault(FaultRule::new("cut-after=0").model("mock-gpt").times(10));
    let mut body = chat("gpt");
    body["stream"] = json!(true);
    let r = h.post("/v1/chat/completions", KEY_A, body).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert_eq!(message.matches("the provider's").count(), 1, "{message}");
}
