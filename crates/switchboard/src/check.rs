//! `switchboard check`: validate a config and show what it resolves to.

use std::path::Path;

use switchboard_config::Config;

pub fn run(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    out!("{}: ok", path.display());
    out!("client API  http://{}", config.server.listen);
    out!(
        "admin API   http://{} ({})",
        config.admin.listen,
        if config.admin.key.is_some() {
            "admin key set"
        } else {
            "no admin key: admin endpoints refuse every call"
        }
    );
    out!("\nproviders:");
    for p in config.providers.values() {
        let state = match &p.disabled {
            Some(why) => format!("off ({why})"),
            None => "on".to_owned(),
        };
        let url = p
            .resolved_base_url()
            .unwrap_or_else(|| "in-process".to_owned());
        out!(
            "  {:<12} {:<18} {:<48} {state}",
            p.name,
            p.kind.as_str(),
            url
        );
    }
    out!("\nmodels:");
    for (alias, m) in &config.models {
        let live: Vec<_> = config.live_deployments(alias).collect();
        let status = if live.is_empty() {
            "unavailable"
        } else {
            "live"
        };
        out!("  {alias}  [{status}]");
        for d in &m.deployments {
            let on = config
                .providers
                .get(&d.provider)
                .is_some_and(|p| p.disabled.is_none());
            let priced = d.price.is_some() || config.prices.contains_key(&d.model);
            let note = match (on, priced) {
                (false, _) => "  (provider off)",
                (true, false) => "  (no price: its calls cost 0 against budgets)",
                (true, true) => "",
            };
            out!("    -> {}/{}{note}", d.provider, d.model);
        }
    }
    out!("\nkeys: {}", config.keys.len());
    for k in &config.keys {
        let name = k.name.as_deref().unwrap_or("(unnamed)");
        let models = if k.models.is_empty() {
            "all models".to_owned()
        } else {
            k.models.join(", ")
        };
        out!("  {name:<12} tenant={} {}", k.tenant, models);
    }
    out!("\ntenants: {}", config.tenants.len());
    for t in &config.tenants {
        let quotas: Vec<String> = t
            .quotas
            .iter()
            .map(|q| format!("{:?}/{:?}<={}", q.metric, q.window, q.limit).to_lowercase())
            .collect();
        out!(
            "  {:<12} capture={:?} {}",
            t.name,
            t.capture,
            quotas.join(" ")
        );
    }
    out!("\naudit log: {}", config.audit_dir().display());
    Ok(())
}
