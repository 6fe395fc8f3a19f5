//! The `mock-llm` binary: startup line, serving, clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::*;

#[tokio::test]
async fn prints_address_serves_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-llm"))
        .args(["--port", "0", "--require-key", "secret", "--ttft-ms", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .unwrap()
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("mock-llm listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));

    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post(
        &format!("{url}/v1/chat/completions"),
        &[("authorization", "Bearer secret")],
        &chat,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(&format!("{url}/v1/chat/completions"), &[OPENAI_AUTH], &chat).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        get(&format!("{url}/_mock/stats"), &[]).await.json()["calls"],
        2
    );

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "clean exit, got {status:?}");
}
