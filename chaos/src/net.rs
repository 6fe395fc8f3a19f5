//! A small HTTP client over real sockets: JSON calls to the nodes' admin APIs and the
//! load's calls through HAProxy.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const ADMIN_KEY: &str = "sk-chaos-admin";

#[derive(Clone)]
pub struct Net(Client<HttpConnector, Full<Bytes>>);

/// What came back: the status and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Net {
    pub fn new() -> Net {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        Net(Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .build(connector))
    }

    /// One call with a deadline; `Err` if it could not be made or did not finish in time.
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        bearer: &str,
        body: Option<&Value>,
        limit: Duration,
    ) -> Result<Reply> {
        let req = Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", format!("Bearer {bearer}"))
            .header("content-type", "application/json")
            .body(Full::new(
                body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
            ))?;
        let exchange = async {
            let resp = self.0.request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply { status, body })
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| anyhow!("{method} {url}: no answer within {limit:?}"))?
    }

    /// GET on an admin API; the parsed JSON of a 2xx answer.
    pub async fn admin(&self, admin_addr: &str, path: &str) -> Result<Value> {
        let reply = self
            .call(
                "GET",
                &format!("http://{admin_addr}{path}"),
                ADMIN_KEY,
                None,
                Duration::from_secs(5),
            )
            .await?;
        if reply.status >= 300 {
            return Err(anyhow!("GET {path} on {admin_addr}: {}", reply.status));
        }
        serde_json::from_slice(&reply.body).context("admin answer is not JSON")
    }

    /// POST or DELETE a JSON body to a plain URL (mock-llm's control API).
    pub async fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Result<u16> {
        Ok(self
            .call(method, url, "", body, Duration::from_secs(5))
            .await?
            .status)
    }
}
