//! Counting `o200k_base` tokens in a twentieth of the memory tiktoken takes.
//!
//! The estimate only needs how many tokens a text is, never the tokens. `tiktoken-rs`
//! keeps its vocabulary three times over (an encoder and a decoder map of one small
//! allocation per token, and a sorted copy): about 47 MB of a node's heap from its first
//! call on, four times the node's whole idle footprint, and an encode allocates its token
//! list. Here the vocabulary is read once out of tiktoken's own tables into three flat
//! arrays (the token bytes end to end, each rank's offset, and an open-addressing index
//! of ranks by bytes: about 4.5 MB), tiktoken's tables are dropped (the allocator keeps
//! part of what they freed: `benches/PROFILE.md`), and counting allocates nothing in the
//! steady state.
//!
//! The split into pieces is tiktoken's regex (`O200K_BASE_PAT_STR`) less its one
//! look-ahead, `\s+(?!\S)`, run by `regex-automata` (the `regex` crate's engine, anchored
//! at each piece's start) rather than `fancy_regex`'s backtracking (which took half the
//! count's time, and gives up on some long inputs); [`Pieces`] does what the look-ahead
//! did. Each piece is then merged as
//! byte-pair encoding defines it: the adjacent pair whose bytes are the lowest-ranked
//! token merges first, the leftmost of equal ones. A min-heap of candidate pairs keeps that `O(n log n)` in the piece's
//! length (a piece is a whole run of letters, so a prompt can hold one of megabytes).
//! Counts equal tiktoken's `count_ordinary` (the unit tests compare them on a corpus).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::LazyLock;

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

/// The process's counter, built on first use (about half a second; the server warms it
/// at start, off the runtime's workers). `None` only if tiktoken's tables, built into the
/// binary, fail to load; [`count`] then counts bytes, which no encoding exceeds.
pub static O200K: LazyLock<Option<Counter>> = LazyLock::new(|| {
    let counter = Counter::o200k();
    if let Err(e) = &counter {
        tracing::error!(error = %e, "token counter unavailable: estimates count bytes");
    }
    counter.ok()
});

/// `text`'s `o200k_base` tokens (bytes if the counter could not load).
pub fn count(text: &str) -> u64 {
    match &*O200K {
        Some(counter) => counter.count(text),
        None => text.len() as u64,
    }
}

/// Counts `o200k_base` tokens.
pub struct Counter {
    vocab: Vocab,
    split: Regex,
}

impl Counter {
    fn o200k() -> Result<Self, String> {
        let split = Regex::new(&split_pattern()?).map_err(|e| e.to_string())?;
        let vocab = {
            let full = tiktoken_rs::o200k_base().map_err(|e| e.to_string())?;
            Vocab::from_tiktoken(&full).ok_or("vocabulary over 4 GB")?
        };
        Ok(Self { vocab, split })
    }

    /// The number of tokens `text` encodes to, special-token text counted as ordinary.
    pub fn count(&self, text: &str) -> u64 {
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            let mut n = 0u64;
            for piece in pieces(&self.split, text) {
                n += self.vocab.piece_tokens(piece.as_bytes(), scratch) as u64;
            }
            scratch.trim();
            n
        })
    }
}

/// The look-ahead alternative of tiktoken's split pattern, which the `regex` crate does
/// not support; [`Pieces`] does its work.
const LOOKAHEAD: &str = r"|\s+(?!\S)";

/// tiktoken's `o200k_base` split pattern without [`LOOKAHEAD`].
fn split_pattern() -> Result<String, String> {
    let pattern = tiktoken_rs::O200K_BASE_PAT_STR;
    if pattern.matches(LOOKAHEAD).count() != 1 {
        return Err("tiktoken's split pattern is not the one this counter knows".into());
    }
    Ok(pattern.replacen(LOOKAHEAD, "", 1))
}

/// The pieces `split` (from [`split_pattern`]) cuts `text` into: the same as tiktoken's
/// full pattern. Without the look-ahead, a run of whitespace with no line break is
/// matched whole by the last alternative, `\s+`; with it, `\s+(?!\S)` matched the run
/// less its last character when a non-space follows (that character then starts the
/// next piece, as in `" world"`), and the whole run otherwise. (A run that holds a line
/// break goes to `\s*[\r\n]+`, an earlier alternative, both ways; and every other
/// alternative matches something that is not whitespace.)
fn pieces<'t>(split: &'t Regex, text: &'t str) -> Pieces<'t> {
    Pieces { split, text, at: 0 }
}

struct Pieces<'t> {
    split: &'t Regex,
    text: &'t str,
    at: usize,
}

