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

pub mod duration;
pub mod env;
pub mod error;
pub mod keys;
pub mod models;
pub mod providers;
pub mod secret;
pub mod server;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use error::ConfigError;
pub use keys::KeyConfig;
pub use models::{DeploymentConfig, ModelConfig};
pub use providers::{ProviderConfig, ProviderKind};
pub use secret::Secret;
pub use server::{AdminConfig, ServerConfig};

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
        let mut config = Config {
            source: path.to_owned(),
            server: raw.server,
            admin: raw.admin,
            providers: raw.providers,
            models: raw.models,
            keys: raw.keys,
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
