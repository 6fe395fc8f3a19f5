//! Cluster behaviour specified over the simulator: fast, deterministic, no sockets.
//!
//! Tests that measure (detection, propagation) run several seeds and print what they
//! measured (`cargo test -p switchboard-cluster sim -- --nocapture`).

mod facts;
mod forgery;
mod membership;
mod quorum;

use serde_json::json;

use super::*;

/// Runs a fresh `n`-node cluster until every node sees all of them.
fn converged(n: usize, seed: u64) -> Sim {
    let mut sim = Sim::new(n, seed);
    let all: Vec<usize> = (0..n).collect();
    let took = sim.run_until(10_000, |s| (0..n).all(|i| s.sees(i, &all)));
    assert!(
        took.is_some(),
        "seed {seed}: {n} nodes did not converge in 10s"
    );
    sim
}

fn breaker(origin: &str, version: u64, state: &str) -> Fact {
    Fact::Breaker {
        deployment: "openai-eu".into(),
        state: json!({ "state": state }),
        origin: origin.into(),
        version,
    }
}

fn member_downs(sim: &Sim, i: usize) -> usize {
    sim.events(i)
        .iter()
        .filter(|(_, e)| matches!(e, ClusterEvent::MemberDown(_)))
        .count()
}

fn mean(xs: &[u64]) -> f64 {
    xs.iter().sum::<u64>() as f64 / xs.len().max(1) as f64
}
