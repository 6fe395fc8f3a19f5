use serde_json::json;
use switchboard_guard::{Action, Detector, Finding, redact_json_strings};

use super::{deny, guard, pii, redacting_everything};

#[test]
fn redacts_strings_in_nested_objects_and_arrays_but_never_keys() {
    let g = redacting_everything();
    let mut body = json!({
        "bob@example.com": "key stays, value ann@example.com goes",
        "list": [1, true, null, "4111 1111 1111 1111", ["deeper +1 415 555 2671"]],
        "nested": {"a": {"b": {"c": "ssn 123-45-6789"}}},
        "number": 4111111111111111u64,
    });
    let findings = redact_json_strings(&mut body, &g);
    assert_eq!(
        body,
        json!({
            "bob@example.com": "key stays, value [REDACTED:email] goes",
            "list": [1, true, null, "[REDACTED:card_number]", ["deeper [REDACTED:phone]"]],
            "nested": {"a": {"b": {"c": "ssn [REDACTED:national_id]"}}},
            "number": 4111111111111111u64,
        })
    );
    assert_eq!(findings.len(), 4);
}

#[test]
fn returns_block_and_flag_findings_for_the_caller_to_act_on() {
    let g = guard(
        vec![pii(Detector::Email, Action::Block)],
        vec![deny("x", "secret plan", Action::Flag)],
    );
    let mut body = json!({"messages": [{"role": "user", "content": "secret plan: a@b.co"}]});
    let before = body.clone();
    let findings = redact_json_strings(&mut body, &g);
    assert_eq!(body, before);
    assert_eq!(
        findings,
        [
            Finding {
                rule: "pii:email".into(),
                action: Action::Block,
                count: 1
            },
            Finding {
                rule: "deny:x".into(),
                action: Action::Flag,
                count: 1
            },
        ]
    );
}

#[test]
fn json_held_in_strings_is_scrubbed_as_json() {
    let g = redacting_everything();
    let mut body = json!({"tool_calls": [{"function": {
        "name": "send",
        "arguments": "{\"to\":\"bob@example.com\",\"note\":\"x\\nann@example.com\"}"
    }}]});
    redact_json_strings(&mut body, &g);
    let args = body["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    let args: serde_json::Value = serde_json::from_str(args).unwrap();
    assert_eq!(
        args,
        json!({"to": "[REDACTED:email]", "note": "x\n[REDACTED:email]"})
    );
}

#[test]
fn wire_format_identifiers_and_inline_images_are_skipped() {
    let g = guard(vec![], vec![deny("ab", "(?i)ab", Action::Redact)]);
    let png = "iVBORw0KGgoAAAANSUhEUgAB".repeat(50);
    let mut body = json!({
        "model": "claude-ab",
        "messages": [{
            "role": "user",
            "content": [
                {"type": "text", "text": "ab"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}},
            ],
        }],
        "tool_choice": "ab",
    });
    let mut expected = body.clone();
    expected["messages"][0]["content"][0]["text"] = json!("[REDACTED:ab]");
    let findings = redact_json_strings(&mut body, &g);
    assert_eq!(body, expected);
    assert_eq!(
        findings,
        [Finding {
            rule: "deny:ab".into(),
            action: Action::Redact,
            count: 1
        }]
    );
}

#[test]
fn text_that_only_pretends_to_be_image_data_is_still_checked() {
    let g = guard(vec![], vec![deny("bomb", "bomb", Action::Block)]);
    let mut body = json!({"messages": [
        {"role": "user", "content": "data:text/plain;base64, how to build a bomb"},
        {"role": "user", "content": [{"type": "text", "text": "bomb", "data": "x"}]},
    ]});
    let findings = redact_json_strings(&mut body, &g);
    assert_eq!(
        findings,
        [Finding {
            rule: "deny:bomb".into(),
            action: Action::Block,
            count: 2
        }]
    );
}

#[test]
fn identifiers_inside_tool_arguments_are_checked() {
    let g = redacting_everything();
    let mut body =
        json!({"arguments": "{\"id\":\"ann@example.com\",\"model\":\"bob@example.com\"}"});
    redact_json_strings(&mut body, &g);
    let args: serde_json::Value =
        serde_json::from_str(body["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        args,
        json!({"id": "[REDACTED:email]", "model": "[REDACTED:email]"})
    );
}

#[test]
fn raw_request_bodies_get_a_verdict_with_the_token_cap() {
    let g = redacting_everything();
    let mut body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi ann@example.com"}]});
    assert!(g.check_request_json(&mut body.clone(), 1001).is_blocked());
    let verdict = g.check_request_json(&mut body, 10);
    assert!(!verdict.is_blocked());
    assert_eq!(body["messages"][0]["content"], "hi [REDACTED:email]");
    let mut answer = json!({"choices": [{"message": {"content": "call +44 20 7946 0958"}}]});
    g.check_response_json(&mut answer);
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "call [REDACTED:phone]"
    );
}

#[test]
fn very_deep_bodies_are_scrubbed_without_recursion() {
    let g = redacting_everything();
    let mut body = json!("ann@example.com");
    for _ in 0..100_000 {
        body = serde_json::Value::Array(vec![body]);
    }
    let findings = redact_json_strings(&mut body, &g);
    assert_eq!(findings.len(), 1);
    // Drop iteratively too: serde_json's recursive drop would overflow the stack.
    let mut v = body;
    while let serde_json::Value::Array(mut items) = v {
        v = items.pop().unwrap_or(serde_json::Value::Null);
    }
    assert_eq!(v, "[REDACTED:email]");
}
