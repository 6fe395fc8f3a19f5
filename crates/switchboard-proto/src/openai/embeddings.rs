//! OpenAI embeddings: requests read from clients, answers written for them when the
//! vectors came from another family.

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::Usage;

use super::response::WireUsage;
use crate::error::{ProtoError, parse_request, parse_upstream};
use crate::raw::RawObject;

#[derive(Debug, Deserialize)]
struct WireEmbeddingsRequest {
    model: String,
    input: Value,
    #[serde(default)]
    encoding_format: Option<EncodingFormat>,
    #[serde(default)]
    dimensions: Option<u32>,
}

/// How vectors are returned: JSON floats, or base64 of little-endian `f32`s (the
/// official Python SDK asks for base64 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingFormat {
    #[default]
    Float,
    Base64,
}

/// A parsed embeddings request.
#[derive(Debug)]
pub struct EmbeddingsRequest {
    pub model: String,
    /// The texts to embed; `None` when the client sent token ids, which only
    /// OpenAI-family upstreams accept.
    pub texts: Option<Vec<String>>,
    pub encoding_format: EncodingFormat,
    pub dimensions: Option<u32>,
    pub raw: RawObject,
}

pub fn parse(body: Bytes) -> Result<EmbeddingsRequest, ProtoError> {
    let wire: WireEmbeddingsRequest = parse_request(&body)?;
    let texts = match &wire.input {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => {
            return Err(ProtoError::field("input", "must not be empty"));
        }
        Value::Array(items) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::Array(items) if items.iter().all(|v| v.is_u64() || v.is_array()) => None,
        _ => {
            return Err(ProtoError::field(
                "input",
                "expected a string, an array of strings or token arrays",
            ));
        }
    };
    Ok(EmbeddingsRequest {
        model: wire.model,
        texts,
        encoding_format: wire.encoding_format.unwrap_or_default(),
        dimensions: wire.dimensions,
        raw: RawObject::parse(body)?,
    })
}

/// The client's body with `model` replaced, for OpenAI-family upstreams.
pub fn passthrough_body(req: &EmbeddingsRequest, upstream_model: &str) -> Bytes {
    let model = crate::raw::json_string(upstream_model);
    req.raw.write(&[("model", model.as_bytes())], &[])
}

/// The usage of an OpenAI embeddings answer (input tokens only).
pub fn usage_of(body: &[u8]) -> Result<Usage, ProtoError> {
    #[derive(Deserialize)]
    struct UsageOnly {
        #[serde(default)]
        usage: Option<WireUsage>,
    }
    let u: UsageOnly = parse_upstream(body)?;
    Ok(u.usage.as_ref().map(Usage::from).unwrap_or_default())
}

#[derive(Serialize)]
struct WireEmbeddings<'a> {
    object: &'static str,
    data: Vec<WireEmbedding>,
    model: &'a str,
    usage: WireUsage,
}

#[derive(Serialize)]
struct WireEmbedding {
    object: &'static str,
    index: usize,
    embedding: Value,
}

/// Writes vectors as an OpenAI embeddings answer in the encoding the client asked for.
pub fn write_response(
    vectors: &[Vec<f32>],
    model: &str,
    usage: Usage,
    format: EncodingFormat,
) -> Bytes {
    let data = vectors
        .iter()
        .enumerate()
        .map(|(index, v)| WireEmbedding {
            object: "embedding",
            index,
            embedding: encode(v, format),
        })
        .collect();
    let mut usage = WireUsage::from(usage);
    usage.completion_tokens = 0;
    usage.total_tokens = usage.prompt_tokens;
    let body = WireEmbeddings {
        object: "list",
        data,
        model,
        usage,
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

fn encode(v: &[f32], format: EncodingFormat) -> Value {
    match format {
        EncodingFormat::Float => {
            Value::Array(v.iter().map(|x| Value::from(f64::from(*x))).collect())
        }
        EncodingFormat::Base64 => {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_forms_are_told_apart() {
        let r = parse(Bytes::from_static(br#"{"model":"e","input":"hi"}"#)).unwrap();
        assert_eq!(r.texts, Some(vec!["hi".to_owned()]));
        let r = parse(Bytes::from_static(br#"{"model":"e","input":[[1,2],[3]]}"#)).unwrap();
        assert_eq!(r.texts, None);
        let err = parse(Bytes::from_static(br#"{"model":"e","input":{"a":1}}"#)).unwrap_err();
        assert_eq!(err.param(), Some("input"));
    }

    #[test]
    fn base64_vectors_decode_to_the_same_floats() {
        let body = write_response(
            &[vec![0.5, -1.0]],
            "e",
            Usage::new(3, 0),
            EncodingFormat::Base64,
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        let b64 = v["data"][0]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let floats: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![0.5, -1.0]);
        assert_eq!(v["usage"]["prompt_tokens"], 3);
    }
}
