//! Admission: the quotas a request must fit in, and its reservation against them.
//!
//! A request is checked against its key's, its team's and its tenant's quotas together,
//! all or nothing (the ledger releases what it reserved if any one refuses). The audit
//! slot is taken first: a request the gateway could not record is refused with 503
//! rather than served unaudited.

use std::sync::Arc;

use switchboard_audit::AuditSlot;
use switchboard_config::{QuotaMetric, QuotaWindow};
use switchboard_ledger::{Metric, Quota, QuotaId, Reservation, Scope, Want, Window};

use super::RequestCtx;
use super::estimate::Estimate;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::identity::{Identity, QuotaSpec};

/// What admission hands to the call: the reservation (none when no quota applies) and
/// the audit slot the call's record will fill.
pub struct Admission {
    pub reservation: Option<Reservation>,
    pub slot: AuditSlot,
}

fn metric(m: QuotaMetric) -> Metric {
    match m {
        QuotaMetric::Money => Metric::Money,
        QuotaMetric::Tokens => Metric::Tokens,
        QuotaMetric::Requests => Metric::Requests,
    }
}

fn window(w: QuotaWindow) -> Window {
    match w {
        QuotaWindow::Minute => Window::Minute,
        QuotaWindow::Hour => Window::Hour,
        QuotaWindow::Day => Window::Day,
        QuotaWindow::Month => Window::Month,
        QuotaWindow::Total => Window::Total,
    }
}

/// A configured limit as a ledger quota of `scope`.
pub fn ledger_quota(spec: &QuotaSpec, scope: Scope) -> Quota {
    Quota::new(
        QuotaId::new(scope, metric(spec.metric), window(spec.window)),
        spec.limit,
    )
}

/// Every quota that applies to a request by `identity`: its key's, its team's, its
/// tenant's.
pub fn quotas_of(gw: &Gateway, identity: &Identity) -> Vec<Quota> {
    let mut out: Vec<Quota> = Vec::with_capacity(4);
    if !identity.quotas.is_empty() {
        let key: Arc<str> = identity.id.as_str().into();
        out.extend(
            identity
                .quotas
                .iter()
                .map(|q| ledger_quota(q, Scope::Key(Arc::clone(&key)))),
        );
    }
    if let Some(team) = &identity.team {
        gw.directory.with_team(&identity.tenant, team, |t| {
            let quotas = t.map(|t| t.quotas.as_slice()).unwrap_or_default();
            if !quotas.is_empty() {
                let scope = Scope::Team {
                    tenant: identity.tenant.as_str().into(),
                    team: team.as_str().into(),
                };
                for q in quotas {
                    out.push(ledger_quota(q, scope.clone()));
                }
            }
        });
    }
    gw.directory.with_tenant(&identity.tenant, |t| {
        let quotas = t.map(|t| t.quotas.as_slice()).unwrap_or_default();
        if !quotas.is_empty() {
            let tenant: Arc<str> = identity.tenant.as_str().into();
            for q in quotas {
                out.push(ledger_quota(q, Scope::Tenant(Arc::clone(&tenant))));
            }
        }
    });
    out
}

/// What `estimate` asks of a quota, in its unit.
fn amount(metric: Metric, estimate: &Estimate) -> i64 {
    match metric {
        Metric::Money => estimate.cost.nanos(),
        Metric::Tokens => i64::try_from(estimate.tokens()).unwrap_or(i64::MAX),
        Metric::Requests => 1,
    }
}

/// Takes an audit slot and reserves `estimate` against every quota of the caller.
pub async fn admit(
    gw: &Gateway,
    ctx: &RequestCtx,
    estimate: &Estimate,
) -> Result<Admission, GatewayError> {
    let slot = gw
        .audit
        .try_reserve()
        .ok_or(GatewayError::AuditUnavailable)?;
    let quotas = quotas_of(gw, &ctx.identity);
    if quotas.is_empty() {
        return Ok(Admission {
            reservation: None,
            slot,
        });
    }
    let wants: Vec<Want<'_>> = quotas
        .iter()
        .map(|q| Want::new(q, amount(q.id.metric, estimate)))
        .collect();
    match gw.ledger.reserve(ctx.settle_id.as_str(), &wants).await {
        Ok(reservation) => Ok(Admission {
            reservation: Some(reservation),
            slot,
        }),
        Err(refusal) => Err(GatewayError::Refused(Box::new(refusal))),
    }
}
