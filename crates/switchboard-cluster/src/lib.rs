//! Cluster membership and gossip: who is alive, and the small facts every node must
//! know, with no external store.
//!
//! Switchboard nodes are equal peers. foca (SWIM over UDP) is the single source of truth
//! for who is alive; quota ownership is placed on the live members by rendezvous hashing;
//! breaker transitions and key revocations ride on foca's gossip as versioned facts.
//!
//! Pure pieces, tested without sockets or clocks:
//! - [`identity`]: [`NodeId`], a member as foca knows it (name, addresses, incarnation).
//! - [`frame`]: every datagram signed with the cluster secret (HMAC-SHA256); unsigned,
//!   badly signed, truncated or unknown-version packets never reach foca.
//! - [`codec`]: foca's messages as MessagePack ([`RmpCodec`]).
//! - [`facts`]: [`Fact`] and its precedence; [`store`]: [`FactStore`], the newest fact
//!   per subject, and foca's [`store::FactHandler`] over it.
//! - [`config`]: [`ClusterConfig`] and the documented foca tuning (down in ~2-3 s).
//! - [`schedule`]: [`schedule::TimerQueue`], in-order timers over any clock.
//! - [`node`]: [`Node`], one member's logic: inputs in (datagram, wake-up, publish),
//!   [`node::Effect`]s out (send, schedule, [`ClusterEvent`]).
//! - [`placement`]: [`owner_and_backup`] and [`rank`], rendezvous hashing over members.
//! - [`counters`]: [`Counters`] of sent, received and dropped packets.
//!
//! Runtime, thin: [`membership`]: [`start`] binds the UDP socket and runs a [`Node`] in
//! one tokio task; the [`Cluster`] handle reads members and facts, publishes, subscribes
//! to events and leaves.
//!
//! Testing: `sim` (tests, or the `sim` feature) runs N real [`Node`]s on an in-memory
//! network with loss, delay and partitions, under a seeded virtual clock.
//!
//! Data flow of a fact: [`Cluster::publish`] -> [`Node::publish`] -> foca's broadcast
//! queue -> piggybacked on pings and gossip, signed by [`frame::seal`] -> a peer's
//! [`frame::open`] -> foca -> [`store::FactHandler`] keeps it if newer (and passes it on)
//! -> [`ClusterEvent::Learned`] to the peer's subscribers. Every node re-sends all its
//! facts when a member comes up and every `reannounce_every`, since foca keeps no history.

pub mod codec;
pub mod config;
pub mod counters;
pub mod error;
pub mod facts;
pub mod frame;
pub mod identity;
pub mod membership;
pub mod node;
pub mod placement;
pub mod schedule;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod store;

pub use codec::RmpCodec;
pub use config::{ClusterConfig, MAX_FACT_BYTES};
pub use counters::{CounterSnapshot, Counters};
pub use error::ClusterError;
pub use facts::{Fact, Subject};
pub use frame::{FrameError, open, seal};
pub use identity::NodeId;
pub use membership::{Cluster, start};
pub use node::{ClusterEvent, Node};
pub use placement::{owner_and_backup, rank};
pub use store::FactStore;
