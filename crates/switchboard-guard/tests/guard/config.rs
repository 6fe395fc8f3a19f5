use switchboard_guard::{Action, DenyRule, Detector, GuardConfig, PiiRule};

#[test]
fn the_gateway_config_embeds_the_guard_in_toml() {
    let cfg: GuardConfig = toml::from_str(
        r#"
        max_input_tokens = 32000
        check_output = true
        pii = [
            { detector = "email", action = "redact" },
            { detector = "card_number", action = "block" },
            { detector = "national_id", action = "flag" },
        ]
        deny = [{ name = "competitors", pattern = '(?i)\bacme corp\b', action = "flag" }]
        "#,
    )
    .unwrap();
    assert_eq!(
        cfg,
        GuardConfig {
            pii: vec![
                PiiRule {
                    detector: Detector::Email,
                    action: Action::Redact
                },
                PiiRule {
                    detector: Detector::CardNumber,
                    action: Action::Block
                },
                PiiRule {
                    detector: Detector::NationalId,
                    action: Action::Flag
                },
            ],
            deny: vec![DenyRule {
                name: "competitors".into(),
                pattern: r"(?i)\bacme corp\b".into(),
                action: Action::Flag,
            }],
            max_input_tokens: Some(32000),
            check_output: true,
        }
    );
}

#[test]
fn an_absent_guard_section_guards_nothing() {
    let cfg: GuardConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, GuardConfig::default());
}

#[test]
fn unknown_detectors_actions_and_fields_are_rejected() {
    for bad in [
        r#"{"pii": [{"detector": "iban", "action": "block"}]}"#,
        r#"{"pii": [{"detector": "email", "action": "mask"}]}"#,
        r#"{"pii": [{"detector": "email"}]}"#,
        r#"{"max_tokens": 5}"#,
    ] {
        assert!(serde_json::from_str::<GuardConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn detector_names_match_their_config_spelling() {
    for d in Detector::ALL {
        assert_eq!(serde_json::to_value(d).unwrap(), d.name());
    }
}
