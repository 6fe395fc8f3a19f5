//! Output guardrails (`check_output = true`): every answer a checked caller gets is
//! checked, whether it came complete from a provider, as a stream, from the offline
//! provider or from the cache, and only checked answers are cached.
//!
//! The mock writes answers with words of its fixed vocabulary, so a deny rule on those
//! words matches every answer and never a prompt written without them.

use mock_provider::content::VOCABULARY;
use serde_json::{Value, json};
use switchboard_tests::config::CHAT_ALIASES;
use switchboard_tests::{Answer, Harness, KEY_A};

/// A key of tenant `acme` whose own guard blocks answers.
const BLOCKING: &str = "sk-acme-out-block-1";
/// A key of tenant `acme` whose own guard leaves answers alone.
const UNCHECKED: &str = "sk-acme-unchecked-1";
const REDACTED: &str = "[REDACTED:vocab]";

fn config() -> String {
    let words = VOCABULARY.join("|");
    format!(
        r#"
[models.cached-out]
deployments = [{{ provider = "mock-openai", model = "checked-cache" }}]
cache = {{ ttl = "1m" }}

[[tenants]]
name = "acme"
guardrails = {{ deny = [{{ name = "vocab", pattern = '\b({words})\b', action = "redact" }}, {{ name = "offline", pattern = "offline demo", action = "redact" }}], check_output = true }}

[[keys]]
name = "out-block"
key = "{BLOCKING}"
tenant = "acme"
guardrails = {{ deny = [{{ name = "vocab", pattern = '\b({words})\b', action = "block" }}], check_output = true }}

[[keys]]
name = "unchecked"
key = "{UNCHECKED}"
tenant = "acme"
guardrails = {{ deny = [{{ name = "vocab", pattern = '\b({words})\b', action = "redact" }}] }}
"#
    )
}

fn ask(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 4, "stream": stream, "messages": [{"role": "user", "content": text}]})
}

fn content(a: &Answer) -> String {
    a.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {}", a.text()))
        .to_owned()
}

fn has_vocabulary(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| VOCABULARY.contains(&w))
}

/// The text of an OpenAI stream's deltas, asserting it ended with `[DONE]`.
fn streamed_text(events: &[String]) -> String {
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap_or_else(|_| panic!("not JSON: {e}")))
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn a_complete_answer_is_redacted_or_blocked_naming_the_rule() {
    let h = Harness::builder().with_toml(&config()).start().await;
    let r = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            ask("gpt", "tell me something", false),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = content(&r);
    assert!(text.contains(REDACTED), "{text}");
    assert!(!has_vocabulary(&text), "an answer word got through: {text}");
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(record.guardrails, vec!["deny:vocab:redact"]);

    let r = h
        .post(
            "/v1/chat/completions",
            BLOCKING,
            ask("metered", "tell me something", false),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("deny:vocab"), "{message}");
    assert!(
        !has_vocabulary(&message),
        "the refusal never quotes the answer"
    );
    assert_eq!(h.mock.calls_for_model("mock-metered"), 1);
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(record.status, 400);
    assert_eq!(
        record.cost_nanos, 4_000,
        "the provider was paid for the refused answer: 4 output tokens"
    );
}

