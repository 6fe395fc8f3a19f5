//! The decision layer end to end: failover, fallbacks, Retry-After, breakers, strategies,
//! rules and tiers, shadow mode, and what a stream can and cannot fail over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_provider::FaultRule;
use serde_json::{Value, json};
use switchboard_ledger::ManualClock;
use switchboard_tests::{Harness, KEY_A};

/// A counter's value on `/metrics` (0 when the series does not exist yet). Counters are
/// process-wide and tests run in parallel, so tests compare before and after.
async fn counter(h: &Harness, series: &str) -> f64 {
    let text = h.admin("GET", "/metrics", None).await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn ask(model: &str) -> Value {
    json!({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "route me"}]})
}

const TWO_DEPLOYMENTS: &str = r#"
[models.duo]
deployments = [{ provider = "mock-openai", model = "primary" }, { provider = "mock-anthropic", model = "secondary" }]

[models.solo]
deployments = [{ provider = "mock-openai", model = "solo-model" }]
fallbacks = ["backup"]
retry = { max_attempts = 1 }

[models.backup]
deployments = [{ provider = "mock-gemini", model = "backup-model" }]
"#;

#[tokio::test]
async fn a_failing_primary_is_failed_over_and_the_client_sees_only_success() {
    let h = Harness::builder().with_toml(TWO_DEPLOYMENTS).start().await;
    h.mock
        .add_fault(FaultRule::new("status=503").model("primary"));
    let r = h.post("/v1/chat/completions", KEY_A, ask("duo")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-upstream-model"), Some("secondary"));
    assert_eq!(r.header("x-switchboard-provider"), Some("mock-anthropic"));
    assert_eq!(r.header("x-switchboard-attempts"), Some("2"));
    assert_eq!(r.header("x-switchboard-route"), Some("strategy=priority"));
    assert_eq!(h.mock.calls_for_model("primary"), 1);
    assert_eq!(h.mock.calls_for_model("secondary"), 1);
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(
        (record.attempts, record.served_model.as_deref()),
        (2, Some("secondary"))
    );
    assert_eq!(record.route, "strategy=priority");
    assert_eq!(
        record.route_log,
        ["mock-openai/primary: 503", "mock-anthropic/secondary: ok"]
    );
}

#[tokio::test]
async fn when_every_deployment_fails_the_fallback_alias_answers() {
    let h = Harness::builder().with_toml(TWO_DEPLOYMENTS).start().await;
    h.mock
        .add_fault(FaultRule::new("status=500").model("solo-model"));
    let r = h.post("/v1/chat/completions", KEY_A, ask("solo")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-fallbacks"), Some("backup"));
    assert_eq!(
        r.header("x-switchboard-upstream-model"),
        Some("backup-model")
    );
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(record.fallbacks, vec!["backup"]);
    assert_eq!(
        record.model, "solo",
        "the audit keeps the alias the client asked for"
    );
    let metrics = h.admin("GET", "/metrics", None).await.text();
    assert!(
        metrics.contains("switchboard_fallbacks_total{from=\"solo\",to=\"backup\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_before_retrying() {
    let h = Harness::builder()
        .with_toml(&TWO_DEPLOYMENTS.replace("retry = { max_attempts = 1 }\n", ""))
        .start()
        .await;
    h.mock.add_fault(
        FaultRule::new("status=429;retry-after=1")
            .model("solo-model")
            .times(1),
    );
    let started = Instant::now();
    let r = h.post("/v1/chat/completions", KEY_A, ask("solo")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-attempts"), Some("2"));
    assert_eq!(h.mock.calls_for_model("solo-model"), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the retry waited for Retry-After"
    );
}

#[tokio::test]
async fn the_breaker_opens_stops_traffic_half_opens_and_closes_on_recovery() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let toml = r#"
[models.flaky]
deployments = [{ provider = "mock-openai", model = "flaky-model" }]
retry = { max_attempts = 1 }
breaker = { consecutive_failures = 3, cooldown = "10s" }
"#;
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(toml)
        .start()
        .await;
    h.mock
        .add_fault(FaultRule::new("status=500").model("flaky-model"));
    for _ in 0..3 {
        assert_eq!(
            h.post("/v1/chat/completions", KEY_A, ask("flaky"))
                .await
                .status,
            502
        );
    }
    let breaker = &h
        .gw()
        .health
        .get("mock-openai/flaky-model")
        .unwrap()
        .breaker;
    breaker.sync().await.unwrap();
    let r = h.post("/v1/chat/completions", KEY_A, ask("flaky")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("10"));
    assert_eq!(
        h.mock.calls_for_model("flaky-model"),
        3,
        "an open breaker sends no traffic"
    );
    let listed = h.admin("GET", "/admin/breakers", None).await.json();
    let entry = listed["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["deployment"] == "mock-openai/flaky-model")
        .cloned()
        .unwrap();
    assert_eq!(entry["state"], "open");

    // The provider recovers; after the cooldown one probe goes through and closes it.
    h.mock.clear_faults();
    clock.advance(10_000);
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("flaky"))
            .await
            .status,
        200
    );
    breaker.sync().await.unwrap();
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("flaky"))
            .await
            .status,
        200
    );
    assert_eq!(h.mock.calls_for_model("flaky-model"), 5);
    let listed = h.admin("GET", "/admin/breakers", None).await.json();
    let entry = listed["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["deployment"] == "mock-openai/flaky-model")
        .cloned()
        .unwrap();
    assert_eq!(entry["state"], "closed");
    let metrics = h.admin("GET", "/metrics", None).await.text();
    assert!(
        metrics.contains("switchboard_upstream_attempts_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_breaker_state{deployment=\"mock-openai/flaky-model\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_byte_fails_over_one_that_fails_after_does_not() {
    let h = Harness::builder().with_toml(TWO_DEPLOYMENTS).start().await;
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    let mut body = ask("duo");
    body["stream"] = json!(true);
    h.mock
        .add_fault(FaultRule::new("cut-after=0").model("primary").times(1));
    let mut s = h
        .stream("/v1/chat/completions", &bearer, body.clone())
        .await;
    assert_eq!(s.headers["x-switchboard-upstream-model"], "secondary");
    assert_eq!(s.rest().await.last().map(String::as_str), Some("[DONE]"));

    h.mock
        .add_fault(FaultRule::new("cut-after=3").model("primary").times(1));
    let mut s = h.stream("/v1/chat/completions", &bearer, body).await;
    assert_eq!(s.headers["x-switchboard-upstream-model"], "primary");
    let events = s.rest().await;
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(
        last["error"]["message"].is_string(),
        "a clean error event ends it: {events:?}"
    );
    assert_eq!(
        h.mock.calls_for_model("secondary"),
        1,
        "no failover once bytes reached the client"
    );
}

const WEIGHTED: &str = r#"
[models.spread]
strategy = "weighted"
deployments = [{ provider = "mock-openai", model = "light", weight = 1 }, { provider = "mock-openai", model = "heavy", weight = 3 }]
"#;

/// Which upstream model served each of `n` calls to the weighted alias.
async fn weighted_sequence(h: &Harness, n: usize) -> Vec<String> {
    let mut served = Vec::with_capacity(n);
    for _ in 0..n {
        let r = h.post("/v1/chat/completions", KEY_A, ask("spread")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        served.push(r.header("x-switchboard-upstream-model").unwrap().to_owned());
    }
    served
}

#[tokio::test]
async fn weighted_routing_spreads_load_as_configured() {
    let seeded = |seed: u64| {
        Harness::builder()
            .with_toml(WEIGHTED)
            .configure(move |c| c.server.routing_seed = Some(seed))
    };
    let h = seeded(7).start().await;
    let first = weighted_sequence(&h, 400).await;
    let heavy = h.mock.calls_for_model("heavy") as f64 / 400.0;
    assert!((0.68..=0.82).contains(&heavy), "heavy share {heavy}");
    assert_eq!(
        first.iter().filter(|m| *m == "heavy").count() as u64,
        h.mock.calls_for_model("heavy")
    );

    // The seed fixes every choice: a second node with the same seed routes the same
    // requests identically (with entropy, 100 equal draws at 1:3 would be a ~1e-20 fluke),
    // and another seed does not.
    let again = seeded(7).start().await;
    assert_eq!(weighted_sequence(&again, 100).await, first[..100]);
    let other = seeded(8).start().await;
    assert_ne!(weighted_sequence(&other, 100).await, first[..100]);
}

#[tokio::test]
async fn latency_routing_prefers_the_faster_deployment_once_both_are_measured() {
    let toml = r#"
[providers.slow]
kind = "openai-compatible"
base_url = "{MOCK}/v1"
api_key = "k"
headers = { "x-mock-ttft-ms" = "80" }

[models.quick]
strategy = "latency"
deployments = [{ provider = "slow", model = "slow-model" }, { provider = "mock-openai", model = "fast-model" }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    for _ in 0..12 {
        assert_eq!(
            h.post("/v1/chat/completions", KEY_A, ask("quick"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        h.mock.calls_for_model("slow-model"),
        1,
        "measured once, then avoided"
    );
    assert_eq!(h.mock.calls_for_model("fast-model"), 11);
}

#[tokio::test]
async fn rules_and_complexity_tiers_pick_the_serving_alias() {
    let toml = r#"
[models.smart]
deployments = [{ provider = "mock-openai", model = "smart-medium" }]
rules = [{ tag = "support-bot", alias = "tiny" }]
tiers = { small = "tiny", medium = "smart", large = "huge", medium_from_tokens = 20, large_from_tokens = 200 }

[models.tiny]
deployments = [{ provider = "mock-openai", model = "tiny-model" }]

[models.huge]
deployments = [{ provider = "mock-openai", model = "huge-model" }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    let served = |r: &switchboard_tests::Answer| {
        r.header("x-switchboard-upstream-model").unwrap().to_owned()
    };
    let by_tier = r#"switchboard_route_decisions_total{reason="tier"}"#;
    let by_rule = r#"switchboard_route_decisions_total{reason="rule"}"#;
    let (tier_before, rule_before) = (counter(&h, by_tier).await, counter(&h, by_rule).await);
    let short = h.post("/v1/chat/completions", KEY_A, ask("smart")).await;
    assert_eq!(served(&short), "tiny-model");
    assert_eq!(
        short.header("x-switchboard-route"),
        Some("tier=small; strategy=priority")
    );
    let record = h.audit_record(short.header("x-request-id").unwrap()).await;
    assert_eq!(record.route, "tier=small; strategy=priority");
    let medium =
        json!({"model": "smart", "messages": [{"role": "user", "content": "word ".repeat(60)}]});
    assert_eq!(
        served(&h.post("/v1/chat/completions", KEY_A, medium).await),
        "smart-medium"
    );
    let long =
        json!({"model": "smart", "messages": [{"role": "user", "content": "word ".repeat(400)}]});
    assert_eq!(
        served(&h.post("/v1/chat/completions", KEY_A, long).await),
        "huge-model"
    );
    let tagged = h
        .post_raw(
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-test-acme-0001"), ("x-switchboard-tags", "support-bot")],
            json!({"model": "smart", "messages": [{"role": "user", "content": "word ".repeat(400)}]}).to_string().into(),
        )
        .await;
    assert_eq!(served(&tagged), "tiny-model", "a rule wins over the tiers");
    assert_eq!(
        tagged.header("x-switchboard-route"),
        Some("rule=tag:support-bot; strategy=priority")
    );
    // Counters are shared with tests running alongside: these calls added at least theirs.
    assert!(counter(&h, by_tier).await >= tier_before + 3.0);
    assert!(counter(&h, by_rule).await > rule_before);
}

#[tokio::test]
async fn a_long_system_prompt_raises_the_tier_only_where_configured() {
    // Two routing aliases with the same token and turn thresholds; only `sys` also looks
    // at the system prompt's own size.
    let toml = r#"
[models.plain]
deployments = [{ provider = "mock-openai", model = "plain-medium" }]
tiers = { small = "tiny", medium = "plain", large = "huge", medium_from_tokens = 1000, large_from_tokens = 5000 }

[models.sys]
deployments = [{ provider = "mock-openai", model = "sys-medium" }]
tiers = { small = "tiny", medium = "sys", large = "huge", medium_from_tokens = 1000, large_from_tokens = 5000, medium_from_system_tokens = 50, large_from_system_tokens = 400 }

[models.tiny]
deployments = [{ provider = "mock-openai", model = "tiny-model" }]

[models.huge]
deployments = [{ provider = "mock-openai", model = "huge-model" }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    // ~100 tokens of instructions, a short question: well under the prompt thresholds.
    let with_system = |model: &str, words: usize| {
        json!({"model": model, "max_tokens": 5, "messages": [
            {"role": "system", "content": "rule ".repeat(words)},
            {"role": "user", "content": "hi"},
        ]})
    };
    let served = |r: &switchboard_tests::Answer| {
        (
            r.header("x-switchboard-upstream-model").unwrap().to_owned(),
            r.header("x-switchboard-route").unwrap().to_owned(),
        )
    };
    let r = h
        .post("/v1/chat/completions", KEY_A, with_system("plain", 100))
        .await;
    assert_eq!(
        served(&r),
        ("tiny-model".into(), "tier=small; strategy=priority".into()),
        "off by default: the system prompt only counts toward the prompt's tokens"
    );
    let r = h
        .post("/v1/chat/completions", KEY_A, with_system("sys", 100))
        .await;
    assert_eq!(
        served(&r),
        ("sys-medium".into(), "tier=medium; strategy=priority".into())
    );
    let r = h
        .post("/v1/chat/completions", KEY_A, with_system("sys", 600))
        .await;
    assert_eq!(served(&r).0, "huge-model");
    let r = h.post("/v1/chat/completions", KEY_A, ask("sys")).await;
    assert_eq!(served(&r).0, "tiny-model", "no system prompt: small");
}

#[tokio::test]
async fn a_prompt_too_long_for_every_deployment_goes_to_the_context_fallback() {
    let toml = r#"
[models.narrow]
deployments = [{ provider = "mock-openai", model = "narrow-model", context_window = 100 }]
context_fallback = "wide"

[models.wide]
deployments = [{ provider = "mock-openai", model = "wide-model", context_window = 100000 }]

[models.nowhere]
deployments = [{ provider = "mock-openai", model = "narrow-model", context_window = 100 }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    let long = |m: &str| json!({"model": m, "max_tokens": 10, "messages": [{"role": "user", "content": "word ".repeat(300)}]});
    let r = h.post("/v1/chat/completions", KEY_A, long("narrow")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-upstream-model"), Some("wide-model"));
    assert_eq!(
        r.header("x-switchboard-route"),
        Some("context-fallback=wide; strategy=priority")
    );
    let r = h.post("/v1/chat/completions", KEY_A, long("nowhere")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("context window"), "{}", r.text());
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("narrow"))
            .await
            .header("x-switchboard-upstream-model"),
        Some("narrow-model")
    );
}

#[tokio::test]
async fn shadow_mode_reports_projected_savings_without_changing_routing() {
    let toml = r#"
[models.observed]
shadow = "cheapest"
deployments = [
  { provider = "mock-openai", model = "premium", price = { input = 0, output = 10 } },
  { provider = "mock-openai", model = "budget", price = { input = 0, output = 1 } },
]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    for _ in 0..4 {
        let r = h.post("/v1/chat/completions", KEY_A, ask("observed")).await;
        assert_eq!(
            r.header("x-switchboard-upstream-model"),
            Some("premium"),
            "routing is unchanged"
        );
    }
    let report = h.admin("GET", "/admin/shadow", None).await.json();
    let row = &report["shadow"][0];
    assert_eq!(row["model"], "observed");
    assert_eq!(row["strategy"], "cheapest");
    assert_eq!(row["requests"], 4);
    assert_eq!(row["differed"], 4);
    // 4 calls x 5 output tokens: $10/M vs $1/M.
    assert_eq!(row["actual_cost_usd"], "0.000200000");
    assert_eq!(row["shadow_cost_usd"], "0.000020000");
    assert_eq!(row["projected_savings_usd"], "0.000180000");
    assert_eq!(row["choices"], json!({"mock-openai/budget": 4}));
}

#[tokio::test]
async fn complexity_tiers_in_the_shadow_report_their_choices_and_savings_without_routing() {
    let toml = r#"
[models.observed-tiers]
shadow = "complexity"
deployments = [{ provider = "mock-openai", model = "premium-t", price = { input = 0, output = 10 } }]
tiers = { small = "budget-t", medium = "observed-tiers", large = "max-t", medium_from_tokens = 20, large_from_tokens = 200 }

[models.budget-t]
deployments = [{ provider = "mock-openai", model = "budget-model", price = { input = 0, output = 1 } }]

[models.max-t]
deployments = [{ provider = "mock-openai", model = "max-model", price = { input = 0, output = 20 } }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    let long = json!({"model": "observed-tiers", "max_tokens": 5, "messages": [{"role": "user", "content": "word ".repeat(400)}]});
    for body in [
        ask("observed-tiers"),
        ask("observed-tiers"),
        ask("observed-tiers"),
        long,
    ] {
        let r = h.post("/v1/chat/completions", KEY_A, body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("x-switchboard-upstream-model"),
            Some("premium-t"),
            "the tiers only run in the shadow"
        );
        assert_eq!(r.header("x-switchboard-route"), Some("strategy=priority"));
    }
    assert_eq!(h.mock.calls_for_model("premium-t"), 4);
    assert_eq!(
        h.mock.calls_for_model("budget-model") + h.mock.calls_for_model("max-model"),
        0
    );
    let report = h.admin("GET", "/admin/shadow", None).await.json();
    let row = &report["shadow"][0];
    assert_eq!(row["model"], "observed-tiers");
    assert_eq!(row["strategy"], "complexity");
    assert_eq!(
        (row["requests"].as_u64(), row["differed"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(row["choices"], json!({"budget-t": 3, "max-t": 1}));
    // 4 calls x 5 output tokens at $10/M as served; as tiered, 3 x 5 at $1/M + 1 x 5 at $20/M.
    assert_eq!(row["actual_cost_usd"], "0.000200000");
    assert_eq!(row["shadow_cost_usd"], "0.000115000");
    assert_eq!(row["projected_savings_usd"], "0.000085000");
}

#[tokio::test]
async fn a_hung_deployment_is_abandoned_at_the_per_attempt_timeout_and_failed_over() {
    let toml = r#"
[models.patient]
deployments = [{ provider = "mock-openai", model = "stuck" }, { provider = "mock-openai", model = "lively" }]
retry = { per_attempt_timeout = "300ms" }
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    h.mock.add_fault(FaultRule::new("hang").model("stuck"));
    let r = h.post("/v1/chat/completions", KEY_A, ask("patient")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-switchboard-upstream-model"), Some("lively"));
    assert_eq!(r.header("x-switchboard-attempts"), Some("2"));
}

const GUARDED_CHAIN: &str = r#"
[models.main]
deployments = [{ provider = "mock-openai", model = "main-model" }]
fallbacks = ["spare"]
retry = { max_attempts = 1 }
breaker = { consecutive_failures = 2, cooldown = "10s" }

[models.spare]
deployments = [{ provider = "mock-anthropic", model = "spare-model" }]
retry = { max_attempts = 1 }
breaker = { consecutive_failures = 2, cooldown = "30s" }
"#;

#[tokio::test]
async fn a_fully_open_fallback_alias_is_passed_over_for_the_next_one_in_the_chain() {
    let toml = r#"
[models.first]
deployments = [{ provider = "mock-openai", model = "first-model" }]
fallbacks = ["second", "third"]
retry = { max_attempts = 1 }

[models.second]
deployments = [{ provider = "mock-anthropic", model = "second-model" }]
retry = { max_attempts = 1 }
breaker = { consecutive_failures = 1, cooldown = "1h" }

[models.third]
deployments = [{ provider = "mock-gemini", model = "third-model" }]
"#;
    let h = Harness::builder().with_toml(toml).start().await;
    // Open the middle alias's breaker.
    h.mock
        .add_fault(FaultRule::new("status=500").model("second-model").times(1));
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("second"))
            .await
            .status,
        502
    );
    let breaker = &h
        .gw()
        .health
        .get("mock-anthropic/second-model")
        .unwrap()
        .breaker;
    breaker.sync().await.unwrap();

    // The primary fails; the next fallback is fully open, so the one after it answers
    // (rather than the primary's error coming back).
    h.mock
        .add_fault(FaultRule::new("status=500").model("first-model"));
    let r = h.post("/v1/chat/completions", KEY_A, ask("first")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-switchboard-upstream-model"),
        Some("third-model")
    );
    assert_eq!(r.header("x-switchboard-fallbacks"), Some("second,third"));
    assert_eq!(
        (
            h.mock.calls_for_model("first-model"),
            h.mock.calls_for_model("second-model")
        ),
        (1, 1),
        "the open alias got no call"
    );
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(
        record.route_log,
        [
            "mock-openai/first-model: 500",
            "mock-anthropic/second-model: breaker open",
            "mock-gemini/third-model: ok"
        ]
    );
}

#[tokio::test]
async fn an_alias_whose_breakers_are_all_open_goes_down_its_fallback_chain() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(GUARDED_CHAIN)
        .start()
        .await;
    let breaker = |id: &str| &h.gw().health.get(id).unwrap().breaker;

    // The primary fails twice (the fallback answers both times) and its breaker opens.
    h.mock
        .add_fault(FaultRule::new("status=503").model("main-model"));
    for _ in 0..2 {
        let r = h.post("/v1/chat/completions", KEY_A, ask("main")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    breaker("mock-openai/main-model").sync().await.unwrap();
    assert_eq!(h.mock.calls_for_model("main-model"), 2);

    // The primary would answer now, but its breaker is open: the fallback alias serves
    // and the primary's mock sees no call.
    h.mock.clear_faults();
    let r = h.post("/v1/chat/completions", KEY_A, ask("main")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-switchboard-upstream-model"),
        Some("spare-model")
    );
    assert_eq!(r.header("x-switchboard-fallbacks"), Some("spare"));
    assert_eq!(r.header("x-switchboard-attempts"), Some("1"));
    assert_eq!(
        r.header("x-switchboard-route"),
        Some("fallback=spare; strategy=priority")
    );
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(record.route, "fallback=spare; strategy=priority");
    assert_eq!(
        record.route_log,
        [
            "mock-openai/main-model: breaker open",
            "mock-anthropic/spare-model: ok"
        ]
    );
    assert_eq!(
        h.mock.calls_for_model("main-model"),
        2,
        "an open breaker sends no traffic"
    );
    assert_eq!(h.mock.calls_for_model("spare-model"), 3);

    // Four seconds on, the fallback's breaker opens too (30 s cooldown): now every alias
    // of the chain is fully open, and the client is told at once to come back when the
    // first of them reopens (the primary, in 6 s), with no provider call.
    clock.advance(4_000);
    h.mock
        .add_fault(FaultRule::new("status=500").model("spare-model"));
    for _ in 0..2 {
        let r = h.post("/v1/chat/completions", KEY_A, ask("spare")).await;
        assert_eq!(r.status, 502, "{}", r.text());
    }
    breaker("mock-anthropic/spare-model").sync().await.unwrap();
    let calls = h.mock.calls();
    let refused = r#"switchboard_route_decisions_total{reason="all_open"}"#;
    let before = counter(&h, refused).await;
    let r = h.post("/v1/chat/completions", KEY_A, ask("main")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("6"));
    assert_eq!(h.mock.calls(), calls, "nothing was sent upstream");
    assert!(counter(&h, refused).await > before);
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(
        record.route_log,
        [
            "mock-openai/main-model: breaker open",
            "mock-anthropic/spare-model: breaker open"
        ]
    );
}
