//! [`TimerQueue`]: pending wake-ups in deadline order, over any notion of time.
//!
//! foca asks its runtime to hand timer events back "after" a delay and warns that
//! delivering them out of order causes spurious errors (foca issue #26). One queue per
//! node, popped in `(deadline, insertion order)`, gives that guarantee without a task per
//! timer. The same queue runs on `tokio::time::Instant` in the membership task and on
//! virtual microseconds in the simulator.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Items due at instants of type `I`, popped earliest first, FIFO among equal deadlines.
#[derive(Debug)]
pub struct TimerQueue<I, W> {
    heap: BinaryHeap<Reverse<Entry<I, W>>>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry<I, W> {
    at: I,
    seq: u64,
    item: W,
}

impl<I: Ord, W> PartialEq for Entry<I, W> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<I: Ord, W> Eq for Entry<I, W> {}

impl<I: Ord, W> PartialOrd for Entry<I, W> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<I: Ord, W> Ord for Entry<I, W> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at).then(self.seq.cmp(&other.seq))
    }
}

impl<I: Ord + Copy, W> Default for TimerQueue<I, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: Ord + Copy, W> TimerQueue<I, W> {
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Queues `item` for `at`.
    pub fn push(&mut self, at: I, item: W) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { at, seq, item }));
    }

    /// When the earliest item is due.
    pub fn next_deadline(&self) -> Option<I> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// The earliest item if it is due at or before `now`.
    pub fn pop_due(&mut self, now: I) -> Option<(I, W)> {
        if self.next_deadline()? <= now {
            self.pop()
        } else {
            None
        }
    }

    /// The earliest item, due or not.
    pub fn pop(&mut self) -> Option<(I, W)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.item))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_deadline_order() {
        let mut q = TimerQueue::new();
        q.push(30u64, "c");
        q.push(10, "a");
        q.push(20, "b");
        assert_eq!(q.next_deadline(), Some(10));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, w)| w).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn equal_deadlines_keep_insertion_order() {
        let mut q = TimerQueue::new();
        for w in ["first", "second", "third"] {
            q.push(5u64, w);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, w)| w).collect();
        assert_eq!(order, ["first", "second", "third"]);
    }

    #[test]
    fn nothing_is_due_before_its_deadline() {
        let mut q = TimerQueue::new();
        q.push(10u64, ());
        assert!(q.pop_due(9).is_none());
        assert_eq!(q.len(), 1);
        assert!(q.pop_due(10).is_some());
        assert!(q.is_empty());
    }
}
