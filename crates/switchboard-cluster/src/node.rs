//! [`Node`]: one member's gossip logic, with no socket and no clock.
//!
//! A node is foca plus what this project adds around it: the signed frame, the fact
//! store, membership events, re-announcing facts, and rejoining through the seeds when
//! alone. Every input (a datagram, a due wake-up, a publish) returns its consequences as
//! [`Effect`]s: datagrams to send, wake-ups to schedule, events for the application. The
//! membership task carries them out with a UDP socket and tokio timers; the simulator
//! with an in-memory network and a virtual clock. Same logic, so the simulator's
//! measurements are the real node's.
//!
//! Membership events come from comparing foca's live members before and after each input
//! rather than from foca's notifications: that gives exactly one `MemberUp` and one
//! `MemberDown` per identity, also when a restarted node replaces its previous identity
//! (foca reports that as a rename, which is a down and an up to the application).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use foca::{AccumulatingRuntime, Timer};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::codec::{self, RmpCodec};
use crate::config::{ClusterConfig, MAX_FACT_BYTES};
use crate::counters::{Counters, bump};
use crate::error::ClusterError;
use crate::facts::Fact;
use crate::frame;
use crate::identity::NodeId;
use crate::store::{FactHandler, SharedFacts};

type Foca = foca::Foca<NodeId, RmpCodec, SmallRng, FactHandler>;

/// What the application hears from the cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterEvent {
    /// A member became reachable (joined, or came back with a new incarnation).
    MemberUp(NodeId),
    /// A member was declared down, left, or was replaced by its own newer incarnation.
    MemberDown(NodeId),
    /// A fact from a peer, newer than anything this node held about its subject.
    Learned(Fact),
}

/// A wake-up a node asked for.
#[derive(Debug, Clone)]
pub enum Wake {
    /// One of foca's own timers.
    Foca(Timer<NodeId>),
    /// Re-broadcast every held fact.
    Reannounce,
    /// If alone, announce to the seeds and to every node ever known.
    Rejoin,
}

/// What a node wants done after an input.
#[derive(Debug)]
pub enum Effect {
    /// Send this (already signed) datagram.
    Send { to: SocketAddr, packet: Vec<u8> },
    /// Hand `wake` back to [`Node::handle_wake`] after `after`.
    Schedule { after: Duration, wake: Wake },
    /// Tell the application.
    Event(ClusterEvent),
}

/// One member's gossip state machine (see the module docs).
pub struct Node {
    foca: Foca,
    runtime: AccumulatingRuntime<NodeId>,
    /// Reads the headers of outgoing messages (see `settle.rs`: stray `TurnUndead`s).
    peek: RmpCodec,
    secret: Vec<u8>,
    seeds: Vec<SocketAddr>,
    reannounce_every: Duration,
    rejoin_every: Duration,
    facts: SharedFacts,
    counters: Arc<Counters>,
    /// Live members as last reported to the application, by gossip address.
    up: BTreeMap<SocketAddr, NodeId>,
    /// Bumped whenever [`Node::members`] may have changed.
    view_version: u64,
    /// How many nodes majorities are counted out of (see [`Node::quorum`]).
    quorum: quorum::Quorum,
}

impl Node {
    /// A node with identity `me`, configured by `config` (its `gossip_addr` is not used:
    /// `me.gossip` is the bound address). `rng_seed` drives foca's member selection.
    pub fn new(config: &ClusterConfig, me: NodeId, rng_seed: u64) -> Self {
        let facts = SharedFacts::default();
        let foca = Foca::with_custom_broadcast(
            me.clone(),
            config.foca_config(),
            SmallRng::seed_from_u64(rng_seed),
            RmpCodec::new(),
            FactHandler::new(facts.clone()),
        );
        Self {
            foca,
            runtime: AccumulatingRuntime::new(),
            peek: RmpCodec::new(),
            secret: config.secret.clone(),
            seeds: config
                .seeds
                .iter()
                .copied()
                .filter(|s| *s != me.gossip)
                .collect(),
            reannounce_every: config.reannounce_every,
            rejoin_every: config.rejoin_every(),
            facts,
            counters: Arc::new(Counters::default()),
            up: BTreeMap::new(),
            view_version: 0,
            quorum: quorum::Quorum::new(config.size),
        }
    }

