//! Upstream deadlines and body limits, answered in the shape of the API called: a
//! provider slower than its `total_timeout` is a 504, a chunked body (no
//! `Content-Length`) over `max_body_bytes` a 413.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Providers whose every call is answered 1.5 s late (the mock's `x-mock-ttft-ms` knob,
/// sent by the provider's `headers`) against a 300 ms `total_timeout`, and a first-byte
/// timeout far longer, so only the total timeout can end the wait.
const SLOW: &str = r#"
[providers.slow-openai]
kind = "openai-compatible"
base_url = "{MOCK}/v1"
api_key = "sk-provider-openai-secret"
total_timeout = "300ms"
first_byte_timeout = "30s"
headers = { "x-mock-ttft-ms" = "1500" }

[providers.slow-anthropic]
kind = "anthropic"
base_url = "{MOCK}"
api_key = "sk-ant-provider-secret"
total_timeout = "300ms"
first_byte_timeout = "30s"
headers = { "x-mock-ttft-ms" = "1500" }

[models.slow-gpt]
deployments = [{ provider = "slow-openai", model = "mock-gpt" }]
retry = { max_attempts = 1 }

[models.slow-claude]
deployments = [{ provider = "slow-anthropic", model = "mock-claude" }]
retry = { max_attempts = 1 }
"#;

fn chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]})
}

#[tokio::test]
async fn an_upstream_slower_than_its_total_timeout_is_a_504_in_the_callers_shape() {
    let h = Harness::builder().with_toml(SLOW).start().await;
    let started = Instant::now();
    let r = h
        .post("/v1/chat/completions", KEY_A, chat("slow-gpt"))
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["type"], "timeout", "OpenAI's shape: {v}");
    assert!(
        took < Duration::from_millis(1400),
        "answered at the 300 ms deadline, not after the provider's 1.5 s: {took:?}"
    );

    let started = Instant::now();
    let r = h.post_anthropic(KEY_A, chat("slow-claude")).await;
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "error", "Anthropic's shape: {v}");
    assert_eq!(v["error"]["type"], "timeout_error", "{v}");
    assert!(took < Duration::from_millis(1400), "{took:?}");

    // A stream waits for its headers under the same deadline.
    let mut body = chat("slow-gpt");
    body["stream"] = json!(true);
    let r = h.post("/v1/chat/completions", KEY_A, body).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "timeout");
}

/// Sends `body` to `path` in HTTP/1.1 chunks of 512 bytes, with no `Content-Length`, and
/// returns the response's status line and body.
async fn post_chunked(h: &Harness, path: &str, auth: &str, body: &[u8]) -> (String, Value) {
    let mut s = TcpStream::connect(h.gateway.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\n{auth}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(512) {
        // The gateway may answer and close before it has read everything; later writes
        // failing is fine, the answer is what is checked.
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if let Some(v) = parse_body(&raw) {
                return v;
            }
        }
        parse_body(&raw).unwrap_or(Value::Null)
    })
    .await
    .map(|v| {
        let text = String::from_utf8_lossy(&raw).into_owned();
        (text.lines().next().unwrap_or("").to_owned(), v)
    })
    .expect("the gateway answers")
}

/// The JSON body of a complete HTTP/1.1 response with a `Content-Length`.
fn parse_body(raw: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let len: usize = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .and_then(|v| v.trim().parse().ok())
    })?;
    (body.len() >= len)
        .then(|| serde_json::from_str(&body[..len]).ok())
        .flatten()
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_a_413_in_each_apis_shape() {
    let h = Harness::builder()
        .configure(|c| c.server.max_body_bytes = 1024)
        .start()
        .await;
    let big = json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "x".repeat(4096)}]}).to_string();

    let (status, v) = post_chunked(
        &h,
        "/v1/chat/completions",
        "authorization: Bearer sk-test-acme-0001",
        big.as_bytes(),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}: {v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");

    let big_claude = big.replace("\"gpt\"", "\"claude\"");
    let (status, v) = post_chunked(
        &h,
        "/v1/messages",
        "x-api-key: sk-test-acme-0001",
        big_claude.as_bytes(),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}: {v}");
    assert_eq!(v["type"], "error", "Anthropic's shape: {v}");
    assert_eq!(v["error"]["type"], "request_too_large", "{v}");
    assert_eq!(
        h.mock.calls(),
        0,
        "nothing over the limit reaches a provider"
    );

    // A chunked body under the limit is read and served.
    let small = chat("gpt").to_string();
    let (status, v) = post_chunked(
        &h,
        "/v1/chat/completions",
        "authorization: Bearer sk-test-acme-0001",
        small.as_bytes(),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}: {v}");
    assert_eq!(v["object"], "chat.completion");
}
