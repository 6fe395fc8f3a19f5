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

/// A partial change: absent fields stay; `"guardrails": null` removes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[serde(default)]
    pub quotas: Option<Vec<QuotaJson>>,
    #[serde(default)]
    pub capture: Option<Capture>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "super::keys::present")]
    pub guardrails: Option<Option<switchboard_guard::GuardConfig>>,
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
    pub guardrails: Option<switchboard_guard::GuardConfig>,
}

impl TenantView {
    fn of(t: &TenantPolicy) -> TenantView {
        TenantView {
            quotas: t.quotas.iter().map(QuotaJson::from_spec).collect(),
            capture: t.capture,
            metadata: t.metadata.clone(),
            guardrails: t.guardrails.clone(),
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

/// What [`valid_name`] allows, for error messages.
pub(super) const NAME_RULE: &str = "1-128 letters, digits, '-', '_' or '.'";

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Replaces tenant `name`'s whole policy: what `input` leaves out is reset.
pub async fn put(gw: &Gateway, name: &str, input: TenantInput) -> AdminResponse {
    let patch = TenantPatch {
        quotas: Some(input.quotas),
        capture: Some(input.capture),
        metadata: Some(input.metadata),
        guardrails: Some(input.guardrails),
    };
    change(gw, name, patch, true).await
}

/// Changes what `patch` names in tenant `name`'s policy (a new tenant starts from none).
pub async fn patch(gw: &Gateway, name: &str, patch: TenantPatch) -> AdminResponse {
    change(gw, name, patch, false).await
}

async fn change(gw: &Gateway, name: &str, patch: TenantPatch, replace: bool) -> AdminResponse {
    if !valid_name(name) {
        return bad_request(format!("a tenant name is {NAME_RULE}"));
    }
    let quotas = match patch.quotas.as_deref().map(specs).transpose() {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    if let Some(Some(Err(e))) = patch
        .guardrails
        .as_ref()
        .map(|g| g.as_ref().map(switchboard_guard::Guard::compile))
    {
        return bad_request(format!("guardrails: {e}"));
    }
    if let Some(Err(e)) = patch.metadata.as_ref().map(super::keys::check_metadata) {
        return bad_request(e);
    }
    // Read and written under the lock: two changes never both start from one policy.
    let mut st = gw.admin_state.lock().await;
    let mut policy = match gw.directory.tenant(name) {
        Some(current) if !replace => current,
        _ => TenantPolicy::default(),
    };
    if let Some(q) = quotas {
        policy.quotas = q;
    }
    if let Some(c) = patch.capture {
        policy.capture = c;
    }
    if let Some(m) = patch.metadata {
        policy.metadata = m;
    }
    if let Some(g) = patch.guardrails {
        policy.guardrails = g;
    }
    policy.guard = None;
    let before = st.clone();
    st.tenants.insert(name.to_owned(), policy.clone());
    st.version += 1;
    if let Err(e) = st.save(&state::state_path(&gw.config.server.data_dir)) {
        *st = before;
        return internal(format!("could not persist the change: {e}"));
    }
    gw.directory.put_tenant(name, policy.clone());
    crate::membership::publish_tenant(gw, name, &policy);
    // Not under the lock (see `keys::change`).
    drop(st);
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
    drop(st);
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
