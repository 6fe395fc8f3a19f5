//! The exact-match cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use switchboard_config::CacheSettings;
use switchboard_proto::chat::{ChatRequest, ChatResponse};

/// A request's cache key: SHA-256 of its scope and normalised request.
pub type CacheKey = [u8; 32];

#[derive(Debug)]
struct Entry {
    answer: Arc<ChatResponse>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<CacheKey, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _: &CacheKey,
        value: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Cached answers, bounded in bytes.
pub struct ResponseCache {
    entries: Cache<CacheKey, Arc<Entry>>,
    shared: bool,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

/// Roughly what an answer holds in memory.
fn weight(answer: &ChatResponse) -> u32 {
    let text: usize = answer
        .choices
        .iter()
        .map(|c| {
            c.text.as_ref().map_or(0, String::len)
                + c.tool_calls
                    .iter()
                    .map(|t| t.arguments.len() + t.name.len() + t.id.len())
                    .sum::<usize>()
        })
        .sum();
    u32::try_from(256 + text + answer.id.len() + answer.model.len()).unwrap_or(u32::MAX)
}

impl ResponseCache {
    pub fn new(settings: &CacheSettings) -> Self {
        let entries = Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|_, e: &Arc<Entry>| weight(&e.answer))
            .expire_after(PerEntryTtl)
            .build();
        Self {
            entries,
            shared: settings.shared_across_tenants,
        }
    }

    /// The key of `req` for `tenant`: the request without what does not change the answer
    /// (the end-user id, whether it streams), under the tenant's scope.
    pub fn key(&self, tenant: &str, req: &ChatRequest) -> CacheKey {
        let mut normal = req.clone();
        normal.user = None;
        normal.stream = false;
        let mut h = Sha256::new();
        if self.shared {
            h.update(b"shared\n");
        } else {
            h.update(b"tenant:");
            h.update(tenant.as_bytes());
            h.update(b"\n");
        }
        h.update(serde_json::to_vec(&normal).unwrap_or_default());
        h.finalize().into()
    }

    pub fn get(&self, key: &CacheKey) -> Option<Arc<ChatResponse>> {
        self.entries.get(key).map(|e| Arc::clone(&e.answer))
    }

    pub fn put(&self, key: CacheKey, answer: ChatResponse, ttl: Duration) {
        self.entries.insert(
            key,
            Arc::new(Entry {
                answer: Arc::new(answer),
                ttl,
            }),
        );
    }

    /// Entries held (eventually consistent: moka applies writes in batches).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_proto::chat::{Choice, FinishReason, Message, Role};

    fn req(text: &str, user: Option<&str>, stream: bool) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::text(Role::User, text)],
            user: user.map(str::to_owned),
            stream,
            ..ChatRequest::default()
        }
    }

    fn answer() -> ChatResponse {
        ChatResponse {
            id: "a".into(),
            model: "m".into(),
            created: 0,
            choices: vec![Choice::text(0, "hi", FinishReason::Stop)],
            usage: Default::default(),
        }
    }

    #[test]
    fn the_key_ignores_user_and_stream_but_not_content_or_tenant() {
        let c = ResponseCache::new(&CacheSettings::default());
        let base = c.key("acme", &req("q", None, false));
        assert_eq!(base, c.key("acme", &req("q", Some("u1"), true)));
        assert_ne!(base, c.key("acme", &req("other", None, false)));
        assert_ne!(
            base,
            c.key("globex", &req("q", None, false)),
            "tenants never share"
        );
        let shared = ResponseCache::new(&CacheSettings {
            shared_across_tenants: true,
            ..CacheSettings::default()
        });
        assert_eq!(
            shared.key("acme", &req("q", None, false)),
            shared.key("globex", &req("q", None, false))
        );
    }

    #[test]
    fn the_byte_bound_evicts_answers_beyond_it() {
        let max_bytes = 5 * u64::from(weight(&answer()));
        let c = ResponseCache::new(&CacheSettings {
            max_bytes,
            ..CacheSettings::default()
        });
        for i in 0..40 {
            let k = c.key("t", &req(&format!("question {i}"), None, false));
            c.put(k, answer(), Duration::from_secs(60));
        }
        let held = c.len();
        assert!((1..=5).contains(&held), "{held} answers held");
        assert!(c.entries.weighted_size() <= max_bytes);
        let kept = (0..40)
            .filter(|i| {
                c.get(&c.key("t", &req(&format!("question {i}"), None, false)))
                    .is_some()
            })
            .count() as u64;
        assert_eq!(kept, held, "evicted answers are gone, not just uncounted");
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let c = ResponseCache::new(&CacheSettings::default());
        let k = c.key("t", &req("q", None, false));
        c.put(k, answer(), Duration::from_millis(0));
        assert!(c.get(&k).is_none());
        c.put(k, answer(), Duration::from_secs(60));
        assert_eq!(c.get(&k).unwrap().choices[0].text.as_deref(), Some("hi"));
    }
}
