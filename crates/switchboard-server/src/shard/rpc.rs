//! Messages between nodes: MessagePack bodies over HTTP, signed with the cluster secret.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use switchboard_ledger::{
    Grant, GrantRequest, LedgerDelta, LedgerSnapshot, OwnerStatus, Quota, QuotaId, Settled,
    Settlement,
};

/// The header carrying a request's or answer's signature (hex HMAC-SHA256 of the body).
pub const SIGNATURE: &str = "x-switchboard-signature";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RpcRequest {
    Grant {
        quota: Quota,
        node: String,
        request: GrantRequest,
    },
    Settle {
        quota: QuotaId,
        node: String,
        batch: Vec<Settlement>,
    },
    GiveBack {
        quota: QuotaId,
        node: String,
        id: u64,
        period: u64,
        amount: i64,
    },
    SetLimit {
        quota: QuotaId,
        limit: i64,
    },
    Status {
        quota: Quota,
        period: u64,
    },
    /// Owner to backup: the quota's state after a change.
    Replicate {
        quota: Quota,
        snapshot: LedgerSnapshot,
    },
    /// Owner to backup: the quota's state after a change, as what it adds to the state
    /// the backup last acknowledged (see [`LedgerDelta`]).
    ReplicateDelta {
        quota: Quota,
        delta: LedgerDelta,
    },
    /// A node taking a quota over claims term `epoch` of it: a peer that has seen no
    /// later term promises to refuse changes of earlier terms and answers with the
    /// newest state it holds (`Snapshot`); one that has answers `Outbid`.
    Claim {
        quota: QuotaId,
        epoch: u64,
        claimant: String,
    },
    /// A node back after a restart: what its journal says it charged in `period`.
    Rejoin {
        quota: Quota,
        node: String,
        period: u64,
        journal_total: i64,
    },
    /// Owner to a node holding lease: give your free lease of `quota` back (another node
    /// is short of it near the limit).
    Recall {
        quota: QuotaId,
    },
}

impl RpcRequest {
    /// The call's name, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            RpcRequest::Grant { .. } => "grant",
            RpcRequest::Settle { .. } => "settle",
            RpcRequest::GiveBack { .. } => "give_back",
            RpcRequest::SetLimit { .. } => "set_limit",
            RpcRequest::Status { .. } => "status",
            RpcRequest::Replicate { .. } => "replicate",
            RpcRequest::ReplicateDelta { .. } => "replicate_delta",
            RpcRequest::Claim { .. } => "claim",
            RpcRequest::Rejoin { .. } => "rejoin",
            RpcRequest::Recall { .. } => "recall",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RpcResponse {
    Grant(Grant),
    Settled(Vec<Settled>),
    Done,
    Status(OwnerStatus),
    Snapshot(Option<Box<(Quota, LedgerSnapshot)>>),
    /// A claim was refused: this term (epoch, owner) is already known.
    Outbid(u64, String),
    /// The unreported spend a rejoin charged.
    Rejoined(i64),
    /// This node is not the quota's owner by its view: ask again after membership settles.
    NotOwner,
    /// A delta's base is not the state held here: send the whole state.
    NeedWhole,
    Failed(String),
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of every length, so the fallback (an all-zero key) is never used.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    m.update(body);
    m
}

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hex::encode(mac(secret, body).finalize().into_bytes())
}

/// Checks a signature in constant time.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    mac(secret, body).verify_slice(&sig).is_ok()
}

pub fn encode<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(rmp_serde::to_vec_named(value).unwrap_or_default())
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let body = encode(&RpcRequest::Claim {
            epoch: 3,
            claimant: "node-2".into(),
            quota: QuotaId::new(
                switchboard_ledger::Scope::Tenant("a".into()),
                switchboard_ledger::Metric::Money,
                switchboard_ledger::Window::Day,
            ),
        });
        let sig = sign(b"secret", &body);
        assert!(verify(b"secret", &body, &sig));
        assert!(!verify(b"other", &body, &sig));
        let mut bad = body.to_vec();
        bad[0] ^= 1;
        assert!(!verify(b"secret", &bad, &sig));
        assert!(!verify(b"secret", &body, "zz"));
        let back: RpcRequest = decode(&body).unwrap();
        assert!(matches!(back, RpcRequest::Claim { epoch: 3, .. }));
    }
}
