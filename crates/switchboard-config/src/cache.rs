//! Response caching: `[cache]` sizes the node's cache; `cache = {...}` on a model alias
//! switches it on for that alias.

use std::time::Duration;

use serde::Deserialize;

use crate::duration;

/// The node-wide cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Bytes of cached answers kept; the least recently used go first.
    pub max_bytes: u64,
    /// Share cached answers across tenants (off: a tenant only ever sees its own).
    pub shared_across_tenants: bool,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            shared_across_tenants: false,
        }
    }
}

/// Caching of one alias's answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasCache {
    /// How long an answer stays servable.
    #[serde(deserialize_with = "duration::de")]
    pub ttl: Duration,
    /// Also answer prompts that mean the same, not only identical requests.
    #[serde(default)]
    pub semantic: Option<SemanticCache>,
}

/// Semantic matching: prompts are embedded and compared by cosine similarity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticCache {
    /// The embeddings alias that embeds prompts.
    pub embedding_model: String,
    /// Cosine similarity from which a cached answer is served (0..1, e.g. 0.95).
    pub threshold: f32,
    /// Entries kept per tenant for the nearest-neighbour search.
    #[serde(default = "default_entries")]
    pub max_entries: usize,
}

fn default_entries() -> usize {
    1000
}
