//! Provider keys never reach a client, even when a provider quotes them back in its error
//! (the mock's `echo-auth` fault): every status, every upstream kind, both client APIs,
//! streamed or not.

use mock_provider::FaultRule;
use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A};

/// Every provider key and secret header value of the harness config.
const SECRETS: [&str; 4] = [
    "sk-provider-openai-secret",
    "azure-provider-secret",
    "sk-ant-provider-secret",
    "gemini-provider-secret",
];

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "hello"}]})
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[tokio::test]
async fn a_provider_that_echoes_its_key_in_an_error_never_gets_it_to_the_client() {
    let h = Harness::builder()
        .configure(|c| {
            // One attempt, breakers that never open: every call reaches the provider and
            // gets its echo back, rather than a retry's or a breaker's own error.
            for model in c.models.values_mut() {
                model.retry.max_attempts = 1;
                model.breaker.consecutive_failures = 1000;
                model.breaker.min_requests = 1000;
            }
        })
        .start()
        .await;
    let mut echoed = 0;
    for status in [400, 401, 403, 404, 422, 429, 500, 503] {
        h.mock
            .add_fault(FaultRule::new(format!("echo-auth={status}")));
        for alias in ["gpt", "azure-gpt", "claude", "gemini"] {
            for stream in [false, true] {
                let what = format!("{alias} (stream: {stream}) answered {status}");
                let r = h
                    .post("/v1/chat/completions", KEY_A, chat(alias, stream))
                    .await;
                assert!(r.status.as_u16() >= 400, "{what}: {}", r.text());
                assert_no_secret(&what, &r.text());
                assert_no_secret(&what, &format!("{:?}", r.headers));
                // The provider's message is passed on for a request it rejected (400,
                // 404, 422): the echo reached the client, masked.
                if r.text().contains("credentials received") {
                    echoed += 1;
                    assert!(r.text().contains("***"), "{what}: {}", r.text());
                }
            }
            let r = h.post_anthropic(KEY_A, chat(alias, false)).await;
            assert!(r.status.as_u16() >= 400, "{}", r.text());
            assert_no_secret(
                &format!("/v1/messages to {alias} answered {status}"),
                &r.text(),
            );
        }
        h.mock.clear_faults();
    }
    assert!(
        echoed > 0,
        "no provider message was passed on, so masking was never exercised"
    );
    // Every call above reached the provider with its key, so there was a key to leak.
    let requests = h.mock.requests();
    assert!(
        requests
            .iter()
            .any(|r| format!("{:?}", r.headers).contains(SECRETS[0])),
        "the OpenAI-compatible provider's key was sent upstream"
    );
}
