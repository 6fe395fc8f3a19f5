//! Gemini embeddings through `batchEmbedContents`: one request embeds every input.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{ProtoError, parse_upstream};

#[derive(Serialize)]
struct Batch<'a> {
    requests: Vec<EmbedRequest<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedRequest<'a> {
    model: &'a str,
    content: EmbedContent<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
}

#[derive(Serialize)]
struct EmbedContent<'a> {
    parts: [TextPart<'a>; 1],
}

#[derive(Serialize)]
struct TextPart<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
struct BatchAnswer {
    embeddings: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    values: Vec<f32>,
}

/// The `batchEmbedContents` body embedding `inputs` with `model`. Each request inside
/// must name the model as `models/<model>`, the same one as in the URL.
pub fn write(inputs: &[String], dimensions: Option<u32>, model: &str) -> Bytes {
    let model = if model.starts_with("models/") {
        model.to_owned()
    } else {
        format!("models/{model}")
    };
    let requests = inputs
        .iter()
        .map(|text| EmbedRequest {
            model: &model,
            content: EmbedContent {
                parts: [TextPart { text }],
            },
            output_dimensionality: dimensions,
        })
        .collect();
    super::to_bytes(&Batch { requests })
}

/// The vectors of a `batchEmbedContents` answer, in input order.
pub fn parse(body: &[u8]) -> Result<Vec<Vec<f32>>, ProtoError> {
    let answer: BatchAnswer = parse_upstream(body)?;
    Ok(answer.embeddings.into_iter().map(|e| e.values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn each_input_is_one_request_naming_the_model() {
        let body = write(&["a".into(), "b".into()], Some(256), "gemini-embedding-001");
        let v: Value = serde_json::from_slice(&body).unwrap();
        let one = |text: &str| json!({"model":"models/gemini-embedding-001","content":{"parts":[{"text":text}]},"outputDimensionality":256});
        assert_eq!(v, json!({"requests":[one("a"), one("b")]}));
        let v: Value = serde_json::from_slice(&write(&["a".into()], None, "models/m")).unwrap();
        assert_eq!(
            v,
            json!({"requests":[{"model":"models/m","content":{"parts":[{"text":"a"}]}}]})
        );
    }

    #[test]
    fn vectors_are_read_in_order() {
        let body = br#"{"embeddings":[{"values":[0.5,-1]},{"values":[2]}]}"#;
        assert_eq!(parse(body).unwrap(), vec![vec![0.5, -1.0], vec![2.0]]);
        assert!(matches!(
            parse(br#"{"embeddings":{}}"#),
            Err(ProtoError::BadUpstream(_))
        ));
    }
}
