//! Which quota refuses, and what a refusal tells the client: team quotas between key and
//! tenant, OpenAI's rate-limit headers for each metric, and lifetime budgets that give no
//! `Retry-After` because nothing resets.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_ledger::ManualClock;
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
/// A tenant with one quota and its key.
fn tenant(name: &str, quota: &str) -> String {
    format!(
        "[[tenants]]\nname = \"{name}\"\nquotas = [{quota}]\n\n[[keys]]\nname = \"{name}-key\"\nkey = \"sk-{name}-0001\"\ntenant = \"{name}\"\n"
    )
}

/// 2026-01-01T00:00:10Z: ten seconds into a minute, a day and a month, so every window's
/// reset is known exactly.
const NEW_YEAR_PLUS_10S: u64 = 1_767_225_610_000;

#[tokio::test]
async fn a_token_quota_refusal_carries_the_token_rate_limit_headers_and_retry_after() {
    let clock = Arc::new(ManualClock::new(NEW_YEAR_PLUS_10S));
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(&tenant(
            "tpm",
            r#"{ metric = "tokens", window = "minute", limit = 60 }"#,
        ))
        .start()
        .await;
    // The estimate is the prompt's tokens plus max_tokens: 100 output tokens never fit.
    let r = h
        .post("/v1/chat/completions", "sk-tpm-0001", ask("gpt", 100))
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        r.header("x-switchboard-quota"),
        Some("tenant:tpm/tokens/minute")
    );
    assert_eq!(r.header("x-ratelimit-limit-tokens"), Some("60"));
    assert_eq!(r.header("x-ratelimit-remaining-tokens"), Some("60"));
    assert_eq!(r.header("x-ratelimit-reset-tokens"), Some("50s"));
    assert_eq!(r.header("retry-after"), Some("50"), "until the minute ends");
    assert!(
        r.header("x-ratelimit-limit-requests").is_none(),
        "only the refusing metric's headers"
    );
    assert_eq!(h.mock.calls(), 0);
    // A call that fits is served.
    let ok = h
        .post("/v1/chat/completions", "sk-tpm-0001", ask("gpt", 5))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[tokio::test]
async fn a_money_quota_refusal_carries_the_usd_rate_limit_headers_and_retry_after() {
    let clock = Arc::new(ManualClock::new(NEW_YEAR_PLUS_10S));
    // `metered` costs 1,000 nano-dollars an output token: two calls of 10 tokens fit
    // in $0.00002, the third does not.
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(&tenant(
            "usd",
            r#"{ metric = "money", window = "day", limit = "0.00002" }"#,
        ))
        .start()
        .await;
    for _ in 0..2 {
        let r = h
            .post("/v1/chat/completions", "sk-usd-0001", ask("metered", 10))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = h
        .post("/v1/chat/completions", "sk-usd-0001", ask("metered", 10))
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        r.header("x-switchboard-quota"),
        Some("tenant:usd/money/day")
    );
    assert_eq!(r.header("x-ratelimit-limit-usd"), Some("0.000020000"));
    assert_eq!(r.header("x-ratelimit-remaining-usd"), Some("0.000000000"));
    // The day ends 23:59:50 from now: 86,390 s.
    assert_eq!(r.header("x-ratelimit-reset-usd"), Some("86390s"));
    assert_eq!(r.header("retry-after"), Some("86390"));
    assert!(r.header("x-ratelimit-limit-tokens").is_none());
}

#[tokio::test]
async fn a_spent_lifetime_budget_refuses_without_retry_after_because_nothing_resets() {
    let h = Harness::builder()
        .with_toml(&tenant(
            "lifetime",
            r#"{ metric = "money", window = "total", limit = "0.00001" }"#,
        ))
        .start()
        .await;
    let r = h
        .post(
            "/v1/chat/completions",
            "sk-lifetime-0001",
            ask("metered", 10),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let refused = h
        .post(
            "/v1/chat/completions",
            "sk-lifetime-0001",
            ask("metered", 10),
        )
        .await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(
        refused.header("x-switchboard-quota"),
        Some("tenant:lifetime/money/total")
    );
    assert_eq!(refused.header("x-ratelimit-limit-usd"), Some("0.000010000"));
    assert_eq!(
        refused.header("x-ratelimit-remaining-usd"),
        Some("0.000000000")
    );
    assert!(
        refused.header("retry-after").is_none(),
        "waiting cannot help a lifetime budget: {:?}",
        refused.headers
    );
    assert!(refused.header("x-ratelimit-reset-usd").is_none());
    // In Anthropic's shape too.
    let anthropic = h
        .post_anthropic(
            "sk-lifetime-0001",
            json!({"model": "metered-claude", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(anthropic.status, 429);
    assert_eq!(anthropic.json()["error"]["type"], "rate_limit_error");
    assert!(anthropic.header("retry-after").is_none());
}
