//! `switchboard cluster status`: one node's view of the cluster, over its admin API.

use clap::Subcommand;
use http::Method;
use serde_json::Value;

use crate::admin_client::AdminTarget;

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Members and their state, quota owners and backups with their epochs, this node's
    /// lease table and the breaker table, as the node at --admin-url sees them.
    Status,
}

pub fn run(cmd: ClusterCmd, target: &AdminTarget) -> anyhow::Result<()> {
    match cmd {
        ClusterCmd::Status => status(target),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn status(target: &AdminTarget) -> anyhow::Result<()> {
    let v = target.call(Method::GET, "/admin/cluster", None)?;
    if target.json {
        out!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    out!(
        "node {}  clustered {}  live {}/{}  majority {}",
        text(&v["node"]),
        text(&v["clustered"]),
        text(&v["live"]),
        text(&v["quorum"]),
        text(&v["majority"])
    );
    if v["quorum"].is_number() && v["quorum"] != v["size"] {
        out!(
            "warning: configured for {} nodes, but the cluster has shown more: majorities are counted out of {} (see this node's log)",
            text(&v["size"]),
            text(&v["quorum"])
        );
    }
    out!("\nMEMBERS");
    out!(
        "{:<16} {:<6} {:<5} {:<22} {:<22} {:<22}",
        "name",
        "state",
        "size",
        "gossip",
        "rpc",
        "admin"
    );
    for m in v["members"].as_array().into_iter().flatten() {
        let me = if m["me"] == Value::Bool(true) {
            "*"
        } else {
            ""
        };
        out!(
            "{:<16} {:<6} {:<5} {:<22} {:<22} {:<22}",
            format!("{}{me}", text(&m["name"])),
            text(&m["state"]),
            text(&m["size"]),
            text(&m["gossip"]),
            text(&m["rpc"]),
            text(&m["admin"])
        );
    }
    out!("\nQUOTAS");
    out!(
        "{:<40} {:<12} {:<12} {:<7} {:>5} {:>14} {:>14}  leases",
        "quota",
        "owner",
        "backup",
        "role",
        "epoch",
        "spent",
        "limit"
    );
    for q in v["quotas"].as_array().into_iter().flatten() {
        let leases: Vec<String> = q["leases"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(node, amount)| format!("{node}={amount}"))
            .collect();
        out!(
            "{:<40} {:<12} {:<12} {:<7} {:>5} {:>14} {:>14}  {}",
            text(&q["quota"]),
            text(&q["owner"]),
            text(&q["backup"]),
            text(&q["role"]),
            text(&q["epoch"]),
            text(&q["spent"]),
            text(&q["limit"]),
            leases.join(" ")
        );
    }
    out!("\nLEASES HELD HERE");
    out!(
        "{:<40} {:>10} {:>14} {:>14}",
        "quota",
        "period",
        "free",
        "reserved"
    );
    for l in v["leases"].as_array().into_iter().flatten() {
        out!(
            "{:<40} {:>10} {:>14} {:>14}",
            text(&l["quota"]),
            text(&l["period"]),
            text(&l["free"]),
            text(&l["reserved"])
        );
    }
    out!("\nBREAKERS");
    out!(
        "{:<40} {:<10} {:>6} {:>11}",
        "deployment",
        "state",
        "trips",
        "transitions"
    );
    for b in v["breakers"].as_array().into_iter().flatten() {
        out!(
            "{:<40} {:<10} {:>6} {:>11}",
            text(&b["deployment"]),
            text(&b["state"]),
            text(&b["trips"]),
            text(&b["transitions"])
        );
    }
    Ok(())
}
