//! Ordering the deployments of one alias for one request.
//!
//! The gateway describes each deployment as a [`Candidate`] (its config position, its
//! weight and price, its current load and latency, and what its breaker says right now)
//! and [`order`] answers with the positions to try, best first. It is pure: the gateway
//! owns the counters and breakers, and applies the plan.
//!
//! Rules, in order:
//! 1. Deployments whose breaker is [`Availability::Open`] are left out.
//! 2. Deployments whose context window is known and smaller than the request's estimated
//!    input plus output tokens are left out: they would only answer "too long" (see
//!    [`fits`]; the planner's context fallback covers the case where none fit).
//! 3. The rest are ordered by the [`Strategy`].
//! 4. Deployments offering a half-open probe ([`Availability::HalfOpenProbe`]) are then
//!    moved to the front, keeping the strategy's order among them. A probe placed last
//!    would rarely run while a healthy deployment answers first, so a tripped primary
//!    would never be re-tested and never get its traffic back. Probing first costs one
//!    request one fast failover per cooldown, and the breaker hands out one probe at a
//!    time, so at most one request pays it.

use serde::{Deserialize, Serialize};
use switchboard_core::{Money, Price, Usage};

use crate::rng::SplitMix;

/// How to order an alias's deployments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Config order: the first is primary, the rest are fallbacks.
    #[default]
    Priority,
    /// Random order, each pick proportional to weight among those not yet picked.
    Weighted,
    /// Fewest requests in flight first.
    #[serde(alias = "least_busy")]
    LeastBusy,
    /// Lowest moving average of time to first byte first; unmeasured ones first of all.
    Latency,
    /// Lowest estimated cost of this request first.
    Cheapest,
}

impl Strategy {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Priority => "priority",
            Strategy::Weighted => "weighted",
            Strategy::LeastBusy => "least-busy",
            Strategy::Latency => "latency",
            Strategy::Cheapest => "cheapest",
        }
    }
}

/// What the breaker of a deployment says at the moment the plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    /// Healthy: send freely.
    Closed,
    /// Recovering, and this request holds the one probe: send it, and report how it went.
    HalfOpenProbe,
    /// Not before `until_ms` (Unix ms): skip.
    Open { until_ms: u64 },
}

/// One deployment of the alias, as the gateway sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Position in the alias's `deployments` list; what [`order`] returns.
    pub index: usize,
    /// Relative share under [`Strategy::Weighted`]; 0 means "only when the others are
    /// exhausted".
    pub weight: u32,
    /// What this deployment charges; an unpriced one has the default (free) price.
    pub price: Price,
    /// Requests currently in flight to it (see [`crate::load::InFlight`]).
    pub in_flight: u32,
    /// Moving average of time to first byte, none before the first measurement.
    pub ewma_ttfb_ms: Option<f64>,
    /// Input plus output tokens it accepts, when known.
    pub context_window: Option<u32>,
    pub available: Availability,
}

/// Estimated tokens of the request: the prompt as counted, the output as capped by
/// `max_tokens` (or a default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// What a deployment with `price` would charge for it.
    pub fn cost(&self, price: &Price) -> Money {
        price.cost(&Usage::new(self.input_tokens, self.output_tokens))
    }
}

/// Whether a request of `est` fits a context window (unknown windows fit). The gateway
/// can call it before asking a breaker for a probe it could not use.
pub fn fits(context_window: Option<u32>, est: &Estimate) -> bool {
    context_window.is_none_or(|w| u64::from(w) >= est.total())
}

/// The `index`es of the candidates to try, best first; see the module docs for the rules.
/// `rng` is drawn from only by [`Strategy::Weighted`].
pub fn order(
    strategy: Strategy,
    candidates: &[Candidate],
    est: &Estimate,
    rng: &mut SplitMix,
) -> Vec<usize> {
    let mut pool: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !matches!(c.available, Availability::Open { .. }))
        .filter(|c| fits(c.context_window, est))
        .collect();
    // Config order first, so every stable sort below breaks ties by config order.
    pool.sort_by_key(|c| c.index);
    match strategy {
        Strategy::Priority => {}
        Strategy::Weighted => pool = weighted_shuffle(pool, rng),
        Strategy::LeastBusy => pool.sort_by_key(|c| c.in_flight),
        Strategy::Latency => pool.sort_by(|a, b| match (a.ewma_ttfb_ms, b.ewma_ttfb_ms) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.total_cmp(&y),
        }),
        Strategy::Cheapest => pool.sort_by_cached_key(|c| est.cost(&c.price)),
    }
    // Stable: probes first, each group keeping the strategy's order.
    pool.sort_by_key(|c| c.available != Availability::HalfOpenProbe);
    pool.into_iter().map(|c| c.index).collect()
}

/// Weighted random order without replacement: each pick is proportional to weight among
/// the candidates left. Zero weights follow in config order. Integer arithmetic, so a
/// seed gives the same order on every platform.
fn weighted_shuffle<'a>(pool: Vec<&'a Candidate>, rng: &mut SplitMix) -> Vec<&'a Candidate> {
    let (mut weighted, zero): (Vec<_>, Vec<_>) = pool.into_iter().partition(|c| c.weight > 0);
    let mut out = Vec::with_capacity(weighted.len() + zero.len());
    let mut total: u64 = weighted.iter().map(|c| u64::from(c.weight)).sum();
    while !weighted.is_empty() {
        let mut r = rng.below(total);
        let mut pick = weighted.len() - 1;
        for (i, c) in weighted.iter().enumerate() {
            let w = u64::from(c.weight);
            if r < w {
                pick = i;
                break;
            }
            r -= w;
        }
        let c = weighted.remove(pick);
        total -= u64::from(c.weight);
        out.push(c);
    }
    out.extend(zero);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_read_and_print_their_config_spelling() {
        for s in [
            Strategy::Priority,
            Strategy::Weighted,
            Strategy::LeastBusy,
            Strategy::Latency,
            Strategy::Cheapest,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Strategy>(&json).unwrap(), s);
        }
        assert_eq!(
            serde_json::from_str::<Strategy>("\"least_busy\"").unwrap(),
            Strategy::LeastBusy
        );
    }

    #[test]
    fn unknown_windows_fit_and_known_ones_must_hold_input_plus_output() {
        let est = Estimate {
            input_tokens: 900,
            output_tokens: 100,
        };
        assert!(fits(None, &est));
        assert!(fits(Some(1000), &est));
        assert!(!fits(Some(999), &est));
    }
}
