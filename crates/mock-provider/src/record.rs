//! Ring buffer of the last requests received, for assertions in tests.
//!
//! Recording happens on every provider request, so it stores the cheap parts
//! hyper already has (`Method`, `Uri`, a `HeaderMap` whose values are
//! reference-counted slices of the read buffer, the body `Bytes`) and only
//! converts them to owned strings when someone asks, via
//! [`MockServer::requests`](crate::MockServer::requests) or
//! `GET /_mock/requests`. The lock is held for one push/pop.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use parking_lot::Mutex;

/// How many requests are kept; older ones are dropped first.
pub const RECORDED_REQUESTS: usize = 100;

/// A request as the mock received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Header names lowercased; repeated headers joined with `", "`; values
    /// decoded lossily as UTF-8.
    pub headers: BTreeMap<String, String>,
    /// Raw body bytes.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Convenience: one header's value by (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What is stored per request until someone asks for it.
struct Raw {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Raw {
    fn render(&self) -> RecordedRequest {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &self.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        RecordedRequest {
            method: self.method.as_str().to_owned(),
            path: self.uri.path().to_owned(),
            query: self.uri.query().map(str::to_owned),
            headers,
            body: self.body.clone(),
        }
    }
}

/// The shared ring buffer.
#[derive(Default)]
pub(crate) struct Recorder {
    ring: Mutex<VecDeque<Raw>>,
}

impl Recorder {
    pub(crate) fn push(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) {
        let raw = Raw {
            method,
            uri,
            headers,
            body,
        };
        let evicted = {
            let mut ring = self.ring.lock();
            let evicted = if ring.len() >= RECORDED_REQUESTS {
                ring.pop_front()
            } else {
                None
            };
            ring.push_back(raw);
            evicted
        };
        // Freed outside the lock.
        drop(evicted);
    }

    /// Oldest first.
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.ring.lock().iter().map(Raw::render).collect()
    }

    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.ring.lock());
        drop(old);
    }
}
