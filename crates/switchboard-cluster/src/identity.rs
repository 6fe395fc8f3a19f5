//! [`NodeId`]: who a cluster member is, as foca sees it.
//!
//! SWIM never lets an identity come back once it has been declared down, so an identity
//! carries an `incarnation` (the process's start time in milliseconds) besides the node's
//! name and addresses. A restarted node is therefore a *new* identity on the same gossip
//! address, and [`foca::Identity::win_addr_conflict`] lets the newer one replace the old
//! at once instead of waiting for the cluster to forget the old one.
//!
//! The identity's foca address ([`foca::Identity::Addr`]) is the gossip socket address:
//! it is what a seed is known by before anything else about it is (a node joins by
//! announcing to an address), and it is unique while the node runs. The `name` is what
//! placement hashes; [`crate::Node::members`] keeps one identity per name.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::{Deserialize, Serialize};

/// A cluster member: its name, its three listening addresses and when it started.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeId {
    /// The node's configured name, unique in the cluster (placement hashes it).
    pub name: String,
    /// Where the node's foca listens (UDP).
    pub gossip: SocketAddr,
    /// The node's cluster RPC address (ledger calls, replication).
    pub rpc: SocketAddr,
    /// The node's admin HTTP listener.
    pub admin: SocketAddr,
    /// Start time in Unix milliseconds, bumped by one on every automatic rejoin, so the
    /// latest identity on an address always wins.
    pub incarnation: u64,
    /// The cluster size this node was configured with (`cluster.size`). Peers compare it
    /// with their own: majorities are only safe when every node counts them out of the
    /// same number (see [`crate::Node::quorum`]). 0 from a node that does not say.
    #[serde(default)]
    pub size: u32,
}

impl NodeId {
    /// A stand-in for a seed known only by its gossip address: foca accepts an announce
    /// addressed to any identity with the receiver's address, so the rest does not matter.
    pub(crate) fn seed(gossip: SocketAddr) -> Self {
        let nowhere = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        Self {
            name: String::new(),
            gossip,
            rpc: nowhere,
            admin: nowhere,
            incarnation: 0,
            size: 0,
        }
    }
}

impl foca::Identity for NodeId {
    type Addr = SocketAddr;

    /// Rejoin automatically when declared down (after a partition, a long pause): the
    /// same node with the next incarnation, which wins the conflict with this one.
    fn renew(&self) -> Option<Self> {
        Some(Self {
            incarnation: self.incarnation.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.gossip
    }

    /// Two identities on one gossip address: the later start (or rejoin) is the live one.
    /// The name breaks an exact tie so that every node keeps the same one.
    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        (self.incarnation, &self.name) > (adversary.incarnation, &adversary.name)
    }
}

/// Short form for logs: `name@gossip#incarnation`.
impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.name, self.gossip, self.incarnation)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    fn node(name: &str, port: u16, incarnation: u64) -> NodeId {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        NodeId {
            name: name.to_owned(),
            gossip: addr,
            rpc: addr,
            admin: addr,
            incarnation,
            size: 3,
        }
    }

    #[test]
    fn a_renewed_identity_wins_over_the_one_it_replaces() {
        let old = node("a", 7000, 1_700_000_000_000);
        let new = old.renew().unwrap();
        assert_eq!(new.addr(), old.addr());
        assert_eq!(new.name, old.name);
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
    }

    #[test]
    fn a_restarted_node_supersedes_its_previous_run() {
        let before = node("a", 7000, 1_000);
        let restarted = node("a", 7000, 5_000);
        assert!(restarted.win_addr_conflict(&before));
        assert!(!before.win_addr_conflict(&restarted));
    }

    #[test]
    fn an_exact_tie_is_broken_the_same_way_on_every_node() {
        let x = node("x", 7000, 1);
        let y = node("y", 7000, 1);
        assert!(y.win_addr_conflict(&x) != x.win_addr_conflict(&y));
    }

    #[test]
    fn a_seed_stand_in_has_the_seeds_address() {
        let addr = SocketAddr::from(([10, 0, 0, 1], 7946));
        assert_eq!(NodeId::seed(addr).addr(), addr);
    }
}
