//! Budgets and rate limits hold exactly, every call is settled and audited, and the
//! ledger agrees with the audit log.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_ledger::{ManualClock, Metric, Quota, QuotaId, Scope, Window};
use switchboard_tests::Harness;

/// A tenant with one quota and a key for it.
fn tenant(name: &str, quota: &str) -> String {
    format!(
        r#"
[[tenants]]
name = "{name}"
quotas = [{quota}]

[[keys]]
name = "{name}-key"
key = "sk-{name}-0001"
tenant = "{name}"
"#
    )
}

/// A gateway whose only tenant is `name`, with one quota.
async fn with_tenant(name: &str, quota: &str) -> Harness {
    Harness::builder()
        .with_toml(&tenant(name, quota))
        .start()
        .await
}

/// A money quota, as the config writes it.
/// The audit records of `tenant`'s calls, once everything appended so far is durable.
async fn tenant_records(h: &Harness, tenant: &str) -> Vec<switchboard_audit::AuditRecord> {
    let mut records = h.audit_records().await;
    records.retain(|r| r.tenant == tenant);
    records
}

fn money_limit(window: &str, usd: &str) -> String {
    format!(r#"{{ metric = "money", window = "{window}", limit = "{usd}" }}"#)
}

fn ask(model: &str, max_tokens: u32) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "spend some money"}]})
}

