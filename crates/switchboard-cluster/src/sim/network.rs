//! [`Network`]: which datagrams the simulated network delivers, and when.
//!
//! Loss and delay are drawn from the simulator's seeded generator, so a run is a pure
//! function of its seed. A cut is directional-free: nodes on opposite sides of any cut
//! cannot reach each other until [`Network::heal`].

use std::collections::BTreeSet;

use rand::RngExt;
use rand::rngs::SmallRng;

/// Link behaviour of the simulated network. Times are virtual microseconds.
#[derive(Debug, Clone)]
pub struct Network {
    /// Probability that any one datagram is lost, `0.0..=1.0`.
    pub loss: f64,
    /// Shortest one-way delay.
    pub min_delay_us: u64,
    /// Longest one-way delay.
    pub max_delay_us: u64,
    blocked: BTreeSet<(usize, usize)>,
}

impl Default for Network {
    /// A quiet LAN: no loss, 0.2-1 ms one way.
    fn default() -> Self {
        Self {
            loss: 0.0,
            min_delay_us: 200,
            max_delay_us: 1_000,
            blocked: BTreeSet::new(),
        }
    }
}

impl Network {
    /// Nobody in `a` can talk to anybody in `b`, either way.
    pub fn cut(&mut self, a: &[usize], b: &[usize]) {
        for &x in a {
            for &y in b {
                if x != y {
                    self.blocked.insert((x.min(y), x.max(y)));
                }
            }
        }
    }

    /// Removes every cut.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    pub fn can_talk(&self, from: usize, to: usize) -> bool {
        !self.blocked.contains(&(from.min(to), from.max(to)))
    }

    /// The delay of a datagram from `from` to `to`, or `None` if it is lost or cut off.
    /// Always draws the same number of random values, so a cut does not shift the rest
    /// of the run's randomness.
    pub fn route(&self, rng: &mut SmallRng, from: usize, to: usize) -> Option<u64> {
        let lost = rng.random_bool(self.loss.clamp(0.0, 1.0));
        let delay = rng.random_range(self.min_delay_us..=self.max_delay_us.max(self.min_delay_us));
        (!lost && self.can_talk(from, to)).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_cut_blocks_both_directions_until_healed() {
        let mut net = Network::default();
        net.cut(&[0], &[1, 2]);
        assert!(!net.can_talk(0, 1) && !net.can_talk(2, 0));
        assert!(net.can_talk(1, 2));
        net.heal();
        assert!(net.can_talk(0, 1));
    }

    #[test]
    fn the_loss_rate_is_close_to_the_setting() {
        let net = Network {
            loss: 0.1,
            ..Network::default()
        };
        let mut rng = SmallRng::seed_from_u64(7);
        let lost = (0..10_000)
            .filter(|_| net.route(&mut rng, 0, 1).is_none())
            .count();
        assert!((900..1100).contains(&lost), "lost {lost} of 10000");
    }

    #[test]
    fn delays_stay_in_range() {
        let net = Network::default();
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..1000 {
            let d = net.route(&mut rng, 0, 1).unwrap();
            assert!((200..=1000).contains(&d));
        }
    }
}
