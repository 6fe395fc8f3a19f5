//! What the admin API changed: persisted, versioned, laid over the config at start-up.
//!
//! The config file stays the operator's declaration; the admin state holds what was
//! created or changed at run time (keys, revocations, tenant and team policies). It is
//! one JSON file in the data directory, rewritten atomically (temp file, fsync, rename)
//! on every change, with a version that increases by one per change, so a later cluster
//! can replicate it and keep only newer versions.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use switchboard_config::{Config, QuotaConfig};

use super::directory::{TeamPolicy, TenantPolicy};
use super::{Directory, Identity, KeyStore, Origin, QuotaSpec};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminState {
    pub version: u64,
    /// Keys created through the admin API, by id.
    #[serde(default)]
    pub keys: BTreeMap<String, Identity>,
    /// Changes to keys from the config file, by id (revocation, expiry, models, quotas).
    #[serde(default)]
    pub config_key_overrides: BTreeMap<String, Identity>,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantPolicy>,
    #[serde(default)]
    pub teams: BTreeMap<String, BTreeMap<String, TeamPolicy>>,
}

/// Where the admin state lives in the data directory.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-state.json")
}

impl AdminState {
    /// Reads the state, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<AdminState, String> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AdminState::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// Quotas from the config, in ledger units (validated when the config was loaded).
pub fn quota_specs(quotas: &[QuotaConfig]) -> Vec<QuotaSpec> {
    quotas
        .iter()
        .filter_map(|q| {
            q.limit_units().ok().map(|limit| QuotaSpec {
                metric: q.metric,
                window: q.window,
                limit,
            })
        })
        .collect()
}

/// Builds the key store and the directory: the config first, the admin state on top.
pub fn build(config: &Config, state: &AdminState) -> (KeyStore, Directory) {
    let keys = KeyStore::default();
    for k in &config.keys {
        let Some(digest) = k.digest() else { continue };
        let id = k.id();
        let identity = match state.config_key_overrides.get(&id) {
            Some(over) if over.digest == digest => over.clone(),
            _ => Identity {
                id,
                digest,
                tenant: k.tenant.clone(),
                team: k.team.clone(),
                models: (!k.models.is_empty() && !k.models.iter().any(|m| m == "*"))
                    .then(|| k.models.iter().cloned().collect()),
                expires_at_ms: k.expires_at_ms(),
                metadata: k.metadata.clone(),
                quotas: quota_specs(&k.quotas),
                revoked_at_ms: None,
                origin: Origin::Config,
                created_ms: 0,
                guardrails: k.guardrails.clone(),
                guard: None,
            },
        };
        keys.put(identity);
    }
    for identity in state.keys.values() {
        keys.put(identity.clone());
    }
    let directory = Directory::default();
    for t in &config.tenants {
        let policy = TenantPolicy {
            quotas: quota_specs(&t.quotas),
            capture: t.capture,
            metadata: t.metadata.clone(),
            guardrails: t.guardrails.clone(),
            guard: None,
        };
        directory.put_tenant(&t.name, policy);
    }
    for t in &config.teams {
        directory.put_team(
            &t.tenant,
            &t.name,
            TeamPolicy {
                quotas: quota_specs(&t.quotas),
            },
        );
    }
    for (name, policy) in &state.tenants {
        directory.put_tenant(name, policy.clone());
    }
    for (tenant, teams) in &state.teams {
        for (team, policy) in teams {
            directory.put_team(tenant, team, policy.clone());
        }
    }
    (keys, directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path());
        assert_eq!(AdminState::load(&path).unwrap(), AdminState::default());
        let mut s = AdminState {
            version: 3,
            ..Default::default()
        };
        s.tenants.insert("acme".into(), TenantPolicy::default());
        s.save(&path).unwrap();
        assert_eq!(AdminState::load(&path).unwrap(), s);
    }
}