impl<'t> Iterator for Pieces<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        // Pieces follow one another with no gap (every character is in some
        // alternative), so the next one starts where this one ended: an anchored search
        // finds its end in one forward pass, where an unanchored one also runs backwards
        // for the start. The unanchored search stays as the fallback for a character no
        // alternative takes, which `find_iter` (and so tiktoken) skips.
        let rest = Input::new(self.text).range(self.at..);
        let found = match self.split.search(&rest.clone().anchored(Anchored::Yes)) {
            Some(found) => found,
            None => self.split.search(&rest)?,
        };
        let piece = &self.text[found.range()];
        let mut end = found.end();
        let spaces_only = piece.chars().all(char::is_whitespace) && !piece.contains(['\r', '\n']);
        if spaces_only && end < self.text.len() {
            let mut chars = piece.chars();
            if let (Some(last), Some(_)) = (chars.next_back(), chars.next()) {
                end -= last.len_utf8();
            }
        }
        self.at = end;
        Some(&self.text[found.start()..end])
    }
}

/// The vocabulary: rank `r`'s bytes are `bytes[starts[r]..starts[r + 1]]` (empty for a
/// rank the table does not use); `index` maps a hash of a token's bytes to its rank + 1
/// (0: empty slot), probing linearly.
struct Vocab {
    bytes: Vec<u8>,
    starts: Vec<u32>,
    index: Vec<u32>,
    mask: usize,
}

/// A hash of a short byte string: 8 bytes at a time, multiply and rotate.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(b) << (8 * i);
    }
    h = (h.rotate_left(23) ^ tail).wrapping_mul(K);
    h ^ (h >> 29)
}

impl Vocab {
    fn from_tiktoken(full: &tiktoken_rs::CoreBPE) -> Option<Self> {
        let specials: Vec<Vec<u8>> = full
            .special_tokens()
            .into_iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut bytes = Vec::with_capacity(2 << 20);
        let mut starts = vec![0u32];
        // Ranks are dense from 0; the special tokens sit just past the ordinary ones.
        let mut missing_in_a_row = 0;
        let mut rank: tiktoken_rs::Rank = 0;
        while missing_in_a_row < 1024 {
            match full.decode_bytes(&[rank]) {
                Ok(token) if !specials.contains(&token) => {
                    missing_in_a_row = 0;
                    bytes.extend_from_slice(&token);
                }
                _ => missing_in_a_row += 1,
            }
            starts.push(u32::try_from(bytes.len()).ok()?);
            rank += 1;
        }
        let ranks = starts.len() - 1;
        let slots = (ranks * 2).next_power_of_two();
        let mut vocab = Self {
            bytes,
            starts,
            index: vec![0; slots],
            mask: slots - 1,
        };
        for r in 0..ranks {
            let token = vocab.token(r);
            if token.is_empty() {
                continue;
            }
            let mut slot = hash(token) as usize & vocab.mask;
            while vocab.index[slot] != 0 {
                slot = (slot + 1) & vocab.mask;
            }
            vocab.index[slot] = u32::try_from(r + 1).ok()?;
        }
        Some(vocab)
    }

    fn token(&self, rank: usize) -> &[u8] {
        &self.bytes[self.starts[rank] as usize..self.starts[rank + 1] as usize]
    }

    /// The rank of the token whose bytes are `bytes`, if there is one.
    fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let mut slot = hash(bytes) as usize & self.mask;
        loop {
            match self.index[slot] {
                0 => return None,
                r if self.token(r as usize - 1) == bytes => return Some(r - 1),
                _ => slot = (slot + 1) & self.mask,
            }
        }
    }

    /// How many tokens byte-pair encoding makes of `piece`.
    fn piece_tokens(&self, piece: &[u8], s: &mut Scratch) -> usize {
        if piece.len() <= 1 || self.rank(piece).is_some() {
            return piece.len().min(1);
        }
        // Parts are runs of bytes: part `i` starts at byte `i` while alive; `next[i]` is
        // the start of the part after it (`piece.len()` past the last).
        let n = piece.len();
        s.next.clear();
        s.next.extend(1..=n);
        s.prev.clear();
        s.prev.extend((0..n).map(|i| i.wrapping_sub(1)));
        s.alive.clear();
        s.alive.resize(n, true);
        s.heap.clear();
        for i in 0..n - 1 {
            if let Some(r) = self.rank(&piece[i..i + 2]) {
                s.heap.push(Reverse((r, i, i + 2)));
            }
        }
        let mut parts = n;
        while let Some(Reverse((_, start, end))) = s.heap.pop() {
            // Stale unless the part at `start` and its successor still span `start..end`.
            let mid = s.next[start];
            if !s.alive[start] || mid >= n || s.next[mid] != end {
                continue;
            }
            // Merge the successor into `start`.
            s.alive[mid] = false;
            s.next[start] = end;
            if end < n {
                s.prev[end] = start;
            }
            parts -= 1;
            if end < n {
                let after = s.next[end];
                if let Some(r) = self.rank(&piece[start..after]) {
                    s.heap.push(Reverse((r, start, after)));
                }
            }
            let before = s.prev[start];
            if before < n
                && let Some(r) = self.rank(&piece[before..end])
            {
                s.heap.push(Reverse((r, before, end)));
            }
        }
        parts
    }
}

