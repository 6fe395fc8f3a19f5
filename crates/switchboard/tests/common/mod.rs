//! What the process tests share: starting `switchboard serve` and reading where it
//! listens, and running the admin CLI against it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// The client and admin addresses `serve` prints on its first stdout line, once both
/// listeners are bound.
pub fn listening(child: &mut Child) -> (String, String) {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addrs: Vec<String> = line
        .split("http://")
        .skip(1)
        .map(|s| s.split([' ', ')']).next().unwrap().trim().to_owned())
        .collect();
    assert_eq!(addrs.len(), 2, "{line}");
    (addrs[0].clone(), addrs[1].clone())
}

/// Starts `switchboard serve` on `config_path` (stderr discarded) and returns it with
/// its client and admin addresses.
pub fn serve(config_path: &Path) -> (Child, String, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (client, admin) = listening(&mut child);
    (child, client, admin)
}

/// Runs the CLI with `args` against the admin API at `admin`.
pub fn cli(admin: &str, admin_key: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args([
            "--admin-url",
            &format!("http://{admin}"),
            "--admin-key",
            admin_key,
        ])
        .output()
        .unwrap()
}

/// POSTs `body` to `/v1/chat/completions` at `addr` with `key`, returning the status and
/// the body (bounded: a gateway that does not answer in 20 s fails the test).
pub async fn post_chat(addr: &str, key: &str, body: String) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::post(format!("http://{addr}/v1/chat/completions"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(20), client.request(req))
        .await
        .expect("the gateway answers within 20 s")
        .expect("the gateway is reachable");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
