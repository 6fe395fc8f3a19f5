//! Rebuilding budget spend at start-up from the audit log.
//!
//! The audit record of a settled call is also its settlement journal entry: every call
//! the ledger charged has exactly one `allowed` record with status 200 carrying its
//! usage and cost. So on start the node sums, per quota, the records of each quota's
//! current period and hands the totals to the ledger, and "ledger equals the sum of audit
//! records" holds across restarts by construction.

use std::collections::HashMap;

use switchboard_audit::{AuditRecord, Decision, Filter, scan};
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
        Scope::Key(id) => *id == r.key,
        Scope::Team { tenant, team } => {
            *tenant == r.tenant && r.team.as_deref() == Some(team.as_str())
        }
        Scope::Tenant(t) => *t == r.tenant,
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
                        tenant: tenant.clone(),
                        team: team.clone(),
                    },
                ));
            }
        }
    }
    for (tenant, policy) in gw.directory.tenants() {
        for q in &policy.quotas {
            out.push(ledger_quota(q, Scope::Tenant(tenant.clone())));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|q| seen.insert(q.id.clone()));
    out
}

/// Sums each quota's current period from the audit log into the ledger.
pub async fn restore_spend(gw: &Gateway) -> Result<RestoreReport, String> {
    let quotas = all_quotas(gw);
    if quotas.is_empty() {
        return Ok(RestoreReport::default());
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
    let (sums, stats) = tokio::task::spawn_blocking(move || {
        let mut sums: HashMap<usize, i64> = HashMap::new();
        let filter = Filter {
            from_ms: Some(from),
            ..Filter::default()
        };
        let stats = scan(&dir, &filter, |r| {
            if r.decision != Decision::Allowed || r.status != 200 {
                return;
            }
            for (i, q) in scan_quotas.iter().enumerate() {
                if r.time_ms >= starts[i] && applies(&q.id.scope, &r) {
                    *sums.entry(i).or_default() += charge(q.id.metric, &r);
                }
            }
        });
        stats.map(|s| (sums, s))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    for (i, spent) in sums {
        gw.ledger
            .restore(&quotas[i], spent)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(RestoreReport {
        quotas: quotas.len(),
        records_read: stats.records,
    })
}
