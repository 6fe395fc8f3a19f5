//! The gateway's metrics: names and labels defined once, here, with units in the names.
//!
//! Labels stay low-cardinality: API family, endpoint, status class, provider, deployment
//! and alias names from the config (never tenants, keys or request ids). The Prometheus
//! recorder is process-wide (the `metrics` facade has one global recorder), installed on
//! first use and rendered by the admin listener's `/metrics`.
//!
//! The recorder keeps every histogram sample in a lock-free buffer until something drains
//! it into the buckets: rendering `/metrics` does, and so does a thread started with the
//! recorder, once per [`UPKEEP_PERIOD`]. Without it a node nobody scrapes would hold every
//! sample of its life (three per request) and pay for draining them all at the first
//! scrape.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const REQUESTS: &str = "switchboard_requests_total";
pub const REQUEST_SECONDS: &str = "switchboard_request_duration_seconds";
pub const OVERHEAD_SECONDS: &str = "switchboard_overhead_seconds";
pub const TTFT_SECONDS: &str = "switchboard_time_to_first_token_seconds";
pub const AUDIT_BACKLOG: &str = "switchboard_audit_backlog_records";
pub const CACHE_ENTRIES: &str = "switchboard_cache_entries";
pub const LEASE_FREE: &str = "switchboard_ledger_lease_free";
pub const LEASE_RESERVED: &str = "switchboard_ledger_reserved";
pub const LEDGER_QUOTAS: &str = "switchboard_ledger_quotas";
pub const UPSTREAM_ATTEMPTS: &str = "switchboard_upstream_attempts_total";
pub const FALLBACKS: &str = "switchboard_fallbacks_total";
pub const ROUTE_DECISIONS: &str = "switchboard_route_decisions_total";
pub const BREAKER_STATE: &str = "switchboard_breaker_state";
pub const BREAKER_TRANSITIONS: &str = "switchboard_breaker_transitions_total";
pub const COST: &str = "switchboard_cost_nano_usd_total";
pub const TOKENS: &str = "switchboard_tokens_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often the upkeep thread drains histogram samples into their buckets: at 1000
/// requests/s about 3000 samples, a few tens of microseconds each time.
pub const UPKEEP_PERIOD: Duration = Duration::from_secs(1);

/// The upkeep thread's name (tests look for it).
pub const UPKEEP_THREAD: &str = "metrics-upkeep";

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
            // A plain thread, not a task: the recorder outlives any one runtime (tests
            // start many), and its work is a short drain once a second.
            let upkeep = handle.clone();
            let (running, started) = std::sync::mpsc::sync_channel::<()>(1);
            let spawned = std::thread::Builder::new()
                .name(UPKEEP_THREAD.to_owned())
                .spawn(move || {
                    let _ = running.send(());
                    loop {
                        std::thread::sleep(UPKEEP_PERIOD);
                        upkeep.run_upkeep();
                    }
                });
            match spawned {
                // Named and running once it says so.
                Ok(_) => drop(started.recv()),
                Err(e) => tracing::warn!(
                    error = %e,
                    "metrics upkeep thread not started: histogram samples wait for /metrics"
                ),
            }
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

/// The labels of a request's metrics. `tenant` only when `[metrics] tenant_labels` is on.
#[derive(Debug, Clone, Copy)]
pub struct RequestLabels<'a> {
    pub api: &'static str,
    pub endpoint: &'static str,
    pub model: &'a str,
    pub provider: &'a str,
    pub tenant: Option<&'a str>,
}

impl RequestLabels<'_> {
    /// A request that ended before it was identified.
    pub fn bare(api: &'static str) -> RequestLabels<'static> {
        RequestLabels {
            api,
            endpoint: "other",
            model: "other",
            provider: "none",
            tenant: None,
        }
    }

    fn to_vec(self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("api", self.api.to_owned()),
            ("endpoint", self.endpoint.to_owned()),
            ("model", self.model.to_owned()),
            ("provider", self.provider.to_owned()),
        ];
        if let Some(t) = self.tenant {
            v.push(("tenant", t.to_owned()));
        }
        v
    }
}

