//! `/admin/spend` and `/admin/audit`: reports read from the audit log.
//!
//! The audit log is the record of what every call cost, so spend is summed from it
//! rather than kept in a second store that could disagree. Scans stream the segments in
//! a blocking task and keep only the aggregates (spend) or a bounded set of records
//! (audit), so memory stays flat whatever the time range.
//!
//! A report first waits for this node's records so far to be on disk (the writer's group
//! commit holds a batch for up to `audit.commit_delay`), so a call that has been answered
//! is in the next report: an operator checking a call's cost right after it must not
//! see nothing. On a failing disk that wait is bounded by [`DURABLE_WAIT`], and the
//! report shows what is on disk.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::path::PathBuf;

use http::StatusCode;
use serde::Serialize;
use switchboard_audit::{AuditRecord, Filter, scan};
use switchboard_core::Money;
use switchboard_core::time::parse_rfc3339;

use super::http::{AdminResponse, bad_request, internal, json, query_param};
use crate::gateway::Gateway;

/// Most records one audit query returns.
const MAX_RECORDS: usize = 10_000;

/// Longest a report waits for this node's newest records to be durable.
const DURABLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits (at most [`DURABLE_WAIT`]) until every record this node has sent its audit
/// writer is on disk, so the scan that follows sees every call answered so far.
async fn durable_first(gw: &Gateway) {
    match tokio::time::timeout(DURABLE_WAIT, gw.audit.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "audit log closed; the report shows what is on disk")
        }
        Err(_) => tracing::warn!(
            wait_ms = DURABLE_WAIT.as_millis() as u64,
            "audit records not yet durable; the report shows what is on disk"
        ),
    }
}

fn time_param(query: Option<&str>, name: &str) -> Result<Option<u64>, String> {
    match query_param(query, name) {
        None => Ok(None),
        Some(v) => match v.parse::<u64>().ok().or_else(|| parse_rfc3339(&v)) {
            Some(ms) => Ok(Some(ms)),
            None => Err(format!(
                "{name}: `{v}` is not a time like 2026-11-01T00:00:00Z or unix ms"
            )),
        },
    }
}

/// Refuses a parameter the report does not know: a misspelt `tenant=` must not return
/// every tenant's spend.
fn known_params(query: Option<&str>, known: &[&str]) -> Result<(), String> {
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !known.contains(&name) {
            return Err(format!(
                "`{name}` is not a parameter of this report (it takes {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn filter(query: Option<&str>) -> Result<Filter, String> {
    let status = match query_param(query, "status") {
        None => None,
        Some(s) => Some(
            s.parse::<u16>()
                .map_err(|_| format!("status: `{s}` is not an HTTP status"))?,
        ),
    };
    let (from_ms, to_ms) = (time_param(query, "from")?, time_param(query, "to")?);
    if let (Some(from), Some(to)) = (from_ms, to_ms)
        && from > to
    {
        return Err("from: must not be after to".into());
    }
    Ok(Filter {
        from_ms,
        to_ms,
        tenant: query_param(query, "tenant"),
        status,
    })
}

/// One group of a spend report.
#[derive(Debug, Default, Serialize)]
pub struct SpendGroup {
    pub group: String,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: String,
    #[serde(skip)]
    cost: Money,
}

fn groups_of(record: &AuditRecord, by: &str) -> Vec<String> {
    let one = |s: &str| vec![s.to_owned()];
    match by {
        "team" => one(record.team.as_deref().unwrap_or("(none)")),
        "key" => one(&record.key),
        "model" => one(&record.model),
        "provider" => one(record.provider.as_deref().unwrap_or("(none)")),
        "tag" if record.tags.is_empty() => one("(none)"),
        "tag" => record.tags.clone(),
        _ => one(&record.tenant),
    }
}

pub async fn spend(gw: &Gateway, query: Option<&str>) -> AdminResponse {
    if let Err(e) = known_params(query, &["group_by", "from", "to", "tenant", "status"]) {
        return bad_request(e);
    }
    let filter = match filter(query) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let by = query_param(query, "group_by").unwrap_or_else(|| "tenant".to_owned());
    if !["tenant", "team", "key", "model", "provider", "tag"].contains(&by.as_str()) {
        return bad_request(format!(
            "group_by: `{by}` is not one of tenant, team, key, model, provider, tag"
        ));
    }
    durable_first(gw).await;
    let dir: PathBuf = gw.config.audit_dir();
    let by_task = by.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut groups: BTreeMap<String, SpendGroup> = BTreeMap::new();
        let stats = scan(&dir, &filter, |r| {
            for g in groups_of(&r, &by_task) {
                let e = groups.entry(g).or_default();
                e.requests += 1;
                e.errors += u64::from(r.status >= 400);
                e.input_tokens += r.input_tokens;
                e.output_tokens += r.output_tokens;
                e.cost += r.cost();
            }
        });
        stats.map(|_| groups)
    })
    .await;
    let groups = match result {
        Ok(Ok(g)) => g,
        Ok(Err(e)) => return internal(format!("reading the audit log: {e}")),
        Err(e) => return internal(format!("report task failed: {e}")),
    };
    let mut rows: Vec<SpendGroup> = groups
        .into_iter()
        .map(|(group, mut g)| {
            g.group = group;
            g.cost_usd = g.cost.to_string();
            g
        })
        .collect();
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.group.cmp(&b.group)));
    let total: Money = rows.iter().map(|r| r.cost).sum();
    json(
        StatusCode::OK,
        &serde_json::json!({"group_by": by, "total_usd": total.to_string(), "groups": rows}),
    )
}

