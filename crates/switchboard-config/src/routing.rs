//! Routing settings of a model alias: strategy, fallbacks, rules, tiers, retries and the
//! circuit breaker. Read here as written; the router crate turns them into its own types.

use std::time::Duration;

use serde::Deserialize;

use crate::duration;

/// How an alias orders its deployments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Config order; the next one only when the first fails.
    #[default]
    Priority,
    /// Random, proportional to `weight`.
    Weighted,
    /// Fewest calls in flight on this node.
    LeastBusy,
    /// Lowest recent time to first byte.
    Latency,
    /// Lowest cost for this request.
    Cheapest,
}

/// What an alias runs in observation mode: a deployment-ordering strategy, or its own
/// complexity tiers (`complexity`: evaluated and recorded, not applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowName {
    Priority,
    Weighted,
    LeastBusy,
    Latency,
    Cheapest,
    /// The alias's `tiers`, which then only run in the shadow.
    #[serde(alias = "tiers")]
    Complexity,
}

impl ShadowName {
    /// The ordering strategy, when the shadow is one.
    pub fn strategy(self) -> Option<StrategyName> {
        match self {
            ShadowName::Priority => Some(StrategyName::Priority),
            ShadowName::Weighted => Some(StrategyName::Weighted),
            ShadowName::LeastBusy => Some(StrategyName::LeastBusy),
            ShadowName::Latency => Some(StrategyName::Latency),
            ShadowName::Cheapest => Some(StrategyName::Cheapest),
            ShadowName::Complexity => None,
        }
    }
}

/// Sends matching requests to another alias: `{ tag = "support-bot", alias = "small" }` or
/// `{ header = "x-priority", equals = "low", alias = "cheap" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    pub alias: String,
}

/// Complexity tiers: a request's size picks the alias that serves it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiersConfig {
    pub small: String,
    pub medium: String,
    pub large: String,
    /// Prompt tokens from which a request is medium / large.
    pub medium_from_tokens: u64,
    pub large_from_tokens: u64,
    /// Conversation turns from which a request is medium / large.
    #[serde(default = "never")]
    pub medium_from_turns: u32,
    #[serde(default = "never")]
    pub large_from_turns: u32,
    /// System-prompt tokens from which a request is medium / large; off unless set.
    #[serde(default = "never64")]
    pub medium_from_system_tokens: u64,
    #[serde(default = "never64")]
    pub large_from_system_tokens: u64,
}

fn never() -> u32 {
    u32::MAX
}

fn never64() -> u64 {
    u64::MAX
}

/// When and how to try again before the first byte reaches the client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    #[serde(deserialize_with = "duration::de")]
    pub base_backoff: Duration,
    #[serde(deserialize_with = "duration::de")]
    pub max_backoff: Duration,
    /// One attempt's limit, up to the point its answer can be committed to the client:
    /// the whole body of a plain call, the first event of a stream. None: only the
    /// provider's own `first_byte_timeout` and `total_timeout` apply.
    #[serde(deserialize_with = "duration::de_opt")]
    pub per_attempt_timeout: Option<Duration>,
    /// All attempts together.
    #[serde(deserialize_with = "duration::de_opt")]
    pub total_deadline: Option<Duration>,
    /// Which failures are retried: any of `rate_limited`, `server_errors`, `timeouts`,
    /// `connect_errors`.
    pub retry_on: Vec<String>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            per_attempt_timeout: None,
            total_deadline: None,
            retry_on: vec![
                "rate_limited".into(),
                "server_errors".into(),
                "timeouts".into(),
                "connect_errors".into(),
            ],
        }
    }
}

/// When a deployment's circuit breaker opens and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    /// Outcomes in the sliding window.
    pub window: usize,
    /// Outcomes needed before the failure ratio counts.
    pub min_requests: usize,
    pub failure_ratio: f64,
    pub consecutive_failures: u32,
    #[serde(deserialize_with = "duration::de")]
    pub cooldown: Duration,
    #[serde(deserialize_with = "duration::de")]
    pub max_cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            window: 20,
            min_requests: 10,
            failure_ratio: 0.5,
            consecutive_failures: 5,
            cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(120),
        }
    }
}
