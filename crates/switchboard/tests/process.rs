//! The real binary: `check` reports, `serve` drains on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mock_provider::{MockConfig, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

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
api_key = "k"
[models.gpt]
deployments = [{{ provider = "mock", model = "mock-gpt" }}]
[[keys]]
key = "sk-process-test"
tenant = "t"
"#,
        data = data.display()
    )
}

#[test]
fn check_names_the_file_key_and_reason_of_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[models.m]\ndeployments = [{ provider = \"ghost\", model = \"x\" }]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("models.m.deployments[0].provider"), "{err}");
    assert!(err.contains("unknown provider \"ghost\""), "{err}");
}

#[test]
fn check_prints_the_resolved_models_of_the_default_config() {
    let out = Command::new(BIN)
        .args([
            "check",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/switchboard.toml"),
        ])
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("demo  [live]"), "{text}");
    assert!(text.contains("OPENAI_API_KEY is not set"), "{text}");
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_stream_then_exits_cleanly() {
    let mock = MockServer::start(MockConfig {
        token_delay: Duration::from_millis(40),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config(&mock.url(), &dir.path().join("data"))).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    // Open a stream of 12 chunks 40 ms apart and read its first bytes.
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = r#"{"model":"gpt","stream":true,"max_tokens":12,"messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-process-test\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = stream;
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("data: ") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.contains("data: [DONE]"),
        "the stream finished despite SIGTERM: {text}"
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "listener closed"
    );
}
