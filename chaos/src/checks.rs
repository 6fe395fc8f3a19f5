//! The invariants checked after every scenario, with the whole cluster back and quiet.

use std::collections::BTreeMap;

use anyhow::Result;
use switchboard_audit::{Filter, scan, verify};

use crate::cluster::Cluster;

/// What the checks found: every broken invariant, spelled out.
#[derive(Debug, Default)]
pub struct Findings {
    pub broken: Vec<String>,
    /// Per tenant: (owner's book, audit sum, limit), in nano-dollars.
    pub books: BTreeMap<String, (i64, i64, i64)>,
}

/// Money spent per tenant in every node's audit log; a broken chain is a finding.
fn audit_sums(cluster: &Cluster, findings: &mut Findings) -> BTreeMap<String, i64> {
    let mut sums = BTreeMap::new();
    for node in &cluster.nodes {
        let dir = node.dir.join("data/audit");
        if let Err(e) = verify(&dir) {
            findings
                .broken
                .push(format!("{}: audit chain does not verify: {e}", node.name));
        }
        let scanned = scan(&dir, &Filter::default(), |r| {
            *sums.entry(r.tenant.clone()).or_insert(0) += r.cost_nanos;
        });
        if let Err(e) = scanned {
            findings
                .broken
                .push(format!("{}: audit log unreadable: {e}", node.name));
        }
    }
    sums
}

/// Every money quota: its owner's book equals the audit logs' sum, and neither passes the
/// limit. Every node is running and sees the others.
pub async fn check(cluster: &Cluster) -> Result<Findings> {
    let mut findings = Findings::default();
    // Reading a node's status applies its own pending settlements first.
    for i in 0..cluster.nodes.len() {
        cluster.view(i).await?;
    }
    let mut books: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for i in 0..cluster.nodes.len() {
        let view = cluster.view(i).await?;
        for q in view["quotas"].as_array().into_iter().flatten() {
            let id = q["quota"].as_str().unwrap_or_default();
            if q["role"] != "owner" || !id.contains("/money/") {
                continue;
            }
            let tenant = id
                .trim_start_matches("tenant:")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let book = (
                q["spent"].as_i64().unwrap_or(-1),
                q["limit"].as_i64().unwrap_or(-1),
            );
            if let Some(other) = books.insert(tenant.clone(), book)
                && other != book
            {
                findings.broken.push(format!(
                    "{tenant}: two owners with different books ({other:?} and {book:?})"
                ));
            }
        }
    }
    let sums = audit_sums(cluster, &mut findings);
    for (tenant, (spent, limit)) in books {
        let audited = sums.get(&tenant).copied().unwrap_or(0);
        if spent != audited {
            findings.broken.push(format!(
                "{tenant}: the owner's book says {spent} spent, the audit logs {audited}"
            ));
        }
        if spent > limit || audited > limit {
            findings.broken.push(format!(
                "{tenant}: over its limit: book {spent}, audit {audited}, limit {limit}"
            ));
        }
        findings.books.insert(tenant, (spent, audited, limit));
    }
    for (tenant, audited) in &sums {
        if *audited > 0 && !findings.books.contains_key(tenant) {
            findings.broken.push(format!(
                "{tenant}: {audited} audited but no owner holds its book"
            ));
        }
    }
    Ok(findings)
}
