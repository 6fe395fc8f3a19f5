//! Shared helpers: start a mock, send requests, parse streams.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mock_provider::{MockConfig, MockServer};
use serde_json::Value;

pub async fn start() -> MockServer {
    MockServer::start(MockConfig::default()).await.unwrap()
}

pub async fn start_with(config: MockConfig) -> MockServer {
    MockServer::start(config).await.unwrap()
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A fully read response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = body.map_or_else(Bytes::new, |v| Bytes::from(v.to_string()));
    b.body(Full::new(body)).unwrap()
}

/// Sends and returns the response with its body still streaming.
pub async fn open(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> hyper::Response<Incoming> {
    client()
        .request(request(method, url, headers, body))
        .await
        .unwrap()
}

pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    let resp = open(method, url, headers, body).await;
    let (parts, body) = resp.into_parts();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    send(Method::POST, url, headers, Some(body)).await
}

pub async fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    send(Method::GET, url, headers, None).await
}

pub const OPENAI_AUTH: (&str, &str) = ("authorization", "Bearer sk-test");
pub const ANTHROPIC_AUTH: [(&str, &str); 2] =
    [("x-api-key", "sk-ant"), ("anthropic-version", "2023-06-01")];
pub const GEMINI_AUTH: (&str, &str) = ("x-goog-api-key", "g-key");

/// One SSE event: `event:` name (if any) and joined `data:` lines.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("bad event data ({e}): {}", self.data))
    }
}

/// Parses an SSE body (either `\n\n` or `\r\n\r\n` separated).
pub fn sse(body: &str) -> Vec<Event> {
    let normalized = body.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            Event {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

/// `words + messages`, the documented prompt-token rule.
pub fn prompt_tokens(texts: &[&str], messages: u64) -> u64 {
    texts
        .iter()
        .map(|t| t.split_whitespace().count() as u64)
        .sum::<u64>()
        + messages
}

/// Polls `cond` (no fixed sleeps for synchronisation) for up to 3 s.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Reads the body frame by frame until `done(text so far)` holds.
pub async fn read_until(body: &mut Incoming, mut done: impl FnMut(&str) -> bool) -> String {
    let mut text = String::new();
    while !done(&text) {
        let frame = tokio::time::timeout(Duration::from_secs(3), body.frame())
            .await
            .expect("stream stalled")
            .expect("stream ended")
            .expect("stream error");
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    text
}
