//! [`Sim`]: N nodes on an in-memory network under a virtual clock, all seeded.
//!
//! The nodes are the real [`Node`]s (same foca tuning, codec, frame and fact handler as
//! on UDP); only the socket and the timers are replaced. Datagrams are delivered after a
//! drawn delay or lost ([`Network`]), cuts model partitions, a killed node neither sends
//! nor receives, and time jumps from one event to the next, so a minute of cluster life
//! runs in milliseconds and the same seed replays the same run.

mod network;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::config::ClusterConfig;
use crate::counters::CounterSnapshot;
use crate::facts::Fact;
use crate::identity::NodeId;
use crate::node::{ClusterEvent, Effect, Node, Wake};
use crate::schedule::TimerQueue;

pub use network::Network;

/// The secret every simulated node shares.
pub const SIM_SECRET: &[u8] = b"simulated cluster secret";

enum Pending {
    Start(usize),
    Wake(usize, Wake),
    Deliver { to: usize, packet: Vec<u8> },
}

struct SimNode {
    node: Node,
    alive: bool,
    /// (virtual microseconds, event), in order.
    events: Vec<(u64, ClusterEvent)>,
}

/// A simulated cluster (see the module docs). Nodes are numbered from 0 and named
/// `node-1`, `node-2`...; every node but the first uses node 0 as its seed.
pub struct Sim {
    now_us: u64,
    rng: SmallRng,
    queue: TimerQueue<u64, Pending>,
    nodes: Vec<SimNode>,
    by_addr: BTreeMap<SocketAddr, usize>,
    /// The network's behaviour; change it at any time.
    pub net: Network,
}

impl Sim {
    /// `n` nodes with the default (LAN) tuning, started at virtual time zero.
    pub fn new(n: usize, seed: u64) -> Self {
        let mut template = ClusterConfig::new("template", Self::addr(0), SIM_SECRET.to_vec());
        template.size = n;
        Self::with_config(n, seed, &template)
    }

    /// `n` nodes configured like `template` (name, addresses and seeds are replaced).
    pub fn with_config(n: usize, seed: u64, template: &ClusterConfig) -> Self {
        Self::with_configs(n, seed, template, |_, _| {})
    }

