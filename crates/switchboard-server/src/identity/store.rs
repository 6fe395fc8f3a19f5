//! Virtual keys: held only as SHA-256 digests, compared in constant time.
//!
//! A presented key is hashed with SHA-256. The map is keyed by the first half of the
//! digest (which finds the candidate; timing of that lookup can at most say something
//! about the digest of what the client sent, and steering a digest is a preimage search
//! on SHA-256), and the whole 32-byte digest is then compared with the stored one in
//! constant time (`subtle`), so the final accept/refuse does not depend on how many bytes
//! matched. Expiry and revocation are checked on every request, so a revocation takes
//! effect on the next one.

use std::sync::Arc;

use dashmap::DashMap;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;
use switchboard_config::keys::hash_key;

use super::Identity;
use crate::error::GatewayError;

/// The half of a digest the map is keyed by.
type Prefix = [u8; 16];

fn prefix(digest: &[u8; 32]) -> Prefix {
    let mut p = [0u8; 16];
    p.copy_from_slice(&digest[..16]);
    p
}

/// The keys this node accepts.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_digest: DashMap<Prefix, Arc<Identity>>,
    by_id: DashMap<String, [u8; 32]>,
}

impl KeyStore {
    /// Adds or replaces a key (compiling its guardrails).
    pub fn put(&self, mut identity: Identity) {
        identity.guard = super::CompiledGuard::compile(identity.guardrails.as_ref());
        if let Some(old) = self.by_id.insert(identity.id.clone(), identity.digest)
            && old != identity.digest
        {
            self.by_digest.remove(&prefix(&old));
        }
        self.by_digest
            .insert(prefix(&identity.digest), Arc::new(identity));
    }

    pub fn get(&self, id: &str) -> Option<Arc<Identity>> {
        let digest = *self.by_id.get(id)?;
        self.find(&digest)
    }

    /// Every key, sorted by id.
    pub fn list(&self) -> Vec<Arc<Identity>> {
        let mut all: Vec<_> = self
            .by_digest
            .iter()
            .map(|e| Arc::clone(e.value()))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn contains_digest(&self, digest: &[u8; 32]) -> bool {
        self.find(digest).is_some()
    }

    /// The key whose digest is `digest`: found by its first half, accepted only if the
    /// whole digest matches, compared in constant time.
    fn find(&self, digest: &[u8; 32]) -> Option<Arc<Identity>> {
        let candidate = self.by_digest.get(&prefix(digest))?;
        bool::from(candidate.digest.ct_eq(digest)).then(|| Arc::clone(candidate.value()))
    }

    /// Authenticates a request by its `Authorization: Bearer` or `x-api-key` header.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        now_ms: u64,
    ) -> Result<Arc<Identity>, GatewayError> {
        let key = presented_key(headers).ok_or(GatewayError::MissingKey)?;
        let digest = hash_key(key);
        let Some(identity) = self.find(&digest) else {
            return Err(GatewayError::InvalidKey("invalid API key"));
        };
        if identity.revoked_at_ms.is_some_and(|t| t <= now_ms) {
            return Err(GatewayError::InvalidKey("this API key has been revoked"));
        }
        if identity.expires_at_ms.is_some_and(|t| t <= now_ms) {
            return Err(GatewayError::InvalidKey("this API key has expired"));
        }
        Ok(identity)
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
    use crate::identity::Origin;

    fn identity(key: &str) -> Identity {
        Identity {
            id: "k".into(),
            digest: hash_key(key),
            tenant: "acme".into(),
            team: None,
            models: Some(["demo".to_owned()].into()),
            expires_at_ms: None,
            metadata: Default::default(),
            quotas: vec![],
            revoked_at_ms: None,
            origin: Origin::Config,
            created_ms: 0,
            guardrails: None,
            guard: None,
        }
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
        let s = KeyStore::default();
        s.put(identity("sk-good-key"));
        assert_eq!(
            s.authenticate(&headers("authorization", "Bearer sk-good-key"), 0)
                .unwrap()
                .tenant,
            "acme"
        );
        assert_eq!(
            s.authenticate(&headers("x-api-key", "sk-good-key"), 0)
                .unwrap()
                .tenant,
            "acme"
        );
    }

    #[test]
    fn a_digest_matching_only_the_lookup_half_is_refused() {
        let s = KeyStore::default();
        s.put(identity("sk-good-key"));
        let real = hash_key("sk-good-key");
        assert!(s.contains_digest(&real));
        let mut forged = real;
        forged[31] ^= 1;
        assert!(!s.contains_digest(&forged), "the whole digest must match");
        assert!(s.get("k").is_some());
    }

    #[test]
    fn missing_wrong_expired_and_revoked_keys_are_refused() {
        let s = KeyStore::default();
        s.put(identity("sk-good-key"));
        assert!(matches!(
            s.authenticate(&HeaderMap::new(), 0),
            Err(GatewayError::MissingKey)
        ));
        assert!(matches!(
            s.authenticate(&headers("authorization", "Bearer sk-bad"), 0),
            Err(GatewayError::InvalidKey(_))
        ));
        assert!(matches!(
            s.authenticate(&headers("authorization", "Basic abc"), 0),
            Err(GatewayError::MissingKey)
        ));
        let mut expiring = identity("sk-good-key");
        expiring.expires_at_ms = Some(1000);
        s.put(expiring);
        assert!(
            s.authenticate(&headers("x-api-key", "sk-good-key"), 999)
                .is_ok()
        );
        assert!(
            matches!(s.authenticate(&headers("x-api-key", "sk-good-key"), 1000), Err(GatewayError::InvalidKey(m)) if m.contains("expired"))
        );
        let mut revoked = identity("sk-good-key");
        revoked.revoked_at_ms = Some(5);
        s.put(revoked);
        assert!(
            matches!(s.authenticate(&headers("x-api-key", "sk-good-key"), 6), Err(GatewayError::InvalidKey(m)) if m.contains("revoked"))
        );
    }

    #[test]
    fn replacing_a_key_under_the_same_id_retires_the_old_secret() {
        let s = KeyStore::default();
        s.put(identity("sk-first-key"));
        s.put(identity("sk-second-key"));
        assert!(
            s.authenticate(&headers("x-api-key", "sk-first-key"), 0)
                .is_err()
        );
        assert!(
            s.authenticate(&headers("x-api-key", "sk-second-key"), 0)
                .is_ok()
        );
        assert_eq!(s.list().len(), 1);
    }

    #[test]
    fn model_allow_list_is_enforced() {
        let id = identity("sk-good-key");
        assert!(id.may_use("demo"));
        assert!(!id.may_use("gpt"));
    }
}
