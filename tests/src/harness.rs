//! [`Harness`]: a gateway and its mock, started for one test.

use std::path::Path;

use bytes::Bytes;
use mock_provider::{MockConfig, MockServer};
use serde_json::Value;
use switchboard_config::Config;
use switchboard_server::RunningServer;

use crate::client::{self, Answer, HttpClient, StreamReader};
use crate::config::BASE;

type Configure = Box<dyn FnOnce(&mut Config)>;

/// Builds a [`Harness`].
#[derive(Default)]
pub struct HarnessBuilder {
    mock: MockConfig,
    configure: Vec<Configure>,
    extra_toml: String,
}

impl HarnessBuilder {
    /// Mock settings (latency defaults, required key).
    pub fn with_mock(mut self, mock: MockConfig) -> Self {
        self.mock = mock;
        self
    }

    /// Changes the parsed config before the gateway starts.
    pub fn configure(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// TOML appended to the base config (`{MOCK}` is replaced).
    pub fn with_toml(mut self, toml: &str) -> Self {
        self.extra_toml.push_str(toml);
        self
    }

    pub async fn start(self) -> Harness {
        let mock = MockServer::start(self.mock).await.expect("mock starts");
        let text = format!("{BASE}\n{}", self.extra_toml).replace("{MOCK}", &mock.url());
        let mut config = Config::from_toml(Path::new("harness.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}"));
        let data = tempfile::tempdir().expect("temp dir");
        config.server.data_dir = data.path().to_owned();
        for f in self.configure {
            f(&mut config);
        }
        let gateway = RunningServer::start(config).await.expect("gateway starts");
        Harness {
            base: format!("http://{}", gateway.addr),
            gateway,
            mock,
            client: client::http1(),
            data,
        }
    }
}

/// A running gateway in front of a running mock provider.
pub struct Harness {
    pub gateway: RunningServer,
    pub mock: MockServer,
    /// `http://127.0.0.1:PORT` of the gateway's client API.
    pub base: String,
    pub client: HttpClient,
    /// The node's data directory (audit log, admin state), removed when the harness drops.
    pub data: tempfile::TempDir,
}

impl Harness {
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    pub async fn start() -> Harness {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.admin_addr)
    }

    /// POSTs JSON with a bearer key.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> Answer {
        self.post_raw(
            path,
            &[("authorization", &format!("Bearer {key}"))],
            Bytes::from(body.to_string()),
        )
        .await
    }

    /// POSTs JSON the way the Anthropic SDK does (`x-api-key`, `anthropic-version`).
    pub async fn post_anthropic(&self, key: &str, body: Value) -> Answer {
        let headers = [("x-api-key", key), ("anthropic-version", "2023-06-01")];
        self.post_raw("/v1/messages", &headers, Bytes::from(body.to_string()))
            .await
    }

    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Bytes) -> Answer {
        let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        client::send(
            &self.client,
            client::request("POST", &self.url(path), &all, body),
        )
        .await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        client::send(
            &self.client,
            client::request("GET", &self.url(path), headers, Bytes::new()),
        )
        .await
    }

    /// Opens a streaming POST and returns once the response headers have arrived.
    pub async fn stream(&self, path: &str, headers: &[(&str, &str)], body: Value) -> StreamReader {
        let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let req = client::request("POST", &self.url(path), &all, Bytes::from(body.to_string()));
        StreamReader::open(&self.client, req).await
    }

    /// The same request sent to the mock directly, bypassing the gateway: the oracle for
    /// what an untranslated answer says.
    pub async fn direct_openai(&self, body: Value) -> Answer {
        let headers = [
            ("content-type", "application/json"),
            ("authorization", "Bearer direct"),
        ];
        let url = format!("{}/v1/chat/completions", self.mock.url());
        client::send(
            &self.client,
            client::request("POST", &url, &headers, Bytes::from(body.to_string())),
        )
        .await
    }
}
