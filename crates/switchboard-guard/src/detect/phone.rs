//! Phone numbers.
//!
//! Two forms, both needing at least 9 digits and [standing alone](crate::digits):
//!
//! - international: `+`, a country code and 9 to 15 digits in all (E.164), with optional
//!   single separators and a parenthesised part: `+1 415 555 2671`, `+14155552671`,
//!   `+44 (0)20 7946 0958`, `+33 6 12 34 56 78`;
//! - national: 9 to 12 digits in 2 to 6 groups joined by single spaces, dashes or dots,
//!   the first group optionally in parentheses: `(415) 555-2671`, `415.555.2671`,
//!   `1-800-555-0199`, `020 7946 0958`, `06 12 34 56 78`. Two-group numbers must start
//!   with a trunk `0` or a parenthesis (`030 12345678`), so `2024-000123` is not one.
//!
//! Plain digit strings without `+` (`4155552671`) are not phones: they are as often
//! order numbers, ids or timestamps. National candidates are also rejected when they look
//! like something else written with the same separators:
//!
//! - card numbers: 13+ digits, more than any national number;
//! - dates and times: `2024-01-15 10:30`, `15.01.2024 14` (a `YYYY-MM-DD` or
//!   `DD-MM-YYYY` start, or a `:` and digit right after);
//! - IPv4 addresses and version strings: dotted numbers need 2-4 digit groups, and four
//!   groups of at most 3 digits are an address;
//! - US SSNs (`123-45-6789`), left to the national-id detector;
//! - thousands written with spaces or dots (`1 000 000 000`): a 1-2 digit group followed
//!   only by 3-digit groups;
//! - lists of equal-width numbers (`2023 2024 2025`, `100 200 300 400`,
//!   `1234-5678-9012`): three or more groups of the same width of 3+ digits, unless the
//!   number starts with a trunk `0` or a parenthesis;
//! - ISBN-10s and the like (`0-306-40615-2`): the last group has a single digit.
//!
//! Accepted misses and false positives: 7-8 digit local numbers (`555-2671`) and national
//! numbers written in equal groups without a trunk `0` (Spanish `612 345 678`; with
//! `+34` they are found) are missed; reference numbers written like phone numbers
//! (`12-345-6789`, `415-555-2671` as an order id) are matched.

use std::ops::Range;

use super::Pattern;
use crate::digits::{self, Group};

const INTERNATIONAL: &str = r"\+[0-9]{1,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,6})){1,8}";
const NATIONAL: &str = r"(?:\([0-9]{1,5}\)|(?-u:\b)[0-9]{1,5})(?:[ .-]\(?[0-9]{1,8}\)?){1,5}";

pub(crate) const PATTERNS: &[Pattern] = &[
    Pattern {
        source: INTERNATIONAL,
        refine: accept_international,
    },
    Pattern {
        source: NATIONAL,
        refine: accept_national,
    },
];

fn accept_international(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let found = text.get(candidate.clone())?;
    let ok = digits::stands_alone(text, &candidate)
        && (9..=15).contains(&digits::count(found))
        && !time_follows(text, candidate.end);
    ok.then_some(candidate)
}

fn accept_national(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let found = text.get(candidate.clone())?;
    let after_plus = text.get(..candidate.start)?.ends_with('+');
    if after_plus || !digits::stands_alone(text, &candidate) || time_follows(text, candidate.end) {
        return None;
    }
    let groups = digits::groups(text, &candidate);
    let ok = (9..=12).contains(&digits::count(found))
        && (groups.len() > 2 || found.starts_with(['0', '(']))
        && dots_are_a_phone(&groups)
        && !looks_like_date(&groups)
        && !looks_like_ssn(&groups)
        && !looks_like_thousands(found, &groups)
        && !looks_like_a_list(found, &groups)
        && groups.last().is_some_and(|g| g.digits.len() >= 2);
    ok.then_some(candidate)
}

/// A `:` and a digit right after the candidate: the end of a date-time, `… 10:30`.
fn time_follows(text: &str, end: usize) -> bool {
    let mut rest = text.get(end..).unwrap_or_default().bytes();
    rest.next() == Some(b':') && rest.next().is_some_and(|b| b.is_ascii_digit())
}

/// Dotted numbers are phones only in the `415.555.2671` / `06.12.34.56.78` style: dots
/// everywhere, 2-4 digit groups, and not four short groups like an IPv4 address.
fn dots_are_a_phone(groups: &[Group<'_>]) -> bool {
    let gaps = || groups.iter().skip(1).map(|g| g.gap);
    if !gaps().any(|gap| gap.contains('.')) {
        return true;
    }
    let ipv4 = groups.len() == 4 && groups.iter().all(|g| g.digits.len() <= 3);
    gaps().all(|gap| gap == ".")
        && groups.iter().all(|g| (2..=4).contains(&g.digits.len()))
        && !ipv4
}

fn looks_like_date(groups: &[Group<'_>]) -> bool {
    let [a, b, c, ..] = groups else {
        return false;
    };
    let (a, b, c) = (a.digits, b.digits, c.digits);
    let year = |s: &str| s.len() == 4 && (1900..=2099).contains(&digits::value(s));
    let month = |s: &str| s.len() == 2 && (1..=12).contains(&digits::value(s));
    let day = |s: &str| s.len() == 2 && (1..=31).contains(&digits::value(s));
    let year_first = year(a) && month(b) && day(c);
    let year_last = year(c) && ((day(a) && month(b)) || (month(a) && day(b)));
    year_first || year_last
}

fn looks_like_ssn(groups: &[Group<'_>]) -> bool {
    let lens: Vec<usize> = groups.iter().map(|g| g.digits.len()).collect();
    lens == [3, 2, 4] && groups.iter().skip(1).all(|g| g.gap == "-" || g.gap == " ")
}

/// Three or more groups of one width, 3+ digits each (`2023 2024 2025`,
/// `100-200-300`, `1234-5678-9012`), without a trunk `0` or parentheses.
fn looks_like_a_list(found: &str, groups: &[Group<'_>]) -> bool {
    let [first, rest @ ..] = groups else {
        return false;
    };
    let width = first.digits.len();
    groups.len() >= 3
        && width >= 3
        && !found.starts_with(['0', '('])
        && rest.iter().all(|g| g.digits.len() == width)
}

fn looks_like_thousands(found: &str, groups: &[Group<'_>]) -> bool {
    let [first, rest @ ..] = groups else {
        return false;
    };
    !found.starts_with('(') && first.digits.len() <= 2 && rest.iter().all(|g| g.digits.len() == 3)
}
