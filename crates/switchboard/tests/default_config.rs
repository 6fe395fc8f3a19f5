//! What a new user gets from the README: the shipped `config/switchboard.toml`, served by
//! the real binary with no provider keys, answers `demo` to the README's key, streamed and
//! not, in the OpenAI and Anthropic APIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The demo key as the README shows it (`**`sk-...`**`), so the test follows the README.
fn readme_key() -> String {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    let at = readme
        .find("demo key")
        .expect("the README names the demo key");
    let rest = &readme[at..];
    let start = rest.find('`').unwrap() + 1;
    let len = rest[start..].find('`').unwrap();
    rest[start..start + len].to_owned()
}

/// POSTs `body` to `path` with `headers` and returns the status and the whole body.
async fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let answer = async {
        let resp = client.request(req).await.expect("the gateway is reachable");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(20), answer)
        .await
        .expect("the gateway answers within 20 s")
}

/// `(event name, data)` of each event of an event-stream body.
fn events(text: &str) -> Vec<(Option<String>, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .map(str::to_owned);
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name, data.to_owned()))
        })
        .collect()
}

// Multi-threaded: the test blocks on the child's stdout while requests run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_config_serves_demo_to_the_readme_key_streamed_and_not() {
    let key = readme_key();
    assert!(key.starts_with("sk-"), "{key}");
    // A temp copy, listening on ports the kernel picks, with the price table next to it
    // (the config names it relative to itself); the node runs in the temp dir, so its
    // `data/` lands there too.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(Path::new(REPO).join("config/switchboard.toml")).unwrap();
    let copy = shipped
        .replace("\"127.0.0.1:8080\"", "\"127.0.0.1:0\"")
        .replace("\"127.0.0.1:8081\"", "\"127.0.0.1:0\"");
    assert_eq!(
        copy.matches("127.0.0.1:0").count(),
        2,
        "both listeners rewritten"
    );
    std::fs::write(dir.path().join("switchboard.toml"), copy).unwrap();
    std::fs::copy(
        Path::new(REPO).join("config/prices.toml"),
        dir.path().join("prices.toml"),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config", "switchboard.toml"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // No provider keys and no admin key: the offline setup the README promises.
    for var in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "SWITCHBOARD_ADMIN_KEY",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .expect("the node prints its address")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {key}");
    let openai = [("authorization", bearer.as_str())];
    let anthropic = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", "2023-06-01"),
    ];
    let hello = r#"{"model": "demo", "messages": [{"role": "user", "content": "Hello!"}]}"#;

    let (status, body) = post(&addr, "/v1/chat/completions", &openai, hello).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion", "{v}");
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{v}"
    );

    let streamed = hello.replace("\"model\"", "\"stream\": true, \"model\"");
    let (status, body) = post(&addr, "/v1/chat/completions", &openai, &streamed).await;
    assert_eq!(status, 200, "{body}");
    let data: Vec<String> = events(&body).into_iter().map(|(_, d)| d).collect();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(!text.is_empty(), "{body}");

    let message = r#"{"model": "demo", "max_tokens": 200, "messages": [{"role": "user", "content": "Hello!"}]}"#;
    let (status, body) = post(&addr, "/v1/messages", &anthropic, message).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "message", "{v}");
    assert!(
        v["content"][0]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let streamed = message.replace("\"model\"", "\"stream\": true, \"model\"");
    let (status, body) = post(&addr, "/v1/messages", &anthropic, &streamed).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<String> = events(&body).into_iter().filter_map(|(n, _)| n).collect();
    assert_eq!(
        names.first().map(String::as_str),
        Some("message_start"),
        "{body}"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("message_stop"),
        "{body}"
    );
    assert!(names.iter().any(|n| n == "content_block_delta"), "{body}");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        dir.path().join("data/audit").is_dir(),
        "the node kept its audit log under data/ in its directory"
    );
}

/// `switchboard check ... | head -1`: a reader that is gone before the first line. The
/// command ends quietly with status 0 rather than panicking on the broken pipe.
#[test]
fn a_command_whose_reader_goes_away_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(Path::new(REPO).join("config/switchboard.toml"))
        .env_remove("OPENAI_API_KEY")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
