//! `[models.ALIAS]`: the names clients call and the deployments behind them.

use serde::Deserialize;

use crate::routing::{
    BreakerSettings, RetryConfig, RuleConfig, ShadowName, StrategyName, TiersConfig,
};

/// A model alias. Clients send the alias as `model`; the gateway orders its deployments by
/// the alias's strategy, skips those whose breaker is open, and falls back along its
/// chain when they fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub deployments: Vec<DeploymentConfig>,
    /// Shown as `owned_by` in `/v1/models`; defaults to the first provider's name.
    #[serde(default)]
    pub owned_by: Option<String>,
    #[serde(default)]
    pub strategy: StrategyName,
    /// Aliases tried, in order, when every deployment of this one failed.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Where a prompt too long for every deployment here goes.
    #[serde(default)]
    pub context_fallback: Option<String>,
    /// Where a request refused by a provider's content policy goes.
    #[serde(default)]
    pub content_policy_fallback: Option<String>,
    /// Requests matching a rule are served by the rule's alias instead.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Requests are served by the small, medium or large alias by their size.
    #[serde(default)]
    pub tiers: Option<TiersConfig>,
    /// Observation mode: what a strategy (or, with `complexity`, this alias's tiers)
    /// would have chosen, and what it would have cost, recorded without acting on it.
    #[serde(default)]
    pub shadow: Option<ShadowName>,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub breaker: BreakerSettings,
    /// Serve repeated requests from the cache.
    #[serde(default)]
    pub cache: Option<crate::cache::AliasCache>,
}

/// One place an alias can be served: a provider and the model name it knows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// A `[providers.NAME]` table.
    pub provider: String,
    /// The upstream's model name (for Azure, the deployment name).
    pub model: String,
    /// Overrides the price table's entry for this deployment (a negotiated rate, a
    /// self-hosted model).
    #[serde(default)]
    pub price: Option<crate::prices::PriceConfig>,
    /// Share of traffic under the `weighted` strategy.
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default)]
    pub region: Option<String>,
    /// Largest prompt plus answer, in tokens; longer requests skip this deployment.
    #[serde(default)]
    pub context_window: Option<u32>,
}

fn one() -> u32 {
    1
}
