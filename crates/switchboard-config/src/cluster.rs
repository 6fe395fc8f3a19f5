//! `[cluster]`: membership and the cluster secret. Absent: the node runs alone.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// UDP address for membership gossip (foca).
    pub gossip: SocketAddr,
    /// TCP address for cluster RPC (ledger owners, replication, state sync).
    pub rpc: SocketAddr,
    /// Gossip addresses of the other nodes to join through.
    #[serde(default)]
    pub seeds: Vec<SocketAddr>,
    /// Shared by every node: signs every gossip packet and RPC. Use 32 random bytes,
    /// from the environment (`"${SWITCHBOARD_CLUSTER_SECRET}"`).
    pub secret: Secret,
    /// How many nodes the cluster is meant to have. Ownership moves only with a majority
    /// of them in sight, so a node cut off from the rest never takes over a quota.
    pub size: usize,
}
