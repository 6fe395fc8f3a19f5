//! Properties of detection and redaction over generated text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::LazyLock;

use proptest::prelude::*;
use regex::Regex;
use serde_json::Value;
use switchboard_guard::{
    Action, DenyRule, Detector, Guard, GuardConfig, PiiRule, redact_json_strings,
};

/// Every detector and a deny rule, all redacting.
static REDACTING: LazyLock<Guard> = LazyLock::new(|| compile_all(Action::Redact));
/// The same rules, all flagging.
static FLAGGING: LazyLock<Guard> = LazyLock::new(|| compile_all(Action::Flag));
static CARDS: LazyLock<Guard> = LazyLock::new(|| {
    Guard::compile(&GuardConfig {
        pii: vec![PiiRule {
            detector: Detector::CardNumber,
            action: Action::Flag,
        }],
        ..GuardConfig::default()
    })
    .unwrap()
});
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[REDACTED:[^\]]*\]").unwrap());

fn compile_all(action: Action) -> Guard {
    Guard::compile(&GuardConfig {
        pii: Detector::ALL
            .iter()
            .map(|&detector| PiiRule { detector, action })
            .collect(),
        deny: vec![DenyRule {
            name: "codename".into(),
            pattern: "(?i)bluebird[0-9]*".into(),
            action,
        }],
        check_output: true,
        ..GuardConfig::default()
    })
    .unwrap()
}

/// The Luhn check digit for `body`, computed independently of the crate.
fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Card digits as people write them: groups of 4, a short tail folded into the last group.
fn grouped(digits: &str, sep: &str) -> String {
    let mut groups: Vec<String> = digits
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    if groups.len() > 1 && groups.last().is_some_and(|g| g.len() < 3) {
        let tail = groups.pop().unwrap();
        groups.last_mut().unwrap().push_str(&tail);
    }
    groups.join(sep)
}

/// A Luhn-valid card number from a known issuer range, 13 to `max_len` digits, ungrouped
/// or grouped with spaces or dashes.
fn card(max_len: usize) -> impl Strategy<Value = String> {
    let prefixes = [
        "4", "51", "55", "34", "37", "35", "6011", "65", "2221", "2720", "2200",
    ];
    (
        prop::sample::select(prefixes.to_vec()),
        13..=max_len,
        prop::collection::vec(0u8..10, 19),
        0..3usize,
    )
        .prop_map(|(prefix, len, random, style)| {
            let mut body: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
            body.extend(random.iter().take(len - 1 - body.len()));
            body.push(check_digit(&body));
            let digits: String = body.iter().map(|d| char::from(b'0' + d)).collect();
            match style {
                0 => digits,
                1 => grouped(&digits, " "),
                _ => grouped(&digits, "-"),
            }
        })
}

/// Printable ASCII around a card, with a delimiter people put next to a number.
fn around() -> impl Strategy<Value = (String, String)> {
    let left = prop::sample::select(vec!["\n", ": ", " card ", "=", "\t"]);
    let right = prop::sample::select(vec!["\n", ", ", " exp ", ";", "!"]);
    ("[ -~]{0,40}", left, right, "[ -~]{0,40}")
        .prop_map(|(pre, l, r, post)| (format!("{pre}{l}"), format!("{r}{post}")))
}

/// Text mixing sensitive values, near misses, arbitrary Unicode and separators, glued
/// together in every way, including with no separator at all.
fn mixed_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        "[a-z]{1,8}(\\.[a-z0-9]{1,5})?@[a-z]{2,8}\\.(com|org|io|co\\.uk)",
        "\\+1 [2-9][0-9]{2} [0-9]{3} [0-9]{4}",
        "\\([2-9][0-9]{2}\\) [0-9]{3}-[0-9]{4}",
        "0[1-9][0-9] [0-9]{4} [0-9]{4}",
        card(19),
        "[1-5][0-9]{2}-[1-9][0-9]-[1-9][0-9]{3}",
        "[ACEH][ACEH] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        "AKIA[0-9A-Z]{16}",
        "sk-[a-z]{4}[A-Z]{4}[0-9]{4}[A-Za-z0-9]{20}",
        "(?i)bluebird[0-9]{0,3}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]( [0-2][0-9]:[0-5][0-9])?",
        "[0-9]{1,3}(\\.[0-9]{1,4}){1,4}",
        "[0-9 .()+-]{0,16}",
        "[ -~]{0,16}",
        "\\PC{0,8}",
    ];
    let sep = prop::sample::select(vec!["", " ", "-", ".", "\n", ", ", "(", "+"]);
    prop::collection::vec((fragment, sep), 0..10)
        .prop_map(|parts| parts.into_iter().map(|(f, s)| format!("{f}{s}")).collect())
}

