//! Faults below the status line: hangs, cuts, broken JSON and SSE.

use std::time::Duration;

use http::Method;
use http_body_util::BodyExt;
use mock_provider::MockServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;
use crate::faults::{chat, fault, url};

/// Writes a raw HTTP/1.1 request and returns the stream.
async fn raw(server: &MockServer, fault: &str, body: &Value) -> TcpStream {
    let body = body.to_string();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\ncontent-type: application/json\r\nx-mock-fault: {fault}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn hang_sends_nothing_and_does_not_leak() {
    let server = start().await;
    let mut s = raw(&server, "hang", &chat(false)).await;
    let mut buf = [0u8; 64];
    let got = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
    assert!(got.is_err(), "no response bytes expected while hanging");
    eventually(|| server.hanging() == 1).await;
    drop(s);
    eventually(|| server.hanging() == 0).await;
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn hang_after_streams_n_chunks_then_stalls() {
    let server = start().await;
    let resp = open(
        Method::POST,
        &url(&server),
        &fault("hang-after=2"),
        Some(&chat(true)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let content_events =
        |t: &str| t.matches("\"content\":\"").count() - usize::from(t.contains("\"content\":\"\""));
    let text = read_until(&mut body, |t| {
        t.contains("\"role\"") && content_events(t) >= 2
    })
    .await;
    assert_eq!(content_events(&text), 2);
    let more = tokio::time::timeout(Duration::from_millis(200), body.frame()).await;
    assert!(more.is_err(), "stream must stall after 2 chunks");
    eventually(|| server.hanging() == 1).await;
    drop(body);
    eventually(|| server.hanging() == 0).await;
}

#[tokio::test]
async fn cut_after_aborts_stream() {
    let server = start().await;
    // hyper client sees an error instead of a clean end.
    let resp = open(
        Method::POST,
        &url(&server),
        &fault("cut-after=1"),
        Some(&chat(true)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.into_body().collect().await.is_err());
    // Raw bytes: one content chunk, no [DONE], no terminating 0-chunk.
    let mut s = raw(&server, "cut-after=1", &chat(true)).await;
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut bytes))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"));
    assert!(text.contains("transfer-encoding: chunked"));
    assert!(!text.contains("[DONE]"));
    assert!(!text.ends_with("0\r\n\r\n"));
    assert_eq!(text.matches("\"content\":\"").count(), 2); // role chunk + 1 token
}

#[tokio::test]
async fn cut_after_non_stream_truncates_body() {
    let server = start().await;
    let mut s = raw(&server, "cut-after=1", &chat(false)).await;
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut bytes))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        body.len() < declared && !body.is_empty(),
        "{} of {declared}",
        body.len()
    );
}

#[tokio::test]
async fn bad_json_and_bad_sse() {
    let server = start().await;
    let r = post(&url(&server), &fault("bad-json"), &chat(false)).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    let r = post(&url(&server), &fault("bad-json"), &chat(true)).await;
    let text = r.text();
    assert!(text.contains("data: {not json\n\n"));
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "stream continues after the bad event"
    );
    let bad_at = text.find("{not json").unwrap();
    assert_eq!(text[..bad_at].matches("\"content\":\"").count(), 2); // role + first token

    let resp = open(
        Method::POST,
        &url(&server),
        &fault("bad-sse"),
        Some(&chat(true)),
    )
    .await;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("this line has no field name"));
    assert!(!text.contains("[DONE]"));
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "contains non-UTF-8 garbage"
    );
}

#[tokio::test]
async fn stream_faults_on_anthropic_and_gemini() {
    let server = start().await;
    let a = json!({"model": "c", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut h = ANTHROPIC_AUTH.to_vec();
    h.push(("x-mock-fault", "bad-json"));
    let text = post(&format!("{}/v1/messages", server.url()), &h, &a)
        .await
        .text();
    assert!(text.contains("event: content_block_delta\ndata: {not json\n\n"));
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

    let g = json!({"contents": [{"parts": [{"text": "x"}]}]});
    let g_url = format!("{}/v1beta/models/g:streamGenerateContent", server.url());
    let resp = open(
        Method::POST,
        &g_url,
        &[GEMINI_AUTH, ("x-mock-fault", "cut-after=2")],
        Some(&g),
    )
    .await;
    assert!(resp.into_body().collect().await.is_err());
    let text = post(&g_url, &[GEMINI_AUTH, ("x-mock-fault", "bad-json")], &g)
        .await
        .text();
    assert!(text.contains(",\r\n{not json"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn shutdown_releases_hung_requests() {
    let server = start().await;
    let mut hung = raw(&server, "hang", &chat(false)).await;
    let streaming = open(
        Method::POST,
        &url(&server),
        &fault("hang-after=1"),
        Some(&chat(true)),
    )
    .await;
    eventually(|| server.hanging() == 2).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(3), server.shutdown())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "hangs end on shutdown, no grace wait"
    );
    // The raw connection is closed without a response.
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(1), hung.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf.is_empty());
    // The stalled stream ends with an error rather than stalling forever.
    let res = tokio::time::timeout(Duration::from_secs(1), streaming.into_body().collect()).await;
    assert!(res.unwrap().is_err());
}
