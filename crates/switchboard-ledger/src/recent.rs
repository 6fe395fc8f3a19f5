//! The owner's memory of settlements it has applied, so a retried report counts once.
//!
//! A node resends a settlement batch when it is unsure the owner got it (a timeout, a
//! new owner after a failover, a replay after restart), and every settlement carries its
//! request id. The owner keeps the ids of one period and forgets them when the period is
//! two periods old: by then no settlement of it can still be in flight. Within a period
//! the memory is capped ([`RecentIds::CAPACITY`] ids, oldest forgotten first): a month
//! of a busy key would otherwise hold billions of ids, while retries come within
//! seconds. A retry older than the cap counts twice, erring on the side of the limit.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Request ids seen, bounded, oldest evicted first.
#[derive(Debug, Clone, Default)]
pub struct RecentIds {
    seen: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl RecentIds {
    /// The latest `n` ids, oldest first.
    pub fn latest(&self, n: usize) -> Vec<String> {
        let skip = self.order.len().saturating_sub(n);
        self.order
            .iter()
            .skip(skip)
            .map(|id| id.to_string())
            .collect()
    }

    /// Ids remembered per period: about a minute of 1,000 settlements per second.
    pub const CAPACITY: usize = 65_536;

    /// Records `id`; false if it was already there (a duplicate).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() >= Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        let id: Arc<str> = Arc::from(id);
        self.seen.insert(Arc::clone(&id));
        self.order.push_back(id);
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_once() {
        let mut ids = RecentIds::default();
        assert!(ids.insert("r1"));
        assert!(!ids.insert("r1"));
        assert!(ids.insert("r2"));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn the_oldest_id_is_forgotten_past_capacity() {
        let mut ids = RecentIds::default();
        for i in 0..=RecentIds::CAPACITY {
            assert!(ids.insert(&i.to_string()));
        }
        assert_eq!(ids.len(), RecentIds::CAPACITY);
        assert!(!ids.contains("0"));
        assert!(ids.contains("1"));
    }
}
