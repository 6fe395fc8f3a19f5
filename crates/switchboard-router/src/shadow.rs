//! Shadow mode: what a different strategy would have cost, without acting on it.
//!
//! Before switching an alias to, say, [`crate::Strategy::Cheapest`], or turning its
//! complexity tiers on, an operator can run it in the shadow: for every request the
//! gateway routes as configured, it also asks what the shadow would have chosen (the
//! first deployment of [`crate::order`] with the shadow strategy, or the alias of the
//! request's [`crate::tier`]), prices that choice at the call's real usage, and records
//! both figures here. The [`ShadowBook`] then shows how often the shadow would have
//! chosen differently, what it would have chosen, and what it would have saved.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use serde::Serialize;
use switchboard_core::Money;

/// What the shadow choice would have saved on one call; negative when it would have
/// cost more.
pub fn projected_savings(actual_cost: Money, shadow_choice_cost: Money) -> Money {
    actual_cost - shadow_choice_cost
}

/// The figures of one alias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShadowFigures {
    pub alias: String,
    /// Requests observed.
    pub requests: u64,
    /// How many of them the shadow would have sent to a different deployment.
    pub differed: u64,
    /// What the requests cost as routed.
    pub actual_cost: Money,
    /// What they would have cost as the shadow routed them.
    pub shadow_cost: Money,
    /// How often the shadow chose each deployment (strategies) or alias (tiers).
    pub choices: BTreeMap<String, u64>,
}

impl ShadowFigures {
    /// Total projected savings (negative: the shadow would have cost more).
    pub fn savings(&self) -> Money {
        projected_savings(self.actual_cost, self.shadow_cost)
    }

    /// Share of requests the shadow would have routed differently, in `0..=1`.
    pub fn differed_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.differed as f64 / self.requests as f64
        }
    }
}

/// Shadow figures per alias, shared by every request. One short lock per observation.
#[derive(Debug, Default)]
pub struct ShadowBook {
    by_alias: Mutex<HashMap<String, ShadowFigures>>,
}

impl ShadowBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// One request of `alias`: what the shadow chose, the real cost, the shadow choice's
    /// cost, and whether the shadow chose otherwise than what served it.
    pub fn observe(
        &self,
        alias: &str,
        choice: &str,
        actual_cost: Money,
        shadow_cost: Money,
        differed: bool,
    ) {
        let mut map = self.by_alias.lock();
        let fig = match map.get_mut(alias) {
            Some(fig) => fig,
            None => map
                .entry(alias.to_owned())
                .or_insert_with(|| ShadowFigures {
                    alias: alias.to_owned(),
                    ..ShadowFigures::default()
                }),
        };
        fig.requests += 1;
        fig.differed += u64::from(differed);
        fig.actual_cost += actual_cost;
        fig.shadow_cost += shadow_cost;
        match fig.choices.get_mut(choice) {
            Some(n) => *n += 1,
            None => {
                fig.choices.insert(choice.to_owned(), 1);
            }
        }
    }

    /// Every alias's figures, sorted by alias.
    pub fn report(&self) -> Vec<ShadowFigures> {
        let mut out: Vec<ShadowFigures> = self.by_alias.lock().values().cloned().collect();
        out.sort_by(|a, b| a.alias.cmp(&b.alias));
        out
    }

    /// Starts over.
    pub fn reset(&self) {
        self.by_alias.lock().clear();
    }
}
