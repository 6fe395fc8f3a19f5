//! Percentiles over a run's samples.

use std::time::Duration;

use serde::Serialize;

/// The usual summary of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples` (all zero when there are none).
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let micros = |d: Duration| d.as_nanos() as f64 / 1_000.0;
        let at = |q: f64| {
            let rank = (q * samples.len() as f64).ceil() as usize;
            micros(samples[rank.clamp(1, samples.len()) - 1])
        };
        let total: Duration = samples.iter().sum();
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: micros(samples[samples.len() - 1]),
            mean: micros(total) / samples.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_over_a_hundred_samples() {
        let samples = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(samples);
        assert_eq!(
            (p.p50, p.p90, p.p99, p.p999, p.max),
            (50.0, 90.0, 99.0, 100.0, 100.0)
        );
        assert_eq!(p.mean, 50.5);
    }

    #[test]
    fn no_samples_is_all_zero() {
        assert_eq!(Percentiles::of(Vec::new()).max, 0.0);
    }
}
