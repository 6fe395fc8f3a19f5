//! The built-in detectors: what each finds, and the near misses it must leave alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod card_number;
mod email;
mod national_id;
mod phone;
mod secret;

use switchboard_guard::{Action, Detector, Guard, GuardConfig, PiiRule};

/// A guard with one detector that only flags, so texts are reported, never changed.
fn flagging(detector: Detector) -> Guard {
    Guard::compile(&GuardConfig {
        pii: vec![PiiRule {
            detector,
            action: Action::Flag,
        }],
        ..GuardConfig::default()
    })
    .unwrap()
}

/// The substrings of `text` the detector matches.
fn found(detector: Detector, text: &str) -> Vec<String> {
    let scan = flagging(detector).scan(text);
    assert!(scan.redacted.is_none(), "flagging never changes text");
    scan.hits
        .iter()
        .map(|h| text[h.range.clone()].to_owned())
        .collect()
}

/// Asserts that `needle` is found, exactly, inside `text`.
#[track_caller]
fn assert_finds(detector: Detector, text: &str, needle: &str) {
    let hits = found(detector, text);
    assert_eq!(hits, [needle], "{detector:?} in {text:?}");
}

/// Asserts that nothing is found in `text`.
#[track_caller]
fn assert_ignores(detector: Detector, text: &str) {
    let hits = found(detector, text);
    assert!(
        hits.is_empty(),
        "{detector:?} wrongly found {hits:?} in {text:?}"
    );
}

#[test]
fn every_built_in_pattern_compiles() {
    let all = GuardConfig {
        pii: Detector::ALL
            .iter()
            .map(|&detector| PiiRule {
                detector,
                action: Action::Redact,
            })
            .collect(),
        ..GuardConfig::default()
    };
    Guard::compile(&all).unwrap();
}
