//! Majorities are counted out of the configured size, or out of more when the cluster
//! shows more (`node/quorum.rs`): a misconfigured member must never make a lone node a
//! majority.

use super::*;

const SEEDS: std::ops::Range<u64> = 1..6;

/// Node `odd` (of `n`) configured with cluster size `size`, the others with 3; run until
/// all see all.
fn with_one_odd(n: usize, odd: usize, size: usize, seed: u64) -> Sim {
    let mut template = ClusterConfig::new("template", Sim::addr(0), SIM_SECRET.to_vec());
    template.size = 3;
    let mut sim = Sim::with_configs(n, seed, &template, |i, c| {
        if i == odd {
            c.size = size;
        }
    });
    let all: Vec<usize> = (0..n).collect();
    let took = sim.run_until(10_000, |s| (0..n).all(|i| s.sees(i, &all)));
    assert!(took.is_some(), "seed {seed}: no convergence");
    sim
}

/// The cluster abuse test's case: a fourth node configured for a cluster of 1 beside
/// three configured for 3. With the three frozen it used to count itself a majority
/// (1 of 1) and grant from quotas the others held.
#[test]
fn a_node_configured_for_a_smaller_cluster_is_no_majority_alone() {
    for seed in SEEDS {
        let mut sim = with_one_odd(4, 3, 1, seed);
        for i in 0..4 {
            assert_eq!(sim.node(i).quorum(), 4, "seed {seed}: node {i}");
            assert!(sim.node(i).has_majority());
        }
        for i in 0..3 {
            sim.kill(i);
        }
        let alone = sim.run_until(10_000, |s| s.sees(3, &[3]));
        assert!(alone.is_some(), "seed {seed}: the others never went down");
        assert!(
            !sim.node(3).has_majority(),
            "seed {seed}: alone, quorum {}",
            sim.node(3).quorum()
        );
    }
}

/// A member that says the cluster is larger raises everyone's count to its size.
#[test]
fn a_member_configured_for_a_larger_cluster_raises_the_count() {
    for seed in SEEDS {
        let mut sim = with_one_odd(3, 2, 7, seed);
        for i in 0..3 {
            assert_eq!(sim.node(i).quorum(), 7, "seed {seed}: node {i}");
            // 3 of 7 is no majority: a cluster told it is bigger than it is stops owning.
            assert!(!sim.node(i).has_majority());
        }
        // Its size is remembered after it is gone (it may only be out of sight).
        sim.kill(2);
        assert!(sim.run_until(10_000, |s| s.sees(0, &[0, 1])).is_some());
        assert_eq!(sim.node(0).quorum(), 7);
    }
}

/// Four nodes all configured for 3 could split 2 | 2 into two majorities of 3; while each
/// half remembers the other, each counts out of 4, so neither half is one.
#[test]
fn more_members_than_configured_raise_the_count_while_remembered() {
    for seed in SEEDS {
        let mut sim = with_one_odd(4, 3, 3, seed);
        sim.net.cut(&[0, 1], &[2, 3]);
        let split = sim.run_until(10_000, |s| {
            s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]) && s.sees(2, &[2, 3]) && s.sees(3, &[2, 3])
        });
        assert!(split.is_some(), "seed {seed}: the partition was not seen");
        for i in 0..4 {
            assert_eq!(sim.node(i).quorum(), 4, "seed {seed}: node {i}");
            assert!(!sim.node(i).has_majority(), "seed {seed}: node {i}");
        }
    }
}

/// The count must not creep up in a healthy cluster: restarts (renewed identities after
/// a partition heals) and deaths of correctly configured members leave it at 3.
#[test]
fn a_well_configured_cluster_keeps_its_configured_count_through_partitions() {
    for seed in SEEDS {
        let mut sim = converged(3, seed);
        sim.net.cut(&[2], &[0, 1]);
        assert!(sim.run_until(10_000, |s| s.sees(0, &[0, 1])).is_some());
        sim.net.heal();
        let healed = sim.run_until(20_000, |s| (0..3).all(|i| s.sees(i, &[0, 1, 2])));
        assert!(healed.is_some(), "seed {seed}: did not heal");
        sim.kill(1);
        assert!(sim.run_until(10_000, |s| s.sees(0, &[0, 2])).is_some());
        for i in [0, 2] {
            assert_eq!(sim.node(i).quorum(), 3, "seed {seed}: node {i}");
            assert!(sim.node(i).has_majority(), "seed {seed}: node {i}");
        }
    }
}

/// Two processes under one name: every node keeps the same one (the later incarnation,
/// then the higher address), and the other knows it is out and is no majority, so it
/// never acts as the owner its name would make it.
#[test]
fn of_two_nodes_with_one_name_every_node_keeps_the_same_and_the_other_stands_down() {
    for seed in SEEDS {
        let mut template = ClusterConfig::new("template", Sim::addr(0), SIM_SECRET.to_vec());
        template.size = 3;
        let mut sim = Sim::with_configs(4, seed, &template, |i, c| {
            if i == 3 {
                c.name = "node-3".into();
            }
        });
        let names = |s: &Sim, i: usize| s.members(i) == ["node-1", "node-2", "node-3"];
        let kept = |s: &Sim, i: usize| {
            s.node(i)
                .members()
                .iter()
                .any(|m| m.name == "node-3" && m.gossip == Sim::addr(3))
        };
        let settled = sim.run_until(10_000, |s| {
            (0..4).all(|i| names(s, i) && kept(s, i)) && s.node(2).superseded_by().is_some()
        });
        assert!(settled.is_some(), "seed {seed}: views never agreed");
        assert_eq!(
            sim.node(2).superseded_by().map(|m| m.gossip),
            Some(Sim::addr(3))
        );
        assert!(!sim.node(2).has_majority(), "seed {seed}");
        for i in [0, 1, 3] {
            assert!(
                sim.node(i).superseded_by().is_none(),
                "seed {seed}: node {i}"
            );
            assert!(sim.node(i).has_majority(), "seed {seed}: node {i}");
            assert_eq!(sim.node(i).quorum(), 3, "seed {seed}: node {i}");
        }
    }
}

/// A fourth member that leaves for good (a node replaced under a new name) stops counting
/// once forgotten: the three left need two of three again, not three of four for a day.
#[test]
fn a_member_gone_for_good_stops_counting_once_forgotten() {
    for seed in SEEDS {
        let mut sim = with_one_odd(4, 3, 3, seed);
        sim.leave(3);
        assert!(
            sim.run_until(10_000, |s| (0..3).all(|i| s.sees(i, &[0, 1, 2])))
                .is_some()
        );
        for i in 0..3 {
            assert_eq!(
                sim.node(i).quorum(),
                4,
                "seed {seed}: node {i} still remembers it"
            );
        }
        let forgotten = crate::config::REMEMBER_DOWN.as_millis() as u64 + 30_000;
        sim.run_for(forgotten);
        sim.kill(2);
        assert!(
            sim.run_until(10_000, |s| s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]))
                .is_some()
        );
        for i in 0..2 {
            assert_eq!(sim.node(i).quorum(), 3, "seed {seed}: node {i}");
            assert!(sim.node(i).has_majority(), "seed {seed}: node {i}: 2 of 3");
        }
    }
}
