//! The gateway's metrics: names and labels defined once, here, with units in the names.
//!
//! Labels stay low-cardinality: API family, endpoint, status class, provider, deployment
//! and alias names from the config (never tenants, keys or request ids). The Prometheus
//! recorder is process-wide (the `metrics` facade has one global recorder), installed on
//! first use and rendered by the admin listener's `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const REQUESTS: &str = "switchboard_requests_total";
pub const REQUEST_SECONDS: &str = "switchboard_request_duration_seconds";
pub const UPSTREAM_ATTEMPTS: &str = "switchboard_upstream_attempts_total";
pub const FALLBACKS: &str = "switchboard_fallbacks_total";
pub const BREAKER_STATE: &str = "switchboard_breaker_state";
pub const BREAKER_TRANSITIONS: &str = "switchboard_breaker_transitions_total";
pub const COST: &str = "switchboard_cost_nano_usd_total";
pub const TOKENS: &str = "switchboard_tokens_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process; `None` if another recorder was
/// installed first (then `/metrics` says so).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    60.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// One client request finished (its response head was sent).
pub fn request(api: &'static str, endpoint: &'static str, status: u16, elapsed: Duration) {
    counter!(REQUESTS, "api" => api, "endpoint" => endpoint, "status" => status_class(status))
        .increment(1);
    histogram!(REQUEST_SECONDS, "api" => api, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

/// One upstream attempt and how it went (`ok`, `status_5xx`, `rate_limited`, `timeout`...).
pub fn attempt(provider: &str, outcome: &'static str) {
    counter!(UPSTREAM_ATTEMPTS, "provider" => provider.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// A call moved on to a fallback alias.
pub fn fallback(from: &str, to: &str) {
    counter!(FALLBACKS, "from" => from.to_owned(), "to" => to.to_owned()).increment(1);
}

/// A breaker's state: 0 closed, 1 half-open, 2 open.
pub fn breaker_state(deployment: &str, state: u8) {
    gauge!(BREAKER_STATE, "deployment" => deployment.to_owned()).set(f64::from(state));
}

/// A breaker's transitions since start (read from its handle at scrape time).
pub fn breaker_transitions(deployment: &str, total: u64) {
    counter!(BREAKER_TRANSITIONS, "deployment" => deployment.to_owned()).absolute(total);
}

/// What a settled call used, by the model alias it was asked for.
pub fn usage(alias: &str, provider: &str, input: u64, output: u64, cost_nanos: i64) {
    counter!(TOKENS, "model" => alias.to_owned(), "provider" => provider.to_owned(), "kind" => "input").increment(input);
    counter!(TOKENS, "model" => alias.to_owned(), "provider" => provider.to_owned(), "kind" => "output").increment(output);
    // Counters are integers, so cost is counted in nano-dollars, exactly.
    counter!(COST, "model" => alias.to_owned(), "provider" => provider.to_owned())
        .increment(cost_nanos.max(0) as u64);
}
