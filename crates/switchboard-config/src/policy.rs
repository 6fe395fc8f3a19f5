//! `[[tenants]]`, `[[teams]]` and the quotas on them and on keys.

use std::collections::BTreeMap;

use serde::Deserialize;
use switchboard_core::Money;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaMetric {
    /// Dollars; `limit` is written as `"25.00"`.
    Money,
    /// Input plus output tokens.
    Tokens,
    Requests,
}

/// When a quota starts over (UTC calendar boundaries; `total` never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaWindow {
    Minute,
    Hour,
    Day,
    Month,
    Total,
}

/// One limit: `{ metric = "money", window = "day", limit = "25.00" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    pub metric: QuotaMetric,
    pub window: QuotaWindow,
    /// Dollars (a string or number) for money, a count otherwise; read by [`QuotaConfig::limit_units`].
    pub limit: toml::Value,
}

impl QuotaConfig {
    /// The limit in the ledger's units: nano-dollars for money, a count otherwise.
    pub fn limit_units(&self) -> Result<i64, String> {
        match (self.metric, &self.limit) {
            (QuotaMetric::Money, toml::Value::String(s)) => Money::parse_usd(s).map(Money::nanos),
            (QuotaMetric::Money, toml::Value::Integer(i)) => {
                Money::parse_usd(&i.to_string()).map(Money::nanos)
            }
            (QuotaMetric::Money, toml::Value::Float(f)) => {
                Money::parse_usd(&f.to_string()).map(Money::nanos)
            }
            (_, toml::Value::Integer(i)) if *i >= 0 => Ok(*i),
            (QuotaMetric::Money, _) => {
                Err("a money limit is a dollar amount like \"25.00\"".into())
            }
            _ => Err("a token or request limit is a whole number >= 0".into()),
        }
        .and_then(|v| {
            if v < 0 {
                Err("a limit cannot be negative".into())
            } else {
                Ok(v)
            }
        })
    }
}

/// Whether a tenant's prompts and responses are copied into its audit records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capture {
    /// Metadata only (the default): who, what model, tokens, cost, status.
    #[default]
    None,
    /// Also the request body.
    Prompts,
    /// Also the response (for streams, the text the client received).
    All,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub name: String,
    #[serde(default)]
    pub quotas: Vec<QuotaConfig>,
    #[serde(default)]
    pub capture: Capture,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// PII, deny-list and size rules for this tenant's prompts (and answers).
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub tenant: String,
    pub name: String,
    #[serde(default)]
    pub quotas: Vec<QuotaConfig>,
}
