use std::collections::BTreeSet;
use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

const PINNED_EMPTY: u64 = 0x4f2d_b50f_1240_40cd;
const PINNED_QUOTA: u64 = 0x89ec_64c4_7a8f_36ac;

fn node(name: &str) -> NodeId {
    let addr = SocketAddr::from(([127, 0, 0, 1], 7000));
    NodeId {
        name: name.to_owned(),
        gossip: addr,
        rpc: addr,
        admin: addr,
        incarnation: 1,
        size: 3,
    }
}

fn nodes(names: &BTreeSet<String>) -> Vec<NodeId> {
    names.iter().map(|n| node(n)).collect()
}

fn names() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set("[a-z][a-z0-9-]{0,11}", 1..8)
}

#[test]
fn the_hash_is_pinned_so_every_process_and_platform_agrees() {
    // If these change, nodes of different builds disagree about owners: do not.
    assert_eq!(score("", ""), PINNED_EMPTY);
    assert_eq!(score("tenant:acme/money/day", "node-1"), PINNED_QUOTA);
}

#[test]
fn the_mixer_is_splitmix64s_finalizer() {
    // splitmix64 seeded with 0 yields 0xe220a8397b1dcdaf as its first output, which is
    // mix(0 + golden gamma).
    assert_eq!(mix(0x9e37_79b9_7f4a_7c15), 0xe220_a839_7b1d_cdaf);
}

#[test]
fn no_members_means_no_owner() {
    assert_eq!(owner_and_backup("k", &[]), None);
    assert!(rank("k", &[]).is_empty());
}

#[test]
fn a_lone_member_owns_everything_without_a_backup() {
    let members = [node("solo")];
    assert_eq!(owner_and_backup("k", &members), Some((&members[0], None)));
}

#[test]
fn key_and_node_boundaries_matter() {
    assert_ne!(score("ab", "c"), score("a", "bc"));
}

#[test]
fn ten_thousand_keys_spread_over_three_nodes_within_ten_percent() {
    let members = [node("node-1"), node("node-2"), node("node-3")];
    let mut counts = [0u32; 3];
    for i in 0..10_000 {
        let (owner, _) = owner_and_backup(&format!("key:{i}"), &members).unwrap();
        let slot = members.iter().position(|m| m == owner).unwrap();
        counts[slot] += 1;
    }
    let fair = 10_000.0 / 3.0;
    for count in counts {
        let off = (f64::from(count) - fair).abs() / fair;
        assert!(off <= 0.10, "counts {counts:?} stray {off:.3} from fair");
    }
}

proptest! {
    #[test]
    fn every_key_has_exactly_one_owner_among_the_members(names in names(), key in ".{0,24}") {
        let members = nodes(&names);
        let (owner, backup) = owner_and_backup(&key, &members).unwrap();
        prop_assert!(members.contains(owner));
        let ranked = rank(&key, &members);
        prop_assert_eq!(ranked.len(), members.len());
        prop_assert_eq!(ranked[0], owner);
        prop_assert_eq!(ranked.get(1).copied(), backup);
        if let Some(backup) = backup {
            prop_assert_ne!(backup, owner);
        }
    }

    #[test]
    fn the_owner_does_not_depend_on_member_order(names in names(), key in ".{0,24}") {
        let members = nodes(&names);
        let mut reversed = members.clone();
        reversed.reverse();
        prop_assert_eq!(owner_and_backup(&key, &members), owner_and_backup(&key, &reversed));
    }

    #[test]
    fn removing_a_non_owner_never_moves_a_key(names in names(), key in ".{0,24}", pick in any::<prop::sample::Index>()) {
        let members = nodes(&names);
        let (owner, _) = owner_and_backup(&key, &members).unwrap();
        let gone = pick.get(&members);
        prop_assume!(gone != owner);
        let rest: Vec<NodeId> = members.iter().filter(|m| *m != gone).cloned().collect();
        let (new_owner, _) = owner_and_backup(&key, &rest).unwrap();
        prop_assert_eq!(new_owner, owner);
    }

    #[test]
    fn removing_the_owner_promotes_the_backup(names in names(), key in ".{0,24}") {
        let members = nodes(&names);
        let (owner, backup) = owner_and_backup(&key, &members).unwrap();
        let rest: Vec<NodeId> = members.iter().filter(|m| *m != owner).cloned().collect();
        let promoted = owner_and_backup(&key, &rest).map(|(o, _)| o);
        prop_assert_eq!(promoted, backup);
    }
}
