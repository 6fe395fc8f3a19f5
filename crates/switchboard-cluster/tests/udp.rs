#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Three real clusters on loopback UDP: joining, leaving, crashing, forged packets.
//!
//! Waits are bounded by tokio timeouts on the event stream (or on a counter poll), never
//! by fixed sleeps: each test finishes as soon as what it waits for happens.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard_cluster::{Cluster, ClusterConfig, ClusterEvent, Fact, seal, start};
use tokio::sync::broadcast::Receiver;
use tokio::time::{Instant, timeout};

const SECRET: &[u8] = b"udp test cluster secret";

fn config(name: &str, seeds: Vec<SocketAddr>) -> ClusterConfig {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = ClusterConfig::new(name, any, SECRET.to_vec());
    config.rpc_addr = SocketAddr::from(([127, 0, 0, 1], 17000));
    config.admin_addr = SocketAddr::from(([127, 0, 0, 1], 18081));
    config.seeds = seeds;
    config
}

/// Node 1 first, on an ephemeral port; nodes 2 and 3 seeded with its address. Returns
/// once all three see all three.
async fn three_nodes() -> (Cluster, Cluster, Cluster) {
    let n1 = start(config("node-1", vec![])).await.unwrap();
    let seed = n1.me().gossip;
    let n2 = start(config("node-2", vec![seed])).await.unwrap();
    let n3 = start(config("node-3", vec![seed])).await.unwrap();
    let mut events = [n1.subscribe(), n2.subscribe(), n3.subscribe()];
    for (node, rx) in [&n1, &n2, &n3].into_iter().zip(events.iter_mut()) {
        wait_for(node, rx, Duration::from_secs(5), |c| c.members().len() == 3).await;
    }
    (n1, n2, n3)
}

/// Waits on `node`'s event stream until `done(node)` holds, at most `limit`.
async fn wait_for(
    node: &Cluster,
    events: &mut Receiver<ClusterEvent>,
    limit: Duration,
    done: impl Fn(&Cluster) -> bool,
) {
    let waited = timeout(limit, async {
        while !done(node) {
            // Lagging is fine: only the condition matters.
            let _ = events.recv().await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{} timed out; members {:?}",
        node.me().name,
        node.members()
    );
}

/// Waits for `MemberDown` of the node named `name`, at most `limit` after `since`;
/// returns how long after `since` it came.
async fn member_down(
    events: &mut Receiver<ClusterEvent>,
    name: &str,
    since: Instant,
    limit: Duration,
) -> Duration {
    tokio::time::timeout_at(since + limit, async {
        loop {
            match events.recv().await {
                Ok(ClusterEvent::MemberDown(id)) if id.name == name => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no MemberDown({name}) within {limit:?}"));
    since.elapsed()
}

fn names(node: &Cluster) -> Vec<String> {
    node.members().into_iter().map(|m| m.name).collect()
}

#[tokio::test]
async fn three_nodes_seeded_with_the_first_converge() {
    let (n1, n2, n3) = three_nodes().await;
    for node in [&n1, &n2, &n3] {
        assert_eq!(names(node), ["node-1", "node-2", "node-3"]);
    }
    let seen_by_2 = n2
        .members()
        .into_iter()
        .find(|m| m.name == "node-3")
        .unwrap();
    assert_eq!(
        &seen_by_2,
        n3.me(),
        "addresses and incarnation travel with the identity"
    );
}

#[tokio::test]
async fn a_node_that_leaves_is_seen_down_by_the_others() {
    let (n1, n2, n3) = three_nodes().await;
    let (mut e1, mut e2) = (n1.subscribe(), n2.subscribe());
    let since = Instant::now();
    n3.leave().await;
    let t1 = member_down(&mut e1, "node-3", since, Duration::from_secs(2)).await;
    let t2 = member_down(&mut e2, "node-3", since, Duration::from_secs(2)).await;
    eprintln!("leave seen after {t1:?} (node-1) and {t2:?} (node-2)");
    assert_eq!(names(&n1), ["node-1", "node-2"]);
}

#[tokio::test]
async fn a_node_that_stops_abruptly_is_seen_down_within_four_seconds() {
    let (n1, n2, n3) = three_nodes().await;
    let (mut e1, mut e2) = (n1.subscribe(), n2.subscribe());
    let since = Instant::now();
    drop(n3);
    let t1 = member_down(&mut e1, "node-3", since, Duration::from_secs(4)).await;
    let t2 = member_down(&mut e2, "node-3", since, Duration::from_secs(4)).await;
    eprintln!("crash detected after {t1:?} (node-1) and {t2:?} (node-2)");
    assert_eq!(names(&n2), ["node-1", "node-2"]);
}

#[tokio::test]
async fn a_packet_signed_with_the_wrong_secret_is_counted_and_ignored() {
    let (n1, _n2, _n3) = three_nodes().await;
    let rogue = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let forged = seal(
        b"some other cluster",
        b"\x94\x00\x00\x00\x00 anything at all",
    );
    rogue.send_to(&forged, n1.me().gossip).await.unwrap();
    let counted = timeout(Duration::from_secs(2), async {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        while n1.counters().dropped_bad_signature == 0 {
            tick.tick().await;
        }
    })
    .await;
    assert!(
        counted.is_ok(),
        "forged packet not counted: {:?}",
        n1.counters()
    );
    assert_eq!(names(&n1), ["node-1", "node-2", "node-3"]);
}

#[tokio::test]
async fn a_published_fact_reaches_every_node() {
    let (n1, n2, n3) = three_nodes().await;
    let fact = Fact::Breaker {
        deployment: "openai-eu".into(),
        state: serde_json::json!({ "state": "open", "until_ms": 1, "trips": 1 }),
        origin: "node-1".into(),
        version: 1,
    };
    let (mut e2, mut e3) = (n2.subscribe(), n3.subscribe());
    n1.publish(fact.clone()).unwrap();
    for (node, rx) in [(&n2, &mut e2), (&n3, &mut e3)] {
        wait_for(node, rx, Duration::from_secs(2), |c| {
            c.facts().contains(&fact)
        })
        .await;
    }
    assert_eq!(n1.facts(), vec![fact]);
}
