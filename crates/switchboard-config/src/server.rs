//! `[server]` and `[admin]`: listeners and their limits.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::duration;
use crate::secret::Secret;

/// The client listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Client API address.
    pub listen: SocketAddr,
    /// Largest request body; larger ones get 413 before they are read in full.
    pub max_body_bytes: usize,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    #[serde(deserialize_with = "duration::de")]
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body once its headers are in; a body
    /// still incomplete then gets 408 and the connection is closed.
    #[serde(deserialize_with = "duration::de")]
    pub body_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long.
    #[serde(deserialize_with = "duration::de")]
    pub idle_timeout: Duration,
    /// On SIGTERM, how long in-flight requests and streams may run before being cut.
    #[serde(deserialize_with = "duration::de")]
    pub shutdown_grace: Duration,
    /// On SIGTERM, how long the node keeps serving new calls after `/readyz` turns 503,
    /// before its listener closes: long enough for a load balancer's health checks to
    /// take it out of rotation (HAProxy: `inter` x `fall`), so no call is sent to a
    /// closing connection. Zero: close at once.
    #[serde(deserialize_with = "duration::de")]
    pub drain_delay: Duration,
    /// This node's own data: audit segments, admin state. Relative to the working
    /// directory.
    pub data_dir: std::path::PathBuf,
    /// The node's name in audit records and, later, the cluster.
    pub node_name: String,
    /// Seeds weighted routing and jitter for reproducible runs (tests, benchmarks);
    /// unset, every request draws fresh randomness.
    pub routing_seed: Option<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 10 * 1024 * 1024,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            shutdown_grace: Duration::from_secs(30),
            drain_delay: Duration::ZERO,
            data_dir: std::path::PathBuf::from("data"),
            node_name: "node-1".to_owned(),
            routing_seed: None,
        }
    }
}

/// The admin listener: health probes, metrics and the admin API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// Guards everything on the admin listener but `/healthz` and `/readyz`. Unset: the
    /// guarded endpoints refuse every call.
    pub key: Option<Secret>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            key: None,
        }
    }
}

/// `[metrics]`: what `/metrics` labels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Label requests, tokens and cost by tenant. Off by default: one series per tenant
    /// and model can be many series.
    pub tenant_labels: bool,
}
