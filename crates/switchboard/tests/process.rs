//! The real binary: `check` reports, `serve` drains on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::serve;
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
    let (addr, _) = common::listening(&mut child);

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

fn cli(admin: &str, args: &[&str]) -> std::process::Output {
    common::cli(admin, "cli-admin-key", args)
}

// Multi-threaded: the test blocks a thread on each CLI process while the in-process mock
// keeps answering on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_lists_and_revokes_keys_and_reports_spend() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = config(&mock.url(), &dir.path().join("data")).replace(
        "[admin]\nlisten = \"127.0.0.1:0\"",
        "[admin]\nlisten = \"127.0.0.1:0\"\nkey = \"cli-admin-key\"",
    );
    std::fs::write(&path, text).unwrap();
    let (mut child, client_addr, admin) = serve(&path);

    let out = cli(
        &admin,
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--name",
            "cli-key",
            "--model",
            "gpt",
            "--quota",
            "requests:minute:1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let secret = text
        .split_whitespace()
        .find(|w| w.starts_with("sk-sb-"))
        .expect("secret printed")
        .to_owned();

    let body = r#"{"model":"gpt","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(post_status(&client_addr, &secret, body).await, "200");
    assert_eq!(
        post_status(&client_addr, &secret, body).await,
        "429",
        "the CLI's quota applies"
    );

    let list = cli(&admin, &["keys", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("cli-key") && listed.contains("requests/minute<=1"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));

    let spend = cli(&admin, &["spend", "--group-by", "key"]);
    assert!(
        String::from_utf8_lossy(&spend.stdout).contains("cli-key"),
        "{}",
        String::from_utf8_lossy(&spend.stdout)
    );

    assert!(cli(&admin, &["keys", "revoke", "cli-key"]).status.success());
    assert_eq!(post_status(&client_addr, &secret, body).await, "401");

    let bad = cli(
        &admin,
        &["keys", "create", "--tenant", "acme", "--quota", "bananas"],
    );
    assert!(!bad.status.success());

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let audit = dir.path().join("data/audit");
    let ok = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("3 records"),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // Edit one record's cost: verify must fail and say where.
    let segment = std::fs::read_dir(&audit)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&segment).unwrap();
    std::fs::write(
        &segment,
        text.replacen("\"status\":200", "\"status\":201", 1),
    )
    .unwrap();
    let broken = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        err.contains("chain broken") && err.contains("jsonl:2"),
        "{err}"
    );
}

/// POSTs a chat completion over a real socket and returns the status code as text.
async fn post_status(addr: &str, key: &str, body: &'static str) -> String {
    common::post_chat(addr, key, body.to_owned())
        .await
        .0
        .to_string()
}

/// Reads from `stream` until the peer ends it (EOF or reset), appending to `received`;
/// `None` if it is still open after `limit`.
async fn read_to_end(
    stream: &mut tokio::net::TcpStream,
    received: &mut Vec<u8>,
    limit: Duration,
) -> Option<()> {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
}

