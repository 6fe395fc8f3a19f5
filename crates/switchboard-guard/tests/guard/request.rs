use switchboard_guard::{Action, Detector, Finding, Verdict};
use switchboard_proto::chat::{
    ChatRequest, ChatResponse, Choice, FinishReason, Image, Message, Part, Role, ToolCall,
};

use super::redacting_everything;

pub(crate) fn user_request(text: &str) -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![Message::text(Role::User, text)],
        ..ChatRequest::default()
    }
}

fn call(arguments: &str) -> ToolCall {
    ToolCall {
        id: "call_1".into(),
        name: "send_mail".into(),
        arguments: arguments.into(),
    }
}

fn conversation() -> ChatRequest {
    let image = Image::Url {
        url: "https://img.example.com/a@b.co.png".into(),
        detail: None,
    };
    let mut assistant = Message::text(Role::Assistant, "Sending to bob@example.com now.");
    assistant.tool_calls = vec![call(
        r#"{"to":"bob@example.com","note":"line\nann@example.com"}"#,
    )];
    let mut tool = Message::text(Role::Tool, "sent to bob@example.com");
    tool.tool_call_id = Some("call_1".into());
    ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![
            Message::text(
                Role::System,
                "Support for acme. Escalate to ops@example.com.",
            ),
            Message::new(
                Role::User,
                vec![
                    Part::Text("Mail bob@example.com my card 4111 1111 1111 1111".into()),
                    Part::Image(image.clone()),
                ],
            ),
            assistant,
            tool,
        ],
        ..ChatRequest::default()
    }
}

#[test]
fn every_text_part_and_tool_call_argument_is_checked() {
    let g = redacting_everything();
    let mut req = conversation();
    let verdict = g.check_request(&mut req, 100);
    assert_eq!(
        verdict,
        Verdict::Allow {
            findings: vec![
                Finding {
                    rule: "pii:email".into(),
                    action: Action::Redact,
                    count: 6
                },
                Finding {
                    rule: "pii:card_number".into(),
                    action: Action::Redact,
                    count: 1
                },
            ]
        }
    );
    let texts: Vec<String> = req.messages.iter().map(Message::joined_text).collect();
    assert_eq!(
        texts,
        [
            "Support for acme. Escalate to [REDACTED:email].",
            "Mail [REDACTED:email] my card [REDACTED:card_number]",
            "Sending to [REDACTED:email] now.",
            "sent to [REDACTED:email]",
        ]
    );
    let args: serde_json::Value =
        serde_json::from_str(&req.messages[2].tool_calls[0].arguments).unwrap();
    assert_eq!(
        args,
        serde_json::json!({"to": "[REDACTED:email]", "note": "line\n[REDACTED:email]"})
    );
}

#[test]
fn images_are_left_alone() {
    let g = redacting_everything();
    let mut req = conversation();
    let before = req.messages[1].content[1].clone();
    g.check_request(&mut req, 100);
    assert_eq!(req.messages[1].content[1], before);
}

#[test]
fn tool_call_arguments_that_are_not_json_are_checked_as_text() {
    let g = redacting_everything();
    let mut req = user_request("hi");
    req.messages[0].tool_calls = vec![call("to bob@example.com, {broken")];
    g.check_request(&mut req, 1);
    assert_eq!(
        req.messages[0].tool_calls[0].arguments,
        "to [REDACTED:email], {broken"
    );
}

#[test]
fn tool_call_arguments_without_hits_keep_their_exact_text() {
    let g = redacting_everything();
    let mut req = user_request("hi");
    let args = "{ \"city\" : \"Paris\",\n  \"days\": 3 }";
    req.messages[0].tool_calls = vec![call(args)];
    g.check_request(&mut req, 1);
    assert_eq!(req.messages[0].tool_calls[0].arguments, args);
}

#[test]
fn max_input_tokens_blocks_above_the_cap_only() {
    let g = redacting_everything();
    let mut req = user_request("Mail bob@example.com");
    assert!(!g.check_request(&mut req.clone(), 1000).is_blocked());
    let verdict = g.check_request(&mut req, 1001);
    let Verdict::Block {
        rule,
        message,
        findings,
    } = verdict
    else {
        panic!("expected a block");
    };
    assert_eq!(rule, "max_input_tokens");
    assert_eq!(
        message,
        "the request was blocked by guardrail max_input_tokens: it has 1001 input tokens, \
         more than the limit of 1000"
    );
    assert_eq!(
        findings,
        [Finding {
            rule: rule.clone(),
            action: Action::Block,
            count: 1
        }]
    );
    assert_eq!(
        req.messages[0].joined_text(),
        "Mail bob@example.com",
        "not read once blocked"
    );
}

#[test]
fn a_blocked_request_names_the_rule_in_a_request_message() {
    let g = super::guard(vec![super::pii(Detector::Secret, Action::Block)], vec![]);
    let mut req = user_request("key AKIAIOSFODNN7EXAMPLE");
    let Verdict::Block { rule, message, .. } = g.check_request(&mut req, 5) else {
        panic!("expected a block");
    };
    assert_eq!(rule, "pii:secret");
    assert!(
        message.starts_with("the request was blocked by guardrail pii:secret: "),
        "{message}"
    );
}

#[test]
fn answers_are_checked_only_when_check_output_is_on() {
    let off = super::guard(vec![super::pii(Detector::Email, Action::Block)], vec![]);
    let mut text = "write to bob@example.com".to_owned();
    assert_eq!(
        off.check_text(&mut text),
        Verdict::Allow { findings: vec![] }
    );
    let on = redacting_everything();
    let verdict = on.check_text(&mut text);
    assert_eq!(text, "write to [REDACTED:email]");
    assert_eq!(verdict.findings().len(), 1);
}

#[test]
fn whole_answers_have_text_and_tool_calls_checked() {
    let g = redacting_everything();
    let mut choice = Choice::text(0, "Call 415-555-2671", FinishReason::ToolCalls);
    choice.tool_calls = vec![call(r#"{"to":"ann@example.com"}"#)];
    let mut resp = ChatResponse {
        id: "r1".into(),
        model: "gpt-4o".into(),
        created: 0,
        choices: vec![choice],
        usage: Default::default(),
    };
    let verdict = g.check_response(&mut resp);
    assert_eq!(
        resp.choices[0].text.as_deref(),
        Some("Call [REDACTED:phone]")
    );
    assert_eq!(
        resp.choices[0].tool_calls[0].arguments,
        r#"{"to":"[REDACTED:email]"}"#
    );
    assert_eq!(verdict.findings().len(), 2);
}
