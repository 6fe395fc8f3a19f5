//! [`InFlight`]: the per-deployment gauge [`crate::Strategy::LeastBusy`] reads.
//!
//! A counter is only right if every increment is undone, including when the request
//! future is dropped mid-call (a client hung up), so the count is held by an RAII
//! [`InFlightGuard`] rather than incremented and decremented by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Requests currently in flight to one deployment.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicU32,
}

impl InFlight {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more request until the guard drops.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::Relaxed);
        InFlightGuard {
            gauge: Arc::clone(self),
        }
    }

    pub fn current(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}

/// One request in flight; dropping it (however the request ends) counts it out.
#[derive(Debug)]
pub struct InFlightGuard {
    gauge: Arc<InFlight>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.gauge.count.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_counts_a_request_until_it_drops() {
        let g = Arc::new(InFlight::new());
        let a = g.enter();
        let b = g.enter();
        assert_eq!(g.current(), 2);
        drop(a);
        assert_eq!(g.current(), 1);
        drop(b);
        assert_eq!(g.current(), 0);
    }
}
