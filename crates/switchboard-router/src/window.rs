//! [`OutcomeWindow`]: the last N outcomes of a deployment, for the breaker's ratio rule.
//!
//! A count-based window rather than a time-based one: a deployment that serves three
//! requests an hour is judged on its last N calls just like a busy one, and the window's
//! memory is fixed at N bits of state however high the traffic.

use std::collections::VecDeque;

/// A ring of the last `capacity` outcomes (true = failure) and their failure count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeWindow {
    capacity: usize,
    outcomes: VecDeque<bool>,
    failures: usize,
}

impl OutcomeWindow {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            outcomes: VecDeque::with_capacity(capacity),
            failures: 0,
        }
    }

    /// Adds an outcome, forgetting the oldest once full. A zero-capacity window stays
    /// empty.
    pub fn push(&mut self, failed: bool) {
        if self.capacity == 0 {
            return;
        }
        if self.outcomes.len() == self.capacity && self.outcomes.pop_front() == Some(true) {
            self.failures -= 1;
        }
        self.outcomes.push_back(failed);
        self.failures += usize::from(failed);
    }

    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Failures over outcomes; 0 when empty.
    pub fn failure_ratio(&self) -> f64 {
        if self.outcomes.is_empty() {
            0.0
        } else {
            self.failures as f64 / self.outcomes.len() as f64
        }
    }

    pub fn clear(&mut self) {
        self.outcomes.clear();
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_oldest_outcome_falls_out_once_full() {
        let mut w = OutcomeWindow::new(3);
        for f in [true, true, false] {
            w.push(f);
        }
        assert_eq!((w.len(), w.failures()), (3, 2));
        w.push(false);
        assert_eq!((w.len(), w.failures()), (3, 1));
        w.clear();
        assert!(w.is_empty());
        assert_eq!(w.failure_ratio(), 0.0);
    }

    proptest! {
        #[test]
        fn the_failure_count_is_that_of_the_last_n_outcomes(
            cap in 0usize..8,
            pushes in proptest::collection::vec(any::<bool>(), 0..40),
        ) {
            let mut w = OutcomeWindow::new(cap);
            for &f in &pushes {
                w.push(f);
            }
            let tail = &pushes[pushes.len().saturating_sub(cap)..];
            prop_assert_eq!(w.len(), tail.len());
            prop_assert_eq!(w.failures(), tail.iter().filter(|&&f| f).count());
        }
    }
}
