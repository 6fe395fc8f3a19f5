//! Embeddings on OpenAI and Gemini.

use mock_provider::Route;
use serde_json::{Value, json};

use crate::common::*;

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[tokio::test]
async fn openai_dims_normalised_and_deterministic() {
    let server = start().await;
    let url = format!("{}/v1/embeddings", server.url());
    let r = post(
        &url,
        &[OPENAI_AUTH],
        &json!({"model": "mock-embedding", "input": "hello world"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "mock-embedding");
    assert_eq!(v["data"][0]["object"], "embedding");
    assert_eq!(v["data"][0]["index"], 0);
    let e = vector(&v["data"][0]["embedding"]);
    assert_eq!(e.len(), 8);
    assert!((norm(&e) - 1.0).abs() < 1e-4);
    assert_eq!(v["usage"], json!({"prompt_tokens": 2, "total_tokens": 2}));

    let v = post(
        &url,
        &[OPENAI_AUTH],
        &json!({"model": "m", "input": ["hello world", "other"], "dimensions": 32}),
    )
    .await
    .json();
    let a = vector(&v["data"][0]["embedding"]);
    let b = vector(&v["data"][1]["embedding"]);
    assert_eq!(a.len(), 32);
    assert!((norm(&a) - 1.0).abs() < 1e-4 && (norm(&b) - 1.0).abs() < 1e-4);
    assert_ne!(a, b);
    assert_eq!(v["data"][1]["index"], 1);

    // Token arrays are accepted; base64 encoding decodes to the same length.
    let v = post(
        &url,
        &[OPENAI_AUTH],
        &json!({"model": "m", "input": [[1, 2, 3]], "encoding_format": "base64"}),
    )
    .await
    .json();
    let b64 = v["data"][0]["embedding"].as_str().unwrap();
    assert_eq!(b64.len(), 44); // 8 f32 = 32 bytes -> 44 base64 chars
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    assert_eq!(server.calls_for(Route::OpenAiEmbeddings), 3);
}

#[tokio::test]
async fn gemini_embed_and_batch() {
    let server = start().await;
    let one = format!(
        "{}/v1beta/models/text-embedding-mock:embedContent",
        server.url()
    );
    let v = post(
        &one,
        &[GEMINI_AUTH],
        &json!({"content": {"parts": [{"text": "hello world"}]}}),
    )
    .await
    .json();
    let single = vector(&v["embedding"]["values"]);
    assert_eq!(single.len(), 8);
    assert!((norm(&single) - 1.0).abs() < 1e-4);

    let batch = format!(
        "{}/v1beta/models/text-embedding-mock:batchEmbedContents",
        server.url()
    );
    let v = post(
        &batch,
        &[GEMINI_AUTH],
        &json!({"requests": [
            {"model": "models/text-embedding-mock", "content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 8},
            {"model": "models/text-embedding-mock", "content": {"parts": [{"text": "b"}]}}
        ]}),
    )
    .await
    .json();
    let list = v["embeddings"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(vector(&list[0]["values"]), single);

    // Same text gives the same vector on OpenAI too.
    let oa = post(
        &format!("{}/v1/embeddings", server.url()),
        &[OPENAI_AUTH],
        &json!({"model": "m", "input": "hello world"}),
    )
    .await
    .json();
    assert_eq!(vector(&oa["data"][0]["embedding"]), single);
    assert_eq!(server.calls_for(Route::GeminiEmbed), 2);
    assert_eq!(server.calls_for_model("text-embedding-mock"), 2);
}
