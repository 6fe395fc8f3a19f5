//! Prices: a table per upstream model name (`config/prices.toml`), overridable per
//! deployment.

use std::collections::BTreeMap;

use serde::Deserialize;
use switchboard_core::{Money, Price};

/// USD per million tokens, as written in the table. Read into an exact [`Price`] by
/// [`PriceConfig::price`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    pub input: toml::Value,
    pub output: toml::Value,
    #[serde(default)]
    pub cached_input: Option<toml::Value>,
    /// The model's largest answer: the reservation's output estimate when a request
    /// sets no `max_tokens`.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
}

/// The price table file: `[models."gpt-4o-mini"] input = 0.15 ...`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    #[serde(default)]
    pub models: BTreeMap<String, PriceConfig>,
}

fn dollars(v: &toml::Value) -> Result<i64, String> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        _ => return Err("a price is a dollar amount per million tokens, like 0.15".into()),
    };
    let m = Money::parse_usd(&text)?;
    if m.nanos() < 0 {
        return Err("a price cannot be negative".into());
    }
    Ok(m.nanos())
}

impl PriceConfig {
    /// The exact price; cached input costs the full input price unless given.
    pub fn price(&self) -> Result<Price, String> {
        let input = dollars(&self.input)?;
        Ok(Price {
            input_per_mtok: input,
            output_per_mtok: dollars(&self.output)?,
            cached_input_per_mtok: self
                .cached_input
                .as_ref()
                .map(dollars)
                .transpose()?
                .unwrap_or(input),
        })
    }
}
