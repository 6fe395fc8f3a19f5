use std::net::SocketAddr;

use serde_json::json;

use super::*;

fn addr(host: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, host], 7946))
}

/// `node-<host>` at 10.0.0.<host>, joining through `seeds`.
fn node_at(host: u8, seeds: Vec<SocketAddr>) -> Node {
    let name = format!("node-{host}");
    let mut config = ClusterConfig::new(name.clone(), addr(host), b"secret".to_vec());
    config.seeds = seeds;
    config.size = 3;
    let me = NodeId {
        name,
        gossip: addr(host),
        rpc: addr(host),
        admin: addr(host),
        incarnation: 1,
        size: 3,
    };
    Node::new(&config, me, u64::from(host))
}

fn node() -> Node {
    node_at(1, vec![])
}

fn key(version: u64, bytes: usize) -> Fact {
    Fact::Key {
        key_id: "k".into(),
        version,
        record: json!({ "pad": "x".repeat(bytes) }),
    }
}

#[test]
fn a_node_alone_sees_only_itself() {
    let n = node();
    let names: Vec<String> = n.members().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["node-1"]);
}

#[test]
fn starting_schedules_the_reannounce_and_rejoin_ticks() {
    let mut n = node();
    let mut out = Vec::new();
    n.start(&mut out);
    let wakes: Vec<&Wake> = out
        .iter()
        .filter_map(|e| match e {
            Effect::Schedule { wake, .. } => Some(wake),
            _ => None,
        })
        .collect();
    assert!(wakes.iter().any(|w| matches!(w, Wake::Reannounce)));
    assert!(wakes.iter().any(|w| matches!(w, Wake::Rejoin)));
}

#[test]
fn a_publish_is_stored_and_an_older_one_after_it_is_refused() {
    let mut n = node();
    let mut out = Vec::new();
    assert!(n.publish(&key(2, 1), &mut out).unwrap());
    assert!(!n.publish(&key(1, 1), &mut out).unwrap());
    assert_eq!(n.facts().lock().all(), vec![key(2, 1)]);
}

#[test]
fn a_fact_too_large_for_a_packet_is_refused() {
    let mut n = node();
    let err = n
        .publish(&key(1, MAX_FACT_BYTES), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, ClusterError::FactTooLarge { .. }));
    assert!(n.facts().lock().is_empty());
}

#[test]
fn a_joining_node_announces_signed_and_the_seed_takes_it_in() {
    let mut seed = node();
    let mut joiner = node_at(2, vec![addr(1), addr(2)]);
    let mut out = Vec::new();
    joiner.start(&mut out);
    let sends: Vec<(&SocketAddr, &Vec<u8>)> = out
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, packet } => Some((to, packet)),
            _ => None,
        })
        .collect();
    assert_eq!(
        sends.len(),
        1,
        "one announce, to the seed that is not itself"
    );
    assert_eq!(sends[0].0, &addr(1));
    assert!(frame::open(b"secret", sends[0].1).is_ok());

    let mut replies = Vec::new();
    seed.handle_packet(sends[0].1, &mut replies);
    assert_eq!(seed.members().len(), 2);
    assert!(
        replies
            .iter()
            .any(|e| matches!(e, Effect::Event(ClusterEvent::MemberUp(id)) if id.name == "node-2"))
    );
}
