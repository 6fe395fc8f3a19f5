//! [`Guard`]: a [`GuardConfig`] compiled once, and the one search every check runs.
//!
//! Compiling validates the configuration (rule names, duplicates, regexes) and builds
//! every regex, plus a [`RegexSet`] of the built-in patterns and one of the deny patterns.
//! Per text, each set says in a single pass which of its patterns match at all; only
//! those run to find their spans, so a text no rule touches costs one pass per set.
//!
//! The sets are separate so that a tenant's pattern cannot slow the built-in detectors
//! down: a Unicode `\b` can make the regex engine fall back to a slower matcher on
//! non-ASCII text, for every pattern of the set it is in (measured: 1.2 MB of mixed-script
//! prose went from 3 ms to 390 ms with one such deny pattern in a shared set).

use std::ops::Range;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use crate::config::{Action, Detector, GuardConfig};
use crate::detect::{self, Refine};
use crate::error::GuardError;
use crate::placeholder::Placeholders;

/// Upper bound on the compiled size of one deny pattern, so a tenant's configuration
/// cannot make the gateway allocate without limit.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// One configured rule, in the order findings are reported.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `pii:<detector>` or `deny:<name>`.
    pub id: String,
    /// What placeholders call it: the detector's name or the deny rule's name.
    pub label: String,
    pub action: Action,
    /// What a block message says was found.
    pub describe: &'static str,
}

/// One compiled regex of a rule.
#[derive(Debug, Clone)]
struct Matcher {
    rule: usize,
    regex: Regex,
    refine: Refine,
}

/// A set of consecutive matchers: pattern `i` of `set` is `matchers[first + i]`.
#[derive(Debug, Clone)]
struct MatcherSet {
    set: RegexSet,
    first: usize,
}

impl MatcherSet {
    fn new(matchers: &[Matcher], range: std::ops::Range<usize>) -> Result<Self, GuardError> {
        let patterns = matchers.get(range.clone()).unwrap_or_default();
        let set = RegexSetBuilder::new(patterns.iter().map(|m| m.regex.as_str()))
            .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
            .build()
            .map_err(|error| GuardError::TooLarge { error })?;
        Ok(Self {
            set,
            first: range.start,
        })
    }
}

/// A match of a rule in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawHit {
    pub rule: usize,
    pub range: Range<usize>,
}

/// Guardrails compiled from a [`GuardConfig`]: cheap to share, immutable, `Send + Sync`.
/// The checks are in [`crate::scan`], [`crate::request`] and [`crate::json`].
#[derive(Debug, Clone)]
pub struct Guard {
    pub(crate) rules: Vec<Rule>,
    matchers: Vec<Matcher>,
    /// The built-in patterns' set and the deny patterns' set.
    sets: Vec<MatcherSet>,
    pub(crate) placeholders: Placeholders,
    pub(crate) max_input_tokens: Option<u64>,
    pub(crate) check_output: bool,
}

impl Guard {
    /// Validates and compiles a configuration. A bad deny regex, a deny rule name that
    /// cannot be used in ids and placeholders, or a rule given twice is an error naming
    /// the rule.
    pub fn compile(cfg: &GuardConfig) -> Result<Guard, GuardError> {
        let mut rules = Vec::new();
        let mut matchers = Vec::new();
        for pii in &cfg.pii {
            let id = format!("pii:{}", pii.detector.name());
            if rules.iter().any(|r: &Rule| r.id == id) {
                return Err(GuardError::DuplicateRule { rule: id });
            }
            for pattern in detect::patterns(pii.detector) {
                let regex = Regex::new(pattern.source).map_err(|error| GuardError::Builtin {
                    rule: id.clone(),
                    error,
                })?;
                matchers.push(Matcher {
                    rule: rules.len(),
                    regex,
                    refine: pattern.refine,
                });
            }
            rules.push(pii_rule(pii.detector, pii.action, id));
        }
        let builtin = 0..matchers.len();
        for deny in &cfg.deny {
            let id = format!("deny:{}", deny.name);
            if !valid_name(&deny.name) {
                return Err(GuardError::InvalidRuleName {
                    name: deny.name.clone(),
                });
            }
            if rules.iter().any(|r| r.id == id) {
                return Err(GuardError::DuplicateRule { rule: id });
            }
            let regex = RegexBuilder::new(&deny.pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|error| GuardError::InvalidPattern {
                    rule: deny.name.clone(),
                    error,
                })?;
            matchers.push(Matcher {
                rule: rules.len(),
                regex,
                refine: detect::keep,
            });
            rules.push(Rule {
                id,
                label: deny.name.clone(),
                action: deny.action,
                describe: "text matching a denied pattern",
            });
        }
        let sets = vec![
            MatcherSet::new(&matchers, builtin.clone())?,
            MatcherSet::new(&matchers, builtin.end..matchers.len())?,
        ];
        let labels = rules
            .iter()
            .filter(|r| r.action == Action::Redact)
            .map(|r| r.label.clone())
            .collect();
        Ok(Guard {
            rules,
            matchers,
            sets,
            placeholders: Placeholders::new(labels)?,
            max_input_tokens: cfg.max_input_tokens,
            check_output: cfg.check_output,
        })
    }

    /// True if the guard checks nothing: the gateway can skip it altogether.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.max_input_tokens.is_none()
    }

    /// Whether the guard has a `max_input_tokens` limit, so the request's tokens must be
    /// counted before [`Guard::check_request`]; without one the count is not read, and a
    /// caller can skip the tokenizer (it showed in profiles when run twice per call).
    pub fn limits_input_tokens(&self) -> bool {
        self.max_input_tokens.is_some()
    }

    /// Whether answers are checked ([`GuardConfig::check_output`]).
    pub fn checks_output(&self) -> bool {
        self.check_output && !self.rules.is_empty()
    }

    /// Every hit of every rule in `text`, sorted by rule then position. A rule's hits do
    /// not overlap each other (of two overlapping, the earlier and longer is kept), and
    /// hits lying inside one of this guard's placeholders are dropped.
    pub(crate) fn find(&self, text: &str) -> Vec<RawHit> {
        let mut hits = Vec::new();
        for group in self.sets.iter().filter(|g| !g.set.is_empty()) {
            let matched = group.set.matches(text);
            let matchers = matched
                .iter()
                .filter_map(|i| self.matchers.get(group.first + i));
            for m in matchers {
                for found in m.regex.find_iter(text) {
                    if let Some(range) = (m.refine)(text, found.range())
                        && !range.is_empty()
                    {
                        hits.push(RawHit {
                            rule: m.rule,
                            range,
                        });
                    }
                }
            }
        }
        if hits.is_empty() {
            return hits;
        }
        let placeholders = self.placeholders.find(text);
        hits.retain(|h| {
            !placeholders
                .iter()
                .any(|p| p.start <= h.range.start && h.range.end <= p.end)
        });
        hits.sort_by(|a, b| {
            (a.rule, a.range.start, b.range.end).cmp(&(b.rule, b.range.start, a.range.end))
        });
        let mut kept: Vec<RawHit> = Vec::with_capacity(hits.len());
        for hit in hits {
            match kept.last() {
                Some(last) if last.rule == hit.rule && hit.range.start < last.range.end => {}
                _ => kept.push(hit),
            }
        }
        kept
    }
}

fn pii_rule(detector: Detector, action: Action, id: String) -> Rule {
    Rule {
        id,
        label: detector.name().to_owned(),
        action,
        describe: detector.describe(),
    }
}

/// Deny rule names appear in rule ids, in 400 messages and inside placeholders.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
