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

/// SHA-256 of a presented key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}
