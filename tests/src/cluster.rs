//! [`ClusterHarness`]: several gateway nodes in one process, clustered over loopback
//! (foca gossip on UDP port 0), in front of one shared mock provider.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mock_provider::{MockConfig, MockServer};
use serde_json::Value;
use switchboard_config::{ClusterSettings, Config, Secret};
use switchboard_ledger::{Clock, SystemClock};
use switchboard_server::RunningServer;

use crate::client::{self, Answer, HttpClient};
use crate::config::BASE;
use crate::harness::ADMIN_KEY;

/// The secret every test cluster shares.
pub const SECRET: &str = "test-cluster-secret-0123456789abcdef";

/// The wall clock moved by a fixed amount: a node whose clock disagrees with its peers'.
#[derive(Debug, Clone, Copy)]
pub struct SkewedClock(pub i64);

impl Clock for SkewedClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.0)
    }
}

/// One node of a test cluster.
pub struct Node {
    pub server: RunningServer,
    pub base: String,
    pub data: tempfile::TempDir,
}

/// Starts one node of a cluster of `size` named `name` on `data`, seeded with the first of
/// `running` (if any).
async fn start_node(
    text: &str,
    running: &[Node],
    size: usize,
    name: &str,
    data: &tempfile::TempDir,
    clock: Arc<dyn Clock>,
) -> RunningServer {
    let mut config = Config::from_toml(Path::new("cluster.toml"), text, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    config.server.data_dir = data.path().to_owned();
    config.server.node_name = name.to_owned();
    let seeds = running
        .first()
        .and_then(|n| n.server.gateway.cluster.as_ref())
        .map(|c| vec![c.me().gossip])
        .unwrap_or_default();
    config.cluster = Some(ClusterSettings {
        gossip: "127.0.0.1:0".parse().expect("addr"),
        rpc: "127.0.0.1:0".parse().expect("addr"),
        seeds,
        secret: Secret::new(SECRET),
        size,
    });
    RunningServer::start_with_clock(config, clock)
        .await
        .expect("node starts")
}

/// A tenant `name` with a money quota (`limit` dollars a `window`) and the key
/// `sk-<name>-0001`.
pub fn tenant(name: &str, limit: &str, window: &str) -> String {
    format!(
        r#"
[[tenants]]
name = "{name}"
quotas = [{{ metric = "money", window = "{window}", limit = "{limit}" }}]

[[keys]]
name = "{name}-key"
key = "sk-{name}-0001"
tenant = "{name}"
"#
    )
}

/// A cluster of gateway nodes and their shared mock.
pub struct ClusterHarness {
    pub mock: MockServer,
    pub nodes: Vec<Node>,
    pub client: HttpClient,
    /// The config every node reads (the mock's address filled in).
    text: String,
}

impl ClusterHarness {
    /// Starts `n` nodes: the first alone, the others seeded with its gossip address.
    pub async fn start(n: usize, extra_toml: &str) -> ClusterHarness {
        Self::start_with_clocks(n, extra_toml, |_| Arc::new(SystemClock)).await
    }

    /// [`ClusterHarness::start`], node `i` reading the time from `clock(i)`.
    pub async fn start_with_clocks(
        n: usize,
        extra_toml: &str,
        clock: impl Fn(usize) -> Arc<dyn Clock>,
    ) -> ClusterHarness {
        let mock = MockServer::start(MockConfig::default())
            .await
            .expect("mock starts");
        let text = format!("{BASE}\n{extra_toml}").replace("{MOCK}", &mock.url());
        let mut nodes: Vec<Node> = Vec::new();
        for i in 0..n {
            let data = tempfile::tempdir().expect("temp dir");
            let server = start_node(
                &text,
                &nodes,
                n,
                &format!("node-{}", i + 1),
                &data,
                clock(i),
            )
            .await;
            nodes.push(Node {
                base: format!("http://{}", server.addr),
                server,
                data,
            });
        }
        let h = ClusterHarness {
            mock,
            nodes,
            client: client::http1(),
            text,
        };
        h.wait_for(Duration::from_secs(10), |h| {
            h.nodes.iter().all(|n| n.members() == h.nodes.len())
        })
        .await;
        h
    }

    /// Stops node `i` gracefully and starts it again on the same data directory under the
    /// name `name` (a host replaced, a node renamed), then waits until every node sees
    /// the whole cluster.
    pub async fn restart_as(&mut self, i: usize, name: &str) {
        let Node { server, data, .. } = self.nodes.remove(i);
        server.shutdown().await;
        let size = self.nodes.len() + 1;
        self.bring_up(i, name, size, data).await;
    }

    /// Starts one more node, named `name` and configured for a cluster of `size`, seeded
    /// with the first node, and waits until every node sees the whole cluster.
    pub async fn add_node(&mut self, name: &str, size: usize) {
        let data = tempfile::tempdir().expect("temp dir");
        self.bring_up(self.nodes.len(), name, size, data).await;
    }

    /// Starts a node on `data` as the `at`-th, then waits until all see all (one member
    /// per name: two nodes given one name are one member).
    async fn bring_up(&mut self, at: usize, name: &str, size: usize, data: tempfile::TempDir) {
        let clock = Arc::new(SystemClock);
        let server = start_node(&self.text, &self.nodes, size, name, &data, clock).await;
        let base = format!("http://{}", server.addr);
        self.nodes.insert(at, Node { server, base, data });
        let names: std::collections::BTreeSet<&str> = self
            .nodes
            .iter()
            .map(|n| n.server.gateway.config.server.node_name.as_str())
            .collect();
        let distinct = names.len();
        self.wait_for(Duration::from_secs(10), |h| {
            h.nodes.iter().all(|n| n.members() == distinct)
        })
        .await;
    }

    /// Polls `done` (every 20 ms) until it holds, failing after `limit`.
    pub async fn wait_for(&self, limit: Duration, done: impl Fn(&ClusterHarness) -> bool) {
        let started = std::time::Instant::now();
        while !done(self) {
            assert!(
                started.elapsed() < limit,
                "condition not reached within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn post(&self, node: usize, path: &str, key: &str, body: Value) -> Answer {
        let headers = [
            ("authorization", format!("Bearer {key}")),
            ("content-type", "application/json".to_owned()),
        ];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = format!("{}{path}", self.nodes[node].base);
        client::send(
            &self.client,
            client::request("POST", &url, &headers, Bytes::from(body.to_string())),
        )
        .await
    }

    pub async fn admin(
        &self,
        node: usize,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let auth = format!("Bearer {ADMIN_KEY}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let url = format!("http://{}{path}", self.nodes[node].server.admin_addr);
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        client::send(&self.client, client::request(method, &url, &headers, body)).await
    }
}

impl ClusterHarness {
    /// Node `node`'s cluster RPC address.
    pub fn rpc_addr(&self, node: usize) -> std::net::SocketAddr {
        self.nodes[node]
            .server
            .gateway
            .cluster
            .as_ref()
            .expect("clustered")
            .me()
            .rpc
    }

    /// Sends a raw cluster RPC body to `node`, signed with `secret` (or unsigned).
    pub async fn rpc_raw(&self, node: usize, body: Bytes, secret: Option<&[u8]>) -> Answer {
        let me = self.rpc_addr(node);
        let signature = secret.map(|s| switchboard_server::shard::rpc::sign(s, &body));
        let mut headers = vec![("content-type", "application/msgpack")];
        if let Some(sig) = &signature {
            headers.push((switchboard_server::shard::rpc::SIGNATURE, sig.as_str()));
        }
        client::send(
            &self.client,
            client::request("POST", &format!("http://{me}/rpc"), &headers, body),
        )
        .await
    }
}

impl Node {
    /// Live members this node sees, itself included.
    pub fn members(&self) -> usize {
        self.server
            .gateway
            .cluster
            .as_ref()
            .map_or(1, |c| c.members().len())
    }
}
