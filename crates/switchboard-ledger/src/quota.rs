//! What a quota is: who it limits, what it counts, over which window, and how much.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::window::Window;

/// A node of the cluster, by its id. Leases are granted to nodes, not to requests.
pub type NodeId = String;

/// Who a quota limits. A request is checked against the quotas of its key, its team and
/// its tenant together. The names are shared: a quota id is cloned several times per call
/// (reservation, settlement, flusher), and a clone is a reference count, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A virtual key, by its key id (never the key itself).
    Key(Arc<str>),
    Team {
        tenant: Arc<str>,
        team: Arc<str>,
    },
    Tenant(Arc<str>),
}

/// What a quota counts; the unit of its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Nano-dollars (see `switchboard_core::Money`).
    Money,
    /// Input plus output tokens.
    Tokens,
    Requests,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Money => "money",
            Metric::Tokens => "tokens",
            Metric::Requests => "requests",
        }
    }
}

/// The identity of one ledger: everything about a quota except its limit, which an
/// admin may change while its spend carries on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QuotaId {
    pub scope: Scope,
    pub metric: Metric,
    pub window: Window,
}

impl QuotaId {
    pub fn new(scope: Scope, metric: Metric, window: Window) -> Self {
        Self {
            scope,
            metric,
            window,
        }
    }
}

/// A quota as the configuration states it: the ledger's id and its limit, in the
/// metric's unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quota {
    pub id: QuotaId,
    pub limit: i64,
}

impl Quota {
    pub fn new(id: QuotaId, limit: i64) -> Self {
        Self { id, limit }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Key(key) => write!(f, "key:{key}"),
            Scope::Team { tenant, team } => write!(f, "team:{tenant}:{team}"),
            Scope::Tenant(tenant) => write!(f, "tenant:{tenant}"),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for QuotaId {
    /// `tenant:acme/money/day`, `team:acme:search/tokens/minute`, `key:k1/requests/minute`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.scope, self.metric, self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_ids_print_as_scope_metric_window() {
        let id = QuotaId::new(Scope::Tenant("acme".into()), Metric::Money, Window::Day);
        assert_eq!(id.to_string(), "tenant:acme/money/day");
        let team = Scope::Team {
            tenant: "acme".into(),
            team: "search".into(),
        };
        let id = QuotaId::new(team, Metric::Tokens, Window::Minute);
        assert_eq!(id.to_string(), "team:acme:search/tokens/minute");
    }

    #[test]
    fn quota_ids_survive_a_serde_round_trip() {
        let id = QuotaId::new(Scope::Key("k1".into()), Metric::Requests, Window::Month);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(
            json,
            r#"{"scope":{"key":"k1"},"metric":"requests","window":"month"}"#
        );
        assert_eq!(serde_json::from_str::<QuotaId>(&json).unwrap(), id);
    }
}
