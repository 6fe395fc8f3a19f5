//! `/admin/keys`: create, list, read, update and revoke virtual keys.
//!
//! A new key's secret is returned once, in the creation response, and stored only as its
//! SHA-256. Every change is persisted in the admin state before it takes effect, so an
//! acknowledged change survives a restart; a revocation takes effect on the next request.

use std::collections::{BTreeMap, HashSet};

use http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_config::keys::hash_key;
use switchboard_core::time::{format_rfc3339, parse_rfc3339};

use super::http::{AdminResponse, bad_request, conflict, internal, json, not_found};
use super::quota_json::{QuotaJson, specs};
use crate::gateway::Gateway;
use crate::identity::{Identity, Origin, state};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[serde(default)]
    pub name: Option<String>,
    pub tenant: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub quotas: Vec<QuotaJson>,
    #[serde(default)]
    pub guardrails: Option<switchboard_guard::GuardConfig>,
}

/// A partial update: absent fields stay; `null` clears `team`, `models` (all models) and
/// `expires_at`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    #[serde(default, deserialize_with = "present")]
    pub team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Option<String>>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub quotas: Option<Vec<QuotaJson>>,
}

/// A field that is present, `null` included, is `Some`.
pub(super) fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A key as the admin API shows it: never the secret.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub id: String,
    pub tenant: String,
    pub team: Option<String>,
    pub models: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub quotas: Vec<QuotaJson>,
    pub revoked_at: Option<String>,
    pub origin: Origin,
    pub created_at: Option<String>,
}

impl KeyView {
    pub fn of(i: &Identity) -> KeyView {
        let mut models: Option<Vec<String>> =
            i.models.as_ref().map(|m| m.iter().cloned().collect());
        if let Some(m) = &mut models {
            m.sort();
        }
        KeyView {
            id: i.id.clone(),
            tenant: i.tenant.clone(),
            team: i.team.clone(),
            models,
            expires_at: i.expires_at_ms.map(format_rfc3339),
            metadata: i.metadata.clone(),
            quotas: i.quotas.iter().map(QuotaJson::from_spec).collect(),
            revoked_at: i.revoked_at_ms.map(format_rfc3339),
            origin: i.origin,
            created_at: (i.created_ms > 0).then(|| format_rfc3339(i.created_ms)),
        }
    }
}

/// A key's tenant and team: names `/admin/tenants` takes (so they can be given quotas:
/// a key of tenant "acme " escaped tenant "acme"'s), or ones the config defines.
fn check_owner(gw: &Gateway, tenant: &str, team: Option<&str>) -> Result<(), String> {
    use super::tenants::{NAME_RULE, valid_name};
    if !valid_name(tenant) && gw.directory.tenant(tenant).is_none() {
        return Err(format!(
            "tenant: \"{tenant}\" is not a tenant name ({NAME_RULE})"
        ));
    }
    match team {
        Some(t) if !valid_name(t) && gw.directory.team(tenant, t).is_none() => {
            Err(format!("team: \"{t}\" is not a team name ({NAME_RULE})"))
        }
        _ => Ok(()),
    }
}

/// Key names: what an admin URL carries without escaping.
fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c))
}

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(hex::encode(buf))
}

fn check_models(
    gw: &Gateway,
    models: &Option<Vec<String>>,
) -> Result<Option<HashSet<String>>, String> {
    let Some(models) = models else {
        return Ok(None);
    };
    for m in models {
        if m != "*" && !gw.config.models.contains_key(m) {
            return Err(format!("models: unknown model alias \"{m}\""));
        }
    }
    Ok((!models.iter().any(|m| m == "*")).then(|| models.iter().cloned().collect()))
}

/// A key's expiry: a real time (no 31st of February). With `after`, it must be later: a
/// new key that expired before it was made is a mistake, while an existing key given a
/// past expiry is expired at once (and can be given a later one again).
fn expiry(s: &Option<String>, after: Option<u64>) -> Result<Option<u64>, String> {
    s.as_deref()
        .map(|t| match parse_rfc3339(t) {
            None => Err(format!(
                "expires_at: `{t}` is not a time like \"2027-01-01T00:00:00Z\""
            )),
            Some(at) if after.is_some_and(|now| at <= now) => Err(format!(
                "expires_at: `{t}` is in the past: a new key would be expired already"
            )),
            Some(at) => Ok(at),
        })
        .transpose()
}

/// Largest metadata a key or tenant carries (every entry's name and value together):
/// it is copied into every audit record's tags' lookups and gossiped with the key.
pub(super) const MAX_METADATA_BYTES: usize = 8 * 1024;

pub(super) fn check_metadata(m: &BTreeMap<String, String>) -> Result<(), String> {
    let size: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_METADATA_BYTES {
        return Err(format!(
            "metadata: {size} bytes of names and values, at most {MAX_METADATA_BYTES}"
        ));
    }
    Ok(())
}

pub fn list(gw: &Gateway) -> AdminResponse {
    let keys: Vec<KeyView> = gw.keys.list().iter().map(|k| KeyView::of(k)).collect();
    json(StatusCode::OK, &serde_json::json!({ "keys": keys }))
}

pub fn get(gw: &Gateway, id: &str) -> AdminResponse {
    match gw.keys.get(id) {
        Some(k) => json(StatusCode::OK, &KeyView::of(&k)),
        None => not_found(format!("no key with id \"{id}\"")),
    }
}

