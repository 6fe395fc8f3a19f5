//! The guard's one error type: a configuration that cannot be compiled.
//!
//! Checking text never fails; only [`crate::Guard::compile`] does, at start-up or on a
//! configuration reload, where the operator can read which rule is wrong.

/// Why a [`crate::GuardConfig`] was rejected. Each variant names the rule at fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GuardError {
    /// A deny rule's pattern is not a valid regex (or compiles too large).
    #[error("deny rule `{rule}`: invalid regex: {error}")]
    InvalidPattern { rule: String, error: regex::Error },
    /// A deny rule's name cannot be used in rule ids and placeholders.
    #[error("deny rule name `{name}` must be 1 to 64 characters of A-Z, a-z, 0-9, `_`, `-`, `.`")]
    InvalidRuleName { name: String },
    /// A detector or a deny rule name appears twice; findings would be ambiguous.
    #[error("rule `{rule}` is configured more than once")]
    DuplicateRule { rule: String },
    /// A built-in pattern does not compile. A bug, caught by the crate's own tests.
    #[error("built-in pattern of rule `{rule}` does not compile: {error}")]
    Builtin { rule: String, error: regex::Error },
    /// The patterns compile one by one but not together into the guard's regex set.
    #[error("the guard's patterns together are too large to compile: {error}")]
    TooLarge { error: regex::Error },
}

impl GuardError {
    /// A low-cardinality label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            GuardError::InvalidPattern { .. } => "invalid_pattern",
            GuardError::InvalidRuleName { .. } => "invalid_rule_name",
            GuardError::DuplicateRule { .. } => "duplicate_rule",
            GuardError::Builtin { .. } => "builtin",
            GuardError::TooLarge { .. } => "too_large",
        }
    }
}
