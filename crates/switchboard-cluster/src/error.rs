//! [`ClusterError`]: everything that can go wrong in this crate, in one enum.
//!
//! Packets that fail the frame check are not errors of the node: they are dropped and
//! counted (see [`crate::frame::FrameError`] and [`crate::Counters`]). The codec and the
//! broadcast handler report through this enum too, because foca wraps whatever they
//! return and the node classifies it back with [`ClusterError::metric_label`].

use std::net::SocketAddr;

/// The cluster layer's error. Each message is the doc line.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The configuration cannot run a cluster.
    #[error("invalid cluster config: {0}")]
    Config(String),
    /// The gossip socket could not be bound.
    #[error("cannot bind gossip socket {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A message could not be encoded (a bug, or a fact too big for a packet).
    #[error("cannot encode: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// A received message could not be decoded: garbage from an authenticated peer,
    /// or a peer running an incompatible version.
    #[error("cannot decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    /// The encoder ran out of room in the packet buffer.
    #[error("packet buffer full")]
    BufferFull,
    /// A fact is too large to ride in a gossip packet.
    #[error("fact of {size} bytes exceeds the {max} byte limit")]
    FactTooLarge { size: usize, max: usize },
    /// The membership task has stopped.
    #[error("cluster membership stopped")]
    Stopped,
}

impl ClusterError {
    /// A low-cardinality label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ClusterError::Config(_) => "config",
            ClusterError::Bind { .. } => "bind",
            ClusterError::Encode(_) => "encode",
            ClusterError::Decode(_) => "decode",
            ClusterError::BufferFull => "buffer_full",
            ClusterError::FactTooLarge { .. } => "fact_too_large",
            ClusterError::Stopped => "stopped",
        }
    }
}