fn labels(pairs: Vec<(&'static str, String)>) -> Vec<metrics::Label> {
    pairs
        .into_iter()
        .map(|(k, v)| metrics::Label::new(k, v))
        .collect()
}

/// The series of one label set and status class, registered once and reused: looking a
/// series up in the recorder by name and labels costs a dozen allocations (label strings,
/// the key) per call, three times per request. The label values are bounded by the
/// config (see [`RequestLabels`]), so this map is as bounded as the registry itself.
struct Series {
    requests: Counter,
    seconds: Histogram,
    overhead: Histogram,
    ttft: Histogram,
}

impl Series {
    fn register(l: &RequestLabels<'_>, status: &'static str) -> Series {
        // Installed before the first registration, or the handles would be no-ops for good.
        let _ = handle();
        let mut with_status = l.to_vec();
        with_status.push(("status", status.to_owned()));
        Series {
            requests: counter!(REQUESTS, labels(with_status.clone())),
            seconds: histogram!(REQUEST_SECONDS, labels(with_status)),
            overhead: histogram!(OVERHEAD_SECONDS, labels(l.to_vec())),
            ttft: histogram!(TTFT_SECONDS, labels(l.to_vec())),
        }
    }
}

/// Handles by composite label key. Label values are configured names (or fixed words), so
/// the maps hash with foldhash: SipHash cost several times as much per request.
type Handles<T> = DashMap<String, T, foldhash::fast::RandomState>;

static SERIES: LazyLock<Handles<Arc<Series>>> = LazyLock::new(Handles::default);

/// Looks `parts` up in `map` under one composite key (built in a reused buffer), adding
/// what `register` makes the first time.
fn cached<T: Clone>(map: &Handles<T>, parts: &[&str], register: impl FnOnce() -> T) -> T {
    thread_local! {
        static KEY: RefCell<String> = const { RefCell::new(String::new()) };
    }
    KEY.with_borrow_mut(|key| {
        key.clear();
        for part in parts {
            key.push_str(part);
            key.push('\u{1e}');
        }
        if let Some(found) = map.get(key.as_str()) {
            return found.clone();
        }
        map.entry(key.clone())
            .or_insert_with(register)
            .value()
            .clone()
    })
}

fn series(l: &RequestLabels<'_>, status: &'static str) -> Arc<Series> {
    let tenant = l.tenant.map_or("\u{1f}-", |t| t);
    cached(
        &SERIES,
        &[l.api, l.endpoint, l.model, l.provider, tenant, status],
        || Arc::new(Series::register(l, status)),
    )
}

/// One client request finished (its response head was sent): its count and latency,
/// which carry the same status class so a latency panel can tell fast refusals from slow
/// answers; and the gateway's own share of it (`own`: its time minus the time spent on
/// providers; `None` for a request that was never identified, as before: it is no
/// gateway work on a call).
pub fn request(l: &RequestLabels<'_>, status: u16, elapsed: Duration, own: Option<Duration>) {
    let s = series(l, status_class(status));
    s.requests.increment(1);
    s.seconds.record(elapsed.as_secs_f64());
    if let Some(own) = own {
        s.overhead.record(own.as_secs_f64());
    }
}

/// Time to a stream's first event at the client.
pub fn time_to_first_token(l: &RequestLabels<'_>, ttft: Duration) {
    series(l, "2xx").ttft.record(ttft.as_secs_f64());
}

/// This node's ledger leases, summed per metric (per-quota series would be one per key):
/// free lease and amounts reserved by calls in flight, in the metric's unit.
pub fn ledger(leases: &[(switchboard_ledger::QuotaId, switchboard_ledger::NodeLease)]) {
    for metric in [
        switchboard_ledger::Metric::Money,
        switchboard_ledger::Metric::Tokens,
        switchboard_ledger::Metric::Requests,
    ] {
        let of = leases.iter().filter(|(q, _)| q.metric == metric);
        let free: i64 = of.clone().map(|(_, l)| l.free.max(0)).sum();
        let reserved: i64 = of.clone().map(|(_, l)| l.reserved).sum();
        gauge!(LEASE_FREE, "metric" => metric.as_str()).set(free as f64);
        gauge!(LEASE_RESERVED, "metric" => metric.as_str()).set(reserved as f64);
        gauge!(LEDGER_QUOTAS, "metric" => metric.as_str()).set(of.count() as f64);
    }
}

/// Membership: live members (this node included) and the gossip packet counters.
pub fn cluster(members: usize, c: &switchboard_cluster::CounterSnapshot) {
    gauge!("switchboard_cluster_members").set(members as f64);
    counter!("switchboard_cluster_packets_total", "kind" => "sent").absolute(c.packets_sent);
    counter!("switchboard_cluster_packets_total", "kind" => "received")
        .absolute(c.packets_received);
    counter!("switchboard_cluster_packets_dropped_total", "reason" => "bad_signature")
        .absolute(c.dropped_bad_signature);
    counter!("switchboard_cluster_packets_dropped_total", "reason" => "malformed")
        .absolute(c.dropped_malformed);
}

/// Gauges read from the node's parts at scrape time.
pub fn scrape_gauges(audit_backlog: usize, cache_entries: u64) {
    gauge!(AUDIT_BACKLOG).set(audit_backlog as f64);
    gauge!(CACHE_ENTRIES).set(cache_entries as f64);
}

/// One upstream attempt and how it went (`ok`, `status_5xx`, `rate_limited`, `timeout`...).
pub fn attempt(provider: &str, outcome: &'static str) {
    static ATTEMPTS: LazyLock<Handles<Counter>> = LazyLock::new(Handles::default);
    cached(&ATTEMPTS, &[provider, outcome], || {
        let _ = handle();
        counter!(UPSTREAM_ATTEMPTS, "provider" => provider.to_owned(), "outcome" => outcome)
    })
    .increment(1);
}

/// A call moved on to a fallback alias.
pub fn fallback(from: &str, to: &str) {
    counter!(FALLBACKS, "from" => from.to_owned(), "to" => to.to_owned()).increment(1);
}

/// How a routed call's serving alias was decided: `requested`, `rule`, `tier`,
/// `fallback`, `context_fallback`, `content_policy_fallback`; or, for a call nobody
/// answered, `all_open` (every alias of the chain fully open) and `exhausted`.
pub fn route_decision(reason: &'static str) {
    static DECISIONS: LazyLock<Handles<Counter>> = LazyLock::new(Handles::default);
    cached(&DECISIONS, &[reason], || {
        let _ = handle();
        counter!(ROUTE_DECISIONS, "reason" => reason)
    })
    .increment(1);
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
pub fn usage(
    alias: &str,
    provider: &str,
    input: u64,
    output: u64,
    cost_nanos: i64,
    tenant: Option<&str>,
) {
    static USAGE: LazyLock<Handles<[Counter; 3]>> = LazyLock::new(Handles::default);
    let [cost, tokens_in, tokens_out] = cached(
        &USAGE,
        &[alias, provider, tenant.unwrap_or("\u{1f}-")],
        || {
            let _ = handle();
            let mut labels = vec![
                metrics::Label::new("model", alias.to_owned()),
                metrics::Label::new("provider", provider.to_owned()),
            ];
            if let Some(t) = tenant {
                labels.push(metrics::Label::new("tenant", t.to_owned()));
            }
            let kind = |k: &'static str| {
                let mut l = labels.clone();
                l.push(metrics::Label::new("kind", k));
                l
            };
            // Counters are integers, so cost is counted in nano-dollars, exactly.
            [
                counter!(COST, labels.clone()),
                counter!(TOKENS, kind("input")),
                counter!(TOKENS, kind("output")),
            ]
        },
    );
    cost.increment(cost_nanos.max(0) as u64);
    tokens_in.increment(input);
    tokens_out.increment(output);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of the rendered registry that mention `model`.
    fn rendered(model: &str) -> Vec<String> {
        handle()
            .expect("the recorder is ours")
            .render()
            .lines()
            .filter(|l| l.contains(&format!("model=\"{model}\"")))
            .map(str::to_owned)
            .collect()
    }

    fn request_labels<'a>(model: &'a str, tenant: Option<&'static str>) -> RequestLabels<'a> {
        RequestLabels {
            api: "openai",
            endpoint: "chat",
            model,
            provider: "p",
            tenant,
        }
    }

    /// The names of this process's threads.
    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim().to_owned())
            .collect()
    }

    #[test]
    fn installing_the_recorder_starts_the_upkeep_thread() {
        assert!(handle().is_some(), "the recorder is ours");
        let names = thread_names();
        assert_eq!(
            names.iter().filter(|n| *n == UPKEEP_THREAD).count(),
            1,
            "one upkeep thread per process: {names:?}"
        );
        // Installing again (every server start asks) starts no second one.
        handle();
        let again = thread_names();
        assert_eq!(
            again.iter().filter(|n| *n == UPKEEP_THREAD).count(),
            1,
            "{again:?}"
        );
    }

    #[test]
    fn reused_series_keep_counting_and_label_sets_stay_apart() {
        // A model name no other test uses: the registry is process-wide.
        let model = "metrics-cache-test";
        for _ in 0..3 {
            request(
                &request_labels(model, None),
                200,
                Duration::from_millis(3),
                Some(Duration::ZERO),
            );
        }
        // A request never identified: counted, but no gateway overhead recorded.
        request(
            &request_labels(model, None),
            200,
            Duration::from_millis(3),
            None,
        );
        request(
            &request_labels(model, None),
            503,
            Duration::from_millis(3),
            Some(Duration::ZERO),
        );
        request(
            &request_labels(model, Some("acme")),
            200,
            Duration::ZERO,
            Some(Duration::ZERO),
        );
        time_to_first_token(&request_labels(model, None), Duration::from_millis(1));
        let lines = rendered(model);
        let count = |status: &str, tenant: bool| {
            lines
                .iter()
                .find(|l| {
                    l.starts_with(REQUESTS)
                        && l.contains(&format!("status=\"{status}\""))
                        && l.contains("tenant=\"acme\"") == tenant
                })
                .and_then(|l| l.rsplit(' ').next())
                .map(|v| v.to_owned())
        };
        assert_eq!(count("2xx", false).as_deref(), Some("4"), "{lines:#?}");
        assert_eq!(count("5xx", false).as_deref(), Some("1"), "{lines:#?}");
        assert_eq!(count("2xx", true).as_deref(), Some("1"), "{lines:#?}");
        let overhead_count = lines
            .iter()
            .find(|l| l.starts_with(&format!("{OVERHEAD_SECONDS}_count")) && !l.contains("tenant"))
            .and_then(|l| l.rsplit(' ').next())
            .map(|v| v.to_owned());
        assert_eq!(overhead_count.as_deref(), Some("4"), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{TTFT_SECONDS}_count")) && l.ends_with(" 1")),
            "{lines:#?}"
        );
    }
}
