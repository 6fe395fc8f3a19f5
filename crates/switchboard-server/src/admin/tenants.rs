//! `/admin/tenants` and `/admin/teams`: quotas and audit capture policy.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_config::Capture;

use super::http::{AdminResponse, bad_request, internal, json, not_found};
use super::quota_json::{QuotaJson, specs};
use crate::gateway::Gateway;
use crate::identity::directory::{TeamPolicy, TenantPolicy};
use crate::identity::{QuotaSpec, state};
use crate::pipeline::policy::ledger_quota;
use switchboard_ledger::Scope;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    #[serde(default)]
    pub quotas: Vec<QuotaJson>,
    #[serde(default)]
    pub capture: Capture,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    #[serde(default)]
    pub quotas: Vec<QuotaJson>,
}

#[derive(Debug, Serialize)]
pub struct TenantView {
    pub quotas: Vec<QuotaJson>,
    pub capture: Capture,
    pub metadata: BTreeMap<String, String>,
}

impl TenantView {
    fn of(t: &TenantPolicy) -> TenantView {
        TenantView {
            quotas: t.quotas.iter().map(QuotaJson::from_spec).collect(),
            capture: t.capture,
            metadata: t.metadata.clone(),
        }
    }
}

pub fn list(gw: &Gateway) -> AdminResponse {
    let tenants: BTreeMap<String, TenantView> = gw
        .directory
        .tenants()
        .iter()
        .map(|(k, v)| (k.clone(), TenantView::of(v)))
        .collect();
    let teams: BTreeMap<String, BTreeMap<String, Vec<QuotaJson>>> = gw
        .directory
        .teams()
        .into_iter()
        .map(|(tenant, teams)| {
            (
                tenant,
                teams
                    .into_iter()
                    .map(|(t, p)| (t, p.quotas.iter().map(QuotaJson::from_spec).collect()))
                    .collect(),
            )
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({ "tenants": tenants, "teams": teams }),
    )
}

pub fn get(gw: &Gateway, name: &str) -> AdminResponse {
    match gw.directory.tenant(name) {
        Some(t) => json(StatusCode::OK, &TenantView::of(&t)),
        None => not_found(format!("no tenant named \"{name}\"")),
    }
}

/// Tells the ledger about changed limits; a quota's owner otherwise keeps the limit it
/// was created with.
pub async fn apply_limits(gw: &Gateway, quotas: &[QuotaSpec], scope: impl Fn() -> Scope) {
    for q in quotas {
        let quota = ledger_quota(q, scope());
        if let Err(e) = gw.ledger.set_limit(&quota.id, quota.limit).await {
            tracing::warn!(quota = %quota.id, error = %e, "new limit not applied");
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

pub async fn put(gw: &Gateway, name: &str, input: TenantInput) -> AdminResponse {
    if !valid_name(name) {
        return bad_request("a tenant name is 1-128 letters, digits, '-', '_' or '.'");
    }
    let quotas = match specs(&input.quotas) {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    if let Some(Err(e)) = input
        .guardrails
        .as_ref()
        .map(switchboard_guard::Guard::compile)
    {
        return bad_request(format!("guardrails: {e}"));
    }
    let policy = TenantPolicy {
        quotas,
        capture: input.capture,
        metadata: input.metadata,
        guardrails: input.guardrails,
        guard: None,
    };
    let mut st = gw.admin_state.lock().await;
    let before = st.clone();
    st.tenants.insert(name.to_owned(), policy.clone());
    st.version += 1;
    if let Err(e) = st.save(&state::state_path(&gw.config.server.data_dir)) {
        *st = before;
        return internal(format!("could not persist the change: {e}"));
    }
    gw.directory.put_tenant(name, policy.clone());
    crate::membership::publish_tenant(gw, name, &policy);
    apply_limits(gw, &policy.quotas, || Scope::Tenant(name.into())).await;
    json(StatusCode::OK, &TenantView::of(&policy))
}

pub async fn put_team(gw: &Gateway, tenant: &str, team: &str, input: TeamInput) -> AdminResponse {
    if !valid_name(tenant) || !valid_name(team) {
        return bad_request("tenant and team names are 1-128 letters, digits, '-', '_' or '.'");
    }
    let quotas = match specs(&input.quotas) {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    let policy = TeamPolicy { quotas };
    let mut st = gw.admin_state.lock().await;
    let before = st.clone();
    st.teams
        .entry(tenant.to_owned())
        .or_default()
        .insert(team.to_owned(), policy.clone());
    st.version += 1;
    if let Err(e) = st.save(&state::state_path(&gw.config.server.data_dir)) {
        *st = before;
        return internal(format!("could not persist the change: {e}"));
    }
    gw.directory.put_team(tenant, team, policy.clone());
    crate::membership::publish_team(gw, tenant, team, &policy);
    apply_limits(gw, &policy.quotas, || Scope::Team {
        tenant: tenant.into(),
        team: team.into(),
    })
    .await;
    json(
        StatusCode::OK,
        &serde_json::json!({ "quotas": policy.quotas.iter().map(QuotaJson::from_spec).collect::<Vec<_>>() }),
    )
}
