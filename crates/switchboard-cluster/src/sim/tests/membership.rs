//! Who is alive: joining, failure detection, partitions, loss.

use super::*;

const SEEDS: std::ops::Range<u64> = 1..21;

#[test]
fn three_nodes_joining_through_one_seed_converge_within_a_second() {
    let mut took = Vec::new();
    for seed in SEEDS {
        let mut sim = Sim::new(3, seed);
        let ms = sim.run_until(10_000, |s| (0..3).all(|i| s.sees(i, &[0, 1, 2])));
        took.push(ms.unwrap_or(u64::MAX));
    }
    let worst = took.iter().copied().max().unwrap_or(0);
    eprintln!(
        "convergence of 3 nodes: mean {:.0} ms, worst {worst} ms",
        mean(&took)
    );
    assert!(worst <= 1_000, "convergence took {took:?} ms");
}

#[test]
fn every_node_reports_each_other_member_up_exactly_once() {
    let sim = converged(3, 7);
    for i in 0..3 {
        let ups: Vec<&str> = sim
            .events(i)
            .iter()
            .filter_map(|(_, e)| match e {
                ClusterEvent::MemberUp(id) => Some(id.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(ups.len(), 2, "node {i} saw ups {ups:?}");
        assert_eq!(member_downs(&sim, i), 0);
    }
}

#[test]
fn a_killed_node_is_declared_down_by_the_others_within_three_seconds() {
    let mut took = Vec::new();
    for seed in SEEDS {
        let mut sim = converged(3, seed);
        sim.run_for(1_000);
        sim.kill(2);
        let ms = sim.run_until(10_000, |s| s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]));
        took.push(ms.unwrap_or(u64::MAX));
    }
    let worst = took.iter().copied().max().unwrap_or(0);
    let best = took.iter().copied().min().unwrap_or(0);
    eprintln!(
        "detection of a killed node (both survivors): mean {:.0} ms, best {best} ms, worst {worst} ms",
        mean(&took)
    );
    assert!(worst <= 3_000, "detection took {took:?} ms");
}

#[test]
fn a_node_that_leaves_is_seen_down_almost_at_once() {
    let mut sim = converged(3, 3);
    sim.leave(2);
    let ms = sim.run_until(5_000, |s| s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]));
    eprintln!("leave seen by both survivors after {ms:?} ms");
    assert!(ms.is_some_and(|ms| ms <= 500), "leave took {ms:?} ms");
}

#[test]
fn a_partitioned_node_and_the_rest_see_each_other_down_then_rejoin_after_healing() {
    let mut split = Vec::new();
    let mut heal = Vec::new();
    for seed in SEEDS {
        let mut sim = converged(3, seed);
        sim.net.cut(&[2], &[0, 1]);
        let ms = sim.run_until(10_000, |s| {
            s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]) && s.sees(2, &[2])
        });
        split.push(ms.unwrap_or(u64::MAX));
        sim.net.heal();
        let ms = sim.run_until(20_000, |s| (0..3).all(|i| s.sees(i, &[0, 1, 2])));
        heal.push(ms.unwrap_or(u64::MAX));
        // And it stays healed.
        sim.run_for(5_000);
        assert!(
            (0..3).all(|i| sim.sees(i, &[0, 1, 2])),
            "seed {seed}: flapped after healing"
        );
    }
    eprintln!(
        "partition seen on both sides: mean {:.0} ms, worst {} ms; rejoin after healing: mean {:.0} ms, worst {} ms",
        mean(&split),
        split.iter().max().unwrap_or(&0),
        mean(&heal),
        heal.iter().max().unwrap_or(&0)
    );
    assert!(
        split.iter().all(|&ms| ms <= 5_000),
        "split took {split:?} ms"
    );
    assert!(
        heal.iter().all(|&ms| ms <= 10_000),
        "healing took {heal:?} ms"
    );
}

/// Also the regression test for the stray-`TurnUndead` filter in `node/settle.rs`:
/// without it, this run saw 571 false downs (every refuted suspicion became a rejoin).
#[test]
fn with_ten_percent_loss_membership_converges_and_nobody_live_is_declared_down_for_a_minute() {
    let mut false_downs = 0;
    for seed in SEEDS {
        let mut sim = Sim::new(3, seed);
        sim.net.loss = 0.10;
        let ms = sim.run_until(10_000, |s| (0..3).all(|i| s.sees(i, &[0, 1, 2])));
        assert!(ms.is_some(), "seed {seed}: no convergence under 10% loss");
        let before: usize = (0..3).map(|i| member_downs(&sim, i)).sum();
        sim.run_for(60_000);
        let downs: usize = (0..3).map(|i| member_downs(&sim, i)).sum::<usize>() - before;
        false_downs += downs;
        assert!(
            (0..3).all(|i| sim.sees(i, &[0, 1, 2])),
            "seed {seed}: view not whole at the end"
        );
    }
    eprintln!(
        "10% loss: {false_downs} false MemberDown events in {} node-minutes",
        SEEDS.count() * 3
    );
    assert_eq!(false_downs, 0);
}

#[test]
fn a_five_node_cluster_converges_and_detects_a_death() {
    let mut sim = converged(5, 11);
    sim.kill(4);
    let ms = sim.run_until(10_000, |s| (0..4).all(|i| s.sees(i, &[0, 1, 2, 3])));
    eprintln!("5 nodes: killed node seen down by all four after {ms:?} ms");
    assert!(ms.is_some_and(|ms| ms <= 3_500), "took {ms:?} ms");
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let run = |seed| {
        let mut sim = converged(3, seed);
        sim.kill(1);
        sim.run_for(5_000);
        (0..3).map(|i| sim.events(i).to_vec()).collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
}
