//! Model prices and the cost of a call.

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::usage::Usage;

/// What a model charges, in nano-dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: i64,
    pub output_per_mtok: i64,
    /// For input tokens served from the provider's prompt cache; when the table gives
    /// none, cached tokens cost the full input price.
    pub cached_input_per_mtok: i64,
}

impl Price {
    /// The cost of `usage`, rounded up to the next nano-dollar so a call is never
    /// undercharged.
    pub fn cost(&self, usage: &Usage) -> Money {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let fresh = usage.input_tokens - cached;
        let total = i128::from(fresh) * i128::from(self.input_per_mtok)
            + i128::from(cached) * i128::from(self.cached_input_per_mtok)
            + i128::from(usage.output_tokens) * i128::from(self.output_per_mtok);
        let nanos = (total + 999_999).div_euclid(1_000_000);
        Money(i64::try_from(nanos).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_cached_input_at_its_own_price_and_rounds_up() {
        // $0.15 / $0.075 cached / $0.60 per million tokens.
        let p = Price {
            input_per_mtok: 150_000_000,
            output_per_mtok: 600_000_000,
            cached_input_per_mtok: 75_000_000,
        };
        let u = Usage {
            input_tokens: 1000,
            output_tokens: 100,
            cached_input_tokens: 400,
        };
        // 600 * 150 + 400 * 75 + 100 * 600 nano-dollars
        assert_eq!(p.cost(&u), Money(90_000 + 30_000 + 60_000));
        let one = Usage {
            input_tokens: 1,
            output_tokens: 0,
            cached_input_tokens: 0,
        };
        let cheap = Price {
            input_per_mtok: 1,
            ..Price::default()
        };
        assert_eq!(
            cheap.cost(&one),
            Money(1),
            "a fraction of a nano-dollar rounds up"
        );
        assert_eq!(p.cost(&Usage::default()), Money::ZERO);
    }
}
