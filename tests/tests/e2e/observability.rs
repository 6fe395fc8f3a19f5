//! What an operator sees: Prometheus metrics that move with traffic, W3C trace context
//! carried upstream and back, request ids.

use std::collections::HashMap;

use serde_json::json;
use switchboard_tests::{Harness, KEY_A, KEY_LIMITED};

const OBSERVED: &str = r#"
[models.watched]
deployments = [{ provider = "mock-openai", model = "watched-model", price = { input = 0, output = 1 } }]
"#;

/// Parses Prometheus text into `series -> value` (series = name plus its label set).
fn parse(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        out.insert(series.to_owned(), value);
    }
    out
}

fn find(m: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    m.iter()
        .filter(|(k, _)| k.starts_with(name) && labels.iter().all(|l| k.contains(l)))
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn the_metrics_scrape_parses_and_its_counters_move_with_traffic() {
    let h = Harness::builder().with_toml(OBSERVED).start().await;
    let before = parse(&h.admin("GET", "/metrics", None).await.text());
    let model = ["model=\"watched\"", "provider=\"mock-openai\""];
    for _ in 0..3 {
        let r = h.post("/v1/chat/completions", KEY_A, json!({"model": "watched", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]})).await;
        assert_eq!(r.status, 200);
    }
    let mut stream = json!({"model": "watched", "max_tokens": 4, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    stream["stream"] = json!(true);
    h.stream(
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-test-acme-0001")],
        stream,
    )
    .await
    .rest()
    .await;
    h.gw().audit.flush().await.unwrap();
    let scrape = h.admin("GET", "/metrics", None).await;
    assert!(
        scrape
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let after = parse(&scrape.text());
    let delta = |name: &str, extra: &[&str]| {
        let labels: Vec<&str> = model.iter().chain(extra).copied().collect();
        find(&after, name, &labels) - find(&before, name, &labels)
    };
    assert_eq!(
        delta("switchboard_requests_total", &["status=\"2xx\""]),
        4.0
    );
    assert_eq!(
        delta(
            "switchboard_request_duration_seconds_count",
            &["status=\"2xx\""]
        ),
        4.0
    );
    assert_eq!(delta("switchboard_overhead_seconds_count", &[]), 4.0);
    assert_eq!(
        delta("switchboard_time_to_first_token_seconds_count", &[]),
        1.0
    );
    assert_eq!(
        delta("switchboard_tokens_total", &["kind=\"output\""]),
        16.0
    );
    assert_eq!(delta("switchboard_cost_nano_usd_total", &[]), 16_000.0);
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("switchboard_audit_backlog_records"))
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("switchboard_upstream_attempts_total"))
    );
    // A refusal is timed under its own status class, apart from the answers.
    let refused = h
        .post(
            "/v1/chat/completions",
            KEY_LIMITED,
            json!({"model": "watched", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let refusals = parse(&h.admin("GET", "/metrics", None).await.text());
    let four = [model[0], "status=\"4xx\""];
    assert_eq!(
        find(
            &refusals,
            "switchboard_request_duration_seconds_count",
            &four
        ) - find(&after, "switchboard_request_duration_seconds_count", &four),
        1.0
    );
    let two = [model[0], "status=\"2xx\""];
    assert_eq!(
        find(
            &refusals,
            "switchboard_request_duration_seconds_count",
            &two
        ),
        find(&after, "switchboard_request_duration_seconds_count", &two),
        "the refusal is not timed as an answer"
    );
    let unauthorized = h.get("/metrics", &[]).await;
    assert_ne!(
        unauthorized.status, 200,
        "metrics live on the admin listener only"
    );
}

#[tokio::test]
async fn a_client_trace_is_carried_upstream_and_echoed_back() {
    let h = Harness::start().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = h
        .post_raw(
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer sk-test-acme-0001"),
                ("traceparent", parent),
            ],
            json!({"model": "gpt", "messages": [{"role": "user", "content": "trace me"}]})
                .to_string()
                .into(),
        )
        .await;
    let echoed = r.header("traceparent").unwrap().to_owned();
    assert!(
        echoed.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{echoed}"
    );
    assert_ne!(echoed, parent, "the gateway is a hop of its own");
    let seen = h
        .mock
        .requests()
        .last()
        .unwrap()
        .header("traceparent")
        .unwrap()
        .to_owned();
    assert_eq!(seen, echoed, "the provider is called as this hop's child");
    let fresh = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            json!({"model": "gpt", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert!(
        fresh.header("traceparent").is_some_and(|t| t.len() == 55),
        "a trace is started when the client sent none"
    );
}
