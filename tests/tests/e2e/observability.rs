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

/// Scrapes `h` until `done` holds of the parsed samples (bounded). Scrape-time gauges are
/// set from the scraped node and rendered at once, but the Prometheus recorder is one per
/// process and other tests' nodes set the same unlabelled gauges on their own scrapes:
/// a value is only trusted once this node's scrape shows it.
async fn scrape_until(h: &Harness, what: &str, done: impl Fn(&HashMap<String, f64>) -> bool) {
    let mut last = HashMap::new();
    for _ in 0..250 {
        last = parse(&h.admin("GET", "/metrics", None).await.text());
        if done(&last) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mine: Vec<_> = last
        .iter()
        .filter(|(k, _)| {
            k.starts_with("switchboard_ledger") || k.starts_with("switchboard_cluster")
        })
        .collect();
    panic!("never saw {what}: {mine:?}");
}

fn clustered(
    name: &'static str,
    seeds: Vec<std::net::SocketAddr>,
) -> impl FnOnce(&mut switchboard_config::Config) {
    move |c| {
        c.server.node_name = name.to_owned();
        c.cluster = Some(switchboard_config::ClusterSettings {
            gossip: "127.0.0.1:0".parse().unwrap(),
            rpc: "127.0.0.1:0".parse().unwrap(),
            seeds,
            secret: switchboard_config::Secret::new(switchboard_tests::cluster::SECRET),
            size: 3,
        });
    }
}

#[tokio::test]
async fn readyz_is_503_until_a_cluster_node_has_joined_a_majority() {
    // One node of a three-node cluster, with no peer to reach: alive, not ready.
    let first = Harness::builder()
        .configure(clustered("lone-1", vec![]))
        .start()
        .await;
    let get = |h: &Harness, path: &'static str| {
        let url = h.admin_url(path);
        let client = h.client.clone();
        async move {
            switchboard_tests::client::send(
                &client,
                switchboard_tests::client::request("GET", &url, &[], Default::default()),
            )
            .await
        }
    };
    assert_eq!(get(&first, "/healthz").await.status, 200);
    let probe = get(&first, "/readyz").await;
    assert_eq!(probe.status, 503, "{}", probe.text());
    assert_eq!(probe.json()["status"], "joining");
    scrape_until(&first, "one member", |m| {
        m.get("switchboard_cluster_members") == Some(&1.0)
    })
    .await;

    // A second node joins: two of three is a majority.
    let gossip = first.gw().cluster.as_ref().unwrap().me().gossip;
    let second = Harness::builder()
        .configure(clustered("lone-2", vec![gossip]))
        .start()
        .await;
    let mut ready = get(&first, "/readyz").await;
    for _ in 0..500 {
        if ready.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ready = get(&first, "/readyz").await;
    }
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ready");
    scrape_until(&first, "two members", |m| {
        m.get("switchboard_cluster_members") == Some(&2.0)
    })
    .await;
    drop(second);
}

#[tokio::test]
async fn the_ledger_lease_gauges_appear_and_follow_a_call_in_flight() {
    let quota = r#"
[[tenants]]
name = "acme"
quotas = [{ metric = "requests", window = "day", limit = 1000 }]
"#;
    let h = Harness::builder().with_toml(quota).start().await;
    let requests = |name: &str| format!("{name}{{metric=\"requests\"}}");
    let (quotas, reserved, free) = (
        requests("switchboard_ledger_quotas"),
        requests("switchboard_ledger_reserved"),
        requests("switchboard_ledger_lease_free"),
    );
    // A stream that hangs after its first events holds its reservation until the client
    // lets go.
    h.mock
        .add_fault(mock_provider::FaultRule::new("hang-after=2").times(1));
    let headers = [("authorization", "Bearer sk-test-acme-0001")];
    let body = json!({"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "hold on"}]});
    let mut s = h.stream("/v1/chat/completions", &headers, body).await;
    assert_eq!(s.status, 200);
    assert!(s.next_data().await.is_some());
    scrape_until(&h, "one request reserved", |m| {
        m.get(&quotas) == Some(&1.0) && m.get(&reserved) == Some(&1.0)
    })
    .await;
    drop(s);
    scrape_until(&h, "the reservation released", |m| {
        m.get(&quotas) == Some(&1.0)
            && m.get(&reserved) == Some(&0.0)
            && m.get(&free).is_some_and(|f| *f >= 0.0)
    })
    .await;
}
