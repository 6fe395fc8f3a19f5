//! Where the text of a redacted text came from: maps ranges found in a partly redacted
//! text back to the text as given.
//!
//! Redaction can expose matches that were hidden: a phone number glued to a redacted
//! code name (`Bluebird7+1 415 555 2671`) does not stand alone until the code name is
//! gone. [`crate::scan`] therefore searches the redacted text again, and reports what it
//! finds there in the coordinates of the original text, so that [`crate::Hit`] ranges
//! always describe the text the caller has. A range reaching into a placeholder maps to
//! cover the whole original span that placeholder replaced.

use std::ops::Range;

use crate::placeholder::Placed;

/// One placeholder of the current text and the original range it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    current: Range<usize>,
    original: Range<usize>,
}

/// Placeholders of the current text, sorted by position. Outside them the current text
/// is the original text, shifted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mapping {
    pieces: Vec<Piece>,
}

impl Mapping {
    /// The range of the original text that `range` of the current text covers.
    pub(crate) fn to_original(&self, range: &Range<usize>) -> Range<usize> {
        self.start(range.start)..self.end(range.end)
    }

    fn start(&self, at: usize) -> usize {
        match self.pieces.iter().rev().find(|p| p.current.start <= at) {
            None => at,
            Some(p) if at < p.current.end => p.original.start,
            Some(p) => p.original.end + (at - p.current.end),
        }
    }

    fn end(&self, at: usize) -> usize {
        match self.pieces.iter().rev().find(|p| p.current.start < at) {
            None => at,
            Some(p) if at <= p.current.end => p.original.end,
            Some(p) => p.original.end + (at - p.current.end),
        }
    }

    /// The mapping of the text that redacting the current text again produced, given
    /// where that redaction placed its placeholders.
    pub(crate) fn then(&self, placed: &[Placed]) -> Mapping {
        let mut pieces = Vec::with_capacity(self.pieces.len() + placed.len());
        for old in &self.pieces {
            let overlaps = |p: &&Placed| {
                p.replaced.start < old.current.end && old.current.start < p.replaced.end
            };
            if placed.iter().any(|p| overlaps(&p)) {
                continue;
            }
            let before = placed
                .iter()
                .filter(|p| p.replaced.end <= old.current.start);
            let (added, removed) = before.fold((0, 0), |(a, r), p| {
                (a + p.written.len(), r + p.replaced.len())
            });
            let start = old.current.start + added - removed;
            pieces.push(Piece {
                current: start..start + old.current.len(),
                original: old.original.clone(),
            });
        }
        for p in placed {
            pieces.push(Piece {
                current: p.written.clone(),
                original: self.to_original(&p.replaced),
            });
        }
        pieces.sort_by_key(|p| p.current.start);
        Mapping { pieces }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(written: Range<usize>, replaced: Range<usize>) -> Placed {
        Placed { written, replaced }
    }

    #[test]
    fn without_placeholders_ranges_map_to_themselves() {
        assert_eq!(Mapping::default().to_original(&(3..9)), 3..9);
    }

    #[test]
    fn ranges_after_a_placeholder_shift_back() {
        // "ab 0123 cd" -> "ab [REDACTED:n] cd"
        let m = Mapping::default().then(&[placed(3..15, 3..7)]);
        assert_eq!(m.to_original(&(16..18)), 8..10);
        assert_eq!(m.to_original(&(0..2)), 0..2);
    }

    #[test]
    fn ranges_reaching_into_a_placeholder_cover_what_it_replaced() {
        let m = Mapping::default().then(&[placed(3..15, 3..7)]);
        assert_eq!(m.to_original(&(5..18)), 3..10);
        assert_eq!(m.to_original(&(0..4)), 0..7);
        assert_eq!(m.to_original(&(3..15)), 3..7);
    }

    #[test]
    fn a_second_redaction_composes_with_the_first() {
        // "x 0123 y 45" -> "x [R:a] y 45" (4 bytes become 7) -> "x [R:a] [R:b]" ("y 45" -> 7 bytes)
        let first = Mapping::default().then(&[placed(2..9, 2..6)]);
        let second = first.then(&[placed(10..17, 10..14)]);
        assert_eq!(second.to_original(&(2..9)), 2..6);
        assert_eq!(second.to_original(&(10..17)), 7..11);
        // A third placeholder swallowing both maps to everything they replaced.
        let third = second.then(&[placed(0..7, 2..17)]);
        assert_eq!(third.to_original(&(0..7)), 2..11);
    }
}
