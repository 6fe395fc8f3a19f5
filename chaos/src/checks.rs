//! The invariants checked after every scenario, with the whole cluster back and quiet.

use std::collections::BTreeMap;

use anyhow::Result;
use switchboard_audit::{Filter, scan, verify};

use crate::cluster::Cluster;

/// What the checks found: every broken invariant, spelled out.
#[derive(Debug, Default)]
pub struct Findings {
    pub broken: Vec<String>,
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
    compare(&books, &sums, &mut findings);
    Ok(findings)
}

/// Each owner's book (spent, limit) against the audit logs' sum for its tenant.
fn compare(
    books: &BTreeMap<String, (i64, i64)>,
    sums: &BTreeMap<String, i64>,
    findings: &mut Findings,
) {
    for (tenant, &(spent, limit)) in books {
        let audited = sums.get(tenant).copied().unwrap_or(0);
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
    }
    for (tenant, audited) in sums {
        if *audited > 0 && !books.contains_key(tenant) {
            findings.broken.push(format!(
                "{tenant}: {audited} audited but no owner holds its book"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(books: &[(&str, i64, i64)], sums: &[(&str, i64)]) -> Vec<String> {
        let books = books
            .iter()
            .map(|(t, s, l)| (t.to_string(), (*s, *l)))
            .collect();
        let sums = sums.iter().map(|(t, s)| (t.to_string(), *s)).collect();
        let mut findings = Findings::default();
        compare(&books, &sums, &mut findings);
        findings.broken
    }

    #[test]
    fn books_equal_to_the_audits_and_within_limits_hold() {
        assert!(run(&[("a", 30, 40), ("b", 0, 10)], &[("a", 30)]).is_empty());
    }

    #[test]
    fn a_book_that_disagrees_with_the_audits_is_broken() {
        let broken = run(&[("a", 30, 40)], &[("a", 20)]);
        assert_eq!(broken.len(), 1);
        assert!(broken[0].contains("book says 30"), "{broken:?}");
    }

    #[test]
    fn spend_past_the_limit_is_broken_even_when_the_books_agree() {
        let broken = run(&[("a", 50, 40)], &[("a", 50)]);
        assert_eq!(broken, ["a: over its limit: book 50, audit 50, limit 40"]);
    }

    #[test]
    fn audited_spend_no_owner_accounts_for_is_broken() {
        let broken = run(&[], &[("ghost", 5)]);
        assert_eq!(broken.len(), 1);
        assert!(broken[0].contains("no owner"), "{broken:?}");
    }
}
