use switchboard_guard::{Action, Detector, Finding, Guard, GuardConfig, Verdict};

use super::{deny, guard, pii};

fn finding(rule: &str, action: Action, count: usize) -> Finding {
    Finding {
        rule: rule.to_owned(),
        action,
        count,
    }
}

const TEXT: &str = "Mail jane@example.com or joe@example.org, card 4111 1111 1111 1111.";

#[test]
fn redact_replaces_each_match_and_counts_them() {
    let g = guard(vec![pii(Detector::Email, Action::Redact)], vec![]);
    let scan = g.scan(TEXT);
    assert_eq!(
        scan.redacted.as_deref(),
        Some("Mail [REDACTED:email] or [REDACTED:email], card 4111 1111 1111 1111.")
    );
    assert_eq!(scan.findings, [finding("pii:email", Action::Redact, 2)]);
    assert_eq!(scan.blocked_by(), None);
}

#[test]
fn placeholders_name_each_detector() {
    let g = guard(
        vec![
            pii(Detector::Email, Action::Redact),
            pii(Detector::CardNumber, Action::Redact),
        ],
        vec![],
    );
    assert_eq!(
        g.scan(TEXT).redacted.as_deref(),
        Some("Mail [REDACTED:email] or [REDACTED:email], card [REDACTED:card_number].")
    );
}

#[test]
fn flag_keeps_the_text_and_reports() {
    let g = guard(vec![pii(Detector::CardNumber, Action::Flag)], vec![]);
    let scan = g.scan(TEXT);
    assert_eq!(scan.redacted, None);
    assert_eq!(scan.findings, [finding("pii:card_number", Action::Flag, 1)]);
    assert_eq!(scan.hits.len(), 1);
    assert_eq!(&TEXT[scan.hits[0].range.clone()], "4111 1111 1111 1111");
}

#[test]
fn block_names_the_first_blocking_rule_in_configured_order() {
    let g = Guard::compile(&GuardConfig {
        pii: vec![
            pii(Detector::Email, Action::Flag),
            pii(Detector::Phone, Action::Redact),
            pii(Detector::CardNumber, Action::Block),
            pii(Detector::Secret, Action::Block),
        ],
        deny: vec![deny("cards", "(?i)card", Action::Block)],
        check_output: true,
        ..GuardConfig::default()
    })
    .unwrap();
    let mut text = format!("{TEXT} Call 415-555-2671.");
    let verdict = g.check_text(&mut text);
    let Verdict::Block {
        rule,
        message,
        findings,
    } = verdict
    else {
        panic!("expected a block, got {verdict:?}");
    };
    assert_eq!(rule, "pii:card_number");
    assert_eq!(
        message,
        "the response was blocked by guardrail pii:card_number: it contains a payment card number"
    );
    assert_eq!(
        findings,
        [
            finding("pii:email", Action::Flag, 2),
            finding("pii:phone", Action::Redact, 1),
            finding("pii:card_number", Action::Block, 1),
            finding("deny:cards", Action::Block, 1),
        ]
    );
    assert!(
        text.ends_with("Call [REDACTED:phone]."),
        "redacted even when blocked: {text}"
    );
}

#[test]
fn a_block_message_never_quotes_the_match() {
    let g = guard(
        vec![],
        vec![deny("codename", "Bluebird-[0-9]+", Action::Block)],
    );
    let mut req = super::request::user_request("status of Bluebird-42?");
    let verdict = g.check_request(&mut req, 10);
    assert_eq!(verdict.blocking_rule(), Some("deny:codename"));
    let Verdict::Block { message, .. } = verdict else {
        unreachable!()
    };
    assert!(message.contains("deny:codename"), "{message}");
    assert!(!message.contains("Bluebird"), "{message}");
}

#[test]
fn overlapping_matches_merge_into_one_placeholder() {
    let g = guard(
        vec![pii(Detector::Email, Action::Redact)],
        vec![deny("contact", r"contact: \S+", Action::Redact)],
    );
    let scan = g.scan("contact: ann@example.com, thanks");
    assert_eq!(
        scan.redacted.as_deref(),
        Some("[REDACTED:contact,email] thanks")
    );
    assert_eq!(
        scan.findings,
        [
            finding("pii:email", Action::Redact, 1),
            finding("deny:contact", Action::Redact, 1)
        ]
    );
}

#[test]
fn redacting_a_redacted_text_changes_nothing() {
    let g = super::redacting_everything();
    let once = g
        .scan("ann@example.com, +1 415 555 2671, 4111-1111-1111-1111, 123-45-6789, project X")
        .redacted
        .unwrap();
    let again = g.scan(&once);
    assert_eq!(again.redacted, None, "{once}");
    assert_eq!(again.findings, [finding("deny:project_x", Action::Flag, 1)]);
}

#[test]
fn the_guards_own_placeholders_are_not_matched_again_but_made_up_ones_are() {
    let g = guard(
        vec![pii(Detector::Email, Action::Redact)],
        vec![deny("bomb", "(?i)bomb|email", Action::Block)],
    );
    assert_eq!(g.scan("history: [REDACTED:email]").findings, []);
    let scan = g.scan("[REDACTED:how-to-build-a-bomb]");
    assert_eq!(
        scan.blocked_by().map(|f| f.rule.as_str()),
        Some("deny:bomb")
    );
}

#[test]
fn redaction_keeps_text_in_any_script_intact() {
    let g = guard(vec![pii(Detector::Email, Action::Redact)], vec![]);
    let scan = g.scan("Écrivez à zoe@example.fr — 李@例子.中国 ✓ ou à zoë@example.fr");
    assert_eq!(
        scan.redacted.as_deref(),
        Some("Écrivez à [REDACTED:email] — 李@例子.中国 ✓ ou à zoë@example.fr")
    );
}

#[test]
fn text_without_hits_is_not_copied() {
    let g = super::redacting_everything();
    let scan = g.scan("The meeting is on 2024-01-15 at 10:30 in room 4.12, version 1.2.3.4.");
    assert_eq!(scan, switchboard_guard::Scan::default());
}

#[test]
fn an_empty_guard_checks_nothing() {
    let g = Guard::compile(&GuardConfig::default()).unwrap();
    assert!(g.is_empty());
    assert!(!g.checks_output());
    assert_eq!(g.scan(TEXT).findings, []);
    let mut req = super::request::user_request(TEXT);
    assert_eq!(
        g.check_request(&mut req, u64::MAX),
        Verdict::Allow { findings: vec![] }
    );
}

#[test]
fn a_match_exposed_by_a_redaction_is_redacted_too() {
    let g = guard(
        vec![
            pii(Detector::Phone, Action::Redact),
            pii(Detector::Email, Action::Flag),
        ],
        vec![deny("codename", "(?i)bluebird[0-9]*", Action::Redact)],
    );
    let text = "Bluebird7+1 415 555 2671 via ann@example.com";
    let scan = g.scan(text);
    assert_eq!(
        scan.redacted.as_deref(),
        Some("[REDACTED:codename][REDACTED:phone] via ann@example.com")
    );
    let found: Vec<(&str, &str)> = scan
        .hits
        .iter()
        .map(|h| (h.rule.as_str(), &text[h.range.clone()]))
        .collect();
    assert_eq!(
        found,
        [
            ("pii:phone", "+1 415 555 2671"),
            ("pii:email", "ann@example.com"),
            ("deny:codename", "Bluebird7"),
        ]
    );
    assert_eq!(
        scan.findings,
        [
            finding("pii:phone", Action::Redact, 1),
            finding("pii:email", Action::Flag, 1),
            finding("deny:codename", Action::Redact, 1),
        ]
    );
}
