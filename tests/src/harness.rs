//! [`Harness`]: a gateway and its mock, started for one test.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use mock_provider::{MockConfig, MockServer};
use serde_json::Value;
use switchboard_config::Config;
use switchboard_ledger::{Clock, ManualClock, SystemClock};
use switchboard_server::RunningServer;
use switchboard_server::gateway::Gateway;

use crate::client::{self, Answer, HttpClient, StreamReader};
use crate::config::BASE;

type Configure = Box<dyn FnOnce(&mut Config)>;

/// The admin key of every harness gateway.
pub const ADMIN_KEY: &str = "admin-secret-key";

/// Builds a [`Harness`].
#[derive(Default)]
pub struct HarnessBuilder {
    mock: MockConfig,
    configure: Vec<Configure>,
    extra_toml: String,
    clock: Option<Arc<ManualClock>>,
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

    /// Runs the gateway on a clock the test moves by hand.
    pub fn with_clock(mut self, clock: Arc<ManualClock>) -> Self {
        self.clock = Some(clock);
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
        let clock: Arc<dyn Clock> = match &self.clock {
            Some(c) => Arc::clone(c) as Arc<dyn Clock>,
            None => Arc::new(SystemClock),
        };
        let gateway = RunningServer::start_with_clock(config.clone(), Arc::clone(&clock))
            .await
            .expect("gateway starts");
        Harness {
            base: format!("http://{}", gateway.addr),
            gateway,
            mock,
            client: client::http1(),
            data,
            config,
            clock,
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
    pub config: Config,
    pub clock: Arc<dyn Clock>,
}

impl Harness {
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    pub async fn start() -> Harness {
        Self::builder().start().await
    }

    /// The node's shared state: ledger, audit log, keys.
    pub fn gw(&self) -> &Gateway {
        &self.gateway.gateway
    }

    /// Stops the gateway gracefully and starts a new one on the same config, data
    /// directory and clock, as a node restart would.
    pub async fn restart(self) -> Harness {
        match self.stop().await.start().await {
            Ok(h) => h,
            Err((e, _)) => panic!("gateway restarts: {e}"),
        }
    }

    /// Stops the gateway gracefully, keeping its mock, config, data and clock for
    /// [`Stopped::start`] (a test may change the data directory or the config between).
    pub async fn stop(self) -> Stopped {
        let Harness {
            gateway,
            mock,
            client,
            data,
            config,
            clock,
            ..
        } = self;
        gateway.shutdown().await;
        Stopped {
            mock,
            client,
            data,
            config,
            clock,
        }
    }

    /// Calls the admin API with the admin key.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let headers = [
            ("authorization", &*format!("Bearer {ADMIN_KEY}")),
            ("content-type", "application/json"),
        ];
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        client::send(
            &self.client,
            client::request(method, &self.admin_url(path), &headers, body),
        )
        .await
    }

    /// Every audit record on disk, once everything appended so far is durable.
    pub async fn audit_records(&self) -> Vec<switchboard_audit::AuditRecord> {
        self.gw().audit.flush().await.expect("audit flush");
        let mut out = Vec::new();
        switchboard_audit::scan(&self.config.audit_dir(), &Default::default(), |r| {
            out.push(r)
        })
        .expect("audit scan");
        out
    }

    /// Waits (bounded) until the audit log holds a record of `request_id`: records are
    /// appended off the response path, after the response ends.
    pub async fn audit_record(&self, request_id: &str) -> switchboard_audit::AuditRecord {
        for _ in 0..200 {
            if let Some(r) = self
                .audit_records()
                .await
                .into_iter()
                .find(|r| r.request_id == request_id)
            {
                return r;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no audit record of {request_id}");
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

/// A [`Harness`] whose gateway stopped: what a new gateway starts from.
pub struct Stopped {
    pub mock: MockServer,
    pub client: HttpClient,
    pub data: tempfile::TempDir,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
}

impl Stopped {
    /// Starts a gateway on the kept config, data directory and clock; a refusal to
    /// start comes back with everything kept, to change and try again.
    pub async fn start(self) -> Result<Harness, (String, Stopped)> {
        match RunningServer::start_with_clock(self.config.clone(), Arc::clone(&self.clock)).await {
            Ok(gateway) => Ok(Harness {
                base: format!("http://{}", gateway.addr),
                gateway,
                mock: self.mock,
                client: self.client,
                data: self.data,
                config: self.config,
                clock: self.clock,
            }),
            Err(e) => Err((e.to_string(), self)),
        }
    }
}
