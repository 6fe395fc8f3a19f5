//! The state every request handler shares: config, catalog, identities, the ledger, the
//! audit log, the clock and the id generator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_audit::{AuditConfig, AuditLog};
use switchboard_config::Config;
use switchboard_core::RequestId;
use switchboard_ledger::{Clock, Ledger};
use switchboard_upstream::Catalog;

use crate::cache::ResponseCache;
use crate::cache::semantic::SemanticIndex;
use crate::identity::{AdminState, Directory, KeyStore, state};
use crate::routing::Health;
use crate::server::StartError;
use crate::shard::NodeOwners;

/// One node's gateway, shared by every connection.
pub struct Gateway {
    pub config: Arc<Config>,
    pub catalog: Catalog,
    pub keys: KeyStore,
    pub directory: Directory,
    /// The admin API's changes; held while one is applied and persisted.
    pub admin_state: tokio::sync::Mutex<AdminState>,
    pub ledger: Arc<Ledger<NodeOwners>>,
    /// Where each quota's owner is (local, or a peer reached over RPC).
    pub owners: NodeOwners,
    /// The cluster RPC listener, bound at start and served by the running server.
    pub rpc_listener: parking_lot::Mutex<Option<tokio::net::TcpListener>>,
    /// Every member this node has seen come up or go down, for the cluster status.
    pub member_log: crate::membership::MemberLog,
    pub audit: AuditLog,
    pub clock: Arc<dyn Clock>,
    /// Breakers, in-flight counts and latency of every deployment.
    pub health: Health,
    /// Answers served again without a provider call.
    pub cache: ResponseCache,
    pub semantic: SemanticIndex,
    /// Membership and gossip, when the node runs in a cluster.
    pub cluster: Option<Arc<switchboard_cluster::Cluster>>,
    ids: RequestIds,
    /// Routing generators handed out so far. Its own counter, not the request ids': a
    /// client-supplied `x-request-id` skips the id counter, and that must not change
    /// which seed the next request's routing gets.
    routing_draws: AtomicU64,
    /// Set when the shutdown's grace period is over and the calls still running are being
    /// cut: their records say so, rather than that the client went away.
    pub cutting: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("node", &self.config.server.node_name)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Loads the admin state, opens the audit log and starts the ledger.
    pub async fn start(config: Arc<Config>, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let data = &config.server.data_dir;
        std::fs::create_dir_all(data)
            .map_err(|e| StartError::Data(format!("{}: {e}", data.display())))?;
        let admin_state = AdminState::load(&state::state_path(data)).map_err(StartError::Data)?;
        let (keys, directory) = state::build(&config, &admin_state);
        let mut audit_config =
            AuditConfig::new(config.audit_dir(), config.server.node_name.clone());
        audit_config.max_segment_bytes = config.audit.max_segment_bytes;
        audit_config.max_segment_age = config.audit.max_segment_age;
        audit_config.capacity = config.audit.capacity;
        audit_config.commit_delay = config.audit.commit_delay;
        let audit = switchboard_audit::start(audit_config)
            .await
            .map_err(|e| StartError::Data(e.to_string()))?;
        // The RPC listener is bound before membership starts, so peers learn its real
        // address (the config may ask for port 0).
        let rpc_listener = match &config.cluster {
            Some(c) => Some(
                tokio::net::TcpListener::bind(c.rpc)
                    .await
                    .map_err(|e| StartError::Data(format!("cluster RPC {}: {e}", c.rpc)))?,
            ),
            None => None,
        };
        let rpc_addr = rpc_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let cluster = crate::membership::start(&config, rpc_addr)
            .await
            .map_err(StartError::Data)?
            .map(Arc::new);
        let node = config.server.node_name.clone();
        let owners = match (&cluster, &config.cluster) {
            (Some(cl), Some(c)) => NodeOwners::clustered(
                &node,
                Arc::clone(cl),
                c.secret.expose().as_bytes(),
                &config.server.data_dir.join("ledger"),
                Arc::clone(&clock),
            ),
            _ => NodeOwners::alone(&node),
        };
        let ledger = Arc::new(Ledger::with_owners(
            node,
            Arc::clone(&clock),
            owners.clone(),
        ));
        owners.attach(&ledger);
        let catalog = Catalog::from_config(&config)?;
        let health = Health::start(&catalog, &config, Arc::clone(&clock))
            .await
            .map_err(StartError::Data)?;
        Ok(Self {
            cluster,
            owners,
            rpc_listener: parking_lot::Mutex::new(rpc_listener),
            member_log: crate::membership::MemberLog::default(),
            cache: ResponseCache::new(&config.cache),
            semantic: SemanticIndex::default(),
            catalog,
            health,
            keys,
            directory,
            admin_state: tokio::sync::Mutex::new(admin_state),
            ledger,
            audit,
            clock,
            ids: RequestIds::new(),
            routing_draws: AtomicU64::new(0),
            cutting: std::sync::atomic::AtomicBool::new(false),
            config,
        })
    }

