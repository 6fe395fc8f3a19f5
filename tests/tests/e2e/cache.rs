//! The response cache: hits make no upstream call, cost nothing, still count as
//! requests, never cross tenants, and replay in either shape.

use serde_json::{Value, json};
use switchboard_tests::{Answer, Harness, KEY_A};

const CACHED: &str = r#"
[models.cached]
deployments = [{ provider = "mock-openai", model = "cache-me", price = { input = 0, output = 1 } }]
cache = { ttl = "1m" }

[models.similar]
deployments = [{ provider = "mock-openai", model = "similar-model" }]
cache = { ttl = "1m", semantic = { embedding_model = "offline-embed", threshold = 0.99 } }

[[keys]]
name = "other-tenant"
key = "sk-other-tenant-1"
tenant = "initech"
"#;

fn ask() -> Value {
    json!({"model": "cached", "max_tokens": 6, "messages": [{"role": "user", "content": "what is cached"}]})
}

fn content(a: &Answer) -> String {
    a.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_hit_makes_no_upstream_call_costs_nothing_and_is_audited() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    let first = h.post("/v1/chat/completions", KEY_A, ask()).await;
    assert_eq!(first.header("x-switchboard-cache"), Some("miss"));
    assert_eq!(first.header("x-switchboard-cost-usd"), Some("0.000006000"));
    let second = h.post("/v1/chat/completions", KEY_A, ask()).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-switchboard-cache"), Some("hit"));
    assert_eq!(second.header("x-switchboard-cost-usd"), Some("0.000000000"));
    assert_eq!(content(&second), content(&first));
    assert_eq!(
        h.mock.calls_for_model("cache-me"),
        1,
        "the hit never reached the provider"
    );
    let record = h.audit_record(second.header("x-request-id").unwrap()).await;
    assert_eq!(
        (record.cache.as_deref(), record.cost_nanos, record.status),
        (Some("hit"), 0, 200)
    );
}

#[tokio::test]
async fn hits_never_cross_tenants() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    h.post("/v1/chat/completions", KEY_A, ask()).await;
    let other = h
        .post("/v1/chat/completions", "sk-other-tenant-1", ask())
        .await;
    assert_eq!(other.header("x-switchboard-cache"), Some("miss"));
    assert_eq!(h.mock.calls_for_model("cache-me"), 2);
}

#[tokio::test]
async fn a_cached_answer_is_replayed_as_a_stream_and_a_streamed_one_is_cached() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    let bearer = [("authorization", "Bearer sk-test-acme-0001")];
    let complete = content(&h.post("/v1/chat/completions", KEY_A, ask()).await);
    let mut body = ask();
    body["stream"] = json!(true);
    let mut s = h.stream("/v1/chat/completions", &bearer, body).await;
    assert_eq!(s.headers["x-switchboard-cache"], "hit");
    assert_eq!(s.headers["content-type"], "text/event-stream");
    let events = s.rest().await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let streamed: String = events[..events.len() - 1]
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(streamed, complete);

    // A streamed answer fills the cache for the next (complete) request.
    let mut fresh = json!({"model": "cached", "max_tokens": 4, "stream": true, "messages": [{"role": "user", "content": "stream then cache"}]});
    let events = h
        .stream("/v1/chat/completions", &bearer, fresh.clone())
        .await
        .rest()
        .await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    h.gw().audit.flush().await.unwrap();
    fresh["stream"] = json!(false);
    let again = h.post("/v1/chat/completions", KEY_A, fresh).await;
    assert_eq!(again.header("x-switchboard-cache"), Some("hit"));
    assert_eq!(h.mock.calls_for_model("cache-me"), 2);
}

#[tokio::test]
async fn an_anthropic_client_is_served_an_answer_cached_for_an_openai_client() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    let oai = h.post("/v1/chat/completions", KEY_A, ask()).await;
    let ant = h
        .post_anthropic(KEY_A, json!({"model": "cached", "max_tokens": 6, "messages": [{"role": "user", "content": "what is cached"}]}))
        .await;
    assert_eq!(
        ant.header("x-switchboard-cache"),
        Some("hit"),
        "{}",
        ant.text()
    );
    assert_eq!(
        ant.json()["content"][0]["text"].as_str().unwrap(),
        content(&oai)
    );
}

#[tokio::test]
async fn refresh_and_bypass_skip_the_lookup() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    h.post("/v1/chat/completions", KEY_A, ask()).await;
    for directive in ["refresh", "bypass"] {
        let headers = [
            ("authorization", "Bearer sk-test-acme-0001"),
            ("x-switchboard-cache", directive),
        ];
        let r = h
            .post_raw("/v1/chat/completions", &headers, ask().to_string().into())
            .await;
        assert_eq!(r.header("x-switchboard-cache"), Some(directive));
    }
    assert_eq!(h.mock.calls_for_model("cache-me"), 3);
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask())
            .await
            .header("x-switchboard-cache"),
        Some("hit")
    );
}

#[tokio::test]
async fn hits_still_count_toward_request_limits() {
    let toml = format!(
        "{CACHED}\n[[tenants]]\nname = \"acme\"\nquotas = [{{ metric = \"requests\", window = \"day\", limit = 2 }}]\n"
    );
    let h = Harness::builder().with_toml(&toml).start().await;
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask()).await.status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask())
            .await
            .header("x-switchboard-cache"),
        Some("hit")
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask()).await.status,
        429
    );
}

