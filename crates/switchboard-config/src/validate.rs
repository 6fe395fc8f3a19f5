//! Checks across sections that the schema's types cannot express.

use std::collections::HashSet;

use crate::Config;
use crate::error::ConfigError;
use crate::providers::ProviderKind;

pub fn check(c: &Config) -> Result<(), ConfigError> {
    let file = c.source.as_path();
    let err = |key: &str, why: String| Err(ConfigError::new(file, key, why));

    if c.server.max_body_bytes == 0 {
        return err("server.max_body_bytes", "must be greater than 0".into());
    }
    if let Some(cl) = &c.cluster {
        if cl.secret.expose().len() < 16 {
            return err(
                "cluster.secret",
                "must be at least 16 bytes (32 random bytes recommended)".into(),
            );
        }
        if cl.size == 0 {
            return err("cluster.size", "must be at least 1".into());
        }
        // `size = 1` with seeds to join is a contradiction (a node configured for one
        // counts itself a majority before it has met anyone). A seed that may be this
        // node itself does not count: its own address, or its port when it listens on
        // every address. More seeds than `size` are allowed: a seed list may be a pool.
        let maybe_me = |s: &std::net::SocketAddr| {
            *s == cl.gossip || (cl.gossip.ip().is_unspecified() && s.port() == cl.gossip.port())
        };
        if cl.size == 1 && cl.seeds.iter().any(|s| !maybe_me(s)) {
            return err(
                "cluster.size",
                "is 1, but seeds name other nodes to join: set it to the number of nodes in the cluster".into(),
            );
        }
    }
    // A key with spaces around it can never be matched by a request (the header value is
    // trimmed), and a blank one is a mistake for "no key".
    if let Some(k) = &c.admin.key
        && k.expose().trim() != k.expose()
    {
        return err(
            "admin.key",
            "must not begin or end with whitespace (leave it empty to switch the admin API off)"
                .into(),
        );
    }
    if c.audit.capacity == 0 {
        return err("audit.capacity", "must be greater than 0".into());
    }
    if c.server.max_connections == 0 {
        return err("server.max_connections", "must be greater than 0".into());
    }
    if c.server.listen == c.admin.listen && c.server.listen.port() != 0 {
        return err(
            "admin.listen",
            format!("must differ from server.listen ({})", c.server.listen),
        );
    }

    for (name, p) in &c.providers {
        let key = format!("providers.{name}");
        if p.disabled.is_some() {
            continue;
        }
        match p.resolved_base_url() {
            None if p.kind != ProviderKind::Builtin => {
                return err(
                    &format!("{key}.base_url"),
                    format!("required for kind \"{}\"", p.kind.as_str()),
                );
            }
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return err(
                    &format!("{key}.base_url"),
                    format!("`{url}` must start with http:// or https://"),
                );
            }
            _ => {}
        }
        let needs_key = !matches!(
            p.kind,
            ProviderKind::Builtin | ProviderKind::OpenaiCompatible
        );
        if needs_key && p.api_key.as_ref().is_none_or(|k| k.expose().is_empty()) {
            return err(
                &format!("{key}.api_key"),
                format!("required for kind \"{}\"", p.kind.as_str()),
            );
        }
        if p.kind == ProviderKind::Azure && p.api_version.is_none() {
            return err(
                &format!("{key}.api_version"),
                "required for Azure (for example \"2024-10-21\")".into(),
            );
        }
        for header in p.headers.keys() {
            if header.is_empty()
                || !header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return err(
                    &format!("{key}.headers"),
                    format!("`{header}` is not a valid header name"),
                );
            }
        }
    }

    for (alias, m) in &c.models {
        let key = format!("models.{alias}");
        if m.deployments.is_empty() {
            return err(
                &format!("{key}.deployments"),
                "needs at least one deployment".into(),
            );
        }
        for (i, d) in m.deployments.iter().enumerate() {
            if let Some(price) = &d.price {
                crate::resolve_price(file, &format!("{key}.deployments[{i}].price"), price)?;
            }
            if !c.providers.contains_key(&d.provider) {
                let known: Vec<&str> = c.providers.keys().map(String::as_str).collect();
                return err(
                    &format!("{key}.deployments[{i}].provider"),
                    format!(
                        "unknown provider \"{}\" (defined: {})",
                        d.provider,
                        known.join(", ")
                    ),
                );
            }
        }
    }

    for (alias, m) in &c.models {
        routing(c, alias, m)?;
    }

    let mut seen = HashSet::new();
    for (i, k) in c.keys.iter().enumerate() {
        let key = format!("keys[{i}]");
        if k.key.is_some() == k.key_sha256.is_some() {
            return err(&key, "give exactly one of `key` and `key_sha256`".into());
        }
        let Some(digest) = k.digest() else {
            return err(&format!("{key}.key_sha256"), "must be 64 hex digits".into());
        };
        if k.key.as_ref().is_some_and(|s| s.expose().len() < 8) {
            return err(
                &format!("{key}.key"),
                "must be at least 8 characters".into(),
            );
        }
        if !seen.insert(digest) {
            return err(&key, "the same key is listed twice".into());
        }
        for model in &k.models {
            if model != "*" && !c.models.contains_key(model) {
                return err(
                    &format!("{key}.models"),
                    format!("unknown model alias \"{model}\""),
                );
            }
        }
        if let Some(at) = &k.expires_at
            && switchboard_core::time::parse_rfc3339(at).is_none()
        {
            return err(
                &format!("{key}.expires_at"),
                format!("`{at}` is not a time like \"2027-01-01T00:00:00Z\""),
            );
        }
        quotas(file, &key, &k.quotas)?;
        guardrails(file, &key, k.guardrails.as_ref())?;
    }
    let mut ids = HashSet::new();
    for (i, k) in c.keys.iter().enumerate() {
        if !ids.insert(k.id()) {
            return err(
                &format!("keys[{i}].name"),
                format!("another key is also named \"{}\"", k.id()),
            );
        }
    }

    let mut tenants = HashSet::new();
    for (i, t) in c.tenants.iter().enumerate() {
        if !tenants.insert(t.name.as_str()) {
            return err(
                &format!("tenants[{i}].name"),
                format!("tenant \"{}\" is defined twice", t.name),
            );
        }
        quotas(file, &format!("tenants[{i}]"), &t.quotas)?;
        guardrails(file, &format!("tenants[{i}]"), t.guardrails.as_ref())?;
    }
    let mut teams = HashSet::new();
    for (i, t) in c.teams.iter().enumerate() {
        if !teams.insert((t.tenant.as_str(), t.name.as_str())) {
            return err(
                &format!("teams[{i}].name"),
                format!("team \"{}\" of \"{}\" is defined twice", t.name, t.tenant),
            );
        }
        quotas(file, &format!("teams[{i}]"), &t.quotas)?;
    }
    Ok(())
}

