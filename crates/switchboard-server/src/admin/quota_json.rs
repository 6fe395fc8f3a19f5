//! Quotas as the admin API reads and writes them: money limits in dollars
//! (`"25.00"`), counts as numbers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_config::{QuotaMetric, QuotaWindow};
use switchboard_core::Money;

use crate::identity::QuotaSpec;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaJson {
    pub metric: QuotaMetric,
    pub window: QuotaWindow,
    pub limit: Value,
}

impl QuotaJson {
    pub fn to_spec(&self) -> Result<QuotaSpec, String> {
        let limit = match (self.metric, &self.limit) {
            (QuotaMetric::Money, Value::String(s)) => Money::parse_usd(s)?.nanos(),
            (QuotaMetric::Money, Value::Number(n)) => Money::parse_usd(&n.to_string())?.nanos(),
            (_, Value::Number(n)) => n
                .as_i64()
                .ok_or("a token or request limit is a whole number")?,
            (QuotaMetric::Money, _) => {
                return Err("a money limit is a dollar amount like \"25.00\"".into());
            }
            _ => return Err("a token or request limit is a whole number".into()),
        };
        if limit < 0 {
            return Err("a limit cannot be negative".into());
        }
        Ok(QuotaSpec {
            metric: self.metric,
            window: self.window,
            limit,
        })
    }

    pub fn from_spec(q: &QuotaSpec) -> QuotaJson {
        let limit = match q.metric {
            QuotaMetric::Money => Value::String(Money(q.limit).to_string()),
            _ => Value::from(q.limit),
        };
        QuotaJson {
            metric: q.metric,
            window: q.window,
            limit,
        }
    }
}

/// Parses a list, naming the index of the first bad entry.
pub fn specs(quotas: &[QuotaJson]) -> Result<Vec<QuotaSpec>, String> {
    let mut out = Vec::with_capacity(quotas.len());
    for (i, q) in quotas.iter().enumerate() {
        let spec = q.to_spec().map_err(|e| format!("quotas[{i}].limit: {e}"))?;
        if out
            .iter()
            .any(|o: &QuotaSpec| o.metric == spec.metric && o.window == spec.window)
        {
            return Err(format!(
                "quotas[{i}]: the same metric and window are limited twice"
            ));
        }
        out.push(spec);
    }
    Ok(out)
}
