//! Which alias serves a request, and in what order its deployments are tried.

use switchboard_config::{ModelConfig, ShadowName, StrategyName, TiersConfig};
use switchboard_proto::chat::{ChatRequest, Part, Role};
use switchboard_router::{
    Availability, Candidate, Estimate, Features, Rule, SplitMix, Strategy, TierConfig, tier_of,
};
use switchboard_upstream::Deployment;
use switchboard_upstream::catalog::Lookup;

use super::explain::Explain;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::pipeline::RequestCtx;
use crate::pipeline::estimate::count_tokens;

pub fn strategy(s: StrategyName) -> Strategy {
    match s {
        StrategyName::Priority => Strategy::Priority,
        StrategyName::Weighted => Strategy::Weighted,
        StrategyName::LeastBusy => Strategy::LeastBusy,
        StrategyName::Latency => Strategy::Latency,
        StrategyName::Cheapest => Strategy::Cheapest,
    }
}

/// What rules and tiers look at. The system prompt is tokenized on its own only when a
/// tier of `m` uses its size (it is already counted once in `prompt_tokens`).
pub fn features(
    ctx: &RequestCtx,
    m: &ModelConfig,
    chat: Option<&ChatRequest>,
    prompt_tokens: u64,
) -> Features {
    let system = chat
        .into_iter()
        .flat_map(|c| &c.messages)
        .filter(|msg| msg.role == Role::System);
    let count_system = m.tiers.as_ref().is_some_and(|t| {
        t.medium_from_system_tokens != u64::MAX || t.large_from_system_tokens != u64::MAX
    });
    let system_prompt_tokens = if count_system {
        system
            .clone()
            .flat_map(|msg| &msg.content)
            .map(|p| match p {
                Part::Text(t) => count_tokens(&ctx.identity.tenant, t),
                Part::Image(_) => 0,
            })
            .sum()
    } else {
        0
    };
    let trail = ctx.trail.lock();
    Features {
        prompt_tokens,
        system_prompt_tokens,
        has_system_prompt: system.clone().next().is_some(),
        turns: chat.map_or(1, |c| {
            c.messages.iter().filter(|m| m.role == Role::User).count() as u32
        }),
        tags: trail.tags.clone(),
        headers: ctx
            .headers
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_owned(), v.to_owned()))
            })
            .collect(),
    }
}

/// Where a request goes, and where the alias's shadow tiers would have sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    pub alias: String,
    /// With `shadow = "complexity"`: the alias of the request's tier, not acted on.
    pub shadow_tier: Option<String>,
}

/// The alias that serves a request for `requested`: the first matching rule's, else the
/// complexity tier's (unless the tiers only run in the shadow), else `requested` itself;
/// the choice is noted in `explain`. Operator-configured redirections are not checked
/// against the key's model list, which only governs what a client may ask for.
pub fn serving_alias(
    m: &ModelConfig,
    requested: &str,
    features: impl FnOnce() -> Features,
    explain: &mut Explain,
) -> Serving {
    let serve = |alias: &str| Serving {
        alias: alias.to_owned(),
        shadow_tier: None,
    };
    if m.rules.is_empty() && m.tiers.is_none() {
        return serve(requested);
    }
    let f = features();
    let rules: Vec<Rule> = m
        .rules
        .iter()
        .map(|r| match (&r.tag, &r.header, &r.equals) {
            (Some(tag), _, _) => Rule::Tag {
                tag: tag.clone(),
                alias: r.alias.clone(),
            },
            (None, Some(name), equals) => Rule::Header {
                name: name.to_ascii_lowercase(),
                equals: equals.clone().unwrap_or_default(),
                alias: r.alias.clone(),
            },
            _ => Rule::Tag {
                tag: String::new(),
                alias: r.alias.clone(),
            },
        })
        .collect();
    if let Some(rule) = rules.iter().find(|r| r.matches(&f)) {
        // Rules have no names in the config: what they match on names them.
        explain.rule(match rule {
            Rule::Tag { tag, .. } => format!("tag:{tag}"),
            Rule::Header { name, .. } => format!("header:{name}"),
        });
        // Rules come before tiers, so a shadow of the tiers has nothing to say here.
        return serve(rule.alias());
    }
    if let Some(t) = &m.tiers {
        let cfg = tier_config(t);
        let tier = tier_of(&cfg, &f);
        if m.shadow == Some(ShadowName::Complexity) {
            return Serving {
                alias: requested.to_owned(),
                shadow_tier: Some(cfg.alias(tier).to_owned()),
            };
        }
        explain.tier(tier);
        return serve(cfg.alias(tier));
    }
    serve(requested)
}

