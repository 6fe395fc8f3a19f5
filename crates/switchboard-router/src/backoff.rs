//! How long to wait before retrying the same deployment.
//!
//! Exponential: the n-th retry's ceiling is `base * 2^(n-1)`, capped at `max`, so a
//! struggling upstream gets room to recover. Jittered: many gateways retrying a shared
//! upstream in lockstep would hit it in synchronised waves, so by default the actual
//! wait is drawn from the seeded generator ("full jitter", uniform in `[0, ceiling]`).
//! "Decorrelated jitter" (uniform in `[base, 3 * previous]`, capped) is the alternative
//! that never waits less than `base`. Both are from the AWS architecture blog's
//! comparison of backoff schemes.

use std::time::Duration;

use crate::rng::SplitMix;

/// How the wait is randomised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the exponential ceiling; for tests and single clients.
    None,
    /// Uniform in `[0, ceiling]`.
    #[default]
    Full,
    /// Uniform in `[base, 3 * previous wait]`, capped at `max`; ignores the retry number.
    Decorrelated,
}

/// `base * 2^(retry-1)`, capped at `max`; `retry` counts from 1 (0 is treated as 1).
pub fn ceiling(base: Duration, max: Duration, retry: u32) -> Duration {
    let doublings = retry.saturating_sub(1).min(63);
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(Duration::MAX).min(max)
}

/// The waits of one deployment's retries; decorrelated jitter remembers the last one.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: Jitter,
    prev: Duration,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, jitter: Jitter) -> Self {
        Self {
            base,
            max,
            jitter,
            prev: base,
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&mut self, retry: u32, rng: &mut SplitMix) -> Duration {
        let wait = match self.jitter {
            Jitter::None => ceiling(self.base, self.max, retry),
            Jitter::Full => uniform(Duration::ZERO, ceiling(self.base, self.max, retry), rng),
            Jitter::Decorrelated => {
                let hi = self.prev.saturating_mul(3).max(self.base);
                uniform(self.base, hi, rng).min(self.max)
            }
        };
        self.prev = wait;
        wait
    }

    /// Starts over (a different deployment).
    pub fn reset(&mut self) {
        self.prev = self.base;
    }
}

/// Uniform in `[lo, hi]` at nanosecond resolution.
fn uniform(lo: Duration, hi: Duration, rng: &mut SplitMix) -> Duration {
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.between(nanos(lo), nanos(hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_base_and_stops_at_max() {
        let ms = Duration::from_millis;
        let c = |n| ceiling(ms(100), ms(5_000), n);
        assert_eq!(
            [c(0), c(1), c(2), c(3), c(6), c(7), c(40), c(u32::MAX)],
            [
                ms(100),
                ms(100),
                ms(200),
                ms(400),
                ms(3_200),
                ms(5_000),
                ms(5_000),
                ms(5_000)
            ]
        );
    }
}