    /// This node's current identity (its incarnation moves on after an automatic rejoin).
    pub fn identity(&self) -> &NodeId {
        self.foca.identity()
    }

    /// Live members including this node, one per name (the newest incarnation, then the
    /// highest gossip address: every node keeps the same one), sorted by name: the input
    /// placement wants.
    pub fn members(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self
            .foca
            .iter_members()
            .map(|m| m.id().clone())
            .chain(std::iter::once(self.identity().clone()))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(supersedes(b, a)));
        all.dedup_by(|later, kept| later.name == kept.name);
        all
    }

    /// A live member with this node's name that the cluster keeps instead of this node
    /// (a second process started under the same `node_name`, see [`Node::members`]).
    /// Such a node is out of placement on every peer: it must not act as an owner.
    pub fn superseded_by(&self) -> Option<NodeId> {
        let me = self.identity();
        self.foca
            .iter_members()
            .map(|m| m.id())
            .filter(|m| m.name == me.name && supersedes(m, me).is_gt())
            .max_by(|a, b| supersedes(a, b))
            .cloned()
    }

    /// How many nodes a majority is counted out of: the configured size, or more when the
    /// cluster has shown more (see `node/quorum.rs`). A node acts as an owner only while
    /// it sees more than half of it.
    pub fn quorum(&self) -> usize {
        self.quorum.size()
    }

    /// Whether this node sees a majority of [`Node::quorum`], itself included (never
    /// while [`Node::superseded_by`] another process with its name).
    pub fn has_majority(&self) -> bool {
        self.members().len() > self.quorum() / 2 && self.superseded_by().is_none()
    }

    /// Changes whenever [`Node::members`] may have changed.
    pub fn view_version(&self) -> u64 {
        self.view_version
    }

    pub fn facts(&self) -> &SharedFacts {
        &self.facts
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Announces to the seeds and schedules the node's own periodic work.
    pub fn start(&mut self, out: &mut Vec<Effect>) {
        self.announce_to_seeds();
        out.push(Effect::Schedule {
            after: self.reannounce_every,
            wake: Wake::Reannounce,
        });
        out.push(Effect::Schedule {
            after: self.rejoin_every,
            wake: Wake::Rejoin,
        });
        self.settle(out);
    }

    /// A datagram from the network. Anything that is not a well-signed foca message is
    /// dropped and counted.
    pub fn handle_packet(&mut self, packet: &[u8], out: &mut Vec<Effect>) {
        let payload = match frame::open(&self.secret, packet) {
            Ok(payload) => payload,
            Err(refused) => {
                // A peer with another cluster secret is a misconfiguration an operator
                // must hear of; one line a minute, the rest counted.
                static GATE: switchboard_core::LogGate =
                    switchboard_core::LogGate::new(std::time::Duration::from_secs(60));
                if matches!(refused, frame::FrameError::BadSignature) && GATE.pass() {
                    tracing::warn!(%refused, "gossip packet with a bad signature dropped: a node with another cluster secret, or not a peer (counted in the gossip refused metrics; logged at most once a minute)");
                } else {
                    tracing::debug!(%refused, "gossip packet dropped");
                }
                self.counters.frame_refused(refused);
                return;
            }
        };
        bump(&self.counters.packets_received);
        if let Err(error) = self.foca.handle_data(payload, &mut self.runtime) {
            tracing::debug!(?error, "gossip packet refused by foca");
            match error {
                foca::Error::Decode(_)
                | foca::Error::MalformedPacket
                | foca::Error::DataTooBig
                | foca::Error::CustomBroadcast(_) => bump(&self.counters.dropped_malformed),
                _ => bump(&self.counters.rejected_by_foca),
            }
        }
        self.settle(out);
    }

    /// A wake-up this node scheduled is due.
    pub fn handle_wake(&mut self, wake: Wake, out: &mut Vec<Effect>) {
        match wake {
            Wake::Foca(timer) => {
                if let Err(error) = self.foca.handle_timer(timer, &mut self.runtime) {
                    tracing::debug!(?error, "foca timer");
                }
            }
            Wake::Reannounce => {
                // foca forgets down members without an event: recount now and then.
                self.review_quorum();
                self.reannounce();
                out.push(Effect::Schedule {
                    after: self.reannounce_every,
                    wake: Wake::Reannounce,
                });
            }
            Wake::Rejoin => {
                if self.foca.num_members() == 0 {
                    self.rejoin();
                }
                out.push(Effect::Schedule {
                    after: self.rejoin_every,
                    wake: Wake::Rejoin,
                });
            }
        }
        self.settle(out);
    }

    /// Stores `fact` and starts gossiping it. Returns false (and changes nothing) when
    /// the node already holds a newer fact about the same subject.
    pub fn publish(&mut self, fact: &Fact, out: &mut Vec<Effect>) -> Result<bool, ClusterError> {
        let bytes = encode_fact(fact)?;
        let queued = self.add_broadcast(&bytes);
        if queued && let Err(error) = self.foca.broadcast(&mut self.runtime) {
            tracing::debug!(?error, "foca broadcast");
        }
        self.settle(out);
        Ok(queued)
    }

    /// Declares this node down to the cluster: the last thing before stopping.
    pub fn leave(&mut self, out: &mut Vec<Effect>) {
        if let Err(error) = self.foca.leave_cluster(&mut self.runtime) {
            tracing::debug!(?error, "foca leave");
        }
        self.settle(out);
    }

    fn announce_to_seeds(&mut self) {
        for seed in self.seeds.clone() {
            if let Err(error) = self.foca.announce(NodeId::seed(seed), &mut self.runtime) {
                tracing::debug!(?error, %seed, "announce");
            }
        }
    }

    /// Alone: nobody will probe or gossip to us, and foca only announces to down members
    /// while connected, so knock on every door we know of.
    fn rejoin(&mut self) {
        let mut doors: Vec<SocketAddr> = self.seeds.clone();
        doors.extend(self.foca.iter_membership_state().map(|m| m.id().gossip));
        doors.sort();
        doors.dedup();
        doors.retain(|d| *d != self.identity().gossip);
        for door in doors {
            if let Err(error) = self.foca.announce(NodeId::seed(door), &mut self.runtime) {
                tracing::debug!(?error, %door, "rejoin announce");
            }
        }
    }

    /// Queues every held fact again; peers that hold it already do not pass it on.
    fn reannounce(&mut self) {
        let all = self.facts.lock().all();
        let mut queued = false;
        for fact in &all {
            match encode_fact(fact) {
                Ok(bytes) => queued |= self.add_broadcast(&bytes),
                Err(error) => tracing::warn!(%error, "cannot re-announce fact"),
            }
        }
        if queued && let Err(error) = self.foca.broadcast(&mut self.runtime) {
            tracing::debug!(?error, "foca broadcast");
        }
    }

    fn add_broadcast(&mut self, bytes: &[u8]) -> bool {
        self.foca.add_broadcast(bytes).unwrap_or_else(|error| {
            tracing::warn!(?error, "foca refused a fact");
            false
        })
    }
}

/// Of two identities with one name, which the cluster keeps: the later incarnation, then
/// the higher gossip address. `Greater` when `a` is kept over `b`.
fn supersedes(a: &NodeId, b: &NodeId) -> std::cmp::Ordering {
    (a.incarnation, a.gossip).cmp(&(b.incarnation, b.gossip))
}

/// Encodes a fact for gossip, refusing one too large to ride in a packet.
pub fn encode_fact(fact: &Fact) -> Result<Vec<u8>, ClusterError> {
    let bytes = codec::to_bytes(fact)?;
    if bytes.len() > MAX_FACT_BYTES {
        return Err(ClusterError::FactTooLarge {
            size: bytes.len(),
            max: MAX_FACT_BYTES,
        });
    }
    Ok(bytes)
}

mod quorum;
mod settle;
#[cfg(test)]
mod tests;
