//! Call counters.
//!
//! Everything on the request path is an atomic increment. Per-model counters
//! live in a map behind a `RwLock`: the common case (a model seen before) takes
//! only the shared read lock plus an atomic add, so concurrent requests never
//! serialise on a mutex; the write lock is taken once per new model name.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::routes::Route;

/// Distinct model names tracked before further new names are folded into
/// [`OTHER_MODELS`]; keeps memory bounded under fuzzing or long benchmarks.
const MAX_MODELS: usize = 10_000;
/// Bucket for model names beyond [`MAX_MODELS`].
pub(crate) const OTHER_MODELS: &str = "(other)";

/// Server-wide counters, shared by all connections.
#[derive(Default)]
pub(crate) struct Stats {
    calls: AtomicU64,
    by_route: [AtomicU64; Route::ALL.len()],
    by_model: RwLock<HashMap<Box<str>, AtomicU64>>,
    hanging: AtomicU64,
}

impl Stats {
    /// Counts one provider call on `route`, and on `model` when known.
    pub(crate) fn count(&self, route: Route, model: Option<&str>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.by_route[route.index()].fetch_add(1, Ordering::Relaxed);
        if let Some(model) = model {
            self.count_model(model);
        }
    }

    fn count_model(&self, model: &str) {
        if let Some(n) = self.by_model.read().get(model) {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut map = self.by_model.write();
        let key = if map.len() >= MAX_MODELS && !map.contains_key(model) {
            OTHER_MODELS
        } else {
            model
        };
        map.entry(key.into())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(crate) fn calls_for(&self, route: Route) -> u64 {
        self.by_route[route.index()].load(Ordering::Relaxed)
    }

    pub(crate) fn calls_for_model(&self, model: &str) -> u64 {
        self.by_model
            .read()
            .get(model)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Snapshot of the per-model counters, sorted by name.
    pub(crate) fn models(&self) -> BTreeMap<String, u64> {
        self.by_model
            .read()
            .iter()
            .map(|(k, v)| (k.to_string(), v.load(Ordering::Relaxed)))
            .collect()
    }

    /// Requests currently held open by a `hang`/`hang-after` fault.
    pub(crate) fn hanging(&self) -> u64 {
        self.hanging.load(Ordering::Relaxed)
    }

    /// Zeroes every counter (the hanging gauge is live state, not a counter).
    pub(crate) fn reset(&self) {
        self.calls.store(0, Ordering::Relaxed);
        for c in &self.by_route {
            c.store(0, Ordering::Relaxed);
        }
        self.by_model.write().clear();
    }
}

/// Keeps the hanging gauge up while a hung request exists; dropping it (the
/// client went away, the 10-minute bound expired, or shutdown) decrements it.
/// Tests use the gauge to prove hung requests do not leak.
pub(crate) struct HangGuard(Arc<Stats>);

impl HangGuard {
    pub(crate) fn new(stats: Arc<Stats>) -> Self {
        stats.hanging.fetch_add(1, Ordering::Relaxed);
        HangGuard(stats)
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.hanging.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let s = Arc::new(Stats::default());
        s.count(Route::OpenAiChat, Some("a"));
        s.count(Route::OpenAiChat, Some("a"));
        s.count(Route::GeminiEmbed, None);
        assert_eq!(s.calls(), 3);
        assert_eq!(s.calls_for(Route::OpenAiChat), 2);
        assert_eq!(s.calls_for_model("a"), 2);
        {
            let _g = HangGuard::new(s.clone());
            assert_eq!(s.hanging(), 1);
        }
        assert_eq!(s.hanging(), 0);
        s.reset();
        assert_eq!((s.calls(), s.calls_for_model("a")), (0, 0));
    }
}