pub async fn create(gw: &Gateway, new: NewKey) -> AdminResponse {
    if let Err(e) = check_owner(gw, &new.tenant, new.team.as_deref()) {
        return bad_request(e);
    }
    // A name is the key's id in every admin URL: one that needs escaping there is
    // refused rather than made unreachable.
    if let Some(name) = &new.name
        && !valid_key_name(name)
    {
        return bad_request(format!(
            "name: \"{name}\" is not a key name (1-128 letters, digits, '-', '_', '.', ':' or '@')"
        ));
    }
    if let Err(e) = check_metadata(&new.metadata) {
        return bad_request(e);
    }
    if let Some(Err(e)) = new
        .guardrails
        .as_ref()
        .map(switchboard_guard::Guard::compile)
    {
        return bad_request(format!("guardrails: {e}"));
    }
    let parsed = (|| -> Result<_, String> {
        Ok((
            check_models(gw, &new.models)?,
            expiry(&new.expires_at, Some(gw.now_ms()))?,
            specs(&new.quotas)?,
        ))
    })();
    let (models, expires_at_ms, quotas) = match parsed {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    let (secret, suffix) = match (random_hex(24), random_hex(6)) {
        (Ok(s), Ok(i)) => (format!("sk-sb-{s}"), i),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let id = new.name.clone().unwrap_or_else(|| format!("key_{suffix}"));
    let identity = Identity {
        id: id.clone(),
        digest: hash_key(&secret),
        tenant: new.tenant,
        team: new.team,
        models,
        expires_at_ms,
        metadata: new.metadata,
        quotas,
        revoked_at_ms: None,
        origin: Origin::Admin,
        created_ms: gw.now_ms(),
        guardrails: new.guardrails,
        guard: None,
    };
    // Checked under the lock: of two creations of one name, one is refused.
    let mut st = gw.admin_state.lock().await;
    if gw.keys.get(&id).is_some() {
        return conflict(format!("name: a key named \"{id}\" already exists"));
    }
    st.keys.insert(id.clone(), identity.clone());
    st.version += 1;
    if let Err(e) = st.save(&state::state_path(&gw.config.server.data_dir)) {
        st.keys.remove(&id);
        st.version -= 1;
        return internal(format!("could not persist the new key: {e}"));
    }
    gw.keys.put(identity.clone());
    crate::membership::publish_key(gw, &identity);
    let mut view = serde_json::to_value(KeyView::of(&identity)).unwrap_or_default();
    view["key"] = serde_json::Value::String(secret);
    json(StatusCode::CREATED, &view)
}

/// Why a change was not made.
enum Refusal {
    /// 400: the change itself is wrong.
    Bad(String),
    /// 409: the key's state forbids it.
    Conflict(String),
}

/// Applies `change` to key `id` and persists it; config keys are changed through the
/// admin state's overrides. The key is read under the admin state's lock, so of two
/// changes neither writes back what it read before the other (a revocation raced by an
/// update used to be undone).
async fn change(
    gw: &Gateway,
    id: &str,
    change: impl FnOnce(&mut Identity) -> Result<(), Refusal>,
) -> AdminResponse {
    let mut st = gw.admin_state.lock().await;
    let Some(current) = gw.keys.get(id) else {
        return not_found(format!("no key with id \"{id}\""));
    };
    let mut updated = (*current).clone();
    match change(&mut updated) {
        Ok(()) => {}
        Err(Refusal::Bad(why)) => return bad_request(why),
        Err(Refusal::Conflict(why)) => return conflict(why),
    }
    let before = st.clone();
    match updated.origin {
        Origin::Admin => st.keys.insert(id.to_owned(), updated.clone()),
        Origin::Config => st
            .config_key_overrides
            .insert(id.to_owned(), updated.clone()),
    };
    st.version += 1;
    if let Err(e) = st.save(&state::state_path(&gw.config.server.data_dir)) {
        *st = before;
        return internal(format!("could not persist the change: {e}"));
    }
    gw.keys.put(updated.clone());
    crate::membership::publish_key(gw, &updated);
    // Not under the lock: telling a quota's owner may wait seconds for an unreachable
    // one, and the cluster's event loop takes this lock to apply peers' changes.
    drop(st);
    super::tenants::apply_limits(gw, &updated.quotas, || {
        switchboard_ledger::Scope::Key(updated.id.as_str().into())
    })
    .await;
    json(StatusCode::OK, &KeyView::of(&updated))
}

pub async fn revoke(gw: &Gateway, id: &str) -> AdminResponse {
    let now = gw.now_ms();
    change(gw, id, |k| {
        k.revoked_at_ms.get_or_insert(now);
        Ok(())
    })
    .await
}

pub async fn update(gw: &Gateway, id: &str, patch: KeyPatch) -> AdminResponse {
    if let Some(Err(e)) = patch.metadata.as_ref().map(check_metadata) {
        return bad_request(e);
    }
    let models = match patch
        .models
        .as_ref()
        .map(|m| check_models(gw, m))
        .transpose()
    {
        Ok(m) => m,
        Err(e) => return bad_request(e),
    };
    change(gw, id, move |k| {
        if let Some(at) = k.revoked_at_ms {
            return Err(Refusal::Conflict(format!(
                "key \"{}\" was revoked at {}: a revoked key cannot be changed",
                k.id,
                format_rfc3339(at)
            )));
        }
        if let Some(team) = patch.team {
            check_owner(gw, &k.tenant, team.as_deref()).map_err(Refusal::Bad)?;
            k.team = team;
        }
        if let Some(m) = models {
            k.models = m;
        }
        if let Some(e) = patch.expires_at {
            k.expires_at_ms = expiry(&e, None).map_err(Refusal::Bad)?;
        }
        if let Some(m) = patch.metadata {
            k.metadata = m;
        }
        if let Some(q) = patch.quotas {
            k.quotas = specs(&q).map_err(Refusal::Bad)?;
        }
        Ok(())
    })
    .await
}
