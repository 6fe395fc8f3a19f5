//! `/admin/audit` and `/admin/spend` over HTTP: every filter and grouping an operator
//! uses to answer "who spent what, when, and what failed".

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_ledger::ManualClock;
use switchboard_tests::{Harness, KEY_A, KEY_LIMITED};

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;
const HOUR: u64 = 3_600_000;

/// A key of tenant `acme` in team `search`, besides the base config's team-less `acme`.
const SEARCH_KEY: &str = r#"
[[keys]]
name = "acme-search"
key = "sk-acme-search-0003"
tenant = "acme"
team = "search"
"#;

fn ask(model: &str, max_tokens: u32) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "x"}]})
}

/// Five calls an hour apart (`metered*` cost 1,000 nano-dollars an output token):
///
/// | time   | key         | tenant | team   | model          | provider       | status | cost   |
/// | T0     | acme-search | acme   | search | metered        | mock-openai    | 200    | 3,000  |
/// | T0+1h  | acme        | acme   | -      | metered-claude | mock-anthropic | 200    | 5,000  |
/// | T0+2h  | globex      | globex | -      | claude         | -              | 403    | 0      |
/// | T0+3h  | globex      | globex | -      | gpt            | mock-openai    | 200    | 0      |
/// | T0+4h  | acme-search | acme   | search | metered        | mock-openai    | 200    | 7,000  |
async fn five_calls_an_hour_apart() -> Harness {
    let clock = Arc::new(ManualClock::new(T0));
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(SEARCH_KEY)
        .start()
        .await;
    let calls: [(&str, &str, u32, u16); 5] = [
        ("sk-acme-search-0003", "metered", 3, 200),
        (KEY_A, "metered-claude", 5, 200),
        (KEY_LIMITED, "claude", 5, 403),
        (KEY_LIMITED, "gpt", 5, 200),
        ("sk-acme-search-0003", "metered", 7, 200),
    ];
    for (i, (key, model, tokens, status)) in calls.into_iter().enumerate() {
        if i > 0 {
            clock.advance(HOUR);
        }
        let r = h
            .post("/v1/chat/completions", key, ask(model, tokens))
            .await;
        assert_eq!(r.status, status, "call {i}: {}", r.text());
    }
    h.gw().audit.flush().await.unwrap();
    h
}

async fn audit(h: &Harness, query: &str) -> Vec<Value> {
    let r = h.admin("GET", &format!("/admin/audit?{query}"), None).await;
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()["records"].as_array().unwrap().clone()
}

fn field<'a>(records: &'a [Value], name: &str) -> Vec<&'a Value> {
    records.iter().map(|r| &r[name]).collect()
}