fn money(name: &str, window: Window) -> Quota {
    Quota::new(
        QuotaId::new(Scope::Tenant(name.into()), Metric::Money, window),
        0,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_is_never_exceeded_under_200_concurrent_requests() {
    // Each call costs exactly 10 tokens x 1,000 = 10,000 nano-dollars; the budget admits 5.
    let h = Arc::new(with_tenant("budget", &money_limit("total", "0.00005")).await);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let h = Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            h.post("/v1/chat/completions", "sk-budget-0001", ask("metered", 10))
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            200 => ok += 1,
            429 => assert_eq!(
                r.header("x-switchboard-quota"),
                Some("tenant:budget/money/total")
            ),
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!(ok, 5, "exactly the calls the budget covers succeed");
    assert_eq!(
        h.mock.calls_for_model("mock-metered"),
        5,
        "refused calls never reach the provider"
    );
    let status = h
        .gw()
        .quota_status(&money("budget", Window::Total))
        .await
        .unwrap();
    assert_eq!(status.spent, 50_000);
    let records = tenant_records(&h, "budget").await;
    let audited: i64 = records.iter().map(|r| r.cost_nanos).sum();
    assert_eq!(
        audited, status.spent,
        "the ledger equals the sum of the audit records"
    );
    assert_eq!(records.len(), 200, "refusals are audited too");
    switchboard_audit::verify(&h.config.audit_dir()).unwrap();
}

#[tokio::test]
async fn no_phantom_refusals_when_the_real_cost_is_below_the_estimate() {
    // Estimate: 100 output tokens = 100,000; real: the mock answers 16 tokens = 16,000.
    // A call is admitted while spent + 100,000 <= 1,000,000, i.e. for spent <= 900,000:
    // calls 0..=56 (16,000 x 56 = 896,000), 57 in all.
    let h = with_tenant("thrifty", &money_limit("day", "0.001")).await;
    let mut ok = 0;
    loop {
        let r = h
            .post(
                "/v1/chat/completions",
                "sk-thrifty-0001",
                ask("metered", 100),
            )
            .await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-switchboard-cost-usd"), Some("0.000016000"));
        ok += 1;
        assert!(ok < 100, "the budget never ran out");
    }
    assert_eq!(ok, 57);
    let status = h
        .gw()
        .quota_status(&money("thrifty", Window::Day))
        .await
        .unwrap();
    assert_eq!(status.spent, 57 * 16_000);
}

/// A `max_tokens` above the model's largest answer reserves only that answer: the call
/// is not refused as over budget for tokens the model cannot write.
#[tokio::test]
async fn a_max_tokens_beyond_the_models_largest_answer_reserves_only_that_answer() {
    // Largest answer 32 tokens x 1,000 = 32,000; the mock writes 16 (16,000). A budget of
    // 50,000 admits the first call (32,000 reserved), and after it (16,000 spent) the
    // second (48,000); reserving a million tokens would refuse both.
    let h = Harness::builder()
        .with_toml(&tenant("capped", &money_limit("day", "0.00005")))
        .with_toml(
            r#"
[models.capped]
deployments = [{ provider = "mock-openai", model = "mock-metered", price = { input = 0, output = 1, max_output_tokens = 32 } }]
"#,
        )
        .start()
        .await;
    // The third: 18,000 left cannot cover 32,000.
    for (call, status) in [200, 200, 429].into_iter().enumerate() {
        let r = h
            .post(
                "/v1/chat/completions",
                "sk-capped-0001",
                ask("capped", 1_000_000),
            )
            .await;
        assert_eq!(r.status, status, "call {call}: {}", r.text());
    }
}

#[tokio::test]
async fn a_stream_the_client_abandons_is_billed_for_what_was_generated() {
    let h = with_tenant("streamer", &money_limit("day", "1.00")).await;
    h.mock.set_token_delay(Duration::from_millis(25));
    let mut body = ask("metered", 16);
    body["stream"] = json!(true);
    let headers = [
        ("authorization", "Bearer sk-streamer-0001"),
        ("x-request-id", "abandoned-1"),
    ];
    let mut s = h.stream("/v1/chat/completions", &headers, body).await;
    let mut content = 0;
    while content < 3 {
        let data = s.next_data().await.expect("stream open");
        let chunk: Value = serde_json::from_str(&data).unwrap();
        if chunk["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
        {
            content += 1;
        }
    }
    drop(s);
    let record = h.audit_record("abandoned-1").await;
    assert_eq!(record.stream_end.as_deref(), Some("client_gone"));
    assert!(
        (3..16).contains(&record.output_tokens),
        "billed for what was generated: {}",
        record.output_tokens
    );
    assert_eq!(record.cost_nanos, record.output_tokens as i64 * 1_000);
    let status = h
        .gw()
        .quota_status(&money("streamer", Window::Day))
        .await
        .unwrap();
    assert_eq!(status.spent, record.cost_nanos);
}

#[tokio::test]
async fn calls_that_repeat_a_client_request_id_are_each_charged() {
    // Owners apply a settlement id once; a client's own x-request-id, which it may send
    // on every call, must not be one.
    let h = with_tenant("repeater", &money_limit("day", "1.00")).await;
    let headers = [
        ("authorization", "Bearer sk-repeater-0001"),
        ("x-request-id", "same-every-time"),
    ];
    for _ in 0..3 {
        let r = h
            .post_raw(
                "/v1/chat/completions",
                &headers,
                ask("metered", 10).to_string().into(),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        assert_eq!(r.header("x-request-id"), Some("same-every-time"));
    }
    let records = tenant_records(&h, "repeater").await;
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.request_id == "same-every-time"));
    let audited: i64 = records.iter().map(|r| r.cost_nanos).sum();
    assert!(audited > 0);
    let status = h
        .gw()
        .quota_status(&money("repeater", Window::Day))
        .await
        .unwrap();
    assert_eq!(
        status.spent, audited,
        "every call is on the owner's books, not only the first"
    );
}

#[tokio::test]
async fn a_rate_limit_refuses_with_openai_headers_and_resets_with_its_window() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000 + 10_000));
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .with_toml(&tenant(
            "rpm",
            r#"{ metric = "requests", window = "minute", limit = 3 }"#,
        ))
        .start()
        .await;
    for _ in 0..3 {
        assert_eq!(
            h.post("/v1/chat/completions", "sk-rpm-0001", ask("gpt", 5))
                .await
                .status,
            200
        );
    }
    let r = h
        .post("/v1/chat/completions", "sk-rpm-0001", ask("gpt", 5))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("3"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(r.header("retry-after"), Some("50"), "until the minute ends");
    assert_eq!(r.header("x-ratelimit-reset-requests"), Some("50s"));
    assert_eq!(
        r.header("x-should-retry"),
        None,
        "a minute's limit: waiting helps"
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("allows 3, none left"),
        "{}",
        r.text()
    );
    let anthropic = h.post_anthropic("sk-rpm-0001", json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(anthropic.status, 429);
    assert_eq!(
        anthropic.json()["error"]["type"],
        "rate_limit_error",
        "in Anthropic's shape"
    );
    clock.advance(50_000);
    assert_eq!(
        h.post("/v1/chat/completions", "sk-rpm-0001", ask("gpt", 5))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_ledger_equals_the_audit_log_across_families_streams_and_failures() {
    let h = Harness::builder()
        .with_toml(&tenant("mixed", r#"{ metric = "money", window = "month", limit = "10.00" }, { metric = "tokens", window = "day", limit = 1000000 }"#))
        .start()
        .await;
    let key = "sk-mixed-0001";
    for (i, model) in ["metered", "metered-claude"].iter().enumerate() {
        assert_eq!(
            h.post("/v1/chat/completions", key, ask(model, 5 + i as u32))
                .await
                .status,
            200
        );
        let mut body = ask(model, 7);
        body["stream"] = json!(true);
        let events = h
            .stream(
                "/v1/chat/completions",
                &[("authorization", "Bearer sk-mixed-0001")],
                body,
            )
            .await
            .rest()
            .await;
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
        let anthropic = json!({"model": model, "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(h.post_anthropic(key, anthropic).await.status, 200);
    }
    // A failed call (three attempts, all 500) is released, not charged.
    h.mock
        .add_fault(mock_provider::FaultRule::new("status=500").times(3));
    assert_eq!(
        h.post("/v1/chat/completions", key, ask("metered", 5))
            .await
            .status,
        502
    );
    h.gw().flush_settlements().await.unwrap();
    let spent = h
        .gw()
        .quota_status(&money("mixed", Window::Month))
        .await
        .unwrap()
        .spent;
    let tokens_quota = Quota::new(
        QuotaId::new(Scope::Tenant("mixed".into()), Metric::Tokens, Window::Day),
        0,
    );
    let tokens = h.gw().quota_status(&tokens_quota).await.unwrap().spent;
    let records = tenant_records(&h, "mixed").await;
    assert_eq!(records.len(), 7);
    let failed: Vec<_> = records.iter().filter(|r| r.status == 502).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 3, "retried before giving up");
    assert_eq!(spent, records.iter().map(|r| r.cost_nanos).sum::<i64>());
    assert_eq!(
        spent,
        (5 + 7 + 9 + 6 + 7 + 9) * 1_000,
        "each call billed its output tokens"
    );
    assert_eq!(
        tokens,
        records
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| (r.input_tokens + r.output_tokens) as i64)
            .sum::<i64>()
    );
}

#[tokio::test]
async fn spend_survives_a_restart_because_it_is_rebuilt_from_the_audit_log() {
    let h = with_tenant("durable", &money_limit("day", "0.00003")).await;
    for _ in 0..3 {
        assert_eq!(
            h.post(
                "/v1/chat/completions",
                "sk-durable-0001",
                ask("metered", 10)
            )
            .await
            .status,
            200
        );
    }
    assert_eq!(
        h.post(
            "/v1/chat/completions",
            "sk-durable-0001",
            ask("metered", 10)
        )
        .await
        .status,
        429
    );
    let refused = h
        .post(
            "/v1/chat/completions",
            "sk-durable-0001",
            ask("metered", 10),
        )
        .await;
    // A day's budget spent: the SDKs are told not to retry (they honour the header),
    // and the message says why a quota with money left refuses.
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    assert_eq!(refused.header("request-id"), refused.header("x-request-id"));
    assert!(refused.header("request-id").is_some());
    let h = h.restart().await;
    assert_eq!(
        h.gw()
            .quota_status(&money("durable", Window::Day))
            .await
            .unwrap()
            .spent,
        30_000
    );
    assert_eq!(
        h.post(
            "/v1/chat/completions",
            "sk-durable-0001",
            ask("metered", 10)
        )
        .await
        .status,
        429
    );
    h.gw().audit.flush().await.unwrap();
    switchboard_audit::verify(&h.config.audit_dir()).unwrap();
}

/// The replay that rebuilds spend trusts what it reads, so it checks the chain first: an
/// edited `cost_nanos` would otherwise hand a tenant its budget back at the next start.
/// The node refuses to start, naming the fault, until the operator says to trust the log.
#[tokio::test]
async fn a_tampered_audit_log_stops_the_restart_until_the_operator_trusts_it() {
    let h = with_tenant("edited", &money_limit("day", "0.00003")).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = h
            .post("/v1/chat/completions", "sk-edited-0001", ask("metered", 10))
            .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    h.gw().audit.flush().await.unwrap();
    let stopped = h.stop().await;

    // Lower the first call's cost to nothing, as someone wanting budget back would.
    let dir = stopped.config.audit_dir();
    let mut edited = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(at) = text.lines().position(|l| {
            l.contains(r#""tenant":"edited""#) && l.contains(r#""cost_nanos":10000,"#)
        }) else {
            continue;
        };
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| match i == at {
                true => l.replace(r#""cost_nanos":10000,"#, r#""cost_nanos":0,"#),
                false => l.to_owned(),
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        edited += 1;
        break;
    }
    assert_eq!(edited, 1, "a record of the tenant's was edited");

    let (why, mut stopped) = match stopped.start().await {
        Ok(_) => panic!("a node started from a log with an edited record"),
        Err(refused) => refused,
    };
    assert!(why.contains("fails verification"), "{why}");
    assert!(why.contains("chain broken"), "{why}");
    assert!(why.contains("audit.verify_at_start = false"), "{why}");

    // Told to trust it, the node starts from the log as it is: two calls' spend.
    stopped.config.audit.verify_at_start = false;
    let h = stopped.start().await.unwrap_or_else(|(e, _)| panic!("{e}"));
    let spent = h
        .gw()
        .quota_status(&money("edited", Window::Day))
        .await
        .unwrap()
        .spent;
    assert_eq!(spent, 20_000);
}

#[tokio::test]
async fn every_request_is_audited_including_refusals() {
    let h = Harness::start().await;
    let ok = h
        .post("/v1/chat/completions", "sk-test-acme-0001", ask("gpt", 5))
        .await;
    let unknown_key = h
        .post("/v1/chat/completions", "sk-nobody", ask("gpt", 5))
        .await;
    let bad = h
        .post_raw(
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-test-acme-0001")],
            "{oops".into(),
        )
        .await;
    let forbidden = h
        .post(
            "/v1/chat/completions",
            "sk-test-globex-0002",
            ask("claude", 5),
        )
        .await;
    let records = h.audit_records().await;
    let find = |id: &str| {
        records
            .iter()
            .find(|r| r.request_id == id)
            .unwrap_or_else(|| panic!("{id} not audited"))
    };
    let id = |a: &switchboard_tests::Answer| a.header("x-request-id").unwrap().to_owned();
    let r = find(&id(&ok));
    assert_eq!(
        (
            r.status,
            r.tenant.as_str(),
            r.model.as_str(),
            r.provider.as_deref()
        ),
        (200, "acme", "gpt", Some("mock-openai"))
    );
    assert_eq!(r.decision, switchboard_audit::Decision::Allowed);
    assert_eq!(find(&id(&unknown_key)).status, 401);
    assert_eq!(find(&id(&bad)).status, 400);
    let r = find(&id(&forbidden));
    assert_eq!((r.status, r.tenant.as_str()), (403, "globex"));
    assert_eq!(r.decision, switchboard_audit::Decision::Blocked);
    assert!(
        r.prompt.is_none(),
        "prompts are not captured unless the tenant asks"
    );
}

#[tokio::test]
async fn a_tenant_that_asks_for_capture_gets_prompts_and_responses_in_its_records() {
    let h = Harness::builder()
        .with_toml("[[tenants]]\nname = \"acme\"\ncapture = \"all\"\n")
        .start()
        .await;
    let r = h.post_raw(
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-test-acme-0001"), ("x-request-id", "captured-1"), ("x-switchboard-tags", "support-bot")],
        json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "remember this"}], "metadata": {"feature": "faq"}}).to_string().into(),
    )
    .await;
    assert_eq!(r.status, 200);
    let record = h.audit_record("captured-1").await;
    assert_eq!(
        record.prompt.unwrap()["messages"][0]["content"],
        "remember this"
    );
    assert!(record.response.unwrap().contains("chat.completion"));
    assert_eq!(record.tags, vec!["feature:faq", "support-bot"]);
}

#[tokio::test]
async fn a_call_the_audit_log_cannot_take_is_refused_not_served_unaudited() {
    // One record in flight at most: a stream holds the only slot until it ends.
    let h = Harness::builder()
        .configure(|c| c.audit.capacity = 1)
        .start()
        .await;
    h.mock.set_token_delay(Duration::from_millis(20));
    let mut body = ask("gpt", 10);
    body["stream"] = json!(true);
    let mut s = h
        .stream(
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-test-acme-0001")],
            body,
        )
        .await;
    assert!(s.next_data().await.is_some());
    let r = h
        .post("/v1/chat/completions", "sk-test-acme-0001", ask("gpt", 5))
        .await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("audit log"), "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        h.mock.calls(),
        1,
        "the refused call never reached the provider"
    );
    assert_eq!(s.rest().await.last().map(String::as_str), Some("[DONE]"));
}
