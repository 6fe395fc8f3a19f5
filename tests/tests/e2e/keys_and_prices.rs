//! Keys held only as digests (the `key_sha256` config form, the persisted admin state)
//! and prices from the shipped table, overridden per deployment.

use serde_json::{Value, json};
use switchboard_tests::Harness;

fn ask(model: &str, max_tokens: u32) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "what does this cost?"}]})
}

/// Two aliases on the same upstream model, `gpt-4o-mini`, which the shipped price table
/// prices at $0.15 in and $0.60 out per million tokens (150 and 600 nano-dollars a
/// token): one takes the table's price, the other overrides it on its deployment.
fn priced_models() -> String {
    format!(
        r#"
[prices]
file = "{}"

[models.table-priced]
deployments = [{{ provider = "mock-openai", model = "gpt-4o-mini" }}]

[models.override-priced]
deployments = [{{ provider = "mock-openai", model = "gpt-4o-mini", price = {{ input = 0, output = 1 }} }}]
"#,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../config/prices.toml")
    )
}

/// Nano-dollars as the cost header prints them.
fn usd(nanos: i64) -> String {
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

#[tokio::test]
async fn a_deployment_price_beats_the_price_table_for_a_model_the_table_lists() {
    let h = Harness::builder().with_toml(&priced_models()).start().await;
    let prices = &h.config.prices;
    assert!(
        prices.contains_key("gpt-4o-mini"),
        "the shipped table lists the model, so the override has something to beat"
    );

    let table = h
        .post(
            "/v1/chat/completions",
            "sk-test-acme-0001",
            ask("table-priced", 9),
        )
        .await;
    assert_eq!(table.status, 200, "{}", table.text());
    let usage = &table.json()["usage"];
    let (input, output) = (
        usage["prompt_tokens"].as_i64().unwrap(),
        usage["completion_tokens"].as_i64().unwrap(),
    );
    assert!(input > 0 && output > 0, "{usage}");
    let table_cost = input * 150 + output * 600;
    assert_eq!(
        table.header("x-switchboard-cost-usd"),
        Some(usd(table_cost).as_str()),
        "no override: the table's price"
    );

    let overridden = h
        .post(
            "/v1/chat/completions",
            "sk-test-acme-0001",
            ask("override-priced", 9),
        )
        .await;
    assert_eq!(overridden.status, 200, "{}", overridden.text());
    let usage = &overridden.json()["usage"];
    assert_eq!(usage["prompt_tokens"].as_i64(), Some(input), "same call");
    assert_eq!(usage["completion_tokens"].as_i64(), Some(output));
    let override_cost = output * 1_000;
    assert_ne!(override_cost, table_cost, "the two prices must tell apart");
    assert_eq!(
        overridden.header("x-switchboard-cost-usd"),
        Some(usd(override_cost).as_str()),
        "the deployment's price, not the table's"
    );

    let id = |a: &switchboard_tests::Answer| a.header("x-request-id").unwrap().to_owned();
    assert_eq!(h.audit_record(&id(&table)).await.cost_nanos, table_cost);
    assert_eq!(
        h.audit_record(&id(&overridden)).await.cost_nanos,
        override_cost
    );
}

/// SHA-256 of `sk-hashed-config-key-0004`, computed outside the gateway
/// (`printf %s sk-hashed-config-key-0004 | sha256sum`).
const HASHED_KEY: &str = r#"
[[keys]]
name = "hashed"
key_sha256 = "700802f65e39cec1ab7bc1f483b5064b21a6b94ffec2e5fb3391032fcc6c4188"
tenant = "hashco"
"#;

#[tokio::test]
async fn a_config_key_given_only_as_its_sha256_authenticates() {
    let h = Harness::builder().with_toml(HASHED_KEY).start().await;
    let r = h
        .post(
            "/v1/chat/completions",
            "sk-hashed-config-key-0004",
            ask("gpt", 3),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let record = h.audit_record(r.header("x-request-id").unwrap()).await;
    assert_eq!(
        (record.key.as_str(), record.tenant.as_str()),
        ("hashed", "hashco")
    );
    let anthropic = h
        .post_anthropic(
            "sk-hashed-config-key-0004",
            json!({"model": "claude", "max_tokens": 3, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(anthropic.status, 200, "x-api-key too: {}", anthropic.text());
    // The digest itself is not a key.
    let digest = "700802f65e39cec1ab7bc1f483b5064b21a6b94ffec2e5fb3391032fcc6c4188";
    let r = h.post("/v1/chat/completions", digest, ask("gpt", 3)).await;
    assert_eq!(r.status, 401);
    let r = h
        .post(
            "/v1/chat/completions",
            "sk-hashed-config-key-0005",
            ask("gpt", 3),
        )
        .await;
    assert_eq!(r.status, 401);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_persisted_admin_state_never_holds_a_created_keys_secret() {
    let h = Harness::start().await;
    let created = h
        .admin(
            "POST",
            "/admin/keys",
            Some(json!({"name": "persisted", "tenant": "acme", "metadata": {"owner": "ops"}})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    // A change after the creation rewrites the file once more.
    let patched = h
        .admin(
            "PATCH",
            "/admin/keys/persisted",
            Some(json!({"models": ["gpt"]})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());

    let path = h.data.path().join("admin-state.json");
    let state = std::fs::read_to_string(&path).expect("the admin state is persisted");
    assert!(
        state.contains("\"persisted\""),
        "the key is in the file: {state}"
    );
    assert!(!state.contains(&secret), "the secret leaked: {state}");
    // Not even the part after the well-known prefix.
    let random = secret.trim_start_matches("sk-sb-");
    assert!(random.len() >= 16, "{secret}");
    assert!(!state.contains(random), "{state}");
    let digest = hex(&switchboard_config::keys::hash_key(&secret));
    assert!(
        state.contains(&digest),
        "the key is kept as its SHA-256: {state}"
    );
    // The digest is enough: the key still works after a restart from that file.
    let h = h.restart().await;
    assert_eq!(
        h.post("/v1/chat/completions", &secret, ask("gpt", 3))
            .await
            .status,
        200
    );
}