/// The router's view of an alias's tier settings.
pub fn tier_config(t: &TiersConfig) -> TierConfig {
    TierConfig {
        small: t.small.clone(),
        medium: t.medium.clone(),
        large: t.large.clone(),
        medium_from_tokens: t.medium_from_tokens,
        large_from_tokens: t.large_from_tokens,
        medium_from_turns: t.medium_from_turns,
        large_from_turns: t.large_from_turns,
        medium_from_system_tokens: t.medium_from_system_tokens,
        large_from_system_tokens: t.large_from_system_tokens,
    }
}

/// The live deployments of an alias.
pub fn deployments<'a>(gw: &'a Gateway, alias: &str) -> Result<&'a [Deployment], GatewayError> {
    match gw.catalog.lookup(alias) {
        Lookup::Live(d) => Ok(d),
        Lookup::Unknown => Err(GatewayError::UnknownModel(alias.to_owned())),
        Lookup::Unavailable(reason) => Err(GatewayError::ModelUnavailable {
            alias: alias.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

/// An alias's deployments in the order to try them, with breakers consulted.
pub struct Ordered<'a> {
    pub deployments: &'a [Deployment],
    /// Indexes into `deployments`, best first; open breakers left out.
    pub order: Vec<usize>,
    /// Indexes of the deployments left out because their breaker is open.
    pub open: Vec<usize>,
    /// When every candidate's breaker is open: the earliest time one closes.
    pub all_open_until: Option<u64>,
    /// The deployment the alias's shadow strategy would have chosen.
    pub shadow: Option<usize>,
}

/// Orders `alias`'s deployments by its strategy for a call of `est`.
pub fn order<'a>(
    gw: &'a Gateway,
    alias: &str,
    est: &Estimate,
    rng: &mut SplitMix,
) -> Result<Ordered<'a>, GatewayError> {
    let deployments = deployments(gw, alias)?;
    let m = gw.config.models.get(alias);
    let now = gw.now_ms();
    let candidates: Vec<Candidate> = deployments
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let h = gw.health.get(&d.id);
            let available = match h {
                Some(h) if switchboard_router::fits(d.context_window, est) => h.breaker.admit(now),
                _ => Availability::Closed,
            };
            Candidate {
                index,
                weight: d.weight,
                price: d.price,
                in_flight: h.map_or(0, |h| h.in_flight.current()),
                ewma_ttfb_ms: h.and_then(|h| h.latency.value()),
                context_window: d.context_window,
                available,
            }
        })
        .collect();
    let strategy_name = m.map(|m| m.strategy).unwrap_or_default();
    let order = switchboard_router::order(strategy(strategy_name), &candidates, est, rng);
    let open = candidates
        .iter()
        .filter(|c| matches!(c.available, Availability::Open { .. }))
        .map(|c| c.index)
        .collect();
    let all_open_until = if order.is_empty() {
        candidates
            .iter()
            .filter_map(|c| match c.available {
                Availability::Open { until_ms } => Some(until_ms),
                _ => None,
            })
            .min()
    } else {
        None
    };
    let shadow = m.and_then(|m| m.shadow?.strategy()).and_then(|s| {
        switchboard_router::order(strategy(s), &candidates, est, rng)
            .first()
            .copied()
    });
    Ok(Ordered {
        deployments,
        order,
        open,
        all_open_until,
        shadow,
    })
}
