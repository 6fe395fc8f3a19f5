//! Where a number ends: the one view of digit runs that the card, phone and national-id
//! detectors share.
//!
//! Numbers are written with separators (`4111 1111 1111 1111`, `(415) 555-2671`,
//! `123-45-6789`), so "the number" is a run of digit groups joined by single separators.
//! Each of these detectors accepts a candidate only if it stands alone:
//! no letter touches it and no other digit is within one joiner of its edges. A hit
//! therefore always covers its whole run, and that is what makes redaction idempotent:
//! once a hit is replaced by a placeholder, the text around it looks the same to every
//! detector as it did before (no neighbour was held back by digits that are now gone).

use std::ops::Range;

/// Characters that can join digits into one number: separators, and the `(`, `)` and `+`
/// of phone numbers.
fn is_joiner(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'+')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True if nothing number-like touches one side of a span. `outward` yields the bytes
/// from the span's edge outwards. A letter or digit right at the edge joins the span to
/// a word; a digit behind one or two joiners joins it to another number.
fn side_is_clear(mut outward: impl Iterator<Item = u8>) -> bool {
    let Some(first) = outward.next() else {
        return true;
    };
    if is_word(first) {
        return false;
    }
    if !is_joiner(first) {
        return true;
    }
    match outward.next() {
        None => true,
        Some(second) if second.is_ascii_digit() => false,
        Some(second) if is_joiner(second) => !outward.next().is_some_and(|b| b.is_ascii_digit()),
        Some(_) => true,
    }
}

/// True if `span` of `text` is a whole number, not part of a word or of a longer number.
pub(crate) fn stands_alone(text: &str, span: &Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let before = bytes.get(..span.start).unwrap_or_default();
    let after = bytes.get(span.end..).unwrap_or_default();
    side_is_clear(before.iter().rev().copied()) && side_is_clear(after.iter().copied())
}

/// One group of consecutive digits inside a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group<'a> {
    pub digits: &'a str,
    /// What separates this group from the previous one (`""` for the first group).
    pub gap: &'a str,
}

/// The digit groups of `text[span]`, with what lies between them.
pub(crate) fn groups<'a>(text: &'a str, span: &Range<usize>) -> Vec<Group<'a>> {
    let s = text.get(span.clone()).unwrap_or_default();
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut gap_start = None;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let gap = gap_start.map_or("", |g| &s[g..start]);
            out.push(Group {
                digits: &s[start..i],
                gap,
            });
            gap_start = Some(i);
        } else {
            i += 1;
        }
    }
    out
}

/// The number of ASCII digits in `s`.
pub(crate) fn count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// The value of a short digit string (at most 9 digits); 0 if it is not one.
pub(crate) fn value(digits: &str) -> u32 {
    if digits.len() > 9 {
        return 0;
    }
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alone(text: &str, needle: &str) -> bool {
        let start = text.find(needle).unwrap_or(0);
        stands_alone(text, &(start..start + needle.len()))
    }

    #[test]
    fn a_number_between_words_stands_alone() {
        assert!(alone("call 415-555-2671 now", "415-555-2671"));
        assert!(alone("415-555-2671", "415-555-2671"));
        assert!(alone("(card: 4111111111111111)", "4111111111111111"));
    }

    #[test]
    fn a_number_joined_to_letters_or_other_digits_does_not() {
        assert!(!alone("x415-555-2671", "415-555-2671"));
        assert!(!alone("12 415-555-2671", "415-555-2671"));
        assert!(!alone("415-555-2671.5", "415-555-2671"));
        assert!(!alone("7 (415) 555-2671", "(415) 555-2671"));
        assert!(!alone("4111111111111111 +44", "4111111111111111"));
    }

    #[test]
    fn groups_keep_their_gaps() {
        let text = "(415) 555-2671";
        let g = groups(text, &(0..text.len()));
        let parts: Vec<_> = g.iter().map(|g| (g.gap, g.digits)).collect();
        assert_eq!(parts, [("", "415"), (") ", "555"), ("-", "2671")]);
    }
}
