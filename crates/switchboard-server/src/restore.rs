//! Rebuilding budget spend at start-up from the audit log.
//!
//! The audit record of a settled call is also its settlement journal entry: every call
//! the ledger charged has exactly one `allowed` record with status 200 carrying its
//! usage and cost. So on start the node sums, per quota, the records of each quota's
//! current period and hands the totals to the ledger, and "ledger equals the sum of audit
//! records" holds across restarts by construction.
//!
//! In a cluster the owners' replicated books are the truth, and one node's log holds only
//! its own calls: there the log is compared, per quota, with what the node settled (see
//! [`reconcile`]), which recovers spend a crash kept from being reported.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_audit::{AuditRecord, Decision, Filter, scan, scan_verified};
use switchboard_ledger::{Metric, Quota, Scope};

use crate::gateway::Gateway;
use crate::pipeline::policy::{ledger_quota, quotas_of};

/// What the restore found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub quotas: usize,
    pub records_read: u64,
}

fn applies(scope: &Scope, r: &AuditRecord) -> bool {
    match scope {
        Scope::Key(id) => **id == *r.key,
        Scope::Team { tenant, team } => **tenant == *r.tenant && r.team.as_deref() == Some(&**team),
        Scope::Tenant(t) => **t == *r.tenant,
    }
}

fn charge(metric: Metric, r: &AuditRecord) -> i64 {
    match metric {
        Metric::Money => r.cost_nanos,
        Metric::Tokens => i64::try_from(r.input_tokens + r.output_tokens).unwrap_or(i64::MAX),
        Metric::Requests => 1,
    }
}

