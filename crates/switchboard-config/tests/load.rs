//! Loading: env expansion, provider switching, and errors that name file, key and why.

use std::path::Path;

use switchboard_config::{Config, ConfigError, ProviderKind};

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_toml(Path::new("test.toml"), text, &move |var| {
        vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
    })
}

const BASE: &str = r#"
[providers.demo]
kind = "builtin"

[providers.openai]
kind = "openai"
api_key = "${OPENAI_API_KEY}"

[models.demo]
deployments = [{ provider = "demo", model = "demo" }]

[models.gpt]
deployments = [{ provider = "openai", model = "gpt-4o-mini" }, { provider = "demo", model = "demo" }]

[[keys]]
key = "sk-test-key-1"
tenant = "acme"
"#;

#[test]
fn provider_without_its_secret_is_switched_off_not_an_error() {
    let c = load(BASE, &[]).unwrap();
    assert_eq!(
        c.providers["openai"].disabled.as_deref(),
        Some("OPENAI_API_KEY is not set")
    );
    let live: Vec<_> = c
        .live_deployments("gpt")
        .map(|d| d.provider.as_str())
        .collect();
    assert_eq!(live, vec!["demo"]);
}

#[test]
fn provider_with_its_secret_is_on_and_gets_its_default_url() {
    let c = load(BASE, &[("OPENAI_API_KEY", "sk-real")]).unwrap();
    let p = &c.providers["openai"];
    assert!(p.disabled.is_none());
    assert_eq!(p.kind, ProviderKind::Openai);
    assert_eq!(p.api_key.as_ref().unwrap().expose(), "sk-real");
    assert_eq!(
        p.resolved_base_url().as_deref(),
        Some("https://api.openai.com/v1")
    );
    assert_eq!(c.live_deployments("gpt").count(), 2);
}

#[test]
fn required_provider_without_its_secret_is_an_error_naming_the_key() {
    let text = BASE.replace("kind = \"openai\"", "kind = \"openai\"\nrequired = true");
    let e = load(&text, &[]).unwrap_err();
    assert_eq!(e.key, "providers.openai.api_key");
    assert!(e.reason.contains("OPENAI_API_KEY"), "{e}");
    assert!(
        e.to_string()
            .starts_with("test.toml: `providers.openai.api_key`"),
        "{e}"
    );
}

#[test]
fn errors_name_the_key_and_why() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "kind = \"builtin\"",
            "kind = \"bultin\"",
            "providers.demo.kind",
        ),
        (
            "provider = \"demo\", model = \"demo\" }]\n\n[models.gpt]",
            "provider = \"nope\", model = \"demo\" }]\n\n[models.gpt]",
            "models.demo.deployments[0].provider",
        ),
        (
            "tenant = \"acme\"",
            "tenant = \"acme\"\nmodels = [\"ghost\"]",
            "keys[0].models",
        ),
        ("tenant = \"acme\"", "tenant = 5", "keys[0].tenant"),
        ("key = \"sk-test-key-1\"", "key = \"short\"", "keys[0].key"),
    ];
    for (from, to, key) in cases {
        let text = BASE.replace(from, to);
        assert_ne!(text, BASE, "case {key} did not apply");
        let e = load(&text, &[]).unwrap_err();
        assert_eq!(&e.key, key, "{e}");
        assert!(!e.reason.is_empty());
    }
}

#[test]
fn unknown_sections_and_fields_are_refused() {
    let e = load(&format!("{BASE}\n[serverr]\nlisten = \"x\""), &[]).unwrap_err();
    assert!(e.reason.contains("serverr"), "{e}");
    let e = load(
        &format!("[server]\nlisten = \"127.0.0.1:1\"\nmax_body = 5\n{BASE}"),
        &[],
    )
    .unwrap_err();
    assert!(e.reason.contains("max_body"), "{e}");
}

#[test]
fn unset_variable_outside_providers_is_an_error() {
    let e = load(&format!("[admin]\nkey = \"${{ADMIN}}\"\n{BASE}"), &[]).unwrap_err();
    assert_eq!(e.key, "admin.key");
    let c = load(&format!("[admin]\nkey = \"${{ADMIN:-}}\"\n{BASE}"), &[]).unwrap();
    assert!(c.admin.key.is_none());
}

#[test]
fn durations_and_limits_parse() {
    let c = load(
        &format!("[server]\nidle_timeout = \"5s\"\nmax_body_bytes = 1024\n{BASE}"),
        &[],
    )
    .unwrap();
    assert_eq!(c.server.idle_timeout.as_secs(), 5);
    assert_eq!(c.server.max_body_bytes, 1024);
    let e = load(
        &format!("[server]\nidle_timeout = \"5 parsecs\"\n{BASE}"),
        &[],
    )
    .unwrap_err();
    assert_eq!(e.key, "server.idle_timeout");
}

