//! Which quota refuses, and what a refusal tells the client.

use serde_json::{Value, json};
use switchboard_tests::Harness;

fn ask(model: &str, max_tokens: u32) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "spend some money"}]})
}

/// A tenant `teamco` with roomy tenant quotas, a team `search` allowed two requests a day,
/// a key in that team (with roomy key quotas of its own) and a key in another team.
const TEAMS: &str = r#"
[[tenants]]
name = "teamco"
quotas = [{ metric = "requests", window = "day", limit = 100 }, { metric = "money", window = "day", limit = "1.00" }]

[[teams]]
tenant = "teamco"
name = "search"
quotas = [{ metric = "requests", window = "day", limit = 2 }]

[[keys]]
name = "search-key"
key = "sk-teamco-search"
tenant = "teamco"
team = "search"
quotas = [{ metric = "requests", window = "day", limit = 100 }]

[[keys]]
name = "billing-key"
key = "sk-teamco-billing"
tenant = "teamco"
team = "billing"
"#;

#[tokio::test]
async fn a_team_quota_refuses_while_key_and_tenant_quotas_have_room() {
    let h = Harness::builder().with_toml(TEAMS).start().await;
    for _ in 0..2 {
        let r = h
            .post("/v1/chat/completions", "sk-teamco-search", ask("gpt", 3))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = h
        .post("/v1/chat/completions", "sk-teamco-search", ask("gpt", 3))
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        r.header("x-switchboard-quota"),
        Some("team:teamco:search/requests/day"),
        "the team's quota is the one that refused"
    );
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("team:teamco:search/requests/day"),
        "the message names the team quota: {message}"
    );
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(
        h.mock.calls(),
        2,
        "the refused call never reached the provider"
    );
    // The tenant still has room: a key of another team of the same tenant is served.
    let other = h
        .post("/v1/chat/completions", "sk-teamco-billing", ask("gpt", 3))
        .await;
    assert_eq!(other.status, 200, "{}", other.text());
}
