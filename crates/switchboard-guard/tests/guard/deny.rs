use switchboard_guard::{Action, Detector, Guard, GuardConfig, GuardError};

use super::{deny, guard, pii};

#[test]
fn deny_patterns_are_regexes_checked_after_the_detectors() {
    let g = guard(
        vec![pii(Detector::Email, Action::Block)],
        vec![
            deny("competitor", r"(?i)\bacme\s+corp\b", Action::Block),
            deny("internal", r"\bINT-[0-9]{4}\b", Action::Redact),
        ],
    );
    let scan = g.scan("Compare with ACME  Corp for INT-2024 and INT-7.");
    assert_eq!(
        scan.redacted.as_deref(),
        Some("Compare with ACME  Corp for [REDACTED:internal] and INT-7.")
    );
    assert_eq!(
        scan.blocked_by().map(|f| f.rule.as_str()),
        Some("deny:competitor")
    );
    let scan = g.scan("acme corp: bob@acme.example");
    assert_eq!(
        scan.blocked_by().map(|f| f.rule.as_str()),
        Some("pii:email")
    );
}

#[test]
fn deny_rules_block_unless_configured_otherwise() {
    let cfg: GuardConfig =
        serde_json::from_str(r#"{"deny": [{"name": "x", "pattern": "forbidden"}]}"#).unwrap();
    assert_eq!(cfg.deny[0].action, Action::Block);
}

#[test]
fn empty_matches_of_a_deny_pattern_are_ignored() {
    let g = guard(vec![], vec![deny("maybe", "a*", Action::Redact)]);
    assert_eq!(
        g.scan("bcd aa").redacted.as_deref(),
        Some("bcd [REDACTED:maybe]")
    );
}

#[test]
fn a_bad_regex_is_a_compile_error_naming_the_rule() {
    let cfg = GuardConfig {
        deny: vec![
            deny("ok", "fine", Action::Block),
            deny("broken", "(unclosed", Action::Block),
        ],
        ..GuardConfig::default()
    };
    let err = Guard::compile(&cfg).unwrap_err();
    assert!(
        matches!(&err, GuardError::InvalidPattern { rule, .. } if rule == "broken"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("deny rule `broken`: invalid regex"),
        "{err}"
    );
    assert_eq!(err.label(), "invalid_pattern");
}

#[test]
fn a_pattern_too_large_to_compile_is_rejected() {
    let cfg = GuardConfig {
        deny: vec![deny("huge", r"\w{1000}\w{1000}\w{1000}", Action::Block)],
        ..GuardConfig::default()
    };
    let err = Guard::compile(&cfg).unwrap_err();
    assert!(
        matches!(&err, GuardError::InvalidPattern { rule, .. } if rule == "huge"),
        "{err:?}"
    );
}

#[test]
fn rule_names_must_fit_ids_and_placeholders() {
    for name in ["", "has space", "brackets]", "semi;colon", &"x".repeat(65)] {
        let cfg = GuardConfig {
            deny: vec![deny(name, "x", Action::Block)],
            ..GuardConfig::default()
        };
        let err = Guard::compile(&cfg).unwrap_err();
        assert!(
            matches!(&err, GuardError::InvalidRuleName { name: n } if n == name),
            "{err:?}"
        );
    }
}

#[test]
fn a_rule_configured_twice_is_rejected() {
    let twice_pii = GuardConfig {
        pii: vec![
            pii(Detector::Email, Action::Flag),
            pii(Detector::Email, Action::Block),
        ],
        ..GuardConfig::default()
    };
    let err = Guard::compile(&twice_pii).unwrap_err();
    assert!(
        matches!(&err, GuardError::DuplicateRule { rule } if rule == "pii:email"),
        "{err:?}"
    );
    let twice_deny = GuardConfig {
        deny: vec![deny("x", "a", Action::Flag), deny("x", "b", Action::Block)],
        ..GuardConfig::default()
    };
    let err = Guard::compile(&twice_deny).unwrap_err();
    assert!(
        matches!(&err, GuardError::DuplicateRule { rule } if rule == "deny:x"),
        "{err:?}"
    );
}
