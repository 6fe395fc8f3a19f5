//! [`LogGate`]: lets a repeated warning through at most once per period, so a flood of
//! the same refusal (a scanner, a peer with the wrong secret) is seen without burying
//! the log. What it holds back is still counted by the caller's metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Passes once per `period` (a `static` is the usual home: one gate per kind of line).
#[derive(Debug)]
pub struct LogGate {
    period_s: u64,
    /// Unix seconds of the last pass, plus one (0: never passed).
    last: AtomicU64,
}

impl LogGate {
    pub const fn new(period: Duration) -> Self {
        Self {
            period_s: period.as_secs(),
            last: AtomicU64::new(0),
        }
    }

    /// Whether to log now: true the first time, then once `period` has passed since the
    /// last time it was true.
    pub fn pass(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 1;
        let last = self.last.load(Ordering::Relaxed);
        (last == 0 || now >= last + self.period_s)
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_once_per_period() {
        let gate = LogGate::new(Duration::from_secs(3600));
        assert!(gate.pass());
        assert!(!gate.pass());
        assert!(!gate.pass());
        let every_time = LogGate::new(Duration::ZERO);
        assert!(every_time.pass());
        assert!(every_time.pass());
    }
}
