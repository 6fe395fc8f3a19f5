//! Virtual keys: who is calling.
//!
//! Keys are held only as SHA-256 digests. A presented key is hashed and looked up by its
//! digest; the found entry's digest is then compared in constant time, so neither the
//! map's probing nor the comparison leaks how much of a guess was right.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;
use switchboard_config::KeyConfig;
use switchboard_config::keys::hash_key;

use crate::error::GatewayError;

/// Who a request is from, as its key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant: String,
    pub team: Option<String>,
    /// The key's label (never the key).
    pub key_name: String,
    /// Aliases the key may call; `None` means all.
    pub models: Option<HashSet<String>>,
}

impl Identity {
    pub fn may_use(&self, alias: &str) -> bool {
        self.models.as_ref().is_none_or(|m| m.contains(alias))
    }
}

/// The keys this node accepts.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_digest: HashMap<[u8; 32], Arc<Identity>>,
}

impl KeyStore {
    pub fn from_config(keys: &[KeyConfig]) -> Self {
        let mut by_digest = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            let Some(digest) = k.digest() else { continue };
            let models = (!k.models.is_empty() && !k.models.iter().any(|m| m == "*"))
                .then(|| k.models.iter().cloned().collect());
            let identity = Identity {
                tenant: k.tenant.clone(),
                team: k.team.clone(),
                key_name: k.name.clone().unwrap_or_else(|| format!("key-{i}")),
                models,
            };
            by_digest.insert(digest, Arc::new(identity));
        }
        Self { by_digest }
    }

    /// Authenticates a request by its `Authorization: Bearer` or `x-api-key` header.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Identity>, GatewayError> {
        let key = presented_key(headers).ok_or(GatewayError::MissingKey)?;
        let digest = hash_key(key);
        match self.by_digest.get_key_value(&digest) {
            Some((stored, identity)) if bool::from(stored.ct_eq(&digest)) => {
                Ok(Arc::clone(identity))
            }
            _ => Err(GatewayError::InvalidKey),
        }
    }
}

/// The key from `Authorization: Bearer <key>` (OpenAI SDKs) or `x-api-key` (Anthropic's).
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(token) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            let token = token.trim();
            if !token.is_empty() {
                return Some(token);
            }
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_config::Secret;

    fn store() -> KeyStore {
        KeyStore::from_config(&[KeyConfig {
            name: Some("k".into()),
            key: Some(Secret::new("sk-good-key")),
            key_sha256: None,
            tenant: "acme".into(),
            team: None,
            models: vec!["demo".into()],
        }])
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn bearer_and_x_api_key_both_authenticate() {
        let s = store();
        assert_eq!(
            s.authenticate(&headers("authorization", "Bearer sk-good-key"))
                .unwrap()
                .tenant,
            "acme"
        );
        assert_eq!(
            s.authenticate(&headers("x-api-key", "sk-good-key"))
                .unwrap()
                .tenant,
            "acme"
        );
    }

    #[test]
    fn missing_and_wrong_keys_are_refused() {
        let s = store();
        assert!(matches!(
            s.authenticate(&HeaderMap::new()),
            Err(GatewayError::MissingKey)
        ));
        assert!(matches!(
            s.authenticate(&headers("authorization", "Bearer sk-bad")),
            Err(GatewayError::InvalidKey)
        ));
        assert!(matches!(
            s.authenticate(&headers("authorization", "Basic abc")),
            Err(GatewayError::MissingKey)
        ));
    }

    #[test]
    fn model_allow_list_is_enforced() {
        let id = store()
            .authenticate(&headers("x-api-key", "sk-good-key"))
            .unwrap();
        assert!(id.may_use("demo"));
        assert!(!id.may_use("gpt"));
    }
}