#[tokio::test]
async fn the_audit_report_filters_by_tenant_status_and_a_half_open_time_range() {
    let h = five_calls_an_hour_apart().await;

    let globex = audit(&h, "tenant=globex").await;
    assert_eq!(field(&globex, "tenant"), [&json!("globex"); 2]);
    assert_eq!(
        field(&globex, "status"),
        [&json!(200), &json!(403)],
        "newest first"
    );

    let forbidden = audit(&h, "status=403").await;
    assert_eq!(forbidden.len(), 1, "{forbidden:?}");
    assert_eq!(forbidden[0]["model"], "claude");
    assert_eq!(forbidden[0]["time_ms"], T0 + 2 * HOUR);

    // `from` is inclusive and `to` exclusive: T0+1h..T0+3h holds the calls at 1h and 2h.
    let from = "2026-01-01T01:00:00Z";
    let to = "2026-01-01T03:00:00Z";
    let window = audit(&h, &format!("from={from}&to={to}")).await;
    assert_eq!(
        field(&window, "time_ms"),
        [&json!(T0 + 2 * HOUR), &json!(T0 + HOUR)]
    );
    // Unix milliseconds are accepted too, and filters combine.
    let acme_window = audit(
        &h,
        &format!("tenant=acme&from={}&to={}", T0 + HOUR, T0 + 5 * HOUR),
    )
    .await;
    assert_eq!(
        field(&acme_window, "cost_nanos"),
        [&json!(7_000), &json!(5_000)]
    );
    let acme_ok_since = audit(
        &h,
        &format!("tenant=acme&status=200&from={}", T0 + 4 * HOUR),
    )
    .await;
    assert_eq!(acme_ok_since.len(), 1);
    assert_eq!(acme_ok_since[0]["key"], "acme-search");

    assert!(audit(&h, "tenant=nobody").await.is_empty());
    for bad in [
        "status=teapot",
        "from=yesterday",
        "limit=-1",
        "order=random",
    ] {
        let r = h.admin("GET", &format!("/admin/audit?{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
}

/// `(group, requests, cost_usd)` of each row of a spend report, and its total.
async fn spend(h: &Harness, query: &str) -> (Vec<(String, u64, String)>, String) {
    let r = h.admin("GET", &format!("/admin/spend?{query}"), None).await;
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    let v = r.json();
    let rows = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                g["requests"].as_u64().unwrap(),
                g["cost_usd"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (rows, v["total_usd"].as_str().unwrap().to_owned())
}

fn row(group: &str, requests: u64, cost: &str) -> (String, u64, String) {
    (group.to_owned(), requests, cost.to_owned())
}

#[tokio::test]
async fn spend_groups_by_team_and_by_provider_and_the_groups_add_up() {
    let h = five_calls_an_hour_apart().await;

    let (by_team, total) = spend(&h, "group_by=team&tenant=acme").await;
    assert_eq!(
        by_team,
        [
            row("search", 2, "0.000010000"),
            row("(none)", 1, "0.000005000")
        ]
    );
    assert_eq!(total, "0.000015000");

    // Every tenant: the refused call has no provider and costs nothing; the two
    // `mock-openai` calls of acme and the free `gpt` call of globex share a group.
    let (by_provider, total) = spend(&h, "group_by=provider").await;
    assert_eq!(
        by_provider,
        [
            row("mock-openai", 3, "0.000010000"),
            row("mock-anthropic", 1, "0.000005000"),
            row("(none)", 1, "0.000000000"),
        ]
    );
    assert_eq!(total, "0.000015000");

    // The report's total is the audit log's: the sum of every record's cost.
    let all = audit(&h, "limit=100").await;
    assert_eq!(all.len(), 5);
    let audited: i64 = all.iter().map(|r| r["cost_nanos"].as_i64().unwrap()).sum();
    assert_eq!(audited, 15_000);

    // A time range narrows the groups: from T0+3h only the last two calls count.
    let (late, total) = spend(&h, &format!("group_by=provider&from={}", T0 + 3 * HOUR)).await;
    assert_eq!(late, [row("mock-openai", 2, "0.000007000")]);
    assert_eq!(total, "0.000007000");
}

/// A report right after a call includes it, however long the writer holds a batch
/// before its group commit: the report waits for this node's records to be durable.
#[tokio::test]
async fn a_report_right_after_a_call_includes_it_before_the_commit_delay_ends() {
    let h = Harness::builder()
        .with_toml("[audit]\ncommit_delay = \"1h\"\n")
        .start()
        .await;
    let r = h
        .post(
            "/v1/chat/completions",
            "sk-acme-search-0003",
            ask("metered", 3),
        )
        .await;
    assert_eq!(r.status, 401, "an unknown key is refused and audited");
    let r = h
        .post("/v1/chat/completions", KEY_A, ask("metered", 4))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let (by_tenant, total) = spend(&h, "group_by=tenant").await;
    assert_eq!(
        by_tenant,
        [row("acme", 1, "0.000004000"), row("-", 1, "0.000000000")]
    );
    assert_eq!(total, "0.000004000");
    let records = audit(&h, "limit=10").await;
    assert_eq!(field(&records, "status"), [&json!(200), &json!(401)]);
}
