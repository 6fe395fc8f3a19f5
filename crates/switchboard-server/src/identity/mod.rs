//! Who is calling, and what they may do.
//!
//! - [`store`]: [`KeyStore`], virtual keys held and looked up only as SHA-256 digests
//!   (why a plain digest comparison suffices: see its docs), with expiry and revocation
//!   checked on every request.
//! - [`directory`]: [`Directory`], tenants and teams with their quotas and audit capture
//!   policy.
//! - [`state`]: [`AdminState`], what the admin API changed, versioned and persisted in the
//!   data directory so it survives restarts; laid over the config file at start-up.
//! - [`tags`]: feature tags for cost attribution, from `x-switchboard-tags` and the OpenAI
//!   `metadata` and `user` fields.

pub mod directory;
pub mod state;
pub mod store;
pub mod tags;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use switchboard_config::{QuotaMetric, QuotaWindow};

pub use directory::Directory;
pub use state::AdminState;
pub use store::KeyStore;

/// A limit in the ledger's units: nano-dollars for money, a count otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuotaSpec {
    pub metric: QuotaMetric,
    pub window: QuotaWindow,
    pub limit: i64,
}

/// Where a key came from: the config file, or the admin API (and its persisted state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Config,
    Admin,
}

/// A virtual key and whose it is. Held only with its digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The key's id in the ledger, the audit log and the admin API.
    pub id: String,
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
    pub tenant: String,
    #[serde(default)]
    pub team: Option<String>,
    /// Aliases the key may call; `None` means all.
    #[serde(default)]
    pub models: Option<HashSet<String>>,
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub quotas: Vec<QuotaSpec>,
    #[serde(default)]
    pub revoked_at_ms: Option<u64>,
    pub origin: Origin,
    #[serde(default)]
    pub created_ms: u64,
    /// Guardrails for this key, replacing its tenant's.
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
    /// `guardrails`, compiled when the key is stored.
    #[serde(skip)]
    pub guard: Option<CompiledGuard>,
}

/// A compiled guard shared by every request it applies to. Two are equal when they are
/// the same compilation (the config beside it is what is compared and persisted).
#[derive(Clone)]
pub struct CompiledGuard(pub std::sync::Arc<switchboard_guard::Guard>);

impl CompiledGuard {
    /// Compiles `cfg`; config and admin input were validated, so a failure is logged
    /// and leaves the owner unguarded rather than failing a request.
    pub fn compile(cfg: Option<&switchboard_guard::GuardConfig>) -> Option<CompiledGuard> {
        match switchboard_guard::Guard::compile(cfg?) {
            Ok(g) => Some(CompiledGuard(std::sync::Arc::new(g))),
            Err(e) => {
                tracing::error!(error = %e, "guardrails not compiled");
                None
            }
        }
    }
}

impl PartialEq for CompiledGuard {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CompiledGuard {}

impl std::fmt::Debug for CompiledGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompiledGuard")
    }
}

impl Identity {
    pub fn may_use(&self, alias: &str) -> bool {
        self.models.as_ref().is_none_or(|m| m.contains(alias))
    }
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(de::Error::custom)?;
        Ok(out)
    }
}
