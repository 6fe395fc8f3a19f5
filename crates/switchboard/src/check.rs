//! `switchboard check`: validate a config and show what it resolves to.

use std::path::Path;

use switchboard_config::Config;

pub fn run(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    println!("{}: ok", path.display());
    println!("client API  http://{}", config.server.listen);
    println!(
        "admin API   http://{} ({})",
        config.admin.listen,
        if config.admin.key.is_some() {
            "admin key set"
        } else {
            "no admin key: admin endpoints refuse every call"
        }
    );
    println!("\nproviders:");
    for p in config.providers.values() {
        let state = match &p.disabled {
            Some(why) => format!("off ({why})"),
            None => "on".to_owned(),
        };
        let url = p
            .resolved_base_url()
            .unwrap_or_else(|| "in-process".to_owned());
        println!(
            "  {:<12} {:<18} {:<48} {state}",
            p.name,
            p.kind.as_str(),
            url
        );
    }
    println!("\nmodels:");
    for (alias, m) in &config.models {
        let live: Vec<_> = config.live_deployments(alias).collect();
        let status = if live.is_empty() {
            "unavailable"
        } else {
            "live"
        };
        println!("  {alias}  [{status}]");
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
            println!("    -> {}/{}{note}", d.provider, d.model);
        }
    }
    println!("\nkeys: {}", config.keys.len());
    for k in &config.keys {
        let name = k.name.as_deref().unwrap_or("(unnamed)");
        let models = if k.models.is_empty() {
            "all models".to_owned()
        } else {
            k.models.join(", ")
        };
        println!("  {name:<12} tenant={} {}", k.tenant, models);
    }
    println!("\ntenants: {}", config.tenants.len());
    for t in &config.tenants {
        let quotas: Vec<String> = t
            .quotas
            .iter()
            .map(|q| format!("{:?}/{:?}<={}", q.metric, q.window, q.limit).to_lowercase())
            .collect();
        println!(
            "  {:<12} capture={:?} {}",
            t.name,
            t.capture,
            quotas.join(" ")
        );
    }
    println!("\naudit log: {}", config.audit_dir().display());
    Ok(())
}
