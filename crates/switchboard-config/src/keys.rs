//! `[[keys]]`: virtual keys clients present, and whose they are.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// A virtual key from the config file. Give either the key itself (`key`, usually
/// `${VAR}`) or only its SHA-256 (`key_sha256`, hex) so the file holds no secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// A label for logs and audit records; never the key.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub key: Option<Secret>,
    #[serde(default)]
    pub key_sha256: Option<String>,
    pub tenant: String,
    #[serde(default)]
    pub team: Option<String>,
    /// Aliases this key may call; empty or `["*"]` means all.
    #[serde(default)]
    pub models: Vec<String>,
    /// `2027-01-01T00:00:00Z`: refused from then on.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub quotas: Vec<crate::policy::QuotaConfig>,
    /// Guardrails for this key, replacing its tenant's.
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
}

impl KeyConfig {
    /// The SHA-256 the gateway stores and compares, from whichever form was given.
    pub fn digest(&self) -> Option<[u8; 32]> {
        if let Some(key) = &self.key {
            return Some(hash_key(key.expose()));
        }
        let hex_digest = self.key_sha256.as_deref()?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut out).ok()?;
        Some(out)
    }
}

impl KeyConfig {
    /// The key's id in the ledger and the audit log: its name, or a prefix of its digest.
    pub fn id(&self) -> String {
        match (&self.name, self.digest()) {
            (Some(name), _) => name.clone(),
            (None, Some(d)) => format!("key-{}", hex::encode(&d[..6])),
            (None, None) => "key-invalid".to_owned(),
        }
    }

    /// Expiry in unix milliseconds, if set (validated at load).
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at
            .as_deref()
            .and_then(switchboard_core::time::parse_rfc3339)
    }
}

/// SHA-256 of a presented key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}
