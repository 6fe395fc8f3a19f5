//! Checking one text: what every rule found in it, and the text with redactions applied.
//!
//! Redaction runs until the text is stable. After the hits are replaced, the result is
//! searched again (at most [`MAX_PASSES`] searches in all): removing a match can expose
//! another that was hidden, like a phone number glued to a redacted code name
//! (`Bluebird7+1 415 555 2671`) or to a secret. New hits of every rule are reported,
//! mapped back to the text as given (see `mapping`), and new redacting hits are replaced
//! too. That is what makes redaction idempotent: redacting a redacted text finds nothing
//! more to do. A text still exposing new matches after the last search (a chain of
//! fragments, each uncovered by redacting the one beside it: only a crafted text does
//! that) is redacted whole, so nothing it hides gets through and the passes stay bounded.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::config::Action;
use crate::guard::{Guard, RawHit};
use crate::mapping::Mapping;
use crate::placeholder::{self, Redaction};

/// Searches of one text that redact what they find, counting the first; one more checks
/// that they left nothing (else the whole text is redacted).
pub const MAX_PASSES: usize = 3;

/// What one rule found, for the audit record: how many matches, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `pii:<detector>` (e.g. `pii:email`), `deny:<name>` or `max_input_tokens`.
    pub rule: String,
    pub action: Action,
    /// Matches across everything checked (for `max_input_tokens`, 1).
    pub count: usize,
}

/// One match in a scanned text: where, and which rule. For tests and diagnostics; the
/// audit record takes [`Finding`]s, which hold no positions or content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: String,
    pub action: Action,
    /// Byte range in the text as given, on character boundaries.
    pub range: Range<usize>,
}

/// The result of [`Guard::scan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// One per rule that matched, in rule order.
    pub findings: Vec<Finding>,
    /// Every match, by rule then position, as ranges of the text as given; a match that
    /// only a redaction exposed covers what the placeholders it reaches into replaced.
    pub hits: Vec<Hit>,
    /// The text with redactions applied; `None` when nothing was redacted.
    pub redacted: Option<String>,
}

impl Scan {
    /// The first finding whose rule blocks, if any.
    pub fn blocked_by(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.action == Action::Block)
    }
}

/// Match counts per rule, added up over the texts of one request or answer.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    counts: Vec<usize>,
}

impl Tally {
    pub(crate) fn new(guard: &Guard) -> Self {
        Self {
            counts: vec![0; guard.rules.len()],
        }
    }

    fn add(&mut self, rule: usize) {
        if let Some(c) = self.counts.get_mut(rule) {
            *c += 1;
        }
    }

    /// Findings in rule order, for rules that matched.
    pub(crate) fn findings(&self, guard: &Guard) -> Vec<Finding> {
        guard
            .rules
            .iter()
            .zip(&self.counts)
            .filter(|(_, count)| **count > 0)
            .map(|(rule, count)| Finding {
                rule: rule.id.clone(),
                action: rule.action,
                count: *count,
            })
            .collect()
    }
}

impl Guard {
    /// Checks a text; returns what each rule found and, when a rule redacted, the
    /// redacted text. Text nothing redacts is never copied or changed.
    pub fn scan(&self, text: &str) -> Scan {
        let mut tally = Tally::new(self);
        let (hits, redacted) = self.scan_into(text, &mut tally);
        let hits = hits
            .into_iter()
            .filter_map(|h| {
                let rule = self.rules.get(h.rule)?;
                Some(Hit {
                    rule: rule.id.clone(),
                    action: rule.action,
                    range: h.range,
                })
            })
            .collect();
        Scan {
            findings: tally.findings(self),
            hits,
            redacted,
        }
    }

    /// Scans `text` and redacts it in place when a rule redacts; returns whether it
    /// changed.
    pub(crate) fn apply(&self, text: &mut String, tally: &mut Tally) -> bool {
        match self.scan_into(text, tally) {
            (_, Some(redacted)) => {
                *text = redacted;
                true
            }
            (_, None) => false,
        }
    }

    /// The hits in `text`, counted into `tally`, and the redacted text if any rule
    /// redacted. Hits of later passes are mapped back to `text`; a later hit the same
    /// rule already had at the same place (a flagged match still in the text) is not
    /// counted twice.
    pub(crate) fn scan_into(&self, text: &str, tally: &mut Tally) -> (Vec<RawHit>, Option<String>) {
        let mut all: Vec<RawHit> = Vec::new();
        let mut current = Cow::Borrowed(text);
        let mut mapping = Mapping::default();
        for pass in 0..=MAX_PASSES {
            let mut redactions = Vec::new();
            for hit in self.find(&current) {
                let original = mapping.to_original(&hit.range);
                if pass > 0
                    && all
                        .iter()
                        .any(|h| h.rule == hit.rule && h.range == original)
                {
                    continue;
                }
                if let Some(label) = self.redaction_label(hit.rule) {
                    redactions.push(Redaction {
                        range: hit.range,
                        label,
                    });
                }
                all.push(RawHit {
                    rule: hit.rule,
                    range: original,
                });
            }
            if redactions.is_empty() {
                break;
            }
            if pass == MAX_PASSES {
                // Out of searches with more still exposed: the whole text goes.
                let whole = Redaction {
                    range: 0..current.len(),
                    label: redactions[0].label,
                };
                current = Cow::Owned(placeholder::redact(&current, vec![whole]).0);
                break;
            }
            let (next, placed) = placeholder::redact(&current, redactions);
            mapping = mapping.then(&placed);
            current = Cow::Owned(next);
        }
        for hit in &all {
            tally.add(hit.rule);
        }
        all.sort_by(|a, b| {
            (a.rule, a.range.start, b.range.end).cmp(&(b.rule, b.range.start, a.range.end))
        });
        let redacted = match current {
            Cow::Owned(redacted) if redacted != text => Some(redacted),
            _ => None,
        };
        (all, redacted)
    }

    /// The placeholder label of a rule that redacts.
    fn redaction_label(&self, rule: usize) -> Option<&str> {
        let rule = self.rules.get(rule)?;
        (rule.action == Action::Redact).then_some(rule.label.as_str())
    }
}