#[tokio::test]
async fn the_semantic_cache_serves_a_request_that_asks_the_same_thing_differently() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    let q = |temperature: f64, text: &str| json!({"model": "similar", "temperature": temperature, "messages": [{"role": "user", "content": text}]});
    let first = h
        .post("/v1/chat/completions", KEY_A, q(0.2, "same question"))
        .await;
    assert_eq!(first.header("x-switchboard-cache"), Some("miss"));
    let near = h
        .post("/v1/chat/completions", KEY_A, q(0.7, "same question"))
        .await;
    assert_eq!(
        near.header("x-switchboard-cache"),
        Some("semantic_hit"),
        "not an exact match, but the same prompt"
    );
    assert_eq!(content(&near), content(&first));
    let far = h
        .post(
            "/v1/chat/completions",
            KEY_A,
            q(0.7, "a different question"),
        )
        .await;
    assert_eq!(far.header("x-switchboard-cache"), Some("miss"));
    assert_eq!(h.mock.calls_for_model("similar-model"), 2);
}

/// The semantic cache of `by-meaning` embeds through a real embeddings deployment over
/// HTTP: mock-llm's bag-of-words model, whose vectors are as near as prompts share words.
const SEMANTIC_HTTP: &str = r#"
[models.bow-embed]
deployments = [{ provider = "mock-openai", model = "bag-of-words-embed" }]

[models.by-meaning]
deployments = [{ provider = "mock-openai", model = "meaning-model" }]
cache = { ttl = "1m", semantic = { embedding_model = "bow-embed", threshold = 0.9 } }
"#;

#[tokio::test]
async fn the_semantic_cache_embeds_through_an_http_deployment_and_its_threshold_decides() {
    use mock_provider::embeddings::embedding_for;
    let h = Harness::builder().with_toml(SEMANTIC_HTTP).start().await;
    let asked = "What is the capital of France?";
    let near = "What is the capital of France, please?";
    let middle = "What is the capital of Spain?";
    // What the threshold of 0.9 is tested against, from the mock's own vectors.
    let v = |t: &str| embedding_for("bag-of-words-embed", t, None);
    let cos = |a: &str, b: &str| -> f32 { v(a).iter().zip(v(b)).map(|(x, y)| x * y).sum() };
    assert!(cos(asked, near) >= 0.9, "{}", cos(asked, near));
    assert!(cos(asked, middle) < 0.9, "{}", cos(asked, middle));

    let q = |text: &str| json!({"model": "by-meaning", "messages": [{"role": "user", "content": text}]});
    let first = h.post("/v1/chat/completions", KEY_A, q(asked)).await;
    assert_eq!(
        first.header("x-switchboard-cache"),
        Some("miss"),
        "{}",
        first.text()
    );
    let counts = || {
        (
            h.mock.calls_for_model("bag-of-words-embed"),
            h.mock.calls_for_model("meaning-model"),
        )
    };
    assert_eq!(counts(), (1, 1), "(embeddings calls, chat calls)");

    let hit = h.post("/v1/chat/completions", KEY_A, q(near)).await;
    assert_eq!(hit.header("x-switchboard-cache"), Some("semantic_hit"));
    assert_eq!(content(&hit), content(&first));
    assert_eq!(counts(), (2, 1), "embedded, but answered from the cache");

    let miss = h.post("/v1/chat/completions", KEY_A, q(middle)).await;
    assert_eq!(miss.header("x-switchboard-cache"), Some("miss"));
    assert_ne!(content(&miss), content(&first));
    assert_eq!(
        counts(),
        (3, 2),
        "below the threshold: the provider answers"
    );

    // The miss was stored under its own vector: asking it again is an exact hit, with no
    // embedding needed.
    let again = h.post("/v1/chat/completions", KEY_A, q(middle)).await;
    assert_eq!(again.header("x-switchboard-cache"), Some("hit"));
    assert_eq!(counts(), (3, 2));
}

async fn send(h: &Harness, headers: &[(&str, &str)]) -> Answer {
    h.post_raw("/v1/chat/completions", headers, ask().to_string().into())
        .await
}

#[tokio::test]
async fn no_store_serves_a_hit_but_never_stores_a_fresh_answer() {
    let h = Harness::builder().with_toml(CACHED).start().await;
    let no_store = [
        ("authorization", "Bearer sk-test-acme-0001"),
        ("x-switchboard-cache", "no-store"),
    ];
    let normal = [("authorization", "Bearer sk-test-acme-0001")];
    assert_eq!(
        send(&h, &no_store).await.header("x-switchboard-cache"),
        Some("miss")
    );
    assert_eq!(
        send(&h, &normal).await.header("x-switchboard-cache"),
        Some("miss"),
        "the no-store answer was not kept"
    );
    assert_eq!(h.mock.calls_for_model("cache-me"), 2);
    assert_eq!(
        send(&h, &no_store).await.header("x-switchboard-cache"),
        Some("hit"),
        "no-store still reads the cache"
    );
    assert_eq!(h.mock.calls_for_model("cache-me"), 2);
}
