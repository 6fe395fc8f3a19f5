//! `x-switchboard-cache`: a request's say over the cache.

use http::HeaderMap;

/// Request header that steers the cache, and response header that reports it.
pub const HEADER: &str = "x-switchboard-cache";

/// What a request allows the cache to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// Serve from the cache when possible; store a fresh answer.
    Normal,
    /// `refresh`: skip the lookup, call the provider, store the fresh answer.
    Refresh,
    /// `no-store`: serve from the cache when possible, but store nothing.
    NoStore,
    /// `bypass`: leave the cache out entirely.
    Bypass,
}

impl Directive {
    pub fn of(headers: &HeaderMap) -> Directive {
        match headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "refresh" || v == "no-cache" => Directive::Refresh,
            Some(v) if v == "no-store" => Directive::NoStore,
            Some(v) if v == "bypass" || v == "off" => Directive::Bypass,
            _ => Directive::Normal,
        }
    }

    pub fn lookup(self) -> bool {
        matches!(self, Directive::Normal | Directive::NoStore)
    }

    pub fn store(self) -> bool {
        matches!(self, Directive::Normal | Directive::Refresh)
    }
}
