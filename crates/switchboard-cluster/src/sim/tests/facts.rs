//! What is known: facts spread, the newest wins, and partitions catch up.

use super::*;

fn holds(sim: &Sim, i: usize, fact: &Fact) -> bool {
    sim.facts(i).contains(fact)
}

#[test]
fn a_breaker_fact_published_on_one_node_reaches_the_others_quickly() {
    let mut took = Vec::new();
    for seed in 1..21 {
        let mut sim = converged(3, seed);
        let fact = breaker("node-1", 1, "open");
        sim.publish(0, &fact);
        let ms = sim.run_until(5_000, |s| holds(s, 1, &fact) && holds(s, 2, &fact));
        took.push(ms.unwrap_or(u64::MAX));
    }
    let worst = took.iter().copied().max().unwrap_or(0);
    eprintln!(
        "fact propagation to 2 peers: mean {:.1} ms, worst {worst} ms",
        mean(&took)
    );
    assert!(worst <= 500, "propagation took {took:?} ms");
}

#[test]
fn peers_announce_a_learned_fact_once() {
    let mut sim = converged(3, 5);
    let fact = breaker("node-1", 1, "open");
    sim.publish(0, &fact);
    sim.run_for(25_000); // past two re-announce rounds
    for i in 1..3 {
        let learned: Vec<&Fact> = sim
            .events(i)
            .iter()
            .filter_map(|(_, e)| match e {
                ClusterEvent::Learned(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(learned, vec![&fact], "node {i}");
    }
    assert!(
        sim.events(0)
            .iter()
            .all(|(_, e)| !matches!(e, ClusterEvent::Learned(_)))
    );
}

#[test]
fn the_newest_version_wins_whatever_the_arrival_order() {
    for seed in 1..11 {
        let mut sim = converged(3, seed);
        let old = breaker("node-3", 1, "open");
        let new = breaker("node-2", 2, "closed");
        // Published at the same instant on two nodes: each side hears the other's.
        sim.publish(1, &new);
        sim.publish(2, &old);
        sim.run_for(2_000);
        for i in 0..3 {
            assert_eq!(sim.facts(i), vec![new.clone()], "seed {seed} node {i}");
        }
        // A late echo of the old version changes nothing.
        sim.publish(0, &old);
        sim.run_for(2_000);
        for i in 0..3 {
            assert_eq!(sim.facts(i), vec![new.clone()], "seed {seed} node {i}");
        }
    }
}

#[test]
fn an_equal_version_race_settles_on_the_same_fact_everywhere() {
    let mut sim = converged(3, 9);
    sim.publish(0, &breaker("node-1", 4, "open"));
    sim.publish(2, &breaker("node-3", 4, "closed"));
    sim.run_for(2_000);
    let winner = breaker("node-3", 4, "closed");
    for i in 0..3 {
        assert_eq!(sim.facts(i), vec![winner.clone()], "node {i}");
    }
}

#[test]
fn a_fact_published_during_a_partition_reaches_the_other_side_after_healing() {
    let mut took = Vec::new();
    for seed in 1..11 {
        let mut sim = converged(3, seed);
        sim.net.cut(&[2], &[0, 1]);
        sim.run_for(500);
        let fact = Fact::Key {
            key_id: "key-42".into(),
            version: 7,
            record: json!({ "revoked": true }),
        };
        sim.publish(0, &fact);
        sim.run_for(5_000);
        assert!(
            holds(&sim, 1, &fact) && !holds(&sim, 2, &fact),
            "seed {seed}"
        );
        sim.net.heal();
        let ms = sim.run_until(20_000, |s| holds(s, 2, &fact));
        took.push(ms.unwrap_or(u64::MAX));
    }
    let worst = took.iter().copied().max().unwrap_or(0);
    eprintln!(
        "fact reaching a healed partition: mean {:.0} ms, worst {worst} ms",
        mean(&took)
    );
    assert!(worst <= 12_000, "took {took:?} ms");
}

#[test]
fn a_node_joining_late_learns_facts_published_before_it_existed() {
    let mut sim = Sim::new(3, 13);
    // Node 3 cannot reach anybody for the first 10 s: it joins long after the publish.
    sim.net.cut(&[2], &[0, 1]);
    sim.run_until(5_000, |s| s.sees(0, &[0, 1]) && s.sees(1, &[0, 1]));
    let fact = breaker("node-1", 1, "open");
    sim.publish(0, &fact);
    sim.run_for(5_000);
    sim.net.heal();
    let ms = sim.run_until(15_000, |s| holds(s, 2, &fact));
    eprintln!("late joiner learned an old fact after {ms:?} ms");
    assert!(ms.is_some());
}
