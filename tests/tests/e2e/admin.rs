//! The admin API: keys, tenants and teams, spend and audit reports; changes persist.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_ledger::ManualClock;
use switchboard_tests::client;
use switchboard_tests::{Harness, KEY_A};

fn ask(model: &str) -> Value {
    json!({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]})
}

#[tokio::test]
async fn the_admin_api_requires_the_admin_key_but_probes_do_not() {
    let h = Harness::start().await;
    let no_key = client::send(
        &h.client,
        client::request("GET", &h.admin_url("/admin/keys"), &[], Bytes::new()),
    )
    .await;
    assert_eq!(no_key.status, 401);
    let wrong = [("authorization", "Bearer nope")];
    let r = client::send(
        &h.client,
        client::request("GET", &h.admin_url("/admin/keys"), &wrong, Bytes::new()),
    )
    .await;
    assert_eq!(r.status, 401);
    let probe = client::send(
        &h.client,
        client::request("GET", &h.admin_url("/healthz"), &[], Bytes::new()),
    )
    .await;
    assert_eq!(probe.status, 200);
    // Probes answer GET and HEAD; anything else is refused, not answered as a probe.
    for (method, path, status) in [
        ("HEAD", "/healthz", 200),
        ("HEAD", "/readyz", 200),
        ("POST", "/healthz", 405),
        ("DELETE", "/readyz", 405),
    ] {
        let r = client::send(
            &h.client,
            client::request(method, &h.admin_url(path), &[], Bytes::new()),
        )
        .await;
        assert_eq!(r.status, status, "{method} {path}");
        if status == 405 {
            assert_eq!(r.headers["allow"], "GET, HEAD");
        }
    }
    let head = h.admin("HEAD", "/metrics", None).await;
    assert_eq!(head.status, 200, "HEAD is GET without the body");
    assert!(head.body.is_empty());
    let h = Harness::builder()
        .configure(|c| c.admin.key = None)
        .start()
        .await;
    assert_eq!(
        h.admin("GET", "/admin/keys", None).await.status,
        403,
        "no admin key configured: disabled"
    );
}

