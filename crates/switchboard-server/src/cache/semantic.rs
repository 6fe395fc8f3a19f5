//! The semantic cache: answers found by meaning, not only by identical requests.
//!
//! A prompt (the request's text, as one string) is embedded through the alias's
//! configured embeddings alias; the vectors of cached prompts are kept per tenant and
//! alias, and the nearest one by cosine similarity is served when it reaches the
//! threshold. The search is a linear scan over at most `max_entries` unit vectors, which
//! at the default 1,000 entries of 1,536 dimensions is about a millisecond: far below the
//! call it saves, and without an index to keep consistent.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;
use switchboard_proto::chat::ChatRequest;
use switchboard_proto::openai::embeddings;
use switchboard_upstream::EmbeddingsCall;
use tokio::time::Instant;

use super::exact::CacheKey;
use crate::gateway::Gateway;
use crate::pipeline::attempt;

/// The cached prompts of one (scope, alias): unit vectors and the keys of their answers.
type Prompts = VecDeque<(Vec<f32>, CacheKey)>;

/// Unit vectors of cached prompts, per (scope, alias).
#[derive(Default)]
pub struct SemanticIndex {
    entries: Mutex<HashMap<(String, String), Prompts>>,
}

impl std::fmt::Debug for SemanticIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SemanticIndex")
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return -1.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl SemanticIndex {
    /// The cached prompt nearest `vector`, if its similarity reaches `threshold`.
    pub fn nearest(
        &self,
        scope: &str,
        alias: &str,
        vector: &[f32],
        threshold: f32,
    ) -> Option<(CacheKey, f32)> {
        let entries = self.entries.lock();
        let list = entries.get(&(scope.to_owned(), alias.to_owned()))?;
        list.iter()
            .map(|(v, k)| (*k, cosine(v, vector)))
            .filter(|(_, s)| *s >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Remembers `vector` as the prompt of the answer cached under `key`.
    pub fn insert(
        &self,
        scope: &str,
        alias: &str,
        vector: Vec<f32>,
        key: CacheKey,
        max_entries: usize,
    ) {
        let mut entries = self.entries.lock();
        let list = entries
            .entry((scope.to_owned(), alias.to_owned()))
            .or_default();
        list.retain(|(_, k)| *k != key);
        list.push_back((vector, key));
        while list.len() > max_entries.max(1) {
            list.pop_front();
        }
    }
}

/// The text of a request that its meaning is judged by: every message's text, in order.
pub fn prompt_text(req: &ChatRequest) -> String {
    req.messages
        .iter()
        .map(|m| m.joined_text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Embeds `text` through the embeddings alias `alias` (its first live deployment),
/// as a unit vector.
pub async fn embed(gw: &Gateway, alias: &str, text: &str) -> Result<Vec<f32>, String> {
    let deployments = crate::routing::resolve::deployments(gw, alias).map_err(|e| e.to_string())?;
    let d = deployments.first().ok_or("no deployment")?;
    if d.provider.kind == switchboard_config::ProviderKind::Builtin {
        let vectors = switchboard_upstream::builtin::embeddings(&[text.to_owned()], None);
        return vectors
            .into_iter()
            .next()
            .map(normalise)
            .ok_or_else(|| "no vector".to_owned());
    }
    let body = Bytes::from(serde_json::json!({ "model": alias, "input": text }).to_string());
    let call = EmbeddingsCall {
        request: embeddings::parse(body).map_err(|e| e.to_string())?,
    };
    let req = d.embeddings_request(&call).map_err(|e| e.to_string())?;
    let resp = attempt::send(d, req).await.map_err(|e| e.to_string())?;
    let deadline = Instant::now() + d.provider.total_timeout;
    let body = attempt::read_answer(resp.into_body(), deadline)
        .await
        .map_err(|e| e.to_string())?;
    let (out, _) = d.read_embeddings(&call, body).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let floats = v["data"][0]["embedding"]
        .as_array()
        .ok_or("no embedding in the answer")?;
    Ok(normalise(
        floats
            .iter()
            .filter_map(Value::as_f64)
            .map(|x| x as f32)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_prompt_above_the_threshold_is_found() {
        let idx = SemanticIndex::default();
        idx.insert("t", "a", normalise(vec![1.0, 0.0]), [1; 32], 10);
        idx.insert("t", "a", normalise(vec![0.0, 1.0]), [2; 32], 10);
        assert_eq!(
            idx.nearest("t", "a", &normalise(vec![0.9, 0.1]), 0.9)
                .map(|(k, _)| k),
            Some([1; 32])
        );
        assert_eq!(
            idx.nearest("t", "a", &normalise(vec![0.7, 0.7]), 0.9),
            None,
            "below the threshold"
        );
        assert_eq!(
            idx.nearest("other", "a", &normalise(vec![1.0, 0.0]), 0.5),
            None,
            "other tenants are never searched"
        );
    }

    #[test]
    fn the_oldest_entries_make_room() {
        let idx = SemanticIndex::default();
        for i in 0..5u8 {
            idx.insert(
                "t",
                "a",
                normalise(vec![f32::from(i) + 1.0, 1.0]),
                [i; 32],
                3,
            );
        }
        assert_eq!(
            idx.entries.lock()[&("t".to_owned(), "a".to_owned())].len(),
            3
        );
    }
}
