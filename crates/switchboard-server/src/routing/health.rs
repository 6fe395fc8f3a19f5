//! Per-deployment live state: breaker, calls in flight, latency; and the shadow book.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_config::{BreakerSettings, Config};
use switchboard_ledger::Clock;
use switchboard_router::{
    BreakerConfig, BreakerHandle, BreakerState, InFlight, LatencyTracker, ShadowBook, spawn_breaker,
};
use switchboard_upstream::Catalog;

/// Weight of the newest time-to-first-byte sample in a deployment's EWMA.
const LATENCY_ALPHA: f64 = 0.2;

/// One deployment's live state.
pub struct DeploymentHealth {
    pub breaker: BreakerHandle,
    pub in_flight: Arc<InFlight>,
    pub latency: LatencyTracker,
}

/// Every deployment's live state, by deployment id.
pub struct Health {
    deployments: HashMap<String, DeploymentHealth>,
    pub shadow: ShadowBook,
}

pub fn breaker_config(b: &BreakerSettings) -> BreakerConfig {
    BreakerConfig {
        window: b.window,
        min_requests: b.min_requests,
        failure_ratio: b.failure_ratio,
        consecutive_failures: b.consecutive_failures,
        cooldown: b.cooldown,
        max_cooldown: b.max_cooldown,
        ..BreakerConfig::default()
    }
}

impl Health {
    /// Spawns a breaker per deployment, with the settings of the first alias it serves.
    pub async fn start(
        catalog: &Catalog,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Health, String> {
        let mut deployments = HashMap::new();
        for (alias, d) in catalog.deployments() {
            let settings = config
                .models
                .get(alias)
                .map(|m| m.breaker.clone())
                .unwrap_or_default();
            let breaker = spawn_breaker(
                d.id.to_string(),
                breaker_config(&settings),
                Arc::clone(&clock),
            )
            .await
            .map_err(|e| format!("breaker for {}: {e}", d.id))?;
            let health = DeploymentHealth {
                breaker,
                in_flight: Arc::new(InFlight::new()),
                latency: LatencyTracker::new(LATENCY_ALPHA),
            };
            deployments.insert(d.id.to_string(), health);
        }
        Ok(Health {
            deployments,
            shadow: ShadowBook::new(),
        })
    }

    pub fn get(&self, deployment: &str) -> Option<&DeploymentHealth> {
        self.deployments.get(deployment)
    }

    /// Every breaker's state, sorted by deployment id, for the admin API and metrics.
    pub fn breakers(&self) -> Vec<(String, BreakerState, u64)> {
        let mut out: Vec<_> = self
            .deployments
            .iter()
            .map(|(id, h)| (id.clone(), h.breaker.state(), h.breaker.transitions()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
