//! `/v1/embeddings` over every upstream that embeds, and `/v1/models` in both shapes.

use base64::Engine;
use serde_json::json;
use switchboard_tests::{Harness, KEY_A, KEY_LIMITED};

#[tokio::test]
async fn embeddings_come_back_in_openai_shape_from_every_upstream() {
    let h = Harness::start().await;
    for alias in ["embed", "gemini-embed", "offline-embed"] {
        let r = h
            .post(
                "/v1/embeddings",
                KEY_A,
                json!({"model": alias, "input": ["one two", "three"], "dimensions": 8}),
            )
            .await;
        assert_eq!(r.status, 200, "{alias}: {}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "list", "{alias}");
        assert_eq!(v["data"].as_array().unwrap().len(), 2, "{alias}");
        assert_eq!(v["data"][1]["index"], 1, "{alias}");
        let vector = v["data"][0]["embedding"].as_array().unwrap();
        assert_eq!(vector.len(), 8, "{alias}");
        let norm: f64 = vector
            .iter()
            .map(|x| x.as_f64().unwrap().powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{alias}: {norm}");
        assert_eq!(v["usage"]["prompt_tokens"], 3, "{alias}");
    }
}

#[tokio::test]
async fn base64_embeddings_decode_to_the_float_answer() {
    let h = Harness::start().await;
    for alias in ["embed", "gemini-embed"] {
        let floats = h
            .post(
                "/v1/embeddings",
                KEY_A,
                json!({"model": alias, "input": "same text"}),
            )
            .await
            .json();
        let b64 = h
            .post(
                "/v1/embeddings",
                KEY_A,
                json!({"model": alias, "input": "same text", "encoding_format": "base64"}),
            )
            .await
            .json();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let expected: Vec<f32> = floats["data"][0]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(decoded, expected, "{alias}");
    }
}

#[tokio::test]
async fn embeddings_from_a_chat_only_provider_are_a_400() {
    let h = Harness::start().await;
    let r = h
        .post(
            "/v1/embeddings",
            KEY_A,
            json!({"model": "claude", "input": "x"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("does not serve embeddings"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn models_lists_the_live_aliases_this_key_may_use() {
    let h = Harness::start().await;
    let v = h
        .get(
            "/v1/models",
            &[("authorization", "Bearer sk-test-acme-0001")],
        )
        .await
        .json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"gpt") && ids.contains(&"claude") && ids.contains(&"demo"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"switched-off"),
        "models whose provider is off are not listed"
    );
    assert_eq!(v["object"], "list");
    let v = h
        .get(
            "/v1/models",
            &[("authorization", &format!("Bearer {KEY_LIMITED}"))],
        )
        .await
        .json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["gpt"]);
    let v = h
        .get(
            "/v1/models",
            &[("x-api-key", KEY_A), ("anthropic-version", "2023-06-01")],
        )
        .await
        .json();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["has_more"], false);
    let one = h
        .get(
            "/v1/models/claude",
            &[("authorization", "Bearer sk-test-acme-0001")],
        )
        .await;
    assert_eq!(one.json()["id"], "claude");
    assert_eq!(
        h.get(
            "/v1/models/nope",
            &[("authorization", "Bearer sk-test-acme-0001")]
        )
        .await
        .status,
        404
    );
    assert_eq!(h.get("/v1/models", &[]).await.status, 401);
}
