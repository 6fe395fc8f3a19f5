//! What the latency EWMA and the per-attempt timeout measure: time to first byte for the
//! EWMA, the whole answer up to the point it can be committed for the timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use switchboard_tests::{Harness, KEY_A};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An OpenAI-compatible upstream that sends its response headers at once and its body
/// `body_after` later: fast to first byte, slow to the last. Returns its base URL and a
/// call counter.
async fn slow_body_upstream(body_after: Duration) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                // Read the request head and its Content-Length body before answering.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let body = json!({
                    "id": "chatcmpl-slow", "object": "chat.completion", "created": 0,
                    "model": "slow-body",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "late"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
                })
                .to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                if conn.write_all(head.as_bytes()).await.is_err() || conn.flush().await.is_err() {
                    return;
                }
                // The scenario itself, not synchronisation: the body is slow to come.
                tokio::time::sleep(body_after).await;
                let _ = conn.write_all(body.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, calls)
}

fn config(slow_url: &str, alias: &str) -> String {
    format!(
        r#"
[providers.slowbody]
kind = "openai-compatible"
base_url = "{slow_url}/v1"
api_key = "k"

[providers.lagging]
kind = "openai-compatible"
base_url = "{{MOCK}}/v1"
api_key = "k"
headers = {{ "x-mock-ttft-ms" = "60" }}

{alias}
"#
    )
}

fn ask(model: &str) -> serde_json::Value {
    json!({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "how fast?"}]})
}

#[tokio::test]
async fn latency_routing_ranks_plain_calls_by_time_to_first_byte_not_by_body_time() {
    // slow-body: headers at once, body after 200 ms. lag-model: headers after 60 ms, body
    // with them. By time to first byte slow-body is faster; by whole-body time it is not.
    let (url, slow_calls) = slow_body_upstream(Duration::from_millis(200)).await;
    let alias = r#"
[models.quickest]
strategy = "latency"
deployments = [{ provider = "slowbody", model = "slow-body" }, { provider = "lagging", model = "lag-model" }]
"#;
    let h = Harness::builder()
        .with_toml(&config(&url, alias))
        .start()
        .await;
    for _ in 0..8 {
        let r = h.post("/v1/chat/completions", KEY_A, ask("quickest")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Each is measured once (unmeasured deployments go first), then the one with the
    // faster first byte takes the rest.
    assert_eq!(h.mock.calls_for_model("lag-model"), 1);
    assert_eq!(slow_calls.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn the_per_attempt_timeout_covers_a_plain_calls_body_and_fails_a_stalled_one_over() {
    let (url, slow_calls) = slow_body_upstream(Duration::from_secs(5)).await;
    let alias = r#"
[models.bounded]
deployments = [{ provider = "slowbody", model = "slow-body" }, { provider = "mock-openai", model = "steady" }]
retry = { per_attempt_timeout = "300ms" }
"#;
    let h = Harness::builder()
        .with_toml(&config(&url, alias))
        .start()
        .await;
    let r = h.post("/v1/chat/completions", KEY_A, ask("bounded")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-upstream-model"), Some("steady"));
    assert_eq!(slow_calls.load(Ordering::SeqCst), 1);
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(
        record.route_log,
        ["slowbody/slow-body: timeout", "mock-openai/steady: ok"],
        "headers came in time, the body did not"
    );
}
