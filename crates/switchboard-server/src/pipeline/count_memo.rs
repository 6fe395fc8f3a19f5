//! Token counts of texts seen recently, so the parts a prompt repeats are tokenized once.
//!
//! Chat clients send the whole conversation on every turn, and an app's calls mostly
//! share one system prompt. Without a memo each call tokenizes every earlier message
//! again, so the estimate's cost grows with the length of the conversation: a text of
//! 10,000 tokens costs milliseconds to count and a few microseconds to hash. The memo
//! is a fixed table of slots, each holding the last text that hashed to it (its keyed
//! 64-bit hash and length, and its count), so its memory never grows and a miss only
//! means counting as before. Entries are per scope (the tenant), so one tenant never
//! hits on another's text and cannot learn from its own timing what others sent. Two
//! different texts would have to agree in length and in all 64 bits of a hash keyed at
//! random per process to share a count; even then only an estimate is off, and
//! settlement charges the provider's own count.

use std::hash::BuildHasher;

use parking_lot::Mutex;

/// Texts shorter than this are counted every time: hashing them saves nothing.
pub const MIN_MEMO_LEN: usize = 16;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hash: u64,
    /// Never below [`MIN_MEMO_LEN`] once filled, so an empty slot matches no text.
    len: usize,
    count: u64,
}

/// A direct-mapped memo of token counts.
pub struct CountMemo {
    slots: Box<[Mutex<Slot>]>,
    hasher: foldhash::quality::RandomState,
}

impl CountMemo {
    /// A memo of `slots` entries (rounded up to a power of two).
    pub fn new(slots: usize) -> Self {
        let n = slots.max(1).next_power_of_two();
        Self {
            slots: (0..n).map(|_| Mutex::new(Slot::default())).collect(),
            hasher: foldhash::quality::RandomState::default(),
        }
    }

    /// `text`'s count: the remembered one when `text` was counted recently for the same
    /// `scope`, else `count(text)`, remembered for next time. Scopes never share a
    /// count, so a hit says nothing about what other scopes sent.
    pub fn count(&self, scope: &str, text: &str, count: impl FnOnce(&str) -> u64) -> u64 {
        if text.len() < MIN_MEMO_LEN {
            return count(text);
        }
        let hash = self.hasher.hash_one((scope, text));
        let slot = &self.slots[self.index(hash)];
        {
            let s = slot.lock();
            if s.hash == hash && s.len == text.len() {
                return s.count;
            }
        }
        let n = count(text);
        *slot.lock() = Slot {
            hash,
            len: text.len(),
            count: n,
        };
        n
    }

    fn index(&self, hash: u64) -> usize {
        (hash as usize) & (self.slots.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A stand-in tokenizer that counts how often it runs: one token per word.
    fn counting(calls: &Cell<u32>) -> impl Fn(&str) -> u64 + '_ {
        move |t: &str| {
            calls.set(calls.get() + 1);
            t.split_whitespace().count() as u64
        }
    }

    #[test]
    fn a_text_seen_again_is_not_counted_again() {
        let memo = CountMemo::new(64);
        let calls = Cell::new(0);
        let system = "You are a helpful assistant who answers in one short sentence.";
        assert_eq!(memo.count("acme", system, counting(&calls)), 11);
        assert_eq!(memo.count("acme", system, counting(&calls)), 11);
        // The same text in another allocation.
        let copy = String::from(system);
        assert_eq!(memo.count("acme", &copy, counting(&calls)), 11);
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn texts_sharing_a_slot_each_get_their_own_count() {
        // One slot: every text lands in it, so each one replaces the last.
        let memo = CountMemo::new(1);
        let calls = Cell::new(0);
        let a = "one two three four five six";
        let b = "seven eight nine ten eleven";
        for _ in 0..3 {
            assert_eq!(memo.count("acme", a, counting(&calls)), 6);
            assert_eq!(memo.count("acme", b, counting(&calls)), 5);
        }
        assert_eq!(calls.get(), 6, "each text evicts the other");
        assert_eq!(memo.count("acme", b, counting(&calls)), 5);
        assert_eq!(calls.get(), 6, "the last text stays remembered");
    }

    #[test]
    fn texts_of_one_length_do_not_share_a_count() {
        let memo = CountMemo::new(1024);
        let calls = Cell::new(0);
        let texts: Vec<String> = (0..500)
            .map(|i| format!("word {i:04} {}", "x ".repeat(i % 7)))
            .collect();
        // First pass fills the memo, second reads from it.
        for pass in 0..2 {
            for t in &texts {
                assert_eq!(
                    memo.count("acme", t, counting(&calls)),
                    t.split_whitespace().count() as u64,
                    "pass {pass}: {t}"
                );
            }
        }
    }

    #[test]
    fn one_scope_never_hits_on_another_scopes_text() {
        let memo = CountMemo::new(64);
        let calls = Cell::new(0);
        let system = "You are the internal assistant of a company that keeps its prompt.";
        assert_eq!(memo.count("acme", system, counting(&calls)), 12);
        assert_eq!(memo.count("globex", system, counting(&calls)), 12);
        assert_eq!(calls.get(), 2, "globex's first call counts the text itself");
        assert_eq!(memo.count("acme", system, counting(&calls)), 12);
        assert_eq!(memo.count("globex", system, counting(&calls)), 12);
        // The slots are placed by a random hash: one time in 64 both entries share one,
        // and then each evicts the other.
        let slot = |scope: &str| memo.index(memo.hasher.hash_one((scope, system)));
        if slot("acme") == slot("globex") {
            assert_eq!(
                calls.get(),
                4,
                "sharing a slot, each scope counts its own text"
            );
        } else {
            assert_eq!(calls.get(), 2, "each scope then hits its own entry");
        }
    }

    #[test]
    fn short_texts_are_counted_every_time() {
        let memo = CountMemo::new(64);
        let calls = Cell::new(0);
        let short = "hi there";
        assert!(short.len() < MIN_MEMO_LEN);
        assert_eq!(memo.count("acme", short, counting(&calls)), 2);
        assert_eq!(memo.count("acme", short, counting(&calls)), 2);
        assert_eq!(calls.get(), 2);
    }
}
