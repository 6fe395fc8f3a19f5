//! Embeddings for OpenAI/Azure (`/embeddings`) and Gemini
//! (`:embedContent`, `:batchEmbedContents`).
//!
//! Each input text maps to a vector of `dimensions` values (default 8, at most
//! 4096; OpenAI `dimensions`, Gemini `outputDimensionality`): a xorshift64*
//! generator seeded with FNV-1a of the text yields values in `[-1, 1)`, and
//! the vector is L2-normalised. Such vectors say nothing about meaning: two
//! texts that differ by one letter are as far apart as any two.
//!
//! Models whose name starts with `bag-of-words` (e.g. a deployment model
//! `bag-of-words-embed`) get bag-of-words vectors instead, so semantic-cache
//! tests can express "near": each lowercased alphanumeric word adds 1 to bucket
//! `FNV-1a(word) % dimensions` (default 256 here), then the vector is
//! L2-normalised. The cosine of two texts is then about the share of words they
//! have in common: `"a b c"` and `"a b c d"` score `3/sqrt(12) ≈ 0.87`, texts
//! with no word in common score 0 (barring a bucket collision, which a test can
//! rule out by computing the vectors with [`embedding_for`]).
//!
//! Token-id inputs are treated as the text of the ids joined by spaces. Usage
//! (OpenAI only) counts whitespace-separated words (token-id inputs: one per id).

use serde::Deserialize;

use crate::content::{Rng, fnv1a, words};
use crate::json;
use crate::text::Text;

/// Default vector length.
pub const DEFAULT_DIMENSIONS: usize = 8;
/// Largest vector length honoured.
pub const MAX_DIMENSIONS: usize = 4096;

/// The deterministic unit vector for `text`.
pub fn embedding(text: &str, dims: usize) -> Vec<f32> {
    let dims = dims.clamp(1, MAX_DIMENSIONS);
    let mut rng = Rng::new(fnv1a(text.as_bytes()) ^ 0x5bd1_e995);
    let mut v: Vec<f32> = (0..dims)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > f32::EPSILON {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
        v[0] = 1.0;
    }
    v
}

/// Prefix of model names that get bag-of-words vectors.
pub const BAG_OF_WORDS_PREFIX: &str = "bag-of-words";
/// Vector length of bag-of-words embeddings when the request names none: enough
/// buckets that the few words of a test prompt rarely share one.
pub const BAG_OF_WORDS_DIMENSIONS: usize = 256;

/// The bag-of-words unit vector for `text` (see the module docs).
pub fn bag_of_words(text: &str, dims: usize) -> Vec<f32> {
    let dims = dims.clamp(1, MAX_DIMENSIONS);
    let mut v = vec![0.0f32; dims];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let bucket = fnv1a(word.to_lowercase().as_bytes()) % dims as u64;
        v[bucket as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > f32::EPSILON {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v[0] = 1.0;
    }
    v
}

/// The vector `model` answers for `text`: bag-of-words for models named so, the
/// hash-seeded one otherwise. `dims` as the request asked, if it did.
pub fn embedding_for(model: &str, text: &str, dims: Option<usize>) -> Vec<f32> {
    if model.starts_with(BAG_OF_WORDS_PREFIX) {
        bag_of_words(text, dims.unwrap_or(BAG_OF_WORDS_DIMENSIONS))
    } else {
        embedding(text, dims.unwrap_or(DEFAULT_DIMENSIONS))
    }
}

/// A parsed embeddings request.
#[derive(Debug)]
pub(crate) struct EmbedRequest {
    pub model: Option<String>,
    /// `(text, words)` per input.
    pub inputs: Vec<(String, u64)>,
    /// The vector length asked for, if any.
    pub dims: Option<usize>,
    pub base64: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<u64>),
    TokenLists(Vec<Vec<u64>>),
}

#[derive(Deserialize)]
struct OpenAiBody {
    #[serde(default)]
    model: Option<String>,
    input: Input,
    #[serde(default)]
    dimensions: Option<usize>,
    #[serde(default)]
    encoding_format: Option<String>,
}

fn tokens_text(ids: &[u64]) -> (String, u64) {
    let text = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    (text, ids.len() as u64)
}

