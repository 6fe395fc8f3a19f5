//! [`SplitMix`]: the small seeded random generator every random choice here draws from.
//!
//! Routing needs randomness in two places, weighted order and backoff jitter, and both
//! must be reproducible in tests: a test seeds the generator and asserts on exact
//! figures. SplitMix64 is tiny, fast, has no bad seeds and passes BigCrush, which is
//! plenty for spreading load; nothing here is security-sensitive.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// SplitMix64 (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub struct SplitMix {
    state: u64,
}

impl SplitMix {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the process's hash randomness (different per call), for
    /// production paths where reproducibility is not wanted.
    pub fn from_entropy() -> Self {
        Self::seeded(RandomState::new().hash_one(0x5eed_u64))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; 0 when `n` is 0. Unbiased (Lemire's multiply-and-reject), so
    /// a 1:3 weighting really is 1:3.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            // The low half decides rejection; the high half is the answer.
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi` (swapped if given the wrong way round).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// Uniform in `[0, 1)`, with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let a: Vec<u64> = {
            let mut r = SplitMix::seeded(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix::seeded(7);
        assert!(a.iter().all(|&x| x == r.next_u64()));
        assert_ne!(SplitMix::seeded(8).next_u64(), a[0]);
    }

    #[test]
    fn the_first_output_matches_the_reference_implementation() {
        // Reference value of splitmix64 seeded with 0 (Vigna's splitmix64.c).
        assert_eq!(SplitMix::seeded(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_and_between_stay_in_range_and_cover_it() {
        let mut r = SplitMix::seeded(1);
        let mut seen = [0u32; 6];
        for _ in 0..6_000 {
            let x = r.below(6);
            seen[usize::try_from(x).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
        assert_eq!(r.below(0), 0);
        for _ in 0..1_000 {
            let x = r.between(10, 20);
            assert!((10..=20).contains(&x));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.between(5, 5), 5);
        let _ = r.between(0, u64::MAX);
    }
}
