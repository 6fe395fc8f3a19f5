//! `/_mock/*` endpoints, counters and recorded requests.

use http::Method;
use mock_provider::{RECORDED_REQUESTS, Route};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn counters_count_auth_failures_but_not_admin() {
    let server = start().await;
    let chat = json!({"model": "m1", "messages": [{"role": "user", "content": "x"}]});
    let url = format!("{}/v1/chat/completions", server.url());
    post(&url, &[OPENAI_AUTH], &chat).await;
    post(&url, &[], &chat).await; // 401 still reached the mock
    get(&format!("{}/_mock/stats", server.url()), &[]).await;
    assert_eq!(server.calls(), 2);
    assert_eq!(server.calls_for(Route::OpenAiChat), 2);
    assert_eq!(server.calls_for(Route::GeminiGenerate), 0);
    assert_eq!(server.calls_for_model("m1"), 2);
    assert_eq!(server.calls_for_model("m2"), 0);

    let stats = get(&format!("{}/_mock/stats", server.url()), &[])
        .await
        .json();
    assert_eq!(stats["calls"], 2);
    assert_eq!(stats["by_route"]["openai_chat"], 2);
    assert_eq!(stats["by_route"]["gemini_stream"], 0);
    assert_eq!(stats["by_model"], json!({"m1": 2}));
    assert_eq!(stats, server.stats_json());
}

#[tokio::test]
async fn faults_config_and_reset_over_http() {
    let server = start().await;
    let base = server.url();
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let url = format!("{base}/v1/chat/completions");

    let r = post(
        &format!("{base}/_mock/faults"),
        &[],
        &json!({"fault": "status=503", "route": "openai_chat", "times": 1}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        &format!("{base}/_mock/faults"),
        &[],
        &json!({"fault": "nonsense"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &format!("{base}/_mock/faults"),
        &[],
        &json!({"fault": "hang", "route": "no_such_route"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(post(&url, &[OPENAI_AUTH], &chat).await.status, 503);
    assert_eq!(post(&url, &[OPENAI_AUTH], &chat).await.status, 200);

    post(
        &format!("{base}/_mock/faults"),
        &[],
        &json!({"fault": "status=500"}),
    )
    .await;
    assert_eq!(post(&url, &[OPENAI_AUTH], &chat).await.status, 500);
    let r = send(Method::DELETE, &format!("{base}/_mock/faults"), &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(post(&url, &[OPENAI_AUTH], &chat).await.status, 200);

    let r = post(
        &format!("{base}/_mock/config"),
        &[],
        &json!({"ttft_ms": 5, "token_delay_ms": 1}),
    )
    .await;
    assert_eq!(r.json(), json!({"ttft_ms": 5, "token_delay_ms": 1}));
    assert_eq!(
        get(&format!("{base}/_mock/config"), &[]).await.json()["ttft_ms"],
        5
    );
    assert_eq!(
        post(&format!("{base}/_mock/config"), &[], &json!({"ttft": 5}))
            .await
            .status,
        400
    );

    post(
        &format!("{base}/_mock/faults"),
        &[],
        &json!({"fault": "status=500"}),
    )
    .await;
    assert_eq!(
        post(&format!("{base}/_mock/reset"), &[], &json!({}))
            .await
            .status,
        200
    );
    assert_eq!(server.calls(), 0);
    assert!(server.requests().is_empty());
    assert_eq!(
        get(&format!("{base}/_mock/config"), &[]).await.json(),
        json!({"ttft_ms": 0, "token_delay_ms": 0})
    );
    assert_eq!(
        post(&url, &[OPENAI_AUTH], &chat).await.status,
        200,
        "rules cleared by reset"
    );
    assert_eq!(get(&format!("{base}/_mock/nope"), &[]).await.status, 404);
}

#[tokio::test]
async fn recorded_requests() {
    let server = start().await;
    let g_url = format!("{}/v1beta/models/gm:generateContent?key=abc", server.url());
    let body = json!({"contents": [{"parts": [{"text": "remember me"}]}]});
    post(&g_url, &[("X-Custom-Header", "Value")], &body).await;
    post(&format!("{}/unknown", server.url()), &[], &json!({"a": 1})).await;
    get(&format!("{}/_mock/stats", server.url()), &[]).await;

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "admin calls are not recorded");
    let first = &reqs[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1beta/models/gm:generateContent");
    assert_eq!(first.query.as_deref(), Some("key=abc"));
    assert_eq!(first.header("x-custom-header"), Some("Value"));
    assert_eq!(first.json(), Some(body.clone()));
    assert_eq!(reqs[1].path, "/unknown");

    let listed = get(&format!("{}/_mock/requests", server.url()), &[])
        .await
        .json();
    assert_eq!(listed[0]["body"], body);
    assert_eq!(listed[0]["headers"]["x-custom-header"], "Value");
    assert_eq!(listed[0]["query"], "key=abc");

    // Ring buffer keeps the newest RECORDED_REQUESTS, oldest first.
    let c = client();
    for i in 0..RECORDED_REQUESTS + 5 {
        let url = format!("{}/v1/models?i={i}", server.url());
        let resp = c
            .request(request(Method::GET, &url, &[OPENAI_AUTH], None))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let reqs = server.requests();
    assert_eq!(reqs.len(), RECORDED_REQUESTS);
    assert_eq!(reqs[0].query.as_deref(), Some("i=5"));
    assert_eq!(
        reqs.last().unwrap().query.as_deref(),
        Some(&*format!("i={}", RECORDED_REQUESTS + 4))
    );
}
