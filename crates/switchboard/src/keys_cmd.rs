//! `switchboard keys ...` and `switchboard tenants ...`: manage keys and tenant policy
//! through the admin API.

use anyhow::{Context, bail};
use clap::Subcommand;
use http::Method;
use serde_json::{Value, json};

use crate::admin_client::{AdminTarget, encode};

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List keys (never their secrets).
    List,
    /// Create a key; its secret is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// A model alias the key may call (repeat); none means all.
        #[arg(long = "model")]
        models: Vec<String>,
        /// `2027-01-01T00:00:00Z`
        #[arg(long)]
        expires_at: Option<String>,
        /// `metric:window:limit`, e.g. `money:day:25.00` or `requests:minute:60` (repeat).
        #[arg(long = "quota")]
        quotas: Vec<String>,
        /// `key=value` (repeat).
        #[arg(long = "meta")]
        metadata: Vec<String>,
    },
    /// Change a key's models, expiry or quotas.
    Update {
        id: String,
        #[arg(long = "model")]
        models: Vec<String>,
        /// Allow every model.
        #[arg(long, conflicts_with = "models")]
        all_models: bool,
        #[arg(long)]
        expires_at: Option<String>,
        #[arg(long, conflicts_with = "expires_at")]
        no_expiry: bool,
        #[arg(long = "quota")]
        quotas: Vec<String>,
    },
    /// Revoke a key: refused from the next request on.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum TenantsCmd {
    /// List tenants and teams with their quotas.
    List,
    /// Change a tenant's quotas (all of them, when any `--quota` is given) or audit
    /// capture policy; what is not given stays as it is (guardrails and metadata too).
    Set {
        name: String,
        #[arg(long = "quota")]
        quotas: Vec<String>,
        /// `none`, `prompts` or `all`.
        #[arg(long)]
        capture: Option<String>,
        /// Remove every quota of the tenant.
        #[arg(long, conflicts_with = "quotas")]
        no_quotas: bool,
    },
    /// Set a team's quotas.
    SetTeam {
        tenant: String,
        team: String,
        #[arg(long = "quota")]
        quotas: Vec<String>,
    },
}

/// Parses `metric:window:limit`.
pub fn quota(spec: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    let [metric, window, limit] = parts.as_slice() else {
        bail!("quota `{spec}`: write it as metric:window:limit, e.g. money:day:25.00");
    };
    let limit = if *metric == "money" {
        json!(limit)
    } else {
        json!(limit.parse::<i64>().context("a count limit")?)
    };
    Ok(json!({"metric": metric, "window": window, "limit": limit}))
}

fn quotas(specs: &[String]) -> anyhow::Result<Vec<Value>> {
    specs.iter().map(|s| quota(s)).collect()
}

fn print_keys(v: &Value) {
    out!(
        "{:<20} {:<12} {:<12} {:<22} {:<10} quotas",
        "id",
        "tenant",
        "team",
        "expires",
        "state"
    );
    for k in v["keys"].as_array().into_iter().flatten() {
        let state = if k["revoked_at"].is_null() {
            "active"
        } else {
            "revoked"
        };
        let quotas: Vec<String> = k["quotas"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| {
                format!(
                    "{}/{}<={}",
                    q["metric"].as_str().unwrap_or(""),
                    q["window"].as_str().unwrap_or(""),
                    q["limit"]
                )
            })
            .collect();
        out!(
            "{:<20} {:<12} {:<12} {:<22} {:<10} {}",
            k["id"].as_str().unwrap_or(""),
            k["tenant"].as_str().unwrap_or(""),
            k["team"].as_str().unwrap_or("-"),
            k["expires_at"].as_str().unwrap_or("-"),
            state,
            quotas.join(" ")
        );
    }
}

pub fn run_keys(cmd: KeysCmd, target: &AdminTarget) -> anyhow::Result<()> {
    let out = match cmd {
        KeysCmd::List => {
            let v = target.call(Method::GET, "/admin/keys", None)?;
            if !target.json {
                print_keys(&v);
                return Ok(());
            }
            v
        }
        KeysCmd::Create {
            tenant,
            name,
            team,
            models,
            expires_at,
            quotas: q,
            metadata,
        } => {
            let metadata: serde_json::Map<String, Value> = metadata
                .iter()
                .map(|m| {
                    m.split_once('=')
                        .map(|(k, v)| (k.to_owned(), json!(v)))
                        .context("--meta is key=value")
                })
                .collect::<anyhow::Result<_>>()?;
            let mut body = json!({"tenant": tenant, "quotas": quotas(&q)?, "metadata": metadata});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(t) = team {
                body["team"] = json!(t);
            }
            if !models.is_empty() {
                body["models"] = json!(models);
            }
            if let Some(e) = expires_at {
                body["expires_at"] = json!(e);
            }
            let v = target.call(Method::POST, "/admin/keys", Some(body))?;
            if !target.json {
                out!(
                    "created key {} for tenant {}",
                    v["id"].as_str().unwrap_or(""),
                    v["tenant"].as_str().unwrap_or("")
                );
                out!("secret (shown once): {}", v["key"].as_str().unwrap_or(""));
                return Ok(());
            }
            v
        }
        KeysCmd::Update {
            id,
            models,
            all_models,
            expires_at,
            no_expiry,
            quotas: q,
        } => {
            let mut body = json!({});
            if all_models {
                body["models"] = Value::Null;
            } else if !models.is_empty() {
                body["models"] = json!(models);
            }
            if no_expiry {
                body["expires_at"] = Value::Null;
            } else if let Some(e) = expires_at {
                body["expires_at"] = json!(e);
            }
            if !q.is_empty() {
                body["quotas"] = json!(quotas(&q)?);
            }
            target.call(
                Method::PATCH,
                &format!("/admin/keys/{}", encode(&id)),
                Some(body),
            )?
        }
        KeysCmd::Revoke { id } => {
            let v = target.call(
                Method::DELETE,
                &format!("/admin/keys/{}", encode(&id)),
                None,
            )?;
            if !target.json {
                out!(
                    "revoked {} at {}",
                    v["id"].as_str().unwrap_or(""),
                    v["revoked_at"].as_str().unwrap_or("")
                );
                return Ok(());
            }
            v
        }
    };
    out!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

pub fn run_tenants(cmd: TenantsCmd, target: &AdminTarget) -> anyhow::Result<()> {
    let out = match cmd {
        TenantsCmd::List => target.call(Method::GET, "/admin/tenants", None)?,
        TenantsCmd::Set {
            name,
            quotas: q,
            capture,
            no_quotas,
        } => {
            let mut body = serde_json::Map::new();
            if !q.is_empty() || no_quotas {
                body.insert("quotas".into(), quotas(&q)?.into());
            }
            if let Some(capture) = capture {
                body.insert("capture".into(), capture.into());
            }
            if body.is_empty() {
                anyhow::bail!("nothing to set: give --quota, --no-quotas or --capture");
            }
            target.call(
                Method::PATCH,
                &format!("/admin/tenants/{}", encode(&name)),
                Some(body.into()),
            )?
        }
        TenantsCmd::SetTeam {
            tenant,
            team,
            quotas: q,
        } => {
            let body = json!({"quotas": quotas(&q)?});
            target.call(
                Method::PUT,
                &format!("/admin/teams/{}/{}", encode(&tenant), encode(&team)),
                Some(body),
            )?
        }
    };
    out!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