#[tokio::test]
async fn a_streamed_answer_is_fetched_whole_checked_and_replayed_as_a_stream() {
    let h = Harness::builder().with_toml(&config()).start().await;
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    // Passthrough (gpt) and translated upstreams alike are asked for the whole answer.
    for alias in CHAT_ALIASES {
        let mut s = h
            .stream(
                "/v1/chat/completions",
                &bearer,
                ask(alias, "tell me something", true),
            )
            .await;
        assert_eq!(s.status, 200, "{alias}");
        assert_eq!(s.headers["content-type"], "text/event-stream");
        let text = streamed_text(&s.rest().await);
        assert!(text.contains(REDACTED), "{alias}: {text}");
        assert!(
            !has_vocabulary(&text),
            "{alias}: a word got through: {text}"
        );
        let last = h.mock.requests().last().unwrap().clone();
        assert!(
            !last.path.contains("stream"),
            "{alias}: not a streaming route: {}",
            last.path
        );
        if let Ok(sent) = serde_json::from_slice::<Value>(&last.body) {
            assert_ne!(sent["stream"], json!(true), "{alias}: {sent}");
        }
    }
    // An Anthropic client's stream, passed through to an Anthropic upstream.
    let anthropic = [("x-api-key", KEY_A), ("anthropic-version", "2023-06-01")];
    let events = h
        .stream(
            "/v1/messages",
            &anthropic,
            ask("claude", "tell me something", true),
        )
        .await
        .rest()
        .await;
    let text: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert!(text.contains(REDACTED), "{events:?}");
    assert!(!has_vocabulary(&text), "a word got through: {text}");
    let sent: Value = serde_json::from_slice(&h.mock.requests().last().unwrap().body).unwrap();
    assert_eq!(sent["stream"], json!(false), "{sent}");

    // Nothing was streamed yet when the check refuses, so the refusal is a plain 400.
    let r = h
        .post(
            "/v1/chat/completions",
            BLOCKING,
            ask("gpt", "tell me something", true),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("deny:vocab"), "{}", r.text());
}

#[tokio::test]
async fn the_offline_providers_answer_is_checked_complete_and_streamed() {
    let h = Harness::builder().with_toml(&config()).start().await;
    // The offline answer is a sentence of about twenty words: room for all of it.
    let mut body = ask("demo", "say hi", false);
    body["max_tokens"] = json!(40);
    let r = h.post("/v1/chat/completions", KEY_A, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = content(&r);
    assert!(text.contains("[REDACTED:offline]"), "{text}");
    assert!(!text.contains("offline demo"), "{text}");
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    let mut body = ask("demo", "say hi", true);
    body["max_tokens"] = json!(40);
    let events = h
        .stream("/v1/chat/completions", &bearer, body)
        .await
        .rest()
        .await;
    let text = streamed_text(&events);
    assert!(text.contains("[REDACTED:offline]"), "{text}");
    assert!(!text.contains("offline demo"), "{text}");
}

#[tokio::test]
async fn a_cache_hit_is_checked_and_only_checked_answers_are_stored() {
    let h = Harness::builder().with_toml(&config()).start().await;
    // Stored for a caller whose answers are not checked...
    let raw = h
        .post(
            "/v1/chat/completions",
            UNCHECKED,
            ask("cached-out", "tell me something", false),
        )
        .await;
    assert_eq!(raw.header("x-switchboard-cache"), Some("miss"));
    assert!(has_vocabulary(&content(&raw)), "{}", content(&raw));
    // ...and served to one whose answers are: checked on the way out.
    let hit = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            ask("cached-out", "tell me something", false),
        )
        .await;
    assert_eq!(hit.header("x-switchboard-cache"), Some("hit"));
    let text = content(&hit);
    assert!(text.contains(REDACTED) && !has_vocabulary(&text), "{text}");
    let blocked = h
        .post(
            "/v1/chat/completions",
            BLOCKING,
            ask("cached-out", "tell me something", false),
        )
        .await;
    assert_eq!(blocked.status, 400, "{}", blocked.text());
    assert_eq!(h.mock.calls_for_model("checked-cache"), 1);

    // A checked caller's streamed answer is stored as checked: a later hit, even for a
    // caller whose answers are not checked, holds no unchecked text.
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    let mut s = h
        .stream(
            "/v1/chat/completions",
            &bearer,
            ask("cached-out", "another thing", true),
        )
        .await;
    assert_eq!(s.headers["x-switchboard-cache"], "miss");
    let streamed = streamed_text(&s.rest().await);
    let later = h
        .post(
            "/v1/chat/completions",
            UNCHECKED,
            ask("cached-out", "another thing", false),
        )
        .await;
    assert_eq!(later.header("x-switchboard-cache"), Some("hit"));
    assert_eq!(content(&later), streamed);
    assert!(!has_vocabulary(&streamed), "{streamed}");
    assert_eq!(h.mock.calls_for_model("checked-cache"), 2);
}
