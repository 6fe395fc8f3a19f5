//! Three nodes in one process over loopback: membership, breaker and key gossip.

use std::time::{Duration, Instant};

use mock_provider::FaultRule;
use serde_json::{Value, json};
use switchboard_router::BreakerState;
use switchboard_tests::KEY_A;
use switchboard_tests::cluster::{ClusterHarness, tenant};

fn ask(model: &str) -> Value {
    json!({"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "hello cluster"}]})
}

const FLAKY: &str = r#"
[models.flaky]
deployments = [{ provider = "mock-openai", model = "flaky-model" }]
retry = { max_attempts = 1 }
breaker = { consecutive_failures = 3, cooldown = "30s" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_join_and_report_ready() {
    let c = ClusterHarness::start(3, "").await;
    for i in 0..3 {
        assert_eq!(c.nodes[i].members(), 3);
        let ready = c.admin(i, "GET", "/readyz", None).await;
        assert_eq!(ready.status, 200, "node {i}: {}", ready.text());
        assert_eq!(
            c.post(i, "/v1/chat/completions", KEY_A, ask("gpt"))
                .await
                .status,
            200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_one_node_stops_the_traffic_of_all() {
    let c = ClusterHarness::start(3, FLAKY).await;
    c.mock
        .add_fault(FaultRule::new("status=500").model("flaky-model"));
    for _ in 0..3 {
        assert_eq!(
            c.post(0, "/v1/chat/completions", KEY_A, ask("flaky"))
                .await
                .status,
            502
        );
    }
    let opened = Instant::now();
    let breaker = |node: usize| {
        c.nodes[node]
            .server
            .gateway
            .health
            .get("mock-openai/flaky-model")
            .unwrap()
            .breaker
            .state()
    };
    c.wait_for(Duration::from_secs(3), |_| {
        (1..3).all(|n| matches!(breaker(n), BreakerState::Open { .. }))
    })
    .await;
    let propagation = opened.elapsed();
    let calls = c.mock.calls_for_model("flaky-model");
    for node in 1..3 {
        let r = c
            .post(node, "/v1/chat/completions", KEY_A, ask("flaky"))
            .await;
        assert_eq!(r.status, 503, "node {node}: {}", r.text());
    }
    assert_eq!(
        c.mock.calls_for_model("flaky-model"),
        calls,
        "no node sent traffic to the open deployment"
    );
    eprintln!("breaker propagation: {propagation:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_on_one_node_works_everywhere_and_a_revocation_reaches_all() {
    let c = ClusterHarness::start(3, "").await;
    let created = c
        .admin(
            0,
            "POST",
            "/admin/keys",
            Some(json!({"name": "roaming", "tenant": "acme"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    let started = Instant::now();
    for node in 1..3 {
        loop {
            if c.post(node, "/v1/chat/completions", &secret, ask("gpt"))
                .await
                .status
                == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "node {node} never learned the key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let learned = started.elapsed();
    assert_eq!(
        c.admin(2, "DELETE", "/admin/keys/roaming", None)
            .await
            .status,
        200
    );
    let revoked = Instant::now();
    for node in 0..2 {
        loop {
            if c.post(node, "/v1/chat/completions", &secret, ask("gpt"))
                .await
                .status
                == 401
            {
                break;
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(3),
                "node {node} still accepts the revoked key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "key propagation: {learned:?}, revocation: {:?}",
        revoked.elapsed()
    );
    // Persisted where it was learned, too.
    let state = std::fs::read_to_string(c.nodes[1].data.path().join("admin-state.json")).unwrap();
    assert!(state.contains("\"roaming\""));
}

/// Four nodes configured for a cluster of three (the fourth says 2): 2 of 3 would be a
/// majority, so two of the four cut off from the other two would each be one, and both
/// halves would grant from the same budget. Having seen four live, every node counts
/// majorities out of four: two alone are not one, report unready and grant nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_nodes_than_the_configured_size_count_majorities_out_of_all_of_them() {
    let budget = tenant("counted", "1", "day");
    let mut c = ClusterHarness::start(3, &budget).await;
    c.add_node("node-4", 2).await;
    for i in 0..4 {
        let v: Value = c.admin(i, "GET", "/admin/cluster", None).await.json();
        assert_eq!(v["size"], if i == 3 { 2 } else { 3 }, "node {i}");
        assert_eq!(v["quorum"], 4, "node {i}: {v}");
        assert_eq!(v["majority"], true, "node {i}");
        let sizes: Vec<&Value> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["size"])
            .collect();
        assert_eq!(
            sizes,
            [&json!(3), &json!(3), &json!(3), &json!(2)],
            "node {i}"
        );
    }
    for gone in [c.nodes.remove(0), c.nodes.remove(0)] {
        gone.server.shutdown().await;
    }
    c.wait_for(Duration::from_secs(10), |c| {
        c.nodes.iter().all(|n| n.members() == 2)
    })
    .await;
    for i in 0..2 {
        let v: Value = c.admin(i, "GET", "/admin/cluster", None).await.json();
        assert_eq!(v["quorum"], 4, "node {i}: {v}");
        assert_eq!(v["majority"], false, "node {i}: 2 of 4 is no majority");
        let ready = c.admin(i, "GET", "/readyz", None).await;
        assert_eq!(ready.status, 503, "node {i}: {}", ready.text());
        let call = c
            .post(i, "/v1/chat/completions", "sk-counted-0001", ask("metered"))
            .await;
        assert_eq!(call.status, 503, "node {i}: {}", call.text());
    }
    assert_eq!(c.mock.calls(), 0, "no call was granted without a majority");
}

/// A second process started under a name already in use: every node keeps the newer one,
/// and the older, out of every peer's placement while still listening, stands down
/// (unready, owning and granting nothing) instead of acting as the owner its name makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_name_is_taken_by_a_newer_process_stands_down() {
    let budget = tenant("named", "1", "day");
    let mut c = ClusterHarness::start(3, &budget).await;
    c.add_node("node-2", 3).await;
    let old = 1;
    let newer = 3;
    let newer_gossip = c.nodes[newer]
        .server
        .gateway
        .cluster
        .as_ref()
        .unwrap()
        .me()
        .gossip;
    c.wait_for(Duration::from_secs(10), |c| {
        c.nodes[old]
            .server
            .gateway
            .cluster
            .as_ref()
            .unwrap()
            .superseded_by()
            .is_some_and(|by| by.gossip == newer_gossip)
    })
    .await;
    let ready = c.admin(old, "GET", "/readyz", None).await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.text().contains("superseded"), "{}", ready.text());
    let call = c
        .post(old, "/v1/chat/completions", "sk-named-0001", ask("metered"))
        .await;
    assert_eq!(call.status, 503, "{}", call.text());
    for i in [0, 2, newer] {
        let ready = c.admin(i, "GET", "/readyz", None).await;
        assert_eq!(ready.status, 200, "node {i}: {}", ready.text());
        let call = c
            .post(i, "/v1/chat/completions", "sk-named-0001", ask("metered"))
            .await;
        assert_eq!(call.status, 200, "node {i}: {}", call.text());
    }
    assert_eq!(
        c.mock.calls(),
        3,
        "only the three nodes in placement served"
    );
}

/// A node that changes a key before it has heard of its revocation gossips a newer copy
/// without it; that copy used to win everywhere and bring the key back. The revocation
/// is kept, and gossiped again (newer still) by the node that had to restore it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_not_undone_by_a_later_change_from_another_node() {
    let c = ClusterHarness::start(3, "").await;
    let created = c
        .admin(
            0,
            "POST",
            "/admin/keys",
            Some(json!({"name": "held", "tenant": "acme"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    let known = |c: &ClusterHarness, i: usize| c.nodes[i].server.gateway.keys.get("held");
    c.wait_for(Duration::from_secs(10), |c| {
        (0..3).all(|i| known(c, i).is_some())
    })
    .await;
    assert_eq!(
        c.admin(0, "DELETE", "/admin/keys/held", None).await.status,
        200
    );
    let revoked =
        |c: &ClusterHarness, i: usize| known(c, i).is_some_and(|k| k.revoked_at_ms.is_some());
    c.wait_for(Duration::from_secs(10), |c| (0..3).all(|i| revoked(c, i)))
        .await;

    // The newest version of the key's fact node `i` holds, and whether it is revoked.
    let newest = |c: &ClusterHarness, i: usize| {
        let cluster = c.nodes[i].server.gateway.cluster.as_ref().unwrap();
        cluster.facts().iter().find_map(|f| match f {
            switchboard_cluster::Fact::Key {
                key_id,
                version,
                record,
            } if key_id == "key:held" => Some((*version, !record["revoked_at_ms"].is_null())),
            _ => None,
        })
    };
    let (before, _) = newest(&c, 2).unwrap();
    // Node 2's stale change: the key as it was before the revocation, gossiped newer.
    let mut stale = (*known(&c, 2).unwrap()).clone();
    stale.revoked_at_ms = None;
    stale.metadata.insert("changed".into(), "late".into());
    switchboard_server::membership::publish_key(&c.nodes[2].server.gateway, &stale);
    // Every node ends up holding, newer than the stale copy's predecessor, a revoked one:
    // nodes 0 and 1 restore the revocation and gossip it again.
    c.wait_for(Duration::from_secs(10), |c| {
        (0..3).all(|i| newest(c, i).is_some_and(|(v, revoked)| v > before && revoked))
    })
    .await;
    for i in 0..3 {
        assert!(revoked(&c, i), "node {i}");
        let call = c.post(i, "/v1/chat/completions", &secret, ask("gpt")).await;
        assert_eq!(call.status, 401, "node {i}: {}", call.text());
    }
}