/// Every quota the node knows of: each key's, each team's, each tenant's.
fn all_quotas(gw: &Gateway) -> Vec<Quota> {
    let mut out: Vec<Quota> = Vec::new();
    for identity in gw.keys.list() {
        out.extend(quotas_of(gw, &identity));
    }
    for (tenant, teams) in gw.directory.teams() {
        for (team, policy) in teams {
            for q in &policy.quotas {
                out.push(ledger_quota(
                    q,
                    Scope::Team {
                        tenant: tenant.as_str().into(),
                        team: team.as_str().into(),
                    },
                ));
            }
        }
    }
    for (tenant, policy) in gw.directory.tenants() {
        for q in &policy.quotas {
            out.push(ledger_quota(q, Scope::Tenant(tenant.as_str().into())));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|q| seen.insert(q.id.clone()));
    out
}

/// Each known quota with what this node's audit log charged it in its current period
/// (0 if nothing), and the scan's statistics. With `node`, only the records that node
/// wrote count: in a cluster, records a data directory holds from under another node name
/// were settled under that name, and charging them again would count them twice.
///
/// With `audit.verify_at_start` (the default) the chain is checked on the way, and a log
/// with an edited, deleted or reordered record is an error: the spend it records cannot
/// be trusted (an edited `cost_nanos` would hand a tenant its budget back).
async fn journal(gw: &Gateway, node: Option<String>) -> Result<(Vec<(Quota, i64)>, u64), String> {
    let quotas = all_quotas(gw);
    let verified = gw.config.audit.verify_at_start;
    if !verified {
        tracing::warn!(
            "audit.verify_at_start is off: budget spend is rebuilt from the audit log without checking its chain"
        );
    }
    if quotas.is_empty() && !verified {
        return Ok((Vec::new(), 0));
    }
    let now = gw.now_ms();
    let starts: Vec<u64> = quotas
        .iter()
        .map(|q| {
            let period = q.id.window.period(now);
            if period == 0 {
                0
            } else {
                q.id.window.period_end_ms(period - 1).unwrap_or(0)
            }
        })
        .collect();
    let from = starts.iter().copied().min().unwrap_or(0);
    let dir = gw.config.audit_dir();
    let scan_quotas = quotas.clone();
    let (sums, stats, foreign) = tokio::task::spawn_blocking(move || {
        let mut sums: HashMap<usize, i64> = HashMap::new();
        let mut foreign: Option<(String, u64)> = None;
        let filter = Filter {
            from_ms: Some(from),
            ..Filter::default()
        };
        let mut take = |r: AuditRecord| {
            if r.decision != Decision::Allowed || r.status != 200 {
                return;
            }
            if node.as_ref().is_some_and(|me| *me != r.node) {
                foreign.get_or_insert_with(|| (r.node.clone(), 0)).1 += 1;
                return;
            }
            for (i, q) in scan_quotas.iter().enumerate() {
                if r.time_ms >= starts[i] && applies(&q.id.scope, &r) {
                    *sums.entry(i).or_default() += charge(q.id.metric, &r);
                }
            }
        };
        let stats = if verified {
            scan_verified(&dir, &filter, &mut take).map_err(|e| {
                format!(
                    "the audit log in {} fails verification at {e}. The budget spend it records cannot be trusted, so the node does not start: inspect it with `switchboard audit verify {}`, restore it from a copy, or set audit.verify_at_start = false to start from it as it is",
                    dir.display(),
                    dir.display()
                )
            })
        } else {
            scan(&dir, &filter, &mut take).map_err(|e| e.to_string())
        };
        stats.map(|s| (sums, s, foreign))
    })
    .await
    .map_err(|e| e.to_string())??;
    if let Some((name, records)) = foreign {
        tracing::warn!(
            written_as = %name,
            records,
            "the audit log holds calls this data directory recorded under another node name; they were settled under that name and are not charged again (keep a data directory with its node name)"
        );
    }
    let out = quotas
        .into_iter()
        .enumerate()
        .map(|(i, q)| (q, sums.get(&i).copied().unwrap_or(0)))
        .collect();
    Ok((out, stats.records))
}

/// Sums each quota's current period from the audit log into the ledger (a single
/// node), or reconciles it with the quotas' owners once a majority is in sight (a
/// cluster node; see [`reconcile`]).
pub async fn restore_spend(gw: &Arc<Gateway>) -> Result<RestoreReport, String> {
    let me = gw
        .owners
        .is_clustered()
        .then(|| gw.config.server.node_name.clone());
    let (sums, records_read) = journal(gw, me).await?;
    let report = RestoreReport {
        quotas: sums.len(),
        records_read,
    };
    if gw.owners.is_clustered() {
        tokio::spawn(reconcile(Arc::downgrade(gw), sums));
        return Ok(report);
    }
    for (quota, spent) in sums {
        if spent > 0 {
            gw.ledger
                .restore(&quota, spent)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(report)
}

/// Tries per quota to reconcile after a restart.
const REJOIN_TRIES: u32 = 10;
/// Rejoins in flight at once.
const REJOIN_PARALLEL: usize = 32;

/// A cluster node back from a restart (or a crash) tells each quota's owner what its
/// journal charged this period. The owner charges whatever no settlement reported and
/// drops the lease it still counted for this node's previous life; until then that
/// lease counted against the limit as if spent. Only then does this node ask for lease.
async fn reconcile(gw: std::sync::Weak<Gateway>, sums: Vec<(Quota, i64)>) {
    loop {
        match gw.upgrade() {
            Some(g) if crate::membership::has_majority(&g) => break,
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            None => return,
        }
    }
    let Some(g) = gw.upgrade() else { return };
    let started = std::time::Instant::now();
    let mut charged_total = 0i64;
    let mut failed = 0usize;
    for chunk in sums.chunks(REJOIN_PARALLEL) {
        let mut calls = tokio::task::JoinSet::new();
        for (quota, spent) in chunk.iter().cloned() {
            let g = Arc::clone(&g);
            calls.spawn(async move {
                let period = quota.id.window.period(g.now_ms());
                let mut wait = Duration::from_millis(100);
                for _ in 0..REJOIN_TRIES {
                    match g.owners.rejoin(&quota, period, spent).await {
                        Ok(charged) => return Ok(charged),
                        Err(_) => {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(2));
                        }
                    }
                }
                Err(quota.id.to_string())
            });
        }
        for outcome in calls.join_all().await {
            match outcome {
                Ok(charged) => charged_total += charged,
                Err(quota) => {
                    failed += 1;
                    tracing::error!(%quota, "journal not reconciled with the owner; this node's old lease stays counted");
                }
            }
        }
    }
    g.owners.reconciled();
    tracing::info!(
        quotas = sums.len(),
        failed,
        unreported_charged = charged_total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "journal reconciled with the quota owners"
    );
}
