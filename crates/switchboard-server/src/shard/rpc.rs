//! Messages between nodes: MessagePack bodies over HTTP, signed with the cluster secret.
//!
//! Every call carries the moment its sender stops waiting for it ([`Call::expires_ms`],
//! wall-clock milliseconds, inside the signed body), and a node refuses a call that
//! reaches it later. A sender that gave up asks again, of the same owner or, if
//! ownership moved meanwhile, of the next one; the first call, held up on the network
//! (a partition: TCP delivers what it had queued once the path heals, tens of seconds
//! later), would otherwise still be served when it finally arrives. An owner taking
//! over carries only the latest settlement ids of the state it adopts, so a settlement
//! applied that late by an owner that no longer remembers its first application was
//! counted twice (`chaos/run --profile long`, partition-one-node).
//!
//! The deadline is written in the receiver's time: every answer carries the answering
//! node's clock ([`Answer::now_ms`]), and a node keeps, per peer, how far that clock is
//! from its own (measured on exchanges quick enough to tell, [`clock_offset`]). So
//! nodes whose clocks disagree by seconds still agree on deadlines; a first call to a
//! peer whose clock runs far ahead may be refused as late, and its answer teaches the
//! sender the offset for the retry.

use std::time::Duration;

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

/// How long one RPC may take: its sender stops waiting then, and its receiver refuses it
/// after.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the RPC listener waits for a request's headers, an idle kept-alive connection
/// included (hyper's header timer also runs between requests): connections that never
/// send one are closed, not kept open for ever.
pub const RPC_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a node keeps an idle connection to a peer for reuse: well under the peer's
/// [`RPC_HEADER_TIMEOUT`], so a call never goes out on a connection the peer is closing.
pub const RPC_POOL_IDLE: Duration = Duration::from_secs(10);

/// Connections the RPC listener serves at once (peers keep a few each); more wait in the
/// kernel's accept queue rather than using up the node's file descriptors, which its
/// client listener and probes need too.
pub const MAX_RPC_CONNECTIONS: usize = 512;

/// What a node sends: the request (an [`RpcRequest`], borrowed when sent) and when its
/// sender stops waiting for the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call<R = RpcRequest> {
    /// Unix time in milliseconds after which the request must not be served.
    pub expires_ms: u64,
    pub request: R,
}

impl<R> Call<R> {
    /// `request`, to be answered within [`RPC_TIMEOUT`] of `now_ms` (the receiver's time).
    pub fn due(request: R, now_ms: u64) -> Call<R> {
        Call {
            expires_ms: now_ms.saturating_add(RPC_TIMEOUT.as_millis() as u64),
            request,
        }
    }

    /// How long ago, at `now_ms`, the call stopped being worth serving; `None` while it is.
    pub fn overdue(&self, now_ms: u64) -> Option<u64> {
        now_ms.checked_sub(self.expires_ms).filter(|late| *late > 0)
    }
}

/// What a node answers: the response and its clock when it answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// The answering node's clock, Unix milliseconds.
    pub now_ms: u64,
    pub response: RpcResponse,
}

/// The longest exchange whose answer is trusted to tell a peer's clock: the answer's
/// time lies somewhere within the exchange, so its middle is off by at most half of it.
pub const OFFSET_MAX_RTT_MS: u64 = 50;

/// How far a peer's clock is ahead of ours (negative: behind), from one exchange sent
/// at `sent_ms` and answered at `peer_now_ms` (its clock), the answer read at
/// `received_ms`; `None` when the exchange took too long to tell.
pub fn clock_offset(sent_ms: u64, received_ms: u64, peer_now_ms: u64) -> Option<i64> {
    let rtt = received_ms.checked_sub(sent_ms)?;
    if rtt > OFFSET_MAX_RTT_MS {
        return None;
    }
    let middle = sent_ms + rtt / 2;
    Some(i64::try_from(i128::from(peer_now_ms) - i128::from(middle)).unwrap_or(0))
}

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

    #[test]
    fn a_call_is_overdue_only_after_its_deadline_and_the_deadline_travels_with_it() {
        let call = Call {
            expires_ms: 10_000,
            request: RpcRequest::Recall {
                quota: QuotaId::new(
                    switchboard_ledger::Scope::Tenant("a".into()),
                    switchboard_ledger::Metric::Money,
                    switchboard_ledger::Window::Day,
                ),
            },
        };
        assert_eq!(call.overdue(9_999), None);
        assert_eq!(call.overdue(10_000), None);
        assert_eq!(call.overdue(10_250), Some(250));
        let back: Call = decode(&encode(&Call {
            expires_ms: call.expires_ms,
            request: &call.request,
        }))
        .unwrap();
        assert_eq!(back.expires_ms, 10_000);
        assert!(matches!(back.request, RpcRequest::Recall { .. }));

        let fresh = Call::due((), 50_000);
        assert_eq!(fresh.expires_ms, 50_000 + RPC_TIMEOUT.as_millis() as u64);
        assert!(fresh.overdue(fresh.expires_ms).is_none());
        assert!(fresh.overdue(fresh.expires_ms + 1).is_some());
    }

    #[test]
    fn a_peers_clock_offset_is_read_from_quick_exchanges_only() {
        // Sent at 1000, read back at 1010: the peer answered at its 31_005, i.e. about
        // 30 s ahead (its answer lies within the exchange: off by at most 5 ms).
        assert_eq!(clock_offset(1_000, 1_010, 31_005), Some(30_000));
        assert_eq!(clock_offset(1_000, 1_010, 995), Some(-10));
        assert_eq!(clock_offset(1_000, 1_000, 1_000), Some(0));
        // Too slow to tell, or read back before it was sent (a clock stepped back).
        assert_eq!(
            clock_offset(1_000, 1_000 + OFFSET_MAX_RTT_MS + 1, 9_000),
            None
        );
        assert_eq!(clock_offset(1_000, 999, 9_000), None);
    }
}