/// Parses an OpenAI/Azure embeddings request.
pub(crate) fn parse_openai(body: &[u8], needs_model: bool) -> Result<EmbedRequest, String> {
    let b: OpenAiBody =
        serde_json::from_slice(body).map_err(|e| format!("Invalid request body: {e}"))?;
    if needs_model && b.model.as_deref().is_none_or(str::is_empty) {
        return Err("you must provide a model parameter".into());
    }
    let with_words = |s: String| {
        let w = words(&s);
        (s, w)
    };
    let inputs: Vec<(String, u64)> = match b.input {
        Input::One(s) => vec![with_words(s)],
        Input::Many(v) => v.into_iter().map(with_words).collect(),
        Input::Tokens(ids) => vec![tokens_text(&ids)],
        Input::TokenLists(lists) => lists.iter().map(|ids| tokens_text(ids)).collect(),
    };
    if inputs.is_empty() {
        return Err("'input' must not be empty".into());
    }
    Ok(EmbedRequest {
        model: b.model,
        inputs,
        dims: b.dimensions,
        base64: b.encoding_format.as_deref() == Some("base64"),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiOne {
    content: Text,
    #[serde(default, alias = "output_dimensionality")]
    output_dimensionality: Option<usize>,
}

#[derive(Deserialize)]
struct GeminiBatch {
    requests: Vec<GeminiOne>,
}

/// Parses a Gemini `embedContent` (or, with `batch`, `batchEmbedContents`).
pub(crate) fn parse_gemini(body: &[u8], batch: bool) -> Result<EmbedRequest, String> {
    let bad = |e: serde_json::Error| format!("Invalid JSON payload received. {e}");
    let requests = if batch {
        serde_json::from_slice::<GeminiBatch>(body)
            .map_err(bad)?
            .requests
    } else {
        vec![serde_json::from_slice::<GeminiOne>(body).map_err(bad)?]
    };
    if requests.is_empty() {
        return Err(
            "* BatchEmbedContentsRequest.requests: at least one request is required".into(),
        );
    }
    let dims = requests[0].output_dimensionality;
    Ok(EmbedRequest {
        model: None,
        inputs: requests
            .into_iter()
            .map(|r| {
                let w = words(&r.content.text);
                (r.content.text, w)
            })
            .collect(),
        dims,
        base64: false,
    })
}

fn push_vector(out: &mut String, v: &[f32], base64: bool) {
    if base64 {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        out.push('"');
        json::push_base64(out, &bytes);
        out.push('"');
        return;
    }
    out.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::push_f32(out, *x);
    }
    out.push(']');
}

/// OpenAI `{"object":"list","data":[..],"model":..,"usage":{..}}`.
pub(crate) fn render_openai(model: &str, req: &EmbedRequest) -> String {
    let dims = req.dims.unwrap_or(DEFAULT_DIMENSIONS);
    let mut out = String::with_capacity(128 + req.inputs.len() * (dims * 12 + 48));
    out.push_str("{\"object\":\"list\",\"data\":[");
    let mut total = 0;
    for (i, (text, w)) in req.inputs.iter().enumerate() {
        total += w;
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"object\":\"embedding\",\"index\":");
        json::push_u64(&mut out, i as u64);
        out.push_str(",\"embedding\":");
        push_vector(&mut out, &embedding_for(model, text, req.dims), req.base64);
        out.push('}');
    }
    out.push_str("],\"model\":");
    json::push_str(&mut out, model);
    out.push_str(",\"usage\":{\"prompt_tokens\":");
    json::push_u64(&mut out, total);
    out.push_str(",\"total_tokens\":");
    json::push_u64(&mut out, total);
    out.push_str("}}");
    out
}

/// Gemini `{"embedding":{"values":[..]}}` or `{"embeddings":[{"values":[..]},..]}`.
pub(crate) fn render_gemini(model: &str, req: &EmbedRequest, batch: bool) -> String {
    let dims = req.dims.unwrap_or(DEFAULT_DIMENSIONS);
    let mut out = String::with_capacity(64 + req.inputs.len() * (dims * 12 + 16));
    out.push_str(if batch {
        "{\"embeddings\":["
    } else {
        "{\"embedding\":"
    });
    for (i, (text, _)) in req.inputs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"values\":");
        push_vector(&mut out, &embedding_for(model, text, req.dims), false);
        out.push('}');
    }
    out.push_str(if batch { "]}" } else { "}" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_length_and_deterministic() {
        let a = embedding("hello", 16);
        assert_eq!(a.len(), 16);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(a, embedding("hello", 16));
        assert_ne!(a, embedding("hellp", 16));
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn bag_of_words_vectors_are_as_near_as_the_texts_share_words() {
        let bow = |t: &str| embedding_for("bag-of-words-embed", t, None);
        let base = bow("What is the capital of France?");
        assert_eq!(base.len(), BAG_OF_WORDS_DIMENSIONS);
        assert!((cosine(&base, &base) - 1.0).abs() < 1e-5);
        assert_eq!(
            base,
            bow("what IS the capital, of france"),
            "case and punctuation"
        );
        let near = cosine(&base, &bow("what is the capital of france please"));
        assert!((near - 6.0 / 42f32.sqrt()).abs() < 1e-5, "{near}");
        let half = cosine(&base, &bow("what is the capital of spain"));
        assert!((half - 5.0 / 6.0).abs() < 1e-5, "{half}");
        let far = cosine(&base, &bow("volcanoes erupt when magma rises"));
        assert!(far.abs() < 1e-5, "{far}");
        assert_eq!(embedding_for("bag-of-words", "a b", Some(4)).len(), 4);
        assert_eq!(
            embedding_for("mock-embed", "hello", None),
            embedding("hello", DEFAULT_DIMENSIONS),
            "other models keep the hash-seeded vectors"
        );
    }
}