/// `text` with each merged hit span replaced by `\0`, and `redacted` with each
/// placeholder replaced by `\0`: equal if redaction replaced the hits and nothing else.
fn masked(text: &str, guard: &Guard) -> (String, String) {
    let scan = guard.scan(text);
    let mut spans: Vec<_> = scan.hits.iter().map(|h| h.range.clone()).collect();
    spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut expected = String::new();
    let mut at = 0;
    for span in spans {
        if span.start >= at {
            expected.push_str(&text[at..span.start]);
            expected.push('\0');
        }
        at = at.max(span.end);
    }
    expected.push_str(&text[at..]);
    let redacted = scan.redacted.unwrap_or_else(|| text.to_owned());
    (
        expected,
        PLACEHOLDER.replace_all(&redacted, "\0").into_owned(),
    )
}

proptest! {
    #[test]
    fn luhn_valid_card_numbers_in_random_text_are_found(card in card(19), (pre, post) in around()) {
        let text = format!("{pre}{card}{post}");
        let span = pre.len()..pre.len() + card.len();
        let scan = CARDS.scan(&text);
        prop_assert!(scan.hits.iter().any(|h| h.range == span), "{card:?} not found in {text:?}: {:?}", scan.hits);
    }

    #[test]
    fn card_numbers_with_one_digit_changed_are_not_found(
        card in card(16), (pre, post) in around(), pick in any::<prop::sample::Index>(), delta in 1u8..10,
    ) {
        let positions: Vec<usize> = card.bytes().enumerate().filter(|(_, b)| b.is_ascii_digit()).map(|(i, _)| i).collect();
        let i = positions[pick.index(positions.len())];
        let mut bytes = card.into_bytes();
        bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
        let card = String::from_utf8(bytes).unwrap();
        let text = format!("{pre}{card}{post}");
        let span = pre.len()..pre.len() + card.len();
        let scan = CARDS.scan(&text);
        prop_assert!(scan.hits.iter().all(|h| h.range.end <= span.start || h.range.start >= span.end), "{card:?} found in {text:?}");
    }

    #[test]
    fn redaction_replaces_every_hit_and_nothing_else(text in mixed_text()) {
        let (expected, actual) = masked(&text, &REDACTING);
        prop_assert_eq!(expected, actual, "text: {:?}", text);
    }

    #[test]
    fn redaction_is_idempotent(text in mixed_text()) {
        let once = REDACTING.scan(&text).redacted.unwrap_or(text);
        let again = REDACTING.scan(&once);
        prop_assert_eq!(again.redacted, None, "redacted once: {:?}", once);
        prop_assert!(again.hits.is_empty(), "redacted once: {:?}, hits again: {:?}", once, again.hits);
    }

    #[test]
    fn text_without_hits_is_returned_byte_for_byte(text in "([ -~]|\\PC){0,80}") {
        let scan = REDACTING.scan(&text);
        if scan.hits.is_empty() {
            prop_assert_eq!(scan.redacted, None);
            let mut same = text.clone();
            REDACTING.check_text(&mut same);
            prop_assert_eq!(same, text);
        }
    }

    #[test]
    fn flagging_never_changes_text(text in mixed_text()) {
        let mut checked = text.clone();
        let verdict = FLAGGING.check_text(&mut checked);
        prop_assert!(!verdict.is_blocked());
        prop_assert_eq!(checked, text);
    }

    #[test]
    fn json_redaction_keeps_keys_and_shape(texts in prop::collection::vec(mixed_text(), 1..6)) {
        let mut body = Value::Object(
            texts.iter().enumerate().map(|(i, t)| {
                let v = if i % 2 == 0 { Value::String(t.clone()) } else { serde_json::json!([i, {"k": t}]) };
                (format!("{i}:{t}"), v)
            }).collect(),
        );
        let before = body.clone();
        redact_json_strings(&mut body, &REDACTING);
        prop_assert_eq!(shape(&body), shape(&before));
    }
}

/// A value's structure: keys, array lengths and non-string leaves, strings blanked.
fn shape(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::String(String::new()),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        other => other.clone(),
    }
}

/// Found by fuzzing: each redaction uncovered the phone number beside it, so three passes
/// left the first one in clear and redacting again found it.
#[test]
fn a_chain_of_fragments_each_uncovered_by_the_last_redaction_is_redacted_completely() {
    let text = "315 4111 11:1 111111 11:1 1111 1111 1@b.co";
    let once = REDACTING.scan(text).redacted.unwrap();
    let again = REDACTING.scan(&once);
    assert!(
        again.hits.is_empty(),
        "{once:?} still holds {:?}",
        again.hits
    );
    assert!(!once.contains("4111"), "{once:?}");
    // A longer chain than the searches allow goes whole.
    let long = format!("315 4111 11{} 1@b.co", ":1 111111 11".repeat(12));
    let once = REDACTING.scan(&long).redacted.unwrap();
    assert!(!once.chars().any(|c| c.is_ascii_digit()), "{once:?}");
    assert!(REDACTING.scan(&once).hits.is_empty(), "{once:?}");
}
