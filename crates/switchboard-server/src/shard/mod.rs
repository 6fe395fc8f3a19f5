//! Sharded ledgers: each quota owned by one node of the cluster, chosen by rendezvous
//! hashing over the live members, with the second-ranked node as its backup.
//!
//! - [`owners`]: [`NodeOwners`], the ledger's `Owners` for this node: a quota it owns is
//!   served by a local LedgerActor and every change is replicated to the backup before it
//!   is acknowledged; a quota owned elsewhere is forwarded to its owner over RPC. A node
//!   that becomes owner (the old one died, or it came back) first takes over the newest
//!   state any live member holds, so no settled spend and no outstanding lease is lost.
//! - `replicate`: an owner's changes reaching its backup, whole or as deltas of the
//!   state the backup last acknowledged.
//! - [`rpc`]: the messages between nodes, MessagePack over HTTP on the cluster RPC port,
//!   each signed with an HMAC of the cluster secret.
//! - [`overview`]: what this node knows of every quota's placement, term and book, for
//!   `GET /admin/cluster` and `switchboard cluster status`.
//! - [`store`]: the snapshots a node holds, persisted in its data directory so a whole
//!   cluster restart starts from them.
//!
//! Safety: a node that sees fewer than a majority of the cluster owns nothing and grants
//! nothing (it may still spend the leases it holds). The majority is counted out of the
//! configured size, or out of more when a member says it was configured for more or more
//! members are remembered (`switchboard_cluster::Node::quorum`). An owner
//! checks by its own view that it is the owner before serving a call, so two sides of a
//! partition never both grant. Settlement ids are idempotent, so retries never count
//! twice.

pub mod overview;
pub mod owners;
mod replicate;
pub mod rpc;
pub mod server;
pub mod store;
pub mod term;

pub use owners::NodeOwners;
