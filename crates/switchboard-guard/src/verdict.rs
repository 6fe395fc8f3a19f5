//! [`Verdict`]: the guard's decision on a whole request or answer.
//!
//! The gateway does the HTTP: on [`Verdict::Block`] it answers 400 with the message (for
//! a request) and records the findings either way. The blocking rule is the first in
//! rule order that blocked: `max_input_tokens`, then the `pii` rules in configured
//! order, then the `deny` rules in configured order. Messages name the rule and the kind
//! of data, never the matched text: they go back to clients and into logs.

use crate::config::Action;
use crate::guard::Guard;
use crate::scan::{Finding, Tally};

/// The rule id of the input token cap.
pub const MAX_INPUT_TOKENS: &str = "max_input_tokens";

/// The guard's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead, with any redactions already applied. `findings` holds the flags and
    /// redactions, for the audit record.
    Allow { findings: Vec<Finding> },
    /// Refuse: `rule` is the id of the first blocking rule and `message` says why in
    /// words fit for the client. `findings` holds everything found, blocking or not.
    Block {
        rule: String,
        message: String,
        findings: Vec<Finding>,
    },
}

impl Verdict {
    pub fn is_blocked(&self) -> bool {
        matches!(self, Verdict::Block { .. })
    }

    /// Everything found, whatever the decision.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Allow { findings } | Verdict::Block { findings, .. } => findings,
        }
    }

    /// The id of the blocking rule, if blocked.
    pub fn blocking_rule(&self) -> Option<&str> {
        match self {
            Verdict::Allow { .. } => None,
            Verdict::Block { rule, .. } => Some(rule),
        }
    }

    pub(crate) fn allow() -> Self {
        Verdict::Allow {
            findings: Vec::new(),
        }
    }
}

/// Which way the checked text was going; only the wording of messages differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

impl Side {
    fn noun(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }
}

impl Guard {
    /// Blocks if the cap on input tokens is exceeded (more than the cap; equal passes).
    pub(crate) fn check_input_tokens(&self, input_tokens: u64) -> Option<Verdict> {
        let max = self.max_input_tokens?;
        (input_tokens > max).then(|| Verdict::Block {
            rule: MAX_INPUT_TOKENS.to_owned(),
            message: format!(
                "the request was blocked by guardrail {MAX_INPUT_TOKENS}: it has {input_tokens} \
                 input tokens, more than the limit of {max}"
            ),
            findings: vec![Finding {
                rule: MAX_INPUT_TOKENS.to_owned(),
                action: Action::Block,
                count: 1,
            }],
        })
    }

    /// The verdict on everything counted in `tally`.
    pub(crate) fn decide(&self, tally: &Tally, side: Side) -> Verdict {
        let findings = tally.findings(self);
        let blocking = findings
            .iter()
            .find(|f| f.action == Action::Block)
            .and_then(|f| self.rules.iter().find(|r| r.id == f.rule));
        match blocking {
            None => Verdict::Allow { findings },
            Some(rule) => Verdict::Block {
                rule: rule.id.clone(),
                message: format!(
                    "the {} was blocked by guardrail {}: it contains {}",
                    side.noun(),
                    rule.id,
                    rule.describe
                ),
                findings,
            },
        }
    }
}
