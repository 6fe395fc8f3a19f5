//! A small HTTP client for the admin API, used by the CLI subcommands.

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long a command waits for the admin API's whole answer (a report over a large
/// audit log takes seconds, not minutes).
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Where the admin API is and how to authenticate.
#[derive(Args, Debug, Clone)]
pub struct AdminTarget {
    /// The node's admin listener.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_ADMIN_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub admin_url: String,
    /// The admin key.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_ADMIN_KEY",
        hide_env_values = true
    )]
    pub admin_key: Option<String>,
    /// Print the raw JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

impl AdminTarget {
    /// Sends one admin call and returns its JSON answer; an error status is an error
    /// carrying the server's message.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(self.call_async(method, path, body))
    }

    async fn call_async(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let key = self
            .admin_key
            .as_deref()
            .context("no admin key: pass --admin-key or set SWITCHBOARD_ADMIN_KEY")?;
        let url = format!("{}{path}", self.admin_url.trim_end_matches('/'));
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .context("building the request")?;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let exchange = async {
            let resp = client
                .request(req)
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .context("reading the answer")?
                .to_bytes();
            anyhow::Ok((status, body))
        };
        // A listener that accepts and never answers must not hang a script.
        let (status, body) = tokio::time::timeout(ANSWER_WITHIN, exchange)
            .await
            .map_err(|_| {
                anyhow::anyhow!("no answer from {url} within {}s", ANSWER_WITHIN.as_secs())
            })??;
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if status.is_success() && parsed.is_none() {
            bail!(
                "{url} answered {status} with something that is not JSON: is {} a Switchboard admin listener?",
                self.admin_url
            );
        }
        let value = parsed.unwrap_or_else(|| Value::String(String::from_utf8_lossy(&body).into()));
        if !status.is_success() {
            let message = value["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            bail!("{status}: {message}");
        }
        Ok(value)
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
