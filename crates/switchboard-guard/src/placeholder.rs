//! Placeholders: what a redacted match is replaced with, and how the guard recognises its
//! own placeholders when it sees them again.
//!
//! A match becomes `[REDACTED:<label>]`, the label naming the kind (`email`,
//! `card_number`, or a deny rule's name). Matches that overlap are merged into one
//! placeholder listing each label once, in order: `[REDACTED:secret,email]`. The
//! replacement is built from whole match spans, which regexes and detectors only ever
//! place on character boundaries, so UTF-8 is never split.
//!
//! Redacted text comes back: in the history of the next turn, or when a body is scrubbed
//! twice. Hits that lie entirely inside a placeholder are dropped, so a deny pattern like
//! `(?i)email` does not fire on `[REDACTED:email]`, and redacting again changes nothing.
//! Only placeholders made of labels this guard can itself produce count (the labels of
//! its redacting rules): a client cannot hide `[REDACTED:anything-it-likes]` from the
//! rules, only text identical to what redaction would have written anyway.

use std::ops::Range;

use regex::Regex;

use crate::GuardError;

/// The start of every placeholder; texts without it skip placeholder handling.
pub(crate) const PREFIX: &str = "[REDACTED:";

/// Any well-formed placeholder. Labels are checked against the guard's own afterwards.
const ANY_PLACEHOLDER: &str = r"\[REDACTED:([A-Za-z0-9_.-]+(?:,[A-Za-z0-9_.-]+)*)\]";

/// Recognises this guard's placeholders.
#[derive(Debug, Clone)]
pub(crate) struct Placeholders {
    regex: Regex,
    /// Labels of the rules that redact.
    labels: Vec<String>,
}

impl Placeholders {
    pub(crate) fn new(labels: Vec<String>) -> Result<Self, GuardError> {
        let regex = Regex::new(ANY_PLACEHOLDER).map_err(|error| GuardError::Builtin {
            rule: "placeholder".to_owned(),
            error,
        })?;
        Ok(Self { regex, labels })
    }

    /// The spans of `text` that are placeholders this guard could have written.
    pub(crate) fn find(&self, text: &str) -> Vec<Range<usize>> {
        if self.labels.is_empty() || !text.contains(PREFIX) {
            return Vec::new();
        }
        self.regex
            .captures_iter(text)
            .filter_map(|caps| {
                let whole = caps.get(0)?;
                let labels = caps.get(1)?.as_str();
                let own = labels
                    .split(',')
                    .all(|l| self.labels.iter().any(|k| k == l));
                own.then(|| whole.range())
            })
            .collect()
    }
}

/// One span to redact and the label of the rule that matched it.
#[derive(Debug, Clone)]
pub(crate) struct Redaction<'a> {
    pub range: Range<usize>,
    pub label: &'a str,
}

/// A placeholder written by [`redact`]: its range in the output, and the range of the
/// input it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
    pub written: Range<usize>,
    pub replaced: Range<usize>,
}

/// `text` with every redaction replaced by its placeholder, overlapping ones merged; and
/// where each placeholder went.
pub(crate) fn redact(text: &str, mut redactions: Vec<Redaction<'_>>) -> (String, Vec<Placed>) {
    redactions.sort_by(|a, b| {
        a.range
            .start
            .cmp(&b.range.start)
            .then(b.range.end.cmp(&a.range.end))
    });
    let mut out = String::with_capacity(text.len());
    let mut placed = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    while let Some(first) = redactions.get(i) {
        let start = first.range.start;
        let mut end = first.range.end;
        let mut labels: Vec<&str> = Vec::new();
        while let Some(next) = redactions.get(i) {
            if next.range.start >= end && !labels.is_empty() {
                break;
            }
            end = end.max(next.range.end);
            if !labels.contains(&next.label) {
                labels.push(next.label);
            }
            i += 1;
        }
        out.push_str(text.get(copied..start).unwrap_or_default());
        let written_start = out.len();
        out.push_str(PREFIX);
        out.push_str(&labels.join(","));
        out.push(']');
        placed.push(Placed {
            written: written_start..out.len(),
            replaced: start..end,
        });
        copied = end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    (out, placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(range: Range<usize>, label: &str) -> Redaction<'_> {
        Redaction { range, label }
    }

    fn redact(text: &str, redactions: Vec<Redaction<'_>>) -> String {
        super::redact(text, redactions).0
    }

    #[test]
    fn each_span_becomes_a_placeholder_naming_its_label() {
        let text = "mail a@b.io or call 415-555-2671.";
        let out = redact(text, vec![r(20..32, "phone"), r(5..11, "email")]);
        assert_eq!(out, "mail [REDACTED:email] or call [REDACTED:phone].");
    }

    #[test]
    fn overlapping_spans_merge_and_list_each_label_once() {
        let out = redact("0123456789", vec![r(2..5, "a"), r(4..7, "b"), r(6..8, "a")]);
        assert_eq!(out, "01[REDACTED:a,b]89");
    }

    #[test]
    fn each_placeholder_says_what_it_replaced() {
        let (out, placed) = super::redact("ab 0123 cd", vec![r(3..7, "n")]);
        assert_eq!(out, "ab [REDACTED:n] cd");
        assert_eq!(
            placed,
            [Placed {
                written: 3..15,
                replaced: 3..7
            }]
        );
    }

    #[test]
    fn adjacent_spans_stay_separate() {
        let out = redact("abcd", vec![r(0..2, "x"), r(2..4, "y")]);
        assert_eq!(out, "[REDACTED:x][REDACTED:y]");
    }

    #[test]
    fn only_placeholders_of_known_labels_are_recognised() {
        let p = Placeholders::new(vec!["email".into(), "card_number".into()]).unwrap();
        let text = "[REDACTED:email] [REDACTED:bomb] [REDACTED:card_number,email]";
        assert_eq!(p.find(text), vec![0..16, 33..61]);
    }
}
