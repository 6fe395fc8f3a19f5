//! Guardrails: PII redacted before it reaches the provider, blocked requests refused in
//! the caller's shape naming the rule, findings in the audit record.

use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A};

const GUARDED: &str = r#"
[[tenants]]
name = "acme"
capture = "prompts"
guardrails = { pii = [{ detector = "email", action = "redact" }, { detector = "card_number", action = "block" }, { detector = "phone", action = "flag" }], deny = [{ name = "codename", pattern = "(?i)project\\s+bluebird", action = "block" }], max_input_tokens = 200 }

[[keys]]
name = "lenient"
key = "sk-acme-lenient-01"
tenant = "acme"
guardrails = { pii = [{ detector = "email", action = "flag" }] }
"#;

fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn pii_is_redacted_before_it_reaches_any_provider() {
    let h = Harness::builder().with_toml(GUARDED).start().await;
    for model in ["gpt", "claude", "gemini"] {
        let r = h
            .post(
                "/v1/chat/completions",
                KEY_A,
                ask(model, "mail jane.doe@example.com the report"),
            )
            .await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let seen = String::from_utf8_lossy(&h.mock.requests().last().unwrap().body).into_owned();
        assert!(
            !seen.contains("jane.doe@example.com"),
            "{model}: the provider saw the address: {seen}"
        );
        assert!(seen.contains("[REDACTED:email]"), "{model}: {seen}");
        let record = h.audit_record(r.header("x-request-id").unwrap()).await;
        assert_eq!(record.guardrails, vec!["pii:email:redact"]);
        let prompt = record.prompt.unwrap().to_string();
        assert!(
            !prompt.contains("jane.doe@example.com"),
            "the audit log holds the redacted prompt: {prompt}"
        );
    }
    // The Anthropic API is guarded the same way.
    let r = h.post_anthropic(KEY_A, json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "write to jane.doe@example.com"}]})).await;
    assert_eq!(r.status, 200);
    assert!(
        !String::from_utf8_lossy(&h.mock.requests().last().unwrap().body)
            .contains("jane.doe@example.com")
    );
}

#[tokio::test]
async fn a_blocking_rule_refuses_the_call_in_the_callers_shape_naming_the_rule() {
    let h = Harness::builder().with_toml(GUARDED).start().await;
    let cases = [
        ("my card is 4111 1111 1111 1111", "pii:card_number"),
        ("status of Project Bluebird?", "deny:codename"),
        (&*"word ".repeat(400), "max_input_tokens"),
    ];
    for (text, rule) in cases {
        let r = h
            .post("/v1/chat/completions", KEY_A, ask("gpt", text))
            .await;
        assert_eq!(r.status, 400, "{rule}");
        let v = r.json();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(rule),
            "{rule}: {v}"
        );
        assert!(
            !v["error"]["message"].as_str().unwrap().contains("4111"),
            "the message never quotes the data"
        );
        let record = h.audit_record(r.header("x-request-id").unwrap()).await;
        assert_eq!(record.status, 400);
        assert!(
            record.guardrails.iter().any(|g| g.starts_with(rule)),
            "{:?}",
            record.guardrails
        );
    }
    let r = h.post_anthropic(KEY_A, json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "Project Bluebird"}]})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["type"],
        "invalid_request_error",
        "in Anthropic's shape"
    );
    assert_eq!(h.mock.calls(), 0, "nothing blocked reached the provider");
}

#[tokio::test]
async fn a_flag_lets_the_text_through_and_records_the_finding() {
    let h = Harness::builder().with_toml(GUARDED).start().await;
    let r = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            ask("gpt", "call me on +44 20 7946 0958 tomorrow"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        String::from_utf8_lossy(&h.mock.requests().last().unwrap().body)
            .contains("+44 20 7946 0958")
    );
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(record.guardrails, vec!["pii:phone:flag"]);
}

#[tokio::test]
async fn a_keys_own_guardrails_replace_its_tenants() {
    let h = Harness::builder().with_toml(GUARDED).start().await;
    let r = h
        .post(
            "/v1/chat/completions",
            "sk-acme-lenient-01",
            ask("gpt", "mail jane.doe@example.com and Project Bluebird"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = String::from_utf8_lossy(&h.mock.requests().last().unwrap().body).into_owned();
    assert!(
        seen.contains("jane.doe@example.com"),
        "flagged, not redacted, for this key"
    );
}

#[tokio::test]
async fn guardrails_set_through_the_admin_api_apply_to_the_next_request() {
    let h = Harness::start().await;
    let body = json!({"guardrails": {"deny": [{"name": "secret-word", "pattern": "xyzzy", "action": "block"}]}});
    assert_eq!(
        h.admin("PUT", "/admin/tenants/acme", Some(body))
            .await
            .status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt", "say xyzzy"))
            .await
            .status,
        400
    );
    let bad = json!({"guardrails": {"deny": [{"name": "broken", "pattern": "(unclosed", "action": "block"}]}});
    let r = h.admin("PUT", "/admin/tenants/acme", Some(bad)).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("broken"), "{}", r.text());
}
