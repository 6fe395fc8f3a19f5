//! What this node knows of the quotas it touches: who owns and backs each, the owner's
//! term, and the book as held here. For `GET /admin/cluster`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use switchboard_ledger::QuotaId;

use super::NodeOwners;

/// One quota as this node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaOverview {
    pub quota: String,
    /// By this node's view of the live members; `None` alone or without a majority.
    pub owner: Option<String>,
    pub backup: Option<String>,
    /// `owner`, `backup` or `client` (this node only spends from its leases).
    pub role: &'static str,
    /// The newest state held here (as owner or backup), if any.
    pub epoch: Option<u64>,
    pub term_owner: Option<String>,
    pub version: Option<u64>,
    pub limit: Option<i64>,
    pub period: Option<u64>,
    pub spent: Option<i64>,
    /// Lease per node, as the owner's book held here counts it.
    pub leases: BTreeMap<String, i64>,
}

impl NodeOwners {
    /// Every quota this node owns, backs or holds a lease of (`leased`).
    pub async fn overview(&self, leased: &[QuotaId]) -> Vec<QuotaOverview> {
        let mut quotas: BTreeSet<QuotaId> = leased.iter().cloned().collect();
        quotas.extend(self.0.local.quotas());
        if let Some(link) = &self.0.link {
            quotas.extend(link.store.quotas());
        }
        let mut out = Vec::with_capacity(quotas.len());
        for quota in quotas {
            let (owner, backup) = match self.placement(&quota) {
                Some((o, b)) => (Some(o), b),
                None if self.is_clustered() => (None, None),
                None => (Some(self.0.me.clone()), None),
            };
            let role = if owner.as_deref() == Some(self.0.me.as_str()) {
                "owner"
            } else if backup.as_deref() == Some(self.0.me.as_str()) {
                "backup"
            } else {
                "client"
            };
            let held = self.held(&quota).await.map(|(_, s)| s);
            out.push(QuotaOverview {
                quota: quota.to_string(),
                owner,
                backup,
                role,
                epoch: held.as_ref().map(|s| s.epoch),
                term_owner: held
                    .as_ref()
                    .map(|s| s.term_owner.clone())
                    .filter(|o| !o.is_empty()),
                version: held.as_ref().map(|s| s.version),
                limit: held.as_ref().map(|s| s.limit),
                period: held.as_ref().map(|s| s.current.period),
                spent: held.as_ref().map(|s| s.current.spent),
                leases: held
                    .map(|s| s.leases.into_iter().collect())
                    .unwrap_or_default(),
            });
        }
        out
    }
}
