//! Admin changes that race, names that must stay reachable, partial tenant changes, and
//! the admin API's answers to bad requests (the admin abuse test's findings).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_tests::{Harness, client};

fn ask() -> Value {
    json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]})
}

async fn create(h: &Harness, body: Value) -> (u16, Value) {
    let r = h.admin("POST", "/admin/keys", Some(body)).await;
    (r.status.as_u16(), r.json())
}

/// A revocation raced by updates of the same key used to be undone (the update wrote
/// back the key it had read before the revocation): 7 runs in 20 with one update, every
/// run with nineteen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_raced_by_updates_stays_revoked() {
    let h = Arc::new(Harness::start().await);
    for round in 0..5 {
        let name = format!("raced-{round}");
        let (status, created) = create(&h, json!({"name": name, "tenant": "acme"})).await;
        assert_eq!(status, 201);
        let secret = created["key"].as_str().unwrap().to_owned();
        let path = format!("/admin/keys/{name}");
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (h, path) = (Arc::clone(&h), path.clone());
            tasks.push(tokio::spawn(async move {
                if i == 10 {
                    h.admin("DELETE", &path, None).await.status.as_u16()
                } else {
                    let patch = json!({"metadata": {"n": i.to_string()}});
                    h.admin("PATCH", &path, Some(patch)).await.status.as_u16()
                }
            }));
        }
        for t in tasks {
            // An update after the revocation is refused (409); before it, applied.
            assert!([200, 409].contains(&t.await.unwrap()));
        }
        let key = h.admin("GET", &path, None).await.json();
        assert!(key["revoked_at"].is_string(), "round {round}: {key}");
        let call = h.post("/v1/chat/completions", &secret, ask()).await;
        assert_eq!(
            call.status, 401,
            "round {round}: the revoked key still works"
        );
    }
}

/// Twenty creations of one name: one key, the others refused (all twenty used to be
/// answered 201 with a secret, nineteen of which never worked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_creations_of_one_name_one_wins_and_the_rest_are_refused() {
    let h = Arc::new(Harness::start().await);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            create(&h, json!({"name": "twin", "tenant": "acme"})).await
        }));
    }
    let mut secrets = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, v) => secrets.push(v["key"].as_str().unwrap().to_owned()),
            (409, _) => conflicts += 1,
            (other, v) => panic!("{other}: {v}"),
        }
    }
    assert_eq!(
        (secrets.len(), conflicts),
        (1, 19),
        "201s: {}",
        secrets.len()
    );
    let call = h.post("/v1/chat/completions", &secrets[0], ask()).await;
    assert_eq!(call.status, 200);
}

/// A key name is its id in every admin URL: one that needs escaping is refused, and
/// the characters allowed beyond letters and digits reach the key however encoded.
#[tokio::test]
async fn key_names_stay_reachable_and_tenants_are_checked() {
    let h = Harness::start().await;
    for bad in ["ci bot", "a/b", "?x", "", "é"] {
        let (status, v) = create(&h, json!({"name": bad, "tenant": "acme"})).await;
        assert_eq!(status, 400, "{bad:?}: {v}");
    }
    for bad_tenant in ["acme ", "", "a/b"] {
        let (status, v) = create(&h, json!({"tenant": bad_tenant})).await;
        assert_eq!(status, 400, "{bad_tenant:?}: {v}");
        assert!(v.to_string().contains("tenant"), "{v}");
    }
    // A tenant the config names with a space is still a tenant keys can be made for.
    let configured = Harness::builder()
        .with_toml("[[tenants]]\nname = \"Acme Corp\"\n")
        .start()
        .await;
    let (status, v) = create(&configured, json!({"tenant": "Acme Corp"})).await;
    assert_eq!(status, 201, "{v}");
    let (status, _) = create(&h, json!({"name": "ops:deploy@ci", "tenant": "acme"})).await;
    assert_eq!(status, 201);
    // As the CLI sends it: every byte but unreserved ones percent-encoded.
    let got = h.admin("GET", "/admin/keys/ops%3Adeploy%40ci", None).await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["id"], "ops:deploy@ci");
    let revoked = h
        .admin("DELETE", "/admin/keys/ops%3Adeploy%40ci", None)
        .await;
    assert_eq!(revoked.status, 200);
    let patched = h
        .admin(
            "PATCH",
            "/admin/keys/ops:deploy@ci",
            Some(json!({"team": "x"})),
        )
        .await;
    assert_eq!(patched.status, 409, "a revoked key is not changed");
}

