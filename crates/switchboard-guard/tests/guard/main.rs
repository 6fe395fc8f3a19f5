//! The guard as the gateway uses it: actions, deny rules, the token cap, canonical
//! requests and answers, raw JSON bodies, and configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod config;
mod deny;
mod json;
mod request;

use switchboard_guard::{Action, DenyRule, Detector, Guard, GuardConfig, PiiRule};

fn pii(detector: Detector, action: Action) -> PiiRule {
    PiiRule { detector, action }
}

fn deny(name: &str, pattern: &str, action: Action) -> DenyRule {
    DenyRule {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
        action,
    }
}

fn guard(pii: Vec<PiiRule>, deny: Vec<DenyRule>) -> Guard {
    Guard::compile(&GuardConfig {
        pii,
        deny,
        ..GuardConfig::default()
    })
    .unwrap()
}

/// Redacts every detector, checks output too, flags a deny rule.
fn redacting_everything() -> Guard {
    Guard::compile(&GuardConfig {
        pii: Detector::ALL
            .iter()
            .map(|&d| pii(d, Action::Redact))
            .collect(),
        deny: vec![deny("project_x", r"(?i)project x\b", Action::Flag)],
        max_input_tokens: Some(1000),
        check_output: true,
    })
    .unwrap()
}

#[test]
fn a_guard_is_shared_across_request_tasks() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Guard>();
}

#[test]
fn only_a_guard_with_a_token_limit_needs_the_prompt_counted() {
    assert!(redacting_everything().limits_input_tokens());
    assert!(!guard(vec![pii(Detector::Email, Action::Redact)], vec![]).limits_input_tokens());
}
