//! Moving averages of time to first byte, for [`crate::Strategy::Latency`].
//!
//! Time to first byte, not total time: a long answer is slow because it is long, not
//! because the deployment is. An exponentially weighted moving average forgets old
//! measurements smoothly with no buffer: with `alpha = 0.2` a measurement's weight halves
//! roughly every three newer ones, so a deployment that slows down is noticed within a
//! handful of requests and one outlier does not swing the order.

use std::sync::atomic::{AtomicU64, Ordering};

/// The weight of the newest measurement when none is given.
pub const DEFAULT_ALPHA: f64 = 0.2;

/// A plain moving average; [`LatencyTracker`] is the shared one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewma {
    alpha: f64,
    value: Option<f64>,
}

impl Ewma {
    /// `alpha` is the newest measurement's weight, clamped into `(0, 1]`.
    pub fn new(alpha: f64) -> Self {
        Self {
            alpha: clamp_alpha(alpha),
            value: None,
        }
    }

    /// Folds one measurement in. The first one is taken as is, so a new deployment is
    /// not dragged towards zero by an imaginary history.
    pub fn observe(&mut self, ms: f64) {
        let ms = sanitize(ms);
        self.value = Some(match self.value {
            None => ms,
            Some(v) => blend(self.alpha, v, ms),
        });
    }

    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

impl Default for Ewma {
    fn default() -> Self {
        Self::new(DEFAULT_ALPHA)
    }
}

/// The bit pattern meaning "no measurement yet" (a NaN no measurement can produce,
/// since measurements are sanitised to finite values).
const EMPTY: u64 = u64::MAX;

/// A moving average shared by every request to one deployment: a lock-free
/// compare-and-swap on the average's bits, so observing never blocks the request path.
#[derive(Debug)]
pub struct LatencyTracker {
    alpha: f64,
    bits: AtomicU64,
}

impl LatencyTracker {
    pub fn new(alpha: f64) -> Self {
        Self {
            alpha: clamp_alpha(alpha),
            bits: AtomicU64::new(EMPTY),
        }
    }

    pub fn observe(&self, ms: f64) {
        let ms = sanitize(ms);
        let alpha = self.alpha;
        // The closure always returns Some, so this cannot fail.
        let _ = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                let next = if bits == EMPTY {
                    ms
                } else {
                    blend(alpha, f64::from_bits(bits), ms)
                };
                Some(next.to_bits())
            });
    }

    pub fn value(&self) -> Option<f64> {
        let bits = self.bits.load(Ordering::Acquire);
        (bits != EMPTY).then(|| f64::from_bits(bits))
    }

    /// Forgets every measurement (a deployment's config changed).
    pub fn reset(&self) {
        self.bits.store(EMPTY, Ordering::Release);
    }
}

impl Default for LatencyTracker {
    fn default() -> Self {
        Self::new(DEFAULT_ALPHA)
    }
}

fn blend(alpha: f64, old: f64, new: f64) -> f64 {
    alpha * new + (1.0 - alpha) * old
}

fn clamp_alpha(alpha: f64) -> f64 {
    if alpha.is_finite() && alpha > 0.0 {
        alpha.min(1.0)
    } else {
        DEFAULT_ALPHA
    }
}

/// A negative or non-finite duration is a bug upstream of us; it must not poison the
/// average for good, so it counts as zero.
fn sanitize(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 { ms } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_measurement_is_taken_as_is_and_later_ones_blend() {
        let mut e = Ewma::new(0.5);
        assert_eq!(e.value(), None);
        e.observe(100.0);
        assert_eq!(e.value(), Some(100.0));
        e.observe(200.0);
        assert_eq!(e.value(), Some(150.0));
        e.observe(f64::NAN);
        assert_eq!(e.value(), Some(75.0), "a NaN counts as zero");
    }

    #[test]
    fn the_shared_tracker_agrees_with_the_plain_average() {
        let t = LatencyTracker::new(0.3);
        let mut e = Ewma::new(0.3);
        assert_eq!(t.value(), None);
        for ms in [120.0, 80.0, 300.0, 95.5] {
            t.observe(ms);
            e.observe(ms);
        }
        assert_eq!(t.value(), e.value());
        t.reset();
        assert_eq!(t.value(), None);
    }

    #[test]
    fn a_bad_alpha_falls_back_to_the_default() {
        let mut e = Ewma::new(-1.0);
        e.observe(0.0);
        e.observe(100.0);
        assert_eq!(e.value(), Some(100.0 * DEFAULT_ALPHA));
        let mut e = Ewma::new(7.0);
        e.observe(1.0);
        e.observe(9.0);
        assert_eq!(e.value(), Some(9.0), "alpha is capped at 1");
    }
}