/// Buffers a count reuses, one set per thread.
#[derive(Default)]
struct Scratch {
    next: Vec<usize>,
    prev: Vec<usize>,
    alive: Vec<bool>,
    heap: BinaryHeap<Reverse<(u32, usize, usize)>>,
}

impl Scratch {
    /// Pieces longer than this leave their buffers behind only until the count ends.
    const KEEP: usize = 4096;

    /// Lets go of buffers a long piece grew (megabytes for a megabyte of letters), so a
    /// worker does not hold them for the rest of its life.
    fn trim(&mut self) {
        if self.next.capacity() > Self::KEEP {
            *self = Self::default();
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiktoken(text: &str) -> u64 {
        tiktoken_rs::o200k_base_singleton().count_ordinary(text) as u64
    }

    /// A deterministic mix of what prompts hold: prose, code, numbers, whitespace runs,
    /// several scripts and emoji, contractions, special-token text.
    fn corpus() -> Vec<String> {
        let mut texts: Vec<String> = [
            "",
            "a",
            "hello world",
            "Say hello to the benchmark, please.",
            "I'm sure they'll say we've done it; don't you think? It's ours.",
            "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n",
            "  leading and trailing spaces   ",
            "tabs\tand\nnewlines\r\n\r\nand more\n\n\n",
            "1234567890 3.14159 -42 1e10 0xdeadbeef",
            "日本語のテキストと中文文本",
            "مرحبا بالعالم",
            "Привет, мир! Ёлки-палки.",
            "emoji 🎉🚀👩‍👩‍👧‍👦 mixed",
            "<|endoftext|> is text here",
            "https://example.com/path?query=1&b=two#frag",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}",
            "ALLCAPS CamelCase snake_case kebab-case",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            // Whitespace runs before letters, digits, punctuation, line breaks and the
            // end, in several kinds of space.
            "a  b   c    1  !  \u{3000}\u{3000}x \u{a0}\u{a0}y\t\t\tz  ",
            "  \n  x \r\n\t 2 \u{2003}\u{2003}\u{2003}.\u{2003}",
            " ",
            "   ",
            "x ",
            " \u{3000}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Long runs: one piece of many bytes.
        texts.push("ab".repeat(5000));
        texts.push("x".repeat(20_000));
        texts.push("lorem ipsum dolor sit amet ".repeat(400));
        // Pseudo-random strings over an alphabet that mixes scripts and punctuation.
        let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 \n\t.,;:'\"!?-_/\\()[]{}<>@#$%^&*+=~`|éüßñçøå日本語中文한국어αβγδλπΩжщыё🎉🚀✓—…"
            .chars()
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in (1..400).step_by(3) {
            let mut s = String::new();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            texts.push(s);
        }
        texts
    }

    #[test]
    fn counts_equal_tiktokens_on_the_corpus() {
        for text in corpus() {
            assert_eq!(
                count(&text),
                tiktoken(&text),
                "{:?}",
                text.chars().take(80).collect::<String>()
            );
        }
    }

    /// The split equals tiktoken's full pattern (look-ahead included, by `fancy_regex`,
    /// as tiktoken runs it) piece for piece, not only in the count.
    #[test]
    fn pieces_equal_the_full_patterns_on_the_corpus() {
        let full = fancy_regex::Regex::new(tiktoken_rs::O200K_BASE_PAT_STR).unwrap();
        let split = Regex::new(&split_pattern().unwrap()).unwrap();
        for text in corpus() {
            let expected: Vec<&str> = full.find_iter(&text).map(|m| m.unwrap().as_str()).collect();
            let got: Vec<&str> = pieces(&split, &text).collect();
            assert_eq!(
                got,
                expected,
                "{:?}",
                text.chars().take(80).collect::<String>()
            );
        }
    }

    #[test]
    fn every_token_of_the_vocabulary_counts_as_one() {
        let full = tiktoken_rs::o200k_base_singleton();
        let vocab = &O200K.as_ref().expect("the counter loads").vocab;
        let mut checked = 0;
        for r in 0..vocab.starts.len() - 1 {
            let token = vocab.token(r);
            if token.is_empty() {
                continue;
            }
            assert_eq!(vocab.rank(token), Some(r as u32));
            assert_eq!(full.decode_bytes(&[r as u32]).unwrap(), token);
            checked += 1;
        }
        assert!(checked > 199_000, "only {checked} tokens read");
    }

    #[test]
    fn a_megabyte_run_of_letters_counts_quickly_enough_to_finish() {
        // One piece of a million bytes: quadratic merging would not finish here.
        let text = "qz".repeat(500_000);
        assert_eq!(count(&text), tiktoken(&text));
        // ... and the buffers it grew are not kept by the thread.
        let kept = SCRATCH.with(|s| s.borrow().next.capacity());
        assert!(kept <= Scratch::KEEP, "{kept} kept");
    }
}
