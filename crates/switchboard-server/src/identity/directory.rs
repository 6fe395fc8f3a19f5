//! Tenants and teams: their quotas and audit capture policy.

use std::collections::BTreeMap;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use switchboard_config::Capture;

use super::QuotaSpec;

/// A tenant's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPolicy {
    #[serde(default)]
    pub quotas: Vec<QuotaSpec>,
    #[serde(default)]
    pub capture: Capture,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
    /// `guardrails`, compiled when the policy is stored.
    #[serde(skip)]
    pub guard: Option<super::CompiledGuard>,
}

/// A team's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamPolicy {
    #[serde(default)]
    pub quotas: Vec<QuotaSpec>,
}

/// Tenants and teams. A tenant or team that is named by a key but defined nowhere has no
/// quotas and captures nothing.
#[derive(Debug, Default)]
pub struct Directory {
    tenants: DashMap<String, TenantPolicy>,
    teams: DashMap<(String, String), TeamPolicy>,
}

impl Directory {
    pub fn put_tenant(&self, name: &str, mut policy: TenantPolicy) {
        policy.guard = super::CompiledGuard::compile(policy.guardrails.as_ref());
        self.tenants.insert(name.to_owned(), policy);
    }

    pub fn put_team(&self, tenant: &str, team: &str, policy: TeamPolicy) {
        self.teams
            .insert((tenant.to_owned(), team.to_owned()), policy);
    }

    pub fn tenant(&self, name: &str) -> Option<TenantPolicy> {
        self.tenants.get(name).map(|t| t.clone())
    }

    pub fn team(&self, tenant: &str, team: &str) -> Option<TeamPolicy> {
        self.teams
            .get(&(tenant.to_owned(), team.to_owned()))
            .map(|t| t.clone())
    }

    /// The tenant's quotas and capture policy without cloning the whole policy.
    pub fn with_tenant<R>(&self, name: &str, f: impl FnOnce(Option<&TenantPolicy>) -> R) -> R {
        match self.tenants.get(name) {
            Some(t) => f(Some(&t)),
            None => f(None),
        }
    }

    pub fn with_team<R>(
        &self,
        tenant: &str,
        team: &str,
        f: impl FnOnce(Option<&TeamPolicy>) -> R,
    ) -> R {
        match self.teams.get(&(tenant.to_owned(), team.to_owned())) {
            Some(t) => f(Some(&t)),
            None => f(None),
        }
    }

    pub fn tenants(&self) -> BTreeMap<String, TenantPolicy> {
        self.tenants
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    pub fn teams(&self) -> BTreeMap<String, BTreeMap<String, TeamPolicy>> {
        let mut out: BTreeMap<String, BTreeMap<String, TeamPolicy>> = BTreeMap::new();
        for e in &self.teams {
            out.entry(e.key().0.clone())
                .or_default()
                .insert(e.key().1.clone(), e.value().clone());
        }
        out
    }
}
