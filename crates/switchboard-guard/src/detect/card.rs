//! Payment card numbers.
//!
//! A candidate is a run of digits joined by single spaces or dashes with at least 13
//! digits, that [stands alone](crate::digits) (so not part of a longer
//! digit run, a decimal like `3.14159…`, a word, or right after a `+`, which makes it an
//! international phone number). It is a
//! card number if some window of its groups is one:
//!
//! - 13 to 19 digits, written as one group or as groups of 3 to 6 digits (`4-4-4-4`,
//!   Amex `4-6-5`, `4-4-4-4-3`);
//! - from a known issuer range: first digit 3 to 6 (Amex, Diners, JCB, Visa, Mastercard,
//!   Maestro, Discover, UnionPay), or 2200-2204 (Mir) and 2221-2720 (Mastercard 2-series);
//! - Luhn-valid.
//!
//! The hit is the whole run, not only the window: a number written right after a card
//! number (`4111 1111 1111 1111 0425`) is redacted with it. That keeps redaction
//! idempotent (see [`crate::digits`]) and errs on the side of hiding data.
//!
//! The issuer check is the main guard against false positives: 13+ digit timestamps
//! (`1700000000000`), dates (`20240115103000`) and most order numbers start outside those
//! ranges, and of the rest only one in ten passes Luhn by chance. The cost: UATP (`1…`)
//! and private-label cards (`7…`-`9…`) are not found.

use std::ops::Range;

use super::Pattern;
use crate::digits::{self, Group};

const CANDIDATE: &str = r"[0-9](?:[ -]?[0-9]){12,}";

pub(crate) const PATTERNS: &[Pattern] = &[Pattern {
    source: CANDIDATE,
    refine: accept,
}];

fn accept(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let after_plus = text.get(..candidate.start)?.ends_with('+');
    if after_plus || !digits::stands_alone(text, &candidate) {
        return None;
    }
    contains_card(&digits::groups(text, &candidate)).then_some(candidate)
}

/// Groups of a written-out card number are 3 to 6 digits long.
fn is_card_group(group: &Group<'_>) -> bool {
    (3..=6).contains(&group.digits.len())
}

/// True if some window of consecutive groups is a card number.
fn contains_card(groups: &[Group<'_>]) -> bool {
    for (i, first) in groups.iter().enumerate() {
        if is_card_number(first.digits) {
            return true;
        }
        if !is_card_group(first) {
            continue;
        }
        let mut number = String::from(first.digits);
        for next in groups.iter().skip(i + 1) {
            if !is_card_group(next) {
                break;
            }
            number.push_str(next.digits);
            if number.len() > 19 {
                break;
            }
            if is_card_number(&number) {
                return true;
            }
        }
    }
    false
}

/// A string of digits of card length, from a known issuer, passing Luhn.
fn is_card_number(number: &str) -> bool {
    (13..=19).contains(&number.len()) && known_issuer(number) && luhn_valid(number)
}

fn known_issuer(number: &str) -> bool {
    let prefix = number.get(..4).map_or(0, digits::value);
    match number.as_bytes().first() {
        Some(b'3'..=b'6') => true,
        Some(b'2') => (2200..=2204).contains(&prefix) || (2221..=2720).contains(&prefix),
        _ => false,
    }
}

/// The Luhn (mod 10) check every card number passes: double every second digit from the
/// right, add the digits of the products and the others; the sum is a multiple of 10.
pub(crate) fn luhn_valid(number: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in number.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_known_test_numbers_and_rejects_a_changed_digit() {
        for good in [
            "4111111111111111",
            "378282246310005",
            "5555555555554444",
            "79927398713",
        ] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in ["4111111111111112", "378282246310006", "79927398710", "12a4"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn issuer_ranges_follow_the_first_digits() {
        assert!(known_issuer("4111111111111111"));
        assert!(known_issuer("2221000000000009"));
        assert!(!known_issuer("2024011510300000"));
        assert!(!known_issuer("1700000000000"));
        assert!(!known_issuer("9111111111111111"));
    }
}
