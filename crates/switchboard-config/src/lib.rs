//! Switchboard's configuration: one TOML file, read once at start-up.
//!
//! Loading is three steps, each in its own module:
//! 1. [`env`]: the file is parsed as plain TOML and every `${VAR}` / `${VAR:-default}` in a
//!    string is replaced from the environment. A provider whose secret is unset is not an
//!    error: it is switched off, with the reason kept for `switchboard check` and logs, so
//!    the default config runs offline and real providers light up when their keys appear.
//! 2. The tree is read into the typed schema ([`server`], [`providers`], [`models`],
//!    [`keys`]); a value of the wrong type is reported with its key path.
//! 3. [`validate`] checks what types cannot: references between sections, URLs, limits.
//!
//! Every error is a [`ConfigError`] naming the file, the key and why. Secrets are held in
//! [`Secret`], whose `Debug` never shows them.

pub mod audit;
pub mod cache;
pub mod cluster;
pub mod duration;
pub mod env;
pub mod error;
pub mod keys;
pub mod models;
pub mod policy;
pub mod prices;
pub mod providers;
pub mod routing;
pub mod secret;
pub mod server;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use audit::AuditSettings;
pub use cache::{AliasCache, CacheSettings, SemanticCache};
pub use cluster::ClusterSettings;
pub use error::ConfigError;
pub use keys::KeyConfig;
pub use models::{DeploymentConfig, ModelConfig};
pub use policy::{Capture, QuotaConfig, QuotaMetric, QuotaWindow, TeamConfig, TenantConfig};
pub use prices::{PriceConfig, PriceTable};
pub use providers::{ProviderConfig, ProviderKind};
pub use routing::{
    BreakerSettings, RetryConfig, RuleConfig, ShadowName, StrategyName, TiersConfig,
};
pub use secret::Secret;
pub use server::{AdminConfig, MetricsConfig, ServerConfig};

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, for messages.
    pub source: PathBuf,
    pub server: ServerConfig,
    pub admin: AdminConfig,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub models: BTreeMap<String, ModelConfig>,
    pub keys: Vec<KeyConfig>,
    pub tenants: Vec<TenantConfig>,
    pub teams: Vec<TeamConfig>,
    pub audit: AuditSettings,
    pub cache: CacheSettings,
    pub metrics: MetricsConfig,
    /// Membership; `None` runs the node alone.
    pub cluster: Option<ClusterSettings>,
    /// Prices by upstream model name: the `[prices] file` table, then `[prices.models]`
    /// entries on top.
    pub prices: BTreeMap<String, ModelPrice>,
}

/// A model's price and output cap, resolved from the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    pub price: switchboard_core::Price,
    pub max_output_tokens: Option<u32>,
}

/// `[prices]`: an optional table file (relative to the config file) and inline entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesSection {
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    models: BTreeMap<String, PriceConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    admin: AdminConfig,
    #[serde(default)]
    providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    models: BTreeMap<String, ModelConfig>,
    #[serde(default)]
    keys: Vec<KeyConfig>,
    #[serde(default)]
    tenants: Vec<TenantConfig>,
    #[serde(default)]
    teams: Vec<TeamConfig>,
    #[serde(default)]
    audit: AuditSettings,
    #[serde(default)]
    cache: CacheSettings,
    #[serde(default)]
    metrics: MetricsConfig,
    #[serde(default)]
    cluster: Option<ClusterSettings>,
    #[serde(default)]
    prices: PricesSection,
}

impl Config {
    /// Reads and validates `path`, taking `${VAR}`s from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "", format!("cannot read the file: {e}")))?;
        Config::from_toml(path, &text, &|var| std::env::var(var).ok())
    }

    /// Reads and validates TOML text; `env` answers `${VAR}` lookups (tests pass a map).
    pub fn from_toml(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::new(path, "", format!("not valid TOML: {e}")))?;
        let disabled = env::expand(path, &mut table, env)?;
        let raw: RawConfig =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::new(
                    path,
                    if key == "." { "" } else { &key },
                    e.into_inner().to_string(),
                )
            })?;
        let prices = load_prices(path, &raw.prices)?;
        let mut config = Config {
            source: path.to_owned(),
            server: raw.server,
            admin: raw.admin,
            providers: raw.providers,
            models: raw.models,
            keys: raw.keys,
            tenants: raw.tenants,
            teams: raw.teams,
            audit: raw.audit,
            cache: raw.cache,
            metrics: raw.metrics,
            cluster: raw.cluster,
            prices,
        };
        // `key = "${SWITCHBOARD_ADMIN_KEY:-}"` with the variable unset means "no admin key".
        if config
            .admin
            .key
            .as_ref()
            .is_some_and(|k| k.expose().is_empty())
        {
            config.admin.key = None;
        }
        for (name, provider) in &mut config.providers {
            provider.name.clone_from(name);
            provider.disabled = disabled.get(name).cloned();
        }
        validate::check(&config)?;
        Ok(config)
    }

    /// The audit directory, resolved against the data directory.
    pub fn audit_dir(&self) -> PathBuf {
        self.server.data_dir.join(&self.audit.dir)
    }

    /// Deployments of `alias` whose provider is switched on.
    pub fn live_deployments<'a>(
        &'a self,
        alias: &str,
    ) -> impl Iterator<Item = &'a DeploymentConfig> + 'a {
        self.models
            .get(alias)
            .into_iter()
            .flat_map(|m| m.deployments.iter())
            .filter(|d| {
                self.providers
                    .get(&d.provider)
                    .is_some_and(|p| p.disabled.is_none())
            })
    }
}

/// Reads the price table file (if any) and lays the inline entries over it.
fn load_prices(
    config_path: &Path,
    section: &PricesSection,
) -> Result<BTreeMap<String, ModelPrice>, ConfigError> {
    let mut table = BTreeMap::new();
    if let Some(file) = &section.file {
        let path = config_path.parent().unwrap_or(Path::new(".")).join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(
                config_path,
                "prices.file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let parsed: PriceTable = serde_path_to_error::deserialize(
            toml::de::Deserializer::parse(&text)
                .map_err(|e| ConfigError::new(&path, "", format!("not valid TOML: {e}")))?,
        )
        .map_err(|e| ConfigError::new(&path, &e.path().to_string(), e.into_inner().to_string()))?;
        for (model, p) in &parsed.models {
            table.insert(
                model.clone(),
                resolve_price(&path, &format!("models.{model}"), p)?,
            );
        }
    }
    for (model, p) in &section.models {
        table.insert(
            model.clone(),
            resolve_price(config_path, &format!("prices.models.{model}"), p)?,
        );
    }
    Ok(table)
}

pub(crate) fn resolve_price(
    file: &Path,
    key: &str,
    p: &PriceConfig,
) -> Result<ModelPrice, ConfigError> {
    let price = p.price().map_err(|why| ConfigError::new(file, key, why))?;
    Ok(ModelPrice {
        price,
        max_output_tokens: p.max_output_tokens,
    })
}