/// `PATCH /admin/tenants/{name}` (what `switchboard tenants set` sends) changes only
/// what it names: a tenant's guardrails and capture policy survive a quota change (a
/// `PUT` from the CLI used to reset both).
#[tokio::test]
async fn a_quota_change_keeps_the_tenants_guardrails_and_capture() {
    let h = Harness::start().await;
    let policy = json!({
        "capture": "all",
        "guardrails": {"deny": [{"name": "codename", "pattern": "(?i)bluebird"}]},
        "quotas": [{"metric": "requests", "window": "minute", "limit": 100}],
    });
    let put = h.admin("PUT", "/admin/tenants/acme", Some(policy)).await;
    assert_eq!(put.status, 200, "{}", put.text());
    let change = json!({"quotas": [{"metric": "requests", "window": "minute", "limit": 50}]});
    let patched = h.admin("PATCH", "/admin/tenants/acme", Some(change)).await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let now = h.admin("GET", "/admin/tenants/acme", None).await.json();
    assert_eq!(now["capture"], "all", "{now}");
    assert_eq!(now["quotas"][0]["limit"], 50, "{now}");
    assert_eq!(now["guardrails"]["deny"][0]["name"], "codename", "{now}");
    let blocked = h
        .post(
            "/v1/chat/completions",
            switchboard_tests::KEY_A,
            json!({"model": "gpt", "messages": [{"role": "user", "content": "about bluebird"}]}),
        )
        .await;
    assert_eq!(
        blocked.status,
        400,
        "the deny rule still blocks: {}",
        blocked.text()
    );
}

/// Bad report parameters are refused rather than read as something else.
#[tokio::test]
async fn report_parameters_are_checked_not_guessed() {
    let h = Harness::start().await;
    for path in [
        "/admin/spend?tenat=acme",
        "/admin/spend?from=2026-11-02&to=2026-11-01",
        "/admin/audit?limit=0",
        "/admin/audit?limit=100000",
        "/admin/audit?order=cost&lmit=5",
    ] {
        let r = h.admin("GET", path, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
    }
    assert_eq!(
        h.admin("GET", "/admin/audit?limit=5", None).await.status,
        200
    );
}

/// Methods, sizes, encodings and the scheme's case, answered for what they are.
#[tokio::test]
async fn the_admin_api_answers_bad_requests_for_what_they_are() {
    let h = Harness::start().await;
    let wrong = h.admin("PUT", "/admin/keys", None).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));
    let send = |method: &'static str, headers: Vec<(&'static str, String)>, body: Bytes| {
        let url = h.admin_url("/admin/keys");
        let client = &h.client;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            client::send(client, client::request(method, &url, &headers, body)).await
        }
    };
    let auth = (
        "authorization",
        format!("bearer {}", switchboard_tests::ADMIN_KEY),
    );
    let lower = send("GET", vec![auth.clone()], Bytes::new()).await;
    assert_eq!(lower.status, 200, "the scheme is case-insensitive");
    let huge = Bytes::from(vec![b' '; 2 * 1024 * 1024]);
    let too_big = send("POST", vec![auth.clone()], huge).await;
    assert_eq!(too_big.status, 413);
    let gzip = send(
        "POST",
        vec![auth, ("content-encoding", "gzip".into())],
        Bytes::from_static(b"\x1f\x8b"),
    )
    .await;
    assert_eq!(gzip.status, 415);
}