    /// A random source for one request's routing (weighted order and retry jitter):
    /// seeded from `server.routing_seed` and the number of requests routed before when
    /// configured, so the same sequence of requests is routed the same way on every run;
    /// else from fresh entropy.
    pub fn rng(&self) -> switchboard_router::SplitMix {
        match self.config.server.routing_seed {
            Some(seed) => {
                let n = self.routing_draws.fetch_add(1, Ordering::Relaxed);
                switchboard_router::SplitMix::seeded(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            }
            None => switchboard_router::SplitMix::from_entropy(),
        }
    }

    /// A quota's numbers once this node's calls so far have reached its owner: their
    /// audit records made durable first, since a call's ledger reports wait for its
    /// record (see `pipeline::accounting`), then the ledger's pending settlements.
    pub async fn quota_status(
        &self,
        quota: &switchboard_ledger::Quota,
    ) -> Result<switchboard_ledger::QuotaStatus, switchboard_ledger::LedgerError> {
        if let Err(e) = self.audit.flush().await {
            tracing::warn!(error = %e, "audit records not all durable; the numbers may lag");
        }
        self.ledger.status(quota).await
    }

    /// Settles what this node's calls so far owe their owners: their audit records made
    /// durable, then the ledger's queue flushed.
    pub async fn flush_settlements(&self) -> Result<(), switchboard_ledger::LedgerError> {
        if let Err(e) = self.audit.flush().await {
            tracing::warn!(error = %e, "audit records not all durable; reports held back");
        }
        self.ledger.flush().await
    }

    /// Unix milliseconds by the gateway's clock.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The two ids of one request. The first is the one it is known by: the client's own
    /// `x-request-id` when that is a sane token (so a caller can follow its request
    /// through our logs and audit), else a fresh one. The second is the one its spend is
    /// settled under, always a fresh one of this node's: owners apply a settlement id
    /// once (that is what makes a resend safe), so an id a client chose, and may well send
    /// again, must never be one; a client repeating its `x-request-id` would otherwise
    /// have every call after the first dropped from the owners' books as a duplicate.
    pub fn request_ids(&self, headers: &http::HeaderMap) -> (RequestId, RequestId) {
        let own = self.ids.next();
        if let Some(v) = headers.get("x-request-id").and_then(|v| v.to_str().ok())
            && !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return (RequestId::new(v), own);
        }
        (own.clone(), own)
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

    /// `{prefix}{n:08x}`, written by hand: one allocation (the id's own) instead of a
    /// `format!` and its copy into the shared string, on every call.
    fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 64];
        let prefix = self.prefix.as_bytes();
        buf[..prefix.len()].copy_from_slice(prefix);
        let len = prefix.len() + write_hex(&mut buf[prefix.len()..], n, 8);
        match std::str::from_utf8(&buf[..len]) {
            Ok(id) => RequestId::new(id),
            // Unreachable: the prefix is ASCII hex we made, as are the digits.
            Err(_) => RequestId::new(format!("{}{n:08x}", self.prefix)),
        }
    }
}

/// Writes `n` in lowercase hex, at least `min_digits` wide (zero-padded), at the start of
/// `out`; returns the number of bytes written. `out` must hold 16 bytes.
fn write_hex(out: &mut [u8], n: u64, min_digits: usize) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let significant = (64 - n.leading_zeros() as usize).div_ceil(4);
    let digits = significant.max(min_digits).clamp(1, 16);
    for (i, byte) in out[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *byte = HEX[((n >> shift) & 0xf) as usize];
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_what_format_writes() {
        let mut buf = [0u8; 16];
        for n in [
            0,
            1,
            0xf,
            0x10,
            0xabc,
            0xffff_ffff,
            0x1_0000_0000,
            0x0123_4567_89ab_cdef,
            u64::MAX,
        ] {
            for width in [0, 1, 8, 16] {
                let len = write_hex(&mut buf, n, width);
                assert_eq!(
                    std::str::from_utf8(&buf[..len]).unwrap(),
                    format!("{n:0width$x}"),
                    "{n:#x} at width {width}"
                );
            }
        }
    }

    #[test]
    fn request_ids_are_the_prefix_and_a_counter_past_eight_digits() {
        let ids = RequestIds::new();
        assert_eq!(ids.prefix.len(), 14);
        let first = ids.next();
        assert_eq!(first.as_str(), format!("{}00000000", ids.prefix));
        assert_eq!(ids.next().as_str(), format!("{}00000001", ids.prefix));
        ids.counter.store(0x1_2345_6789, Ordering::Relaxed);
        assert_eq!(ids.next().as_str(), format!("{}123456789", ids.prefix));
    }
}
