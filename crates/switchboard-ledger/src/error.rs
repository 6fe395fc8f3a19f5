//! The ledger's one error type.

use crate::quota::QuotaId;

/// What can go wrong between a node and the owners of its quotas. A refused reservation
/// is not an error: it is a [`crate::Refusal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The owner of the quota did not answer: its actor has stopped (on one node), or
    /// its node is unreachable (in a cluster). Requests needing a grant fail closed.
    #[error("the owner of quota {0} did not answer")]
    OwnerUnavailable(QuotaId),
    /// A settlement or a returned lease for a quota this node never asked a grant of.
    #[error("no owner of quota {0} is known on this node")]
    UnknownQuota(QuotaId),
}

impl LedgerError {
    /// A low-cardinality label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            LedgerError::OwnerUnavailable(_) => "owner_unavailable",
            LedgerError::UnknownQuota(_) => "unknown_quota",
        }
    }
}