    /// Like [`Sim::with_config`], then `tweak(i, config)` changes node `i`'s config
    /// (a misconfigured member, say).
    pub fn with_configs(
        n: usize,
        seed: u64,
        template: &ClusterConfig,
        tweak: impl Fn(usize, &mut ClusterConfig),
    ) -> Self {
        let mut sim = Self {
            now_us: 0,
            rng: SmallRng::seed_from_u64(seed),
            queue: TimerQueue::new(),
            nodes: Vec::with_capacity(n),
            by_addr: BTreeMap::new(),
            net: Network::default(),
        };
        for i in 0..n {
            let mut config = template.clone();
            config.name = format!("node-{}", i + 1);
            config.gossip_addr = Self::addr(i);
            config.rpc_addr = SocketAddr::from((Self::ip(i), 7000));
            config.admin_addr = SocketAddr::from((Self::ip(i), 8081));
            config.seeds = if i == 0 {
                Vec::new()
            } else {
                vec![Self::addr(0)]
            };
            tweak(i, &mut config);
            let me = NodeId {
                name: config.name.clone(),
                gossip: config.gossip_addr,
                rpc: config.rpc_addr,
                admin: config.admin_addr,
                incarnation: 1,
                size: config.size_on_the_wire(),
            };
            let node = Node::new(&config, me, seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9));
            sim.by_addr.insert(config.gossip_addr, i);
            sim.nodes.push(SimNode {
                node,
                alive: true,
                events: Vec::new(),
            });
        }
        // Nodes boot at random points of the first probe period, so their probe cycles
        // are out of phase as on real machines.
        let period = micros(template.probe_period).max(1);
        for i in 0..n {
            let at = if i == 0 {
                0
            } else {
                sim.rng.random_range(0..period)
            };
            sim.queue.push(at, Pending::Start(i));
        }
        sim
    }

    /// Node `i`'s gossip address.
    pub fn addr(i: usize) -> SocketAddr {
        SocketAddr::from((Self::ip(i), 7946))
    }

    fn ip(i: usize) -> Ipv4Addr {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        Ipv4Addr::from(0x0a00_0001u32.wrapping_add(i))
    }

    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Runs `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let _ = self.run_until(ms, |_| false);
    }

    /// Runs until `done` holds (checked after every event) or `max_ms` have passed.
    /// Returns how many virtual milliseconds it took, or `None` on timeout.
    pub fn run_until(&mut self, max_ms: u64, mut done: impl FnMut(&Sim) -> bool) -> Option<u64> {
        let start = self.now_us;
        let deadline = start + max_ms * 1000;
        loop {
            if done(self) {
                return Some((self.now_us - start).div_ceil(1000));
            }
            match self.queue.next_deadline() {
                Some(at) if at <= deadline => self.step(),
                _ => {
                    self.now_us = deadline;
                    return done(self).then_some(max_ms);
                }
            }
        }
    }

    fn step(&mut self) {
        let Some((at, pending)) = self.queue.pop() else {
            return;
        };
        self.now_us = at;
        let mut out = Vec::new();
        let i = match pending {
            Pending::Start(i) => {
                self.nodes[i].node.start(&mut out);
                i
            }
            Pending::Wake(i, wake) if self.nodes[i].alive => {
                let _span = tracing::debug_span!("sim", t_ms = at / 1000, node = i).entered();
                self.nodes[i].node.handle_wake(wake, &mut out);
                i
            }
            Pending::Deliver { to, packet } if self.nodes[to].alive => {
                let _span = tracing::debug_span!("sim", t_ms = at / 1000, node = to).entered();
                self.nodes[to].node.handle_packet(&packet, &mut out);
                to
            }
            _ => return,
        };
        self.apply(i, out);
    }

    fn apply(&mut self, from: usize, out: Vec<Effect>) {
        for effect in out {
            match effect {
                Effect::Send { to, packet } => {
                    let Some(&to) = self.by_addr.get(&to) else {
                        continue;
                    };
                    if let Some(delay) = self.net.route(&mut self.rng, from, to) {
                        self.queue
                            .push(self.now_us + delay, Pending::Deliver { to, packet });
                    }
                }
                Effect::Schedule { after, wake } => {
                    self.queue
                        .push(self.now_us + micros(after), Pending::Wake(from, wake));
                }
                Effect::Event(event) => self.nodes[from].events.push((self.now_us, event)),
            }
        }
    }

    /// Node `i` stops dead: it neither sends nor receives again.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].alive = false;
    }

    /// Node `i` leaves gracefully, then stops.
    pub fn leave(&mut self, i: usize) {
        let mut out = Vec::new();
        self.nodes[i].node.leave(&mut out);
        self.apply(i, out);
        self.nodes[i].alive = false;
    }

    /// Node `i` publishes `fact`.
    pub fn publish(&mut self, i: usize, fact: &Fact) {
        let mut out = Vec::new();
        if let Err(error) = self.nodes[i].node.publish(fact, &mut out) {
            tracing::warn!(%error, "sim publish");
        }
        self.apply(i, out);
    }

    /// Delivers a raw datagram to node `to` right now, as if from an unknown sender.
    pub fn inject(&mut self, to: usize, packet: &[u8]) {
        let mut out = Vec::new();
        if self.nodes[to].alive {
            self.nodes[to].node.handle_packet(packet, &mut out);
        }
        self.apply(to, out);
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i].node
    }

    /// Names of the members node `i` sees live, itself included, sorted.
    pub fn members(&self, i: usize) -> Vec<String> {
        self.nodes[i]
            .node
            .members()
            .into_iter()
            .map(|m| m.name)
            .collect()
    }

    /// True if node `i` sees exactly the nodes in `expected` (by index) live.
    pub fn sees(&self, i: usize, expected: &[usize]) -> bool {
        let mut names: Vec<String> = expected.iter().map(|j| format!("node-{}", j + 1)).collect();
        names.sort();
        self.members(i) == names
    }

    pub fn facts(&self, i: usize) -> Vec<Fact> {
        self.nodes[i].node.facts().lock().all()
    }

    pub fn counters(&self, i: usize) -> CounterSnapshot {
        self.nodes[i].node.counters().snapshot()
    }

    /// Everything node `i` told its application, with virtual times in microseconds.
    pub fn events(&self, i: usize) -> &[(u64, ClusterEvent)] {
        &self.nodes[i].events
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
