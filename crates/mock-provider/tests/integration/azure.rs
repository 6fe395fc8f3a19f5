//! Azure OpenAI deployments.

use mock_provider::Route;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn chat_uses_deployment_and_requires_api_version() {
    let server = start().await;
    let base = format!(
        "{}/openai/deployments/my-dep/chat/completions",
        server.url()
    );
    let body = json!({"messages": [{"role": "user", "content": "hi azure"}]});
    let key = ("api-key", "az-key");

    let r = post(&format!("{base}?api-version=2024-10-21"), &[key], &body).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["model"], "my-dep");
    assert_eq!(v["usage"]["prompt_tokens"], 3);

    let r = post(&base, &[key], &body).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api-version")
    );

    let r = post(
        &format!("{base}?api-version=2024-10-21"),
        &[OPENAI_AUTH],
        &body,
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.json()["error"]["message"].is_string());

    let mut stream = body.clone();
    stream["stream"] = json!(true);
    let events = sse(
        &post(&format!("{base}?api-version=2024-10-21"), &[key], &stream)
            .await
            .text(),
    );
    assert_eq!(events[0].json()["model"], "my-dep");
    assert_eq!(events.last().unwrap().data, "[DONE]");

    assert_eq!(server.calls_for(Route::AzureChat), 4);
    assert_eq!(server.calls_for_model("my-dep"), 4);
}

#[tokio::test]
async fn embeddings() {
    let server = start().await;
    let url = format!(
        "{}/openai/deployments/emb/embeddings?api-version=2024-10-21",
        server.url()
    );
    let r = post(&url, &[("api-key", "k")], &json!({"input": ["a b", "c"]})).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["model"], "emb");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["usage"], json!({"prompt_tokens": 3, "total_tokens": 3}));
    assert_eq!(server.calls_for(Route::AzureEmbeddings), 1);
}