/// Orders records by cost, the earlier record first among equals.
struct ByCost(AuditRecord);

impl ByCost {
    fn key(&self) -> (i64, Reverse<u64>) {
        (self.0.cost_nanos, Reverse(self.0.seq))
    }
}

impl PartialEq for ByCost {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ByCost {}

impl PartialOrd for ByCost {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByCost {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

pub async fn audit(gw: &Gateway, query: Option<&str>) -> AdminResponse {
    let known = ["from", "to", "tenant", "status", "order", "limit"];
    if let Err(e) = known_params(query, &known) {
        return bad_request(e);
    }
    let filter = match filter(query) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let limit = match query_param(query, "limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=MAX_RECORDS).contains(&l) => l,
        Some(_) => return bad_request(format!("limit: a whole number from 1 to {MAX_RECORDS}")),
    };
    let by_cost = match query_param(query, "order").as_deref() {
        None | Some("time") => false,
        Some("cost") => true,
        Some(other) => return bad_request(format!("order: `{other}` is not time or cost")),
    };
    durable_first(gw).await;
    let dir = gw.config.audit_dir();
    let result = tokio::task::spawn_blocking(move || {
        if by_cost {
            // The `limit` most expensive, cheapest on top of the heap to be evicted first.
            let mut heap: BinaryHeap<Reverse<ByCost>> = BinaryHeap::new();
            let stats = scan(&dir, &filter, |r| {
                heap.push(Reverse(ByCost(r)));
                if heap.len() > limit {
                    heap.pop();
                }
            });
            let out: Vec<AuditRecord> = heap
                .into_sorted_vec()
                .into_iter()
                .map(|Reverse(ByCost(r))| r)
                .collect();
            stats.map(|_| out)
        } else {
            // The `limit` latest, newest first.
            let mut last: VecDeque<AuditRecord> = VecDeque::with_capacity(limit);
            let stats = scan(&dir, &filter, |r| {
                if last.len() == limit {
                    last.pop_front();
                }
                last.push_back(r);
            });
            stats.map(|_| last.into_iter().rev().collect())
        }
    })
    .await;
    match result {
        Ok(Ok(records)) => json(StatusCode::OK, &serde_json::json!({ "records": records })),
        Ok(Err(e)) => internal(format!("reading the audit log: {e}")),
        Err(e) => internal(format!("report task failed: {e}")),
    }
}