#[tokio::test]
async fn a_created_key_works_at_once_lists_without_its_secret_and_is_refused_once_revoked() {
    let h = Harness::start().await;
    let created = h
        .admin("POST", "/admin/keys", Some(json!({"name": "ci-bot", "tenant": "acme", "team": "platform", "models": ["gpt"], "metadata": {"owner": "ops"}})))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-sb-"));
    assert_eq!(
        h.post("/v1/chat/completions", &secret, ask("gpt"))
            .await
            .status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", &secret, ask("claude"))
            .await
            .status,
        403,
        "limited to its models"
    );

    let list = h.admin("GET", "/admin/keys", None).await;
    assert!(
        !list.text().contains(&secret),
        "the secret is never shown again"
    );
    let keys = list.json()["keys"].as_array().unwrap().clone();
    let bot = keys.iter().find(|k| k["id"] == "ci-bot").unwrap();
    assert_eq!(bot["team"], "platform");
    assert_eq!(bot["metadata"]["owner"], "ops");
    assert_eq!(
        h.admin(
            "POST",
            "/admin/keys",
            Some(json!({"name": "ci-bot", "tenant": "acme"}))
        )
        .await
        .status,
        409,
        "names are unique"
    );

    let patched = h
        .admin("PATCH", "/admin/keys/ci-bot", Some(json!({"models": null})))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(
        h.post("/v1/chat/completions", &secret, ask("claude"))
            .await
            .status,
        200,
        "now every model"
    );

    assert_eq!(
        h.admin("DELETE", "/admin/keys/ci-bot", None).await.status,
        200
    );
    let r = h.post("/v1/chat/completions", &secret, ask("gpt")).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("revoked"), "{}", r.text());
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    // 2026-01-01T00:00:00Z, moved by hand.
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let h = Harness::builder()
        .with_clock(Arc::clone(&clock))
        .start()
        .await;
    let created = h
        .admin(
            "POST",
            "/admin/keys",
            Some(json!({"tenant": "acme", "expires_at": "2026-01-01T01:00:00Z"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    let r = h.post("/v1/chat/completions", &secret, ask("gpt")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    clock.advance(2 * 3_600_000);
    let r = h.post("/v1/chat/completions", &secret, ask("gpt")).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("expired"), "{}", r.text());
    // Not a time, a day February lacks, a time already past: refused, naming the field.
    for when in ["whenever", "2027-02-31T00:00:00Z", "2025-06-01T00:00:00Z"] {
        let bad = h
            .admin(
                "POST",
                "/admin/keys",
                Some(json!({"tenant": "acme", "expires_at": when})),
            )
            .await;
        assert_eq!(bad.status, 400, "{when}");
        assert!(bad.text().contains("expires_at"), "{when}: {}", bad.text());
    }
}

#[tokio::test]
async fn a_config_key_can_be_revoked_and_the_change_survives_a_restart() {
    let h = Harness::start().await;
    let created = h
        .admin(
            "POST",
            "/admin/keys",
            Some(json!({"name": "survivor", "tenant": "acme"})),
        )
        .await;
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        h.admin("DELETE", "/admin/keys/acme", None).await.status,
        200,
        "config keys are revocable too"
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        401
    );
    let h = h.restart().await;
    assert_eq!(
        h.post("/v1/chat/completions", &secret, ask("gpt"))
            .await
            .status,
        200,
        "admin-created key persisted"
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        401,
        "revocation persisted"
    );
}

#[tokio::test]
async fn tenant_quotas_set_through_the_api_apply_to_the_next_request() {
    let h = Harness::start().await;
    let put = h
        .admin(
            "PUT",
            "/admin/tenants/acme",
            Some(json!({"quotas": [{"metric": "requests", "window": "day", "limit": 2}]})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        429
    );
    let raised = json!({"quotas": [{"metric": "requests", "window": "day", "limit": 3}]});
    assert_eq!(
        h.admin("PUT", "/admin/tenants/acme", Some(raised))
            .await
            .status,
        200
    );
    assert_eq!(
        h.post("/v1/chat/completions", KEY_A, ask("gpt"))
            .await
            .status,
        200,
        "the raised limit applies"
    );
    let bad = json!({"quotas": [{"metric": "money", "window": "day", "limit": "a lot"}]});
    let r = h.admin("PUT", "/admin/tenants/acme", Some(bad)).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("quotas[0].limit"), "{}", r.text());
    let team = json!({"quotas": [{"metric": "tokens", "window": "hour", "limit": 100}]});
    assert_eq!(
        h.admin("PUT", "/admin/teams/acme/platform", Some(team))
            .await
            .status,
        200
    );
    let all = h.admin("GET", "/admin/tenants", None).await.json();
    assert_eq!(all["tenants"]["acme"]["quotas"][0]["limit"], 3);
    assert_eq!(all["teams"]["acme"]["platform"][0]["metric"], "tokens");
}

#[tokio::test]
async fn spend_groups_by_tenant_model_and_tag_and_audit_lists_the_most_expensive_first() {
    let h = Harness::start().await;
    for (model, tokens, tag) in [
        ("metered", 3, "search"),
        ("metered", 9, "support-bot"),
        ("metered-claude", 5, "support-bot"),
    ] {
        let body = json!({"model": model, "max_tokens": tokens, "messages": [{"role": "user", "content": "x"}]});
        let headers = [
            ("authorization", "Bearer sk-test-acme-0001"),
            ("x-switchboard-tags", tag),
        ];
        assert_eq!(
            h.post_raw("/v1/chat/completions", &headers, body.to_string().into())
                .await
                .status,
            200
        );
    }
    h.gw().audit.flush().await.unwrap();
    let by_tag = h
        .admin("GET", "/admin/spend?group_by=tag", None)
        .await
        .json();
    let groups = by_tag["groups"].as_array().unwrap();
    assert_eq!(
        groups[0]["group"], "support-bot",
        "most expensive group first: {by_tag}"
    );
    assert_eq!(groups[0]["cost_usd"], "0.000014000");
    assert_eq!(groups[0]["requests"], 2);
    assert_eq!(by_tag["total_usd"], "0.000017000");
    let by_model = h
        .admin("GET", "/admin/spend?group_by=model&tenant=acme", None)
        .await
        .json();
    assert_eq!(by_model["groups"][0]["group"], "metered");
    assert_eq!(by_model["groups"][0]["cost_usd"], "0.000012000");
    let none = h
        .admin("GET", "/admin/spend?from=2999-01-01T00:00:00Z", None)
        .await
        .json();
    assert_eq!(none["groups"], json!([]));
    let costly = h
        .admin("GET", "/admin/audit?order=cost&limit=2", None)
        .await
        .json();
    let records = costly["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["cost_nanos"], 9_000);
    assert_eq!(records[1]["cost_nanos"], 5_000);
    assert_eq!(
        h.admin("GET", "/admin/spend?group_by=planet", None)
            .await
            .status,
        400
    );
}
