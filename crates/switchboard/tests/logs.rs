//! The real binary's logs: with `SWITCHBOARD_LOG=debug` and `--log-format json`, every
//! finished call is one JSON line on stderr carrying the request id its response header
//! carried, and no line holds prompt text or key material.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mock_provider::{MockConfig, MockServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const KEY: &str = "sk-logs-test-secret-0001";
/// A word only the prompt holds, to look for in the logs.
const PROMPT_MARKER: &str = "zanzibarquokka";

fn config(mock: &str, data: &std::path::Path) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
[admin]
listen = "127.0.0.1:0"
[providers.mock]
kind = "openai-compatible"
base_url = "{mock}/v1"
api_key = "sk-provider-logs-secret"
[models.gpt]
deployments = [{{ provider = "mock", model = "mock-gpt", price = {{ input = 0, output = 1 }} }}]
[[keys]]
key = "{KEY}"
tenant = "t"
"#,
        data = data.display()
    )
}

/// Sends one HTTP/1.1 request and returns the status and the `x-request-id` header.
async fn call(addr: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    let text = String::from_utf8_lossy(&received);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let id = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-request-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no x-request-id: {text}"));
    (status, id)
}

/// The `call finished` lines of `request_id`.
fn finished<'a>(lines: &'a [Value], request_id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| {
            l["fields"]["message"] == "call finished" && l["fields"]["request_id"] == request_id
        })
        .collect()
}

// Multi-threaded: the mock answers on one worker while the test waits on the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_one_json_line_per_finished_call_with_its_request_id() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config(&mock.url(), &dir.path().join("data"))).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--log-format", "json", "--config"])
        .arg(&path)
        .env("SWITCHBOARD_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained on a thread of its own so the process never blocks on a full pipe.
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let (addr, _) = common::listening(&mut child);

    let ask = |extra: &str| {
        format!(
            r#"{{"model":"gpt","max_tokens":3,{extra}"messages":[{{"role":"user","content":"tell {PROMPT_MARKER} now"}}]}}"#
        )
    };
    let (status, complete) = call(&addr, &ask("")).await;
    assert_eq!(status, 200);
    let (status, streamed) = call(&addr, &ask(r#""stream":true,"#)).await;
    assert_eq!(status, 200);
    let unknown = r#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#;
    let (refused_status, refused) = call(&addr, unknown).await;
    assert_ne!(refused_status, 200);

    // Stop the process so every line it will ever write has been written.
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit}");
    let raw = reader.join().unwrap();
    let lines: Vec<Value> = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();

    let done = finished(&lines, &complete);
    assert_eq!(done.len(), 1, "one line for the call: {done:?}");
    let f = &done[0]["fields"];
    assert_eq!(done[0]["level"], "DEBUG");
    assert_eq!(f["model"], "gpt");
    assert_eq!(f["provider"], "mock");
    assert_eq!(f["status"], 200);
    assert_eq!(f["attempts"], 1);
    assert_eq!(f["cost_usd"], "0.000003000", "3 output tokens at $1/M");
    assert!(f["duration_ms"].is_u64(), "{f}");

    let done = finished(&lines, &streamed);
    assert_eq!(
        done.len(),
        1,
        "a stream gets its line when it ends: {done:?}"
    );
    assert_eq!(done[0]["fields"]["stream_end"], "complete");

    let done = finished(&lines, &refused);
    assert_eq!(done.len(), 1, "a refused call is logged too: {done:?}");
    assert_eq!(done[0]["fields"]["status"], u64::from(refused_status));

    for l in &raw {
        assert!(!l.contains(PROMPT_MARKER), "prompt text in the logs: {l}");
        assert!(!l.contains(KEY), "the client's key in the logs: {l}");
        assert!(
            !l.contains("sk-provider-logs-secret"),
            "the provider key in the logs: {l}"
        );
    }
}
