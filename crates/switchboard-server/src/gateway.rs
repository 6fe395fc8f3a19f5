//! The state every request handler shares: config, catalog, keys, id generator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_config::Config;
use switchboard_core::RequestId;
use switchboard_upstream::{Catalog, UpstreamError};

use crate::identity::{AdminState, Directory, KeyStore, state};

/// One node's gateway, shared by every connection.
#[derive(Debug)]
pub struct Gateway {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub keys: KeyStore,
    pub directory: Directory,
    /// The admin API's changes; held while one is applied and persisted.
    pub admin_state: tokio::sync::Mutex<AdminState>,
    ids: RequestIds,
}

impl Gateway {
    pub fn new(config: Arc<Config>) -> Result<Self, UpstreamError> {
        let admin_state = AdminState::load(&state::state_path(&config.server.data_dir))
            .map_err(UpstreamError::Connect)?;
        let (keys, directory) = state::build(&config, &admin_state);
        Ok(Self {
            catalog: Catalog::from_config(&config)?,
            keys,
            directory,
            admin_state: tokio::sync::Mutex::new(admin_state),
            ids: RequestIds::new(),
            config,
        })
    }

    /// Wall-clock unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// A fresh request id, or the client's own `x-request-id` when it is a sane token, so
    /// a caller can follow its request through our logs and audit.
    pub fn request_id(&self, headers: &http::HeaderMap) -> RequestId {
        if let Some(v) = headers.get("x-request-id").and_then(|v| v.to_str().ok())
            && !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return RequestId::new(v);
        }
        self.ids.next()
    }
}

/// Request ids unique across restarts and nodes without coordination: a per-process
/// prefix from the start time and pid, then a counter.
#[derive(Debug)]
struct RequestIds {
    prefix: String,
    counter: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = nanos ^ (u64::from(std::process::id()) << 32);
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self {
            prefix: format!("req_{:010x}", mixed >> 24),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        RequestId::new(format!("{}{n:08x}", self.prefix))
    }
}
