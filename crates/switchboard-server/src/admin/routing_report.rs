//! `/admin/breakers` and `/admin/shadow`: the decision layer's state, for operators.

use http::StatusCode;
use serde_json::json;
use switchboard_core::Money;
use switchboard_core::time::format_rfc3339;
use switchboard_router::BreakerState;

use super::http::{AdminResponse, json};
use crate::gateway::Gateway;

pub fn state_json(state: &BreakerState) -> serde_json::Value {
    match state {
        BreakerState::Closed => json!({"state": "closed"}),
        BreakerState::Open { until_ms, trips } => {
            json!({"state": "open", "until": format_rfc3339(*until_ms), "until_ms": until_ms, "trips": trips})
        }
        BreakerState::HalfOpen {
            trips,
            probe_in_flight,
        } => {
            json!({"state": "half_open", "trips": trips, "probe_in_flight": probe_in_flight})
        }
    }
}

/// Every deployment's breaker: state, and transitions since start.
pub fn breakers(gw: &Gateway) -> AdminResponse {
    json(StatusCode::OK, &json!({ "breakers": breaker_list(gw) }))
}

/// The breaker table as JSON.
pub fn breaker_list(gw: &Gateway) -> Vec<serde_json::Value> {
    gw.health
        .breakers()
        .into_iter()
        .map(|(id, state, transitions)| {
            let mut v = state_json(&state);
            v["deployment"] = json!(id);
            v["transitions"] = json!(transitions);
            v
        })
        .collect()
}

/// What each alias's shadow strategy would have saved over the traffic observed.
pub fn shadow(gw: &Gateway) -> AdminResponse {
    let list: Vec<_> = gw
        .health
        .shadow
        .report()
        .into_iter()
        .map(|f| {
            json!({
                "model": f.alias,
                "strategy": gw.config.models.get(&f.alias).and_then(|m| m.shadow).map(shadow_name),
                "requests": f.requests,
                "differed": f.differed,
                "actual_cost_usd": Money(f.actual_cost.nanos()).to_string(),
                "shadow_cost_usd": f.shadow_cost.to_string(),
                "projected_savings_usd": f.savings().to_string(),
                "choices": f.choices,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "shadow": list }))
}

/// The config spelling of what an alias runs in the shadow.
fn shadow_name(s: switchboard_config::ShadowName) -> &'static str {
    match s.strategy() {
        Some(st) => crate::routing::resolve::strategy(st).as_str(),
        None => "complexity",
    }
}

/// Sets the breaker gauges from the live states, just before a scrape.
pub fn publish_breaker_gauges(gw: &Gateway) {
    for (id, state, transitions) in gw.health.breakers() {
        let value = match state {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen { .. } => 1,
            BreakerState::Open { .. } => 2,
        };
        crate::metrics::breaker_state(&id, value);
        crate::metrics::breaker_transitions(&id, transitions);
    }
}
