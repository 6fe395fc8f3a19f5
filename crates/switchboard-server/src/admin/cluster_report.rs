//! `GET /admin/cluster`: this node's view of the cluster, for `switchboard cluster status`.
//!
//! Members with their state (live ones as the failure detector sees them now, plus any
//! this node has seen declared down), whether a majority is in sight, which node owns
//! and backs each quota this node touches with the owner's epoch and book, this node's
//! lease table, and the breaker table.

use http::StatusCode;
use serde_json::{Value, json};

use super::http::{AdminResponse, json};
use super::routing_report::breaker_list;
use crate::gateway::Gateway;

/// `flush`: make this node's audit records durable and apply its pending settlements
/// first (reports wait for their records), so the books shown include its calls
/// (`?flush=false` skips it, for a quick look at membership).
pub async fn status(gw: &Gateway, flush: bool) -> AdminResponse {
    // A failure is already logged by the flusher; the view is still worth showing.
    // Bounded: with an owner just gone, the view is wanted now, not after the failover.
    if flush {
        let settled = gw.flush_settlements();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), settled).await;
    }
    let now_ms = gw.now_ms();
    let me = gw.config.server.node_name.clone();
    let live = gw.cluster.as_ref().map(|c| c.members()).unwrap_or_default();
    let log = gw.member_log.list();
    let mut members: Vec<Value> = live
        .iter()
        .map(|n| {
            let since = log
                .iter()
                .find(|r| r.name == n.name && r.state == "up")
                .map(|r| r.since_ms);
            json!({
                "name": n.name,
                "state": "up",
                "me": n.name == me,
                "incarnation": n.incarnation,
                "size": n.size,
                "gossip": n.gossip.to_string(),
                "rpc": n.rpc.to_string(),
                "admin": n.admin.to_string(),
                "since_ms": since,
            })
        })
        .collect();
    for r in log
        .iter()
        .filter(|r| r.state == "down" && !live.iter().any(|n| n.name == r.name))
    {
        members.push(json!({
            "name": r.name,
            "state": "down",
            "me": false,
            "incarnation": r.incarnation,
            "size": r.size,
            "gossip": r.gossip,
            "rpc": r.rpc,
            "admin": r.admin,
            "since_ms": r.since_ms,
        }));
    }
    let leases = gw.ledger.leases();
    let leased: Vec<_> = leases.iter().map(|(q, _)| q.clone()).collect();
    let quotas = gw.owners.overview(&leased).await;
    let lease_table: Vec<Value> = leases
        .iter()
        .map(|(q, l)| json!({"quota": q.to_string(), "period": l.period, "free": l.free, "reserved": l.reserved}))
        .collect();
    let size = gw.config.cluster.as_ref().map_or(1, |c| c.size);
    json(
        StatusCode::OK,
        &json!({
            "node": me,
            "clustered": gw.cluster.is_some(),
            "size": size,
            "quorum": gw.cluster.as_ref().map_or(1, |c| c.quorum()),
            "live": live.len().max(1),
            "majority": crate::membership::has_majority(gw),
            "reconciled": gw.owners.is_reconciled(),
            "now_ms": now_ms,
            "members": members,
            "quotas": quotas,
            "leases": lease_table,
            "breakers": breaker_list(gw),
            "gossip": gw.cluster.as_ref().map(|c| {
                let k = c.counters();
                serde_json::to_value(k).unwrap_or(Value::Null)
            }),
        }),
    )
}
