//! Money as integer fixed-point: never floating point.
//!
//! One unit is a nano-dollar (1e-9 USD). Prices are quoted per million tokens, so a price
//! of $0.15 per million tokens is 150,000,000 nano-USD per million, and the cost of one
//! token, 150 nano-USD, is still exact. An `i64` of nano-dollars holds ±9.2 billion USD.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// An amount of US dollars in nano-dollars.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub i64);

/// Nano-dollars in one dollar.
pub const NANOS_PER_USD: i64 = 1_000_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_nanos(n: i64) -> Self {
        Money(n)
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Parses a decimal dollar amount (`"12.50"`, `"0.000001"`, `"3"`) exactly; more than
    /// nine decimals or anything but digits and one point is refused.
    pub fn parse_usd(s: &str) -> Result<Money, String> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let bad = || format!("`{s}` is not a dollar amount like \"12.50\"");
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 9 {
            return Err(format!(
                "`{s}` has more than nine decimals (the unit is a nano-dollar)"
            ));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let frac_nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
        let n = whole
            .checked_mul(NANOS_PER_USD)
            .and_then(|w| w.checked_add(frac_nanos))
            .ok_or_else(bad)?;
        Ok(Money(if neg { -n } else { n }))
    }

    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Money {
    /// `12.500000000`: dollars with all nine decimals, so the value reads back exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let per = NANOS_PER_USD as u64;
        write!(f, "{sign}{}.{:09}", abs / per, abs % per)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 = self.0.saturating_sub(rhs.0);
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_amounts_parse_exactly_and_print_back() {
        assert_eq!(Money::parse_usd("12.5"), Ok(Money(12_500_000_000)));
        assert_eq!(Money::parse_usd("0.000000001"), Ok(Money(1)));
        assert_eq!(Money::parse_usd("3"), Ok(Money(3 * NANOS_PER_USD)));
        assert_eq!(Money::parse_usd(".25"), Ok(Money(250_000_000)));
        assert!(Money::parse_usd("0.0000000001").is_err());
        assert!(Money::parse_usd("1e3").is_err());
        assert!(Money::parse_usd("").is_err());
        assert_eq!(Money(12_500_000_000).to_string(), "12.500000000");
        assert_eq!(Money(-1).to_string(), "-0.000000001");
        assert_eq!(
            Money::parse_usd(&Money(987_654_321_123).to_string()),
            Ok(Money(987_654_321_123))
        );
    }
}
