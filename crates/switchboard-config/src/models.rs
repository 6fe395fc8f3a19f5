//! `[models.ALIAS]`: the names clients call and the deployments behind them.

use serde::Deserialize;

/// A model alias. Clients send the alias as `model`; the gateway picks one of its
/// deployments (the first live one, in order, until routing strategies arrive).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub deployments: Vec<DeploymentConfig>,
    /// Shown as `owned_by` in `/v1/models`; defaults to the first provider's name.
    #[serde(default)]
    pub owned_by: Option<String>,
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
}