fn quotas(
    file: &std::path::Path,
    owner: &str,
    quotas: &[crate::QuotaConfig],
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (j, q) in quotas.iter().enumerate() {
        let key = format!("{owner}.quotas[{j}]");
        q.limit_units()
            .map_err(|why| ConfigError::new(file, &format!("{key}.limit"), why))?;
        if !seen.insert((q.metric, q.window)) {
            return Err(ConfigError::new(
                file,
                &key,
                "the same metric and window are limited twice",
            ));
        }
    }
    Ok(())
}

/// An alias's routing settings: every alias they name exists, and the numbers make sense.
fn routing(c: &Config, alias: &str, m: &crate::ModelConfig) -> Result<(), ConfigError> {
    let file = c.source.as_path();
    let key = format!("models.{alias}");
    let known = |name: &str, at: String| -> Result<(), ConfigError> {
        if name == alias {
            return Err(ConfigError::new(
                file,
                &at,
                format!("\"{alias}\" cannot fall back to itself"),
            ));
        }
        if !c.models.contains_key(name) {
            return Err(ConfigError::new(
                file,
                &at,
                format!("unknown model alias \"{name}\""),
            ));
        }
        Ok(())
    };
    for (i, f) in m.fallbacks.iter().enumerate() {
        known(f, format!("{key}.fallbacks[{i}]"))?;
    }
    if let Some(f) = &m.context_fallback {
        known(f, format!("{key}.context_fallback"))?;
    }
    if let Some(f) = &m.content_policy_fallback {
        known(f, format!("{key}.content_policy_fallback"))?;
    }
    for (i, r) in m.rules.iter().enumerate() {
        let at = format!("{key}.rules[{i}]");
        match (&r.tag, &r.header, &r.equals) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => {
                return Err(ConfigError::new(
                    file,
                    &at,
                    "a rule is { tag, alias } or { header, equals, alias }",
                ));
            }
        }
        known(&r.alias, format!("{at}.alias"))?;
    }
    if let Some(t) = &m.tiers {
        for (name, target) in [
            ("small", &t.small),
            ("medium", &t.medium),
            ("large", &t.large),
        ] {
            if target != alias {
                known(target, format!("{key}.tiers.{name}"))?;
            }
        }
        for (ok, what) in [
            (
                t.large_from_tokens >= t.medium_from_tokens,
                "large_from_tokens must be >= medium_from_tokens",
            ),
            // An unset medium step (the default, off) may sit above a set large one:
            // that signal then goes straight from small to large.
            (
                t.medium_from_turns == u32::MAX || t.large_from_turns >= t.medium_from_turns,
                "large_from_turns must be >= medium_from_turns",
            ),
            (
                t.medium_from_system_tokens == u64::MAX
                    || t.large_from_system_tokens >= t.medium_from_system_tokens,
                "large_from_system_tokens must be >= medium_from_system_tokens",
            ),
        ] {
            if !ok {
                return Err(ConfigError::new(file, &format!("{key}.tiers"), what));
            }
        }
    }
    if m.shadow == Some(crate::ShadowName::Complexity) && m.tiers.is_none() {
        return Err(ConfigError::new(
            file,
            &format!("{key}.shadow"),
            "`complexity` observes the alias's tiers: set `tiers` too",
        ));
    }
    if m.retry.max_attempts == 0 {
        return Err(ConfigError::new(
            file,
            &format!("{key}.retry.max_attempts"),
            "must be at least 1",
        ));
    }
    for (i, r) in m.retry.retry_on.iter().enumerate() {
        if ![
            "rate_limited",
            "server_errors",
            "timeouts",
            "connect_errors",
        ]
        .contains(&r.as_str())
        {
            return Err(ConfigError::new(
                file,
                &format!("{key}.retry.retry_on[{i}]"),
                format!(
                    "`{r}` is not one of rate_limited, server_errors, timeouts, connect_errors"
                ),
            ));
        }
    }
    let b = &m.breaker;
    if !(b.failure_ratio > 0.0 && b.failure_ratio <= 1.0)
        || b.window == 0
        || b.consecutive_failures == 0
    {
        return Err(ConfigError::new(
            file,
            &format!("{key}.breaker"),
            "failure_ratio must be in (0, 1], window and consecutive_failures at least 1",
        ));
    }
    if let Some(cache) = &m.cache
        && let Some(sem) = &cache.semantic
    {
        if !c.models.contains_key(&sem.embedding_model) {
            return Err(ConfigError::new(
                file,
                &format!("{key}.cache.semantic.embedding_model"),
                format!("unknown model alias \"{}\"", sem.embedding_model),
            ));
        }
        if !(sem.threshold > 0.0 && sem.threshold <= 1.0) {
            return Err(ConfigError::new(
                file,
                &format!("{key}.cache.semantic.threshold"),
                "must be in (0, 1]",
            ));
        }
    }
    if m.strategy == crate::StrategyName::Weighted && m.deployments.iter().all(|d| d.weight == 0) {
        return Err(ConfigError::new(
            file,
            &format!("{key}.deployments"),
            "weighted routing needs a weight above 0",
        ));
    }
    Ok(())
}

fn guardrails(
    file: &std::path::Path,
    owner: &str,
    g: Option<&switchboard_guard::GuardConfig>,
) -> Result<(), ConfigError> {
    match g.map(switchboard_guard::Guard::compile) {
        Some(Err(e)) => Err(ConfigError::new(
            file,
            &format!("{owner}.guardrails"),
            e.to_string(),
        )),
        _ => Ok(()),
    }
}
