//! The admin CLI against a real `switchboard serve`: `keys update`, `tenants set` and
//! `audit query` change and read what the running node does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{BIN, serve};

use std::process::{Command, Output};
use std::time::Duration;

use mock_provider::{MockConfig, MockServer};
use serde_json::Value;

const ADMIN_KEY: &str = "cli-admin-key";

fn config(mock: &str, data: &std::path::Path) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
[admin]
listen = "127.0.0.1:0"
key = "{ADMIN_KEY}"
[providers.mock]
kind = "openai-compatible"
base_url = "{mock}/v1"
api_key = "k"
[models.gpt]
deployments = [{{ provider = "mock", model = "mock-gpt" }}]
[models.other]
deployments = [{{ provider = "mock", model = "mock-other" }}]
"#,
        data = data.display()
    )
}

fn cli(admin: &str, args: &[&str]) -> Output {
    let out = common::cli(admin, ADMIN_KEY, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// POSTs a small chat completion for `model` and returns the status and the body.
async fn chat(addr: &str, key: &str, model: &str) -> (u16, String) {
    let body = format!(
        r#"{{"model":"{model}","max_tokens":3,"messages":[{{"role":"user","content":"cli says hi"}}]}}"#
    );
    common::post_chat(addr, key, body).await
}

fn created_secret(out: &Output) -> String {
    stdout(out)
        .split_whitespace()
        .find(|w| w.starts_with("sk-sb-"))
        .expect("secret printed")
        .to_owned()
}

// Multi-threaded: each CLI process blocks a thread while the in-process mock keeps
// answering on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_update_tenants_set_and_audit_query_drive_a_running_node() {
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config(&mock.url(), &dir.path().join("data"))).unwrap();
    let (mut child, addr, admin) = serve(&path);

    // keys update: models, expiry, and back.
    let created = cli(
        &admin,
        &[
            "keys", "create", "--tenant", "acme", "--name", "upd", "--model", "gpt",
        ],
    );
    let secret = created_secret(&created);
    assert_eq!(chat(&addr, &secret, "gpt").await.0, 200);
    assert_eq!(chat(&addr, &secret, "other").await.0, 403);
    let updated = cli(&admin, &["keys", "update", "upd", "--model", "other"]);
    let v: Value = serde_json::from_slice(&updated.stdout).unwrap();
    assert_eq!(v["models"], serde_json::json!(["other"]), "{v}");
    assert_eq!(chat(&addr, &secret, "other").await.0, 200, "now allowed");
    assert_eq!(
        chat(&addr, &secret, "gpt").await.0,
        403,
        "no longer allowed"
    );
    cli(&admin, &["keys", "update", "upd", "--all-models"]);
    assert_eq!(chat(&addr, &secret, "gpt").await.0, 200);
    cli(
        &admin,
        &[
            "keys",
            "update",
            "upd",
            "--expires-at",
            "2020-01-01T00:00:00Z",
        ],
    );
    let (status, body) = chat(&addr, &secret, "gpt").await;
    assert_eq!(status, 401);
    assert!(body.contains("expired"), "{body}");
    cli(&admin, &["keys", "update", "upd", "--no-expiry"]);
    assert_eq!(chat(&addr, &secret, "gpt").await.0, 200);

    // tenants set: a quota and a capture policy for a tenant with no calls yet.
    let fresh = created_secret(&cli(
        &admin,
        &["keys", "create", "--tenant", "fresh", "--name", "fresh-key"],
    ));
    cli(
        &admin,
        &[
            "tenants",
            "set",
            "fresh",
            "--quota",
            "requests:day:1",
            "--capture",
            "prompts",
        ],
    );
    let listed: Value = serde_json::from_slice(&cli(&admin, &["tenants", "list"]).stdout).unwrap();
    assert_eq!(
        listed["tenants"]["fresh"]["quotas"][0]["limit"], 1,
        "{listed}"
    );
    assert_eq!(chat(&addr, &fresh, "gpt").await.0, 200);
    let (status, body) = chat(&addr, &fresh, "gpt").await;
    assert_eq!(status, 429, "the quota set by the CLI refuses: {body}");
    assert!(body.contains("tenant:fresh/requests/day"), "{body}");

    // Records are appended off the response path, after the answer: wait (bounded) until
    // the node's log holds both of `fresh`'s, the newest of all calls.
    let mut records = 0;
    for _ in 0..250 {
        let out = cli(&admin, &["audit", "query", "--tenant", "fresh", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        records = v["records"].as_array().map_or(0, Vec::len);
        if records == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(records, 2, "both of fresh's calls are audited");

    // audit query: filters and order reach the node, the table names each record.
    let refused = stdout(&cli(
        &admin,
        &["audit", "query", "--tenant", "fresh", "--status", "429"],
    ));
    let lines: Vec<&str> = refused.lines().collect();
    assert_eq!(lines.len(), 1, "{refused}");
    assert!(
        lines[0].contains("fresh") && lines[0].contains("429"),
        "{refused}"
    );
    let json: Value = serde_json::from_slice(
        &cli(&admin, &["audit", "query", "--tenant", "fresh", "--json"]).stdout,
    )
    .unwrap();
    let records = json["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{json}");
    assert_eq!(records[0]["status"], 429, "newest first: {json}");
    let served = &records[1];
    assert_eq!(served["status"], 200);
    assert_eq!(
        served["prompt"]["messages"][0]["content"], "cli says hi",
        "the capture policy set by the CLI applies: {served}"
    );
    let acme = stdout(&cli(
        &admin,
        &["audit", "query", "--tenant", "acme", "--limit", "3"],
    ));
    assert_eq!(acme.lines().count(), 3, "--limit: {acme}");
    assert!(acme.lines().all(|l| l.contains(" upd ")), "{acme}");
    let future = stdout(&cli(
        &admin,
        &["audit", "query", "--from", "2999-01-01T00:00:00Z"],
    ));
    assert!(future.trim().is_empty(), "{future}");
    let bad = Command::new(BIN)
        .args(["audit", "query", "--order", "random"])
        .args([
            "--admin-url",
            &format!("http://{admin}"),
            "--admin-key",
            ADMIN_KEY,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a bad order is an error");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// Something at the admin URL that answers 200 with a web page (a proxy's login page,
/// the wrong port) is not a success: `keys revoke` used to print "revoked" and exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_json_is_an_error_not_a_success() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let page = "<html>sign in</html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    let out = tokio::task::spawn_blocking(move || {
        common::cli(&addr, ADMIN_KEY, &["keys", "revoke", "some-key"])
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("not JSON"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("revoked"));
}