/// `serve` after SIGINT: the listener is closed at once (new connections refused) while
/// an in-flight stream keeps flowing, and a stream still running when `shutdown_grace`
/// ends is cut then (the client sees its connection end, not a hang); then the process
/// exits cleanly, as it does on SIGTERM. The calls cut at the deadline (the stream, and a
/// plain call still waiting for its answer) are each in the audit log once.
#[tokio::test]
async fn sigint_drains_like_sigterm_and_cuts_a_stream_that_outlives_the_grace_period() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // 200 chunks 100 ms apart: 20 s of stream against a 2 s grace period. (The mock
    // answers at most 16 tokens unless its `x-mock-output-tokens` header says more;
    // the provider's `headers` send it on every call.)
    let mock = MockServer::start(MockConfig {
        token_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = config(&mock.url(), &dir.path().join("data"))
        .replace("[server]\n", "[server]\nshutdown_grace = \"2s\"\n")
        .replace(
            "api_key = \"k\"\n",
            "api_key = \"k\"\nheaders = { \"x-mock-output-tokens\" = \"200\" }\n",
        );
    std::fs::write(&path, text).unwrap();
    let (mut child, addr, _admin) = serve(&path);

    let request = |id: &str, stream: bool| {
        let body = format!(
            r#"{{"model":"gpt","stream":{stream},"max_tokens":200,"messages":[{{"role":"user","content":"hi"}}]}}"#
        );
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-process-test\r\nx-request-id: {id}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(request("cut-stream", true).as_bytes())
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("data: ") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }
    // Plain calls whose answers would take 20 s (200 tokens 100 ms apart), in flight at
    // the mock before the signal.
    const WAITING: u64 = 8;
    let mut waiting = Vec::new();
    for i in 0..WAITING {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(request(&format!("cut-wait-{i}"), false).as_bytes())
            .await
            .unwrap();
        waiting.push(c);
    }
    for _ in 0..500 {
        if mock.calls() > WAITING {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.calls(), WAITING + 1, "every call reached the provider");

    let signalled = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // New connections are refused during the drain (bounded polling: the signal is
    // handled asynchronously).
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(refused, "the listener still accepts after SIGINT");
    // ... while the in-flight stream still flows: it is draining, not stopped.
    let before = received.len();
    while received.len() == before {
        let n = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf))
            .await
            .expect("the stream keeps flowing during the drain")
            .unwrap();
        assert!(n > 0, "the stream ended at once instead of draining");
        received.extend_from_slice(&buf[..n]);
    }
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "still inside the grace period"
    );

    // At the deadline the stream is cut: the client's read ends, long before the 20 s
    // the stream would have taken.
    read_to_end(&mut stream, &mut received, Duration::from_secs(10))
        .await
        .expect("the stream was cut at the deadline, not left hanging");
    let ended = signalled.elapsed();
    assert!(
        ended >= Duration::from_millis(1900) && ended < Duration::from_secs(8),
        "cut at the 2 s deadline, ended after {ended:?}"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(
        !text.contains("data: [DONE]"),
        "the stream did not finish: {text}"
    );
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the chunked body was cut, not terminated as if complete"
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "SIGINT exits cleanly: {status}");

    // Each call cut at the deadline left one record: the stream with what it relayed,
    // the waiting calls as 503, all as cut by the shutdown. Records handed in after the
    // audit writer stopped would be missing (and the calls unbilled).
    for c in &mut waiting {
        let mut answer = Vec::new();
        let _ = read_to_end(c, &mut answer, Duration::from_secs(5)).await;
    }
    let records = audit_lines(&dir.path().join("data/audit"));
    let of = |id: &str| -> Vec<&String> {
        records
            .iter()
            .filter(|l| l.contains(&format!("\"request_id\":\"{id}\"")))
            .collect()
    };
    let streamed = of("cut-stream");
    assert_eq!(streamed.len(), 1, "the cut stream's record: {records:?}");
    assert!(
        streamed[0].contains("\"stream_end\":\"shutdown\""),
        "{}",
        streamed[0]
    );
    for i in 0..WAITING {
        let cut = of(&format!("cut-wait-{i}"));
        assert_eq!(cut.len(), 1, "cut call {i}'s record: {records:?}");
        assert!(cut[0].contains("\"status\":503"), "{}", cut[0]);
    }
    let verify = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(dir.path().join("data/audit"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Every record line of an audit directory's segments.
fn audit_lines(dir: &std::path::Path) -> Vec<String> {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    segments
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Provider keys of [`ECHO_CONFIG`], long and distinctive so a leak cannot hide.
const PROVIDER_KEYS: [&str; 4] = [
    "sk-process-openai-provider-key",
    "azure-process-provider-key",
    "sk-ant-process-provider-key",
    "gemini-process-provider-key",
];

/// One provider of every kind at the mock, each with its own key, one attempt per call.
const ECHO_CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{DATA}"
[admin]
listen = "127.0.0.1:0"
[providers.oai]
kind = "openai-compatible"
base_url = "{MOCK}/v1"
api_key = "sk-process-openai-provider-key"
[providers.az]
kind = "azure"
base_url = "{MOCK}"
api_key = "azure-process-provider-key"
api_version = "2024-10-21"
[providers.ant]
kind = "anthropic"
base_url = "{MOCK}"
api_key = "sk-ant-process-provider-key"
[providers.gem]
kind = "gemini"
base_url = "{MOCK}"
api_key = "gemini-process-provider-key"
[models.gpt]
deployments = [{ provider = "oai", model = "mock-gpt" }]
retry = { max_attempts = 1 }
[models.azure-gpt]
deployments = [{ provider = "az", model = "mock-deployment" }]
retry = { max_attempts = 1 }
[models.claude]
deployments = [{ provider = "ant", model = "mock-claude" }]
retry = { max_attempts = 1 }
[models.gemini]
deployments = [{ provider = "gem", model = "mock-gemini" }]
retry = { max_attempts = 1 }
[[keys]]
key = "sk-process-test"
tenant = "t"
"#;

// Multi-threaded: the in-process mock answers while the test waits on the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_keys_never_reach_the_debug_log_even_when_a_provider_echoes_them() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = ECHO_CONFIG
        .replace("{MOCK}", &mock.url())
        .replace("{DATA}", &dir.path().join("data").display().to_string());
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env("SWITCHBOARD_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained on its own thread so a chatty log never fills the pipe and stalls the node.
    let mut err_pipe = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err_pipe, &mut text).unwrap();
        text
    });
    let (addr, _) = common::listening(&mut child);

    let mut statuses = Vec::new();
    for fault in ["", "echo-auth=400", "echo-auth=401", "echo-auth=500"] {
        mock.clear_faults();
        if !fault.is_empty() {
            mock.add_fault(mock_provider::FaultRule::new(fault));
        }
        for alias in ["gpt", "azure-gpt", "claude", "gemini"] {
            let body = format!(
                r#"{{"model":"{alias}","max_tokens":3,"messages":[{{"role":"user","content":"hi"}}]}}"#
            );
            let (status, answer) = common::post_chat(&addr, "sk-process-test", body).await;
            for key in PROVIDER_KEYS {
                assert!(!answer.contains(key), "{alias} {fault}: {answer}");
            }
            statuses.push(status);
        }
    }
    assert_eq!(statuses[..4], [200; 4], "the providers work: {statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s >= 400), "{statuses:?}");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let log = log.join().unwrap();
    assert!(
        log.contains("credentials received"),
        "the providers' echoes were logged (masked), so masking was exercised: {log}"
    );
    for key in PROVIDER_KEYS {
        assert!(!log.contains(key), "the log leaks {key}:\n{log}");
    }
}

/// `serve` whose audit directory is gone keeps its last records and retries at shutdown
/// rather than exit without them (the drain's grace does not bound that wait); a second
/// SIGTERM is the operator saying not to wait: the process exits at once, non-zero,
/// saying what was lost.
#[tokio::test]
async fn a_second_sigterm_stops_a_shutdown_that_waits_for_a_failed_audit_disk() {
    use std::io::{BufRead, BufReader};
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let data = dir.path().join("data");
    std::fs::write(&path, config(&mock.url(), &data)).unwrap();
    let mut child = Command::new(common::BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, _admin) = common::listening(&mut child);
    // A failing assertion must not leave the process behind.
    struct KillOnDrop(u32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
    let _reaper = KillOnDrop(child.id());
    // stderr, line by line, read on its own thread.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Bounded as a whole: the audit writer logs a failed retry every few seconds.
    let wait_for = |needle: &str| -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(e) => panic!("no log line with {needle:?} ({e}); saw {seen:#?}"),
            }
        }
    };
    let body = r#"{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _) = common::post_chat(&addr, "sk-process-test", body.to_owned()).await;
    assert_eq!(status, 200);
    // The audit directory disappears: `HEAD` can no longer be written.
    std::fs::remove_dir_all(data.join("audit")).unwrap();
    let (status, _) = common::post_chat(&addr, "sk-process-test", body.to_owned()).await;
    assert_eq!(status, 200, "answering does not wait for the audit disk");

    let term = || {
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    };
    term();
    wait_for("shutdown requested");
    // The shutdown reaches the audit log and finds it cannot finish.
    wait_for("audit commit failed");
    term();
    let seen = wait_for("second stop signal");
    let pid = child.id();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| {
            panic!("pid {pid} still running 20 s after the second SIGTERM; log: {seen:#?}")
        })
        .unwrap();
    assert!(!status.success(), "exit status {status}: records were lost");
}
