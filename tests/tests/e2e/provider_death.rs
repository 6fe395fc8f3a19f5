//! The issue's "done when": killing a provider changes nothing the app sees except
//! latency, as long as another deployment can serve.

use mock_provider::{MockConfig, MockServer};
use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A};

fn ask() -> Value {
    json!({"model": "resilient", "max_tokens": 5, "messages": [{"role": "user", "content": "still there?"}]})
}

/// The answer as the app reads it: everything but the served model's name and the id.
fn app_view(body: &Value) -> Value {
    json!({
        "object": body["object"],
        "choices": body["choices"],
        "usage": body["usage"],
    })
}

#[tokio::test]
async fn a_provider_that_dies_changes_nothing_the_app_sees_but_latency() {
    // The primary deployment lives on its own mock-llm process, which the test kills.
    let doomed = MockServer::start(MockConfig::default()).await.unwrap();
    let toml = format!(
        r#"
[providers.doomed]
kind = "openai-compatible"
base_url = "{}/v1"
api_key = "k"

[models.resilient]
deployments = [{{ provider = "doomed", model = "first-model" }}, {{ provider = "mock-openai", model = "second-model" }}]
breaker = {{ consecutive_failures = 3, cooldown = "1h" }}
"#,
        doomed.url()
    );
    let h = Harness::builder().with_toml(&toml).start().await;

    let healthy = h.post("/v1/chat/completions", KEY_A, ask()).await;
    assert_eq!(healthy.status, 200, "{}", healthy.text());
    assert_eq!(
        healthy.header("x-switchboard-upstream-model"),
        Some("first-model")
    );
    assert_eq!(doomed.calls_for_model("first-model"), 1);
    let expected = app_view(&healthy.json());
    assert!(
        expected["choices"][0]["message"]["content"].is_string(),
        "{expected}"
    );

    // The provider dies: its port refuses connections from now on.
    let addr = doomed.addr();
    doomed.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the dead provider refuses connections"
    );

    // Until its breaker opens, each call tries it first, fails at connect and fails over
    // at once; the app gets the same answer from the other deployment.
    let mut failed_over = None;
    for _ in 0..3 {
        let r = h.post("/v1/chat/completions", KEY_A, ask()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("x-switchboard-upstream-model"),
            Some("second-model")
        );
        assert_eq!(r.header("x-switchboard-attempts"), Some("2"));
        assert_eq!(app_view(&r.json()), expected);
        failed_over = r.header("x-request-id").map(str::to_owned);
    }
    let record = h.audit_record(&failed_over.unwrap()).await;
    assert_eq!(
        record.route_log,
        [
            "doomed/first-model: connect",
            "mock-openai/second-model: ok"
        ]
    );
    let breaker = &h.gw().health.get("doomed/first-model").unwrap().breaker;
    breaker.sync().await.unwrap();

    // Then the dead deployment is skipped without an attempt.
    let mut last = None;
    for _ in 0..3 {
        let r = h.post("/v1/chat/completions", KEY_A, ask()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-switchboard-attempts"), Some("1"));
        assert_eq!(app_view(&r.json()), expected);
        last = r.header("x-request-id").map(str::to_owned);
    }
    assert_eq!(h.mock.calls_for_model("second-model"), 6);
    let record = h.audit_record(&last.unwrap()).await;
    assert_eq!(
        record.route_log,
        [
            "doomed/first-model: breaker open",
            "mock-openai/second-model: ok"
        ]
    );
}