#[test]
fn broken_toml_names_the_file() {
    let e = load("[server\n", &[]).unwrap_err();
    assert!(
        e.to_string().starts_with("test.toml: not valid TOML"),
        "{e}"
    );
}

#[test]
fn shipped_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && path.file_name().is_some_and(|n| n != "prices.toml")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            Config::from_toml(&path, &text, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn tenants_teams_quotas_and_prices_load() {
    let text = format!(
        r#"{BASE}
[[tenants]]
name = "acme"
capture = "prompts"
quotas = [{{ metric = "money", window = "day", limit = "25.50" }}, {{ metric = "requests", window = "minute", limit = 60 }}]

[[teams]]
tenant = "acme"
name = "research"
quotas = [{{ metric = "tokens", window = "hour", limit = 100000 }}]

[prices.models."gpt-4o-mini"]
input = 0.15
output = "0.60"
max_output_tokens = 16384
"#
    );
    let c = load(&text, &[]).unwrap();
    assert_eq!(c.tenants[0].quotas[0].limit_units(), Ok(25_500_000_000));
    assert_eq!(c.tenants[0].quotas[1].limit_units(), Ok(60));
    assert_eq!(c.teams[0].quotas[0].limit_units(), Ok(100_000));
    let p = c.prices["gpt-4o-mini"];
    assert_eq!(p.price.input_per_mtok, 150_000_000);
    assert_eq!(p.price.output_per_mtok, 600_000_000);
    assert_eq!(
        p.price.cached_input_per_mtok, 150_000_000,
        "cached input defaults to the input price"
    );
    assert_eq!(p.max_output_tokens, Some(16384));
}

#[test]
fn bad_quotas_prices_and_expiries_name_their_key() {
    let cases = [
        (
            "[[tenants]]\nname = \"t\"\nquotas = [{ metric = \"money\", window = \"day\", limit = \"lots\" }]",
            "tenants[0].quotas[0].limit",
        ),
        (
            "[[tenants]]\nname = \"t\"\nquotas = [{ metric = \"requests\", window = \"day\", limit = -1 }]",
            "tenants[0].quotas[0].limit",
        ),
        (
            "[[tenants]]\nname = \"t\"\nquotas = [{ metric = \"requests\", window = \"fortnight\", limit = 1 }]",
            "tenants[0].quotas[0].window",
        ),
        (
            "[prices.models.x]\ninput = \"cheap\"\noutput = 1",
            "prices.models.x",
        ),
    ];
    for (extra, key) in cases {
        let e = load(&format!("{BASE}\n{extra}"), &[]).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    let text = BASE.replace(
        "tenant = \"acme\"",
        "tenant = \"acme\"\nexpires_at = \"next tuesday\"",
    );
    assert_eq!(load(&text, &[]).unwrap_err().key, "keys[0].expires_at");
}

#[test]
fn routing_settings_load_and_bad_ones_name_their_key() {
    let extra = r#"
[models.router]
strategy = "weighted"
fallbacks = ["demo"]
context_fallback = "gpt"
rules = [{ tag = "support-bot", alias = "demo" }, { header = "x-tier", equals = "cheap", alias = "demo" }]
shadow = "cheapest"
deployments = [{ provider = "demo", model = "a", weight = 3, context_window = 8192 }, { provider = "demo", model = "b" }]
retry = { max_attempts = 4, base_backoff = "50ms", total_deadline = "20s" }
breaker = { consecutive_failures = 3, cooldown = "2s" }
"#;
    let c = load(&format!("{BASE}{extra}"), &[]).unwrap();
    let m = &c.models["router"];
    assert_eq!(m.strategy, switchboard_config::StrategyName::Weighted);
    assert_eq!(m.deployments[0].weight, 3);
    assert_eq!(m.deployments[1].weight, 1);
    assert_eq!(m.retry.max_attempts, 4);
    assert_eq!(m.retry.total_deadline.unwrap().as_secs(), 20);
    assert_eq!(m.breaker.consecutive_failures, 3);
    assert_eq!(m.breaker.window, 20, "unset fields keep their defaults");
    let cases = [
        (
            "fallbacks = [\"demo\"]",
            "fallbacks = [\"nowhere\"]",
            "models.router.fallbacks[0]",
        ),
        (
            "fallbacks = [\"demo\"]",
            "fallbacks = [\"router\"]",
            "models.router.fallbacks[0]",
        ),
        (
            "{ tag = \"support-bot\", alias = \"demo\" }",
            "{ tag = \"x\", header = \"y\", alias = \"demo\" }",
            "models.router.rules[0]",
        ),
        (
            "max_attempts = 4",
            "max_attempts = 0",
            "models.router.retry.max_attempts",
        ),
        (
            "strategy = \"weighted\"",
            "strategy = \"fastest\"",
            "models.router.strategy",
        ),
        (
            "total_deadline = \"20s\"",
            "retry_on = [\"always\"]",
            "models.router.retry.retry_on[0]",
        ),
    ];
    for (from, to, key) in cases {
        let text = format!("{BASE}{}", extra.replace(from, to));
        let e = load(&text, &[]).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
}

#[test]
fn tier_thresholds_load_with_the_system_prompt_signal_off_by_default() {
    let tiers = |t: &str| {
        format!(
            "{BASE}\n[models.sized]\ndeployments = [{{ provider = \"demo\", model = \"s\" }}]\n\
             tiers = {{ small = \"demo\", medium = \"sized\", large = \"gpt\", medium_from_tokens = 10, large_from_tokens = 100{t} }}\n"
        )
    };
    let c = load(&tiers(""), &[]).unwrap();
    let t = c.models["sized"].tiers.as_ref().unwrap();
    assert_eq!(
        (t.medium_from_system_tokens, t.large_from_system_tokens),
        (u64::MAX, u64::MAX)
    );
    let c = load(
        &tiers(", medium_from_system_tokens = 300, large_from_system_tokens = 900"),
        &[],
    )
    .unwrap();
    let t = c.models["sized"].tiers.as_ref().unwrap();
    assert_eq!(
        (t.medium_from_system_tokens, t.large_from_system_tokens),
        (300, 900)
    );
    // Only a large step: the signal goes from small straight to large.
    load(
        &tiers(", large_from_turns = 20, large_from_system_tokens = 900"),
        &[],
    )
    .unwrap();
    for bad in [
        ", medium_from_system_tokens = 900, large_from_system_tokens = 300",
        ", medium_from_turns = 9, large_from_turns = 3",
    ] {
        let e = load(&tiers(bad), &[]).unwrap_err();
        assert_eq!(e.key, "models.sized.tiers", "{e}");
    }
}

#[test]
fn complexity_in_the_shadow_needs_tiers_to_observe() {
    let alias = |extra: &str| {
        format!(
            "{BASE}\n[models.watched]\ndeployments = [{{ provider = \"demo\", model = \"w\" }}]\nshadow = \"complexity\"\n{extra}"
        )
    };
    let e = load(&alias(""), &[]).unwrap_err();
    assert_eq!(e.key, "models.watched.shadow", "{e}");
    let tiers = "tiers = { small = \"demo\", medium = \"watched\", large = \"gpt\", medium_from_tokens = 10, large_from_tokens = 100 }\n";
    let c = load(&alias(tiers), &[]).unwrap();
    assert_eq!(
        c.models["watched"].shadow,
        Some(switchboard_config::ShadowName::Complexity)
    );
}

/// A node told the cluster is smaller than its own seeds show would count itself a
/// majority too soon (alone, with `size = 1`): refused at load, naming the key.
#[test]
fn a_cluster_size_smaller_than_its_seeds_show_is_refused() {
    let cluster = |size: usize, seeds: &str| {
        format!(
            "{BASE}\n[cluster]\ngossip = \"10.0.0.1:7946\"\nrpc = \"10.0.0.1:7947\"\nseeds = [{seeds}]\nsecret = \"0123456789abcdef0123\"\nsize = {size}\n"
        )
    };
    let three = "\"10.0.0.1:7946\", \"10.0.0.2:7946\", \"10.0.0.3:7946\"";
    assert!(
        load(&cluster(3, three), &[]).is_ok(),
        "its own address is not another node"
    );
    assert!(load(&cluster(1, "\"10.0.0.1:7946\""), &[]).is_ok());
    assert!(
        load(&cluster(2, three), &[]).is_ok(),
        "more seeds than size: a pool of hosts"
    );
    let on_every_address = cluster(1, "\"10.0.0.9:7946\"")
        .replace("gossip = \"10.0.0.1:7946\"", "gossip = \"0.0.0.0:7946\"");
    assert!(
        load(&on_every_address, &[]).is_ok(),
        "listening on every address, a seed on its port may be itself"
    );
    for (size, seeds) in [(1, "\"10.0.0.2:7946\""), (1, "\"10.0.0.2:7000\""), (0, "")] {
        let e = load(&cluster(size, seeds), &[]).unwrap_err();
        assert_eq!(e.key, "cluster.size", "size {size}, seeds [{seeds}]: {e}");
    }
}

/// An admin key with spaces around it can never be presented (header values are
/// trimmed): refused at load rather than leaving the admin API locked.
#[test]
fn an_admin_key_with_surrounding_whitespace_is_refused() {
    for key in [" ", " sk-admin", "sk-admin\t"] {
        let text = format!("{BASE}\n[admin]\nkey = \"{key}\"\n");
        let e = load(&text, &[]).unwrap_err();
        assert_eq!(e.key, "admin.key", "{key:?}: {e}");
    }
    let text = format!("{BASE}\n[admin]\nkey = \"sk-admin-0123\"\n");
    assert!(load(&text, &[]).is_ok());
}
