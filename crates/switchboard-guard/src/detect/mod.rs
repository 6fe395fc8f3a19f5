//! The built-in detectors, one module each.
//!
//! A detector is a few patterns: a regex that finds candidates cheaply, and a
//! `refine` function for what a regex cannot say (checksums, number boundaries, ranges of
//! valid values). The regexes are compiled once, into the guard, together with the
//! tenant's deny patterns; `refine` runs only on candidates.
//!
//! Precision comes first: a false positive blocks or mangles a legitimate prompt, so
//! every detector prefers missing an unusual form to matching common non-PII text
//! (dates, versions, order numbers, hashes). Each module documents its trade-offs.
//!
//! Patterns use `[0-9]` and ASCII word boundaries (`(?-u:\b)`) rather than `\d` and
//! `\b`: the data they look for is ASCII, and ASCII boundaries keep the regex engine on
//! its fast path for text in any script.

pub mod card;
pub mod email;
pub mod national_id;
pub mod phone;
pub mod secret;

use std::ops::Range;

use crate::config::Detector;

/// Decides whether a candidate found by a pattern's regex is a hit, and which span of the
/// text it covers (usually the candidate itself).
pub(crate) type Refine = fn(text: &str, candidate: Range<usize>) -> Option<Range<usize>>;

/// One regex of a detector and its check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern {
    pub source: &'static str,
    pub refine: Refine,
}

/// The refine of patterns whose regex says everything.
pub(crate) fn keep(_text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    Some(candidate)
}

/// The patterns of a detector.
pub(crate) fn patterns(detector: Detector) -> &'static [Pattern] {
    match detector {
        Detector::Email => email::PATTERNS,
        Detector::Phone => phone::PATTERNS,
        Detector::CardNumber => card::PATTERNS,
        Detector::NationalId => national_id::PATTERNS,
        Detector::Secret => secret::PATTERNS,
    }
}
