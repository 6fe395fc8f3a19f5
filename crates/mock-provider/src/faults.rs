//! Fault injection: the spec language, server-wide rules and their matching.
//!
//! A fault is chosen per request: the `x-mock-fault` header wins; otherwise the
//! first server-wide [`FaultRule`] whose filters match is used (and its `times`
//! budget decremented). Spec grammar (see the crate docs for what each does):
//!
//! ```text
//! status=<400..599>[;retry-after=<secs>] | echo-auth=<400..599> | hang | hang-after=<n>
//!     | cut-after=<n> | bad-json | bad-sse
//! ```
//!
//! When no rule is installed the request path reads one atomic and never
//! touches the lock.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::routes::Route;

/// A parsed fault spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Respond with this status and a provider-shaped error body.
    Status { code: u16, retry_after: Option<u64> },
    /// Respond with this status and an error message quoting the credentials the
    /// request carried, as careless providers do ("Incorrect API key provided: sk-...").
    EchoAuth { code: u16 },
    /// Never send response headers.
    Hang,
    /// Send headers and `n` content chunks, then hang.
    HangAfter(u64),
    /// Send headers and `n` content chunks, then abort the connection.
    CutAfter(u64),
    /// Non-stream: 200 with an invalid JSON body. Stream: one invalid event
    /// after the first content chunk.
    BadJson,
    /// Stream with broken framing after the first content chunk.
    BadSse,
}

/// Why a fault spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpecError(String);

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultSpecError {}

impl Fault {
    /// Parses a spec such as `status=429;retry-after=2` or `cut-after=3`.
    pub(crate) fn parse(spec: &str) -> Result<Fault, FaultSpecError> {
        let bad = |why: &str| FaultSpecError(format!("malformed fault spec {spec:?}: {why}"));
        let mut parts = spec.split(';').map(str::trim);
        let head = parts.next().unwrap_or_default();
        let (key, value) = match head.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (head, None),
        };
        let number = |v: Option<&str>| -> Result<u64, FaultSpecError> {
            v.and_then(|v| v.parse().ok())
                .ok_or_else(|| bad("expected a non-negative integer"))
        };
        let fault = match key {
            "hang" if value.is_none() => Fault::Hang,
            "bad-json" if value.is_none() => Fault::BadJson,
            "bad-sse" if value.is_none() => Fault::BadSse,
            "hang-after" => Fault::HangAfter(number(value)?),
            "cut-after" => Fault::CutAfter(number(value)?),
            "echo-auth" => {
                let code = number(value)?;
                if !(400..=599).contains(&code) {
                    return Err(bad("status must be within 400..=599"));
                }
                Fault::EchoAuth { code: code as u16 }
            }
            "status" => {
                let code = number(value)?;
                if !(400..=599).contains(&code) {
                    return Err(bad("status must be within 400..=599"));
                }
                let mut retry_after = None;
                for param in parts.by_ref() {
                    match param.split_once('=') {
                        Some((k, v)) if k.trim() == "retry-after" => {
                            retry_after = Some(number(Some(v.trim()))?);
                        }
                        _ if param.is_empty() => {}
                        _ => return Err(bad("unknown parameter")),
                    }
                }
                Fault::Status {
                    code: code as u16,
                    retry_after,
                }
            }
            _ => return Err(bad("unknown fault")),
        };
        if parts.any(|p| !p.is_empty()) {
            return Err(bad("unexpected parameter"));
        }
        Ok(fault)
    }
}

/// A server-wide fault rule (`POST /_mock/faults` body, or
/// [`MockServer::add_fault`](crate::MockServer::add_fault)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The fault spec, same grammar as the `x-mock-fault` header.
    pub fault: String,
    /// Only requests for this model (body `model`, Azure deployment, or the
    /// Gemini model in the path).
    #[serde(default)]
    pub model: Option<String>,
    /// Only requests on this route.
    #[serde(default)]
    pub route: Option<Route>,
    /// Apply to the next `times` matching requests, then expire. `None`:
    /// forever.
    #[serde(default)]
    pub times: Option<u64>,
}

impl FaultRule {
    /// A rule applying `fault` to every request, forever.
    pub fn new(fault: impl Into<String>) -> Self {
        FaultRule {
            fault: fault.into(),
            model: None,
            route: None,
            times: None,
        }
    }

    /// Restricts the rule to one model.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Restricts the rule to one route.
    #[must_use]
    pub fn route(mut self, route: Route) -> Self {
        self.route = Some(route);
        self
    }

    /// Expires the rule after `times` matching requests.
    #[must_use]
    pub fn times(mut self, times: u64) -> Self {
        self.times = Some(times);
        self
    }

    /// Checks the spec without installing the rule.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        Fault::parse(&self.fault).map(|_| ())
    }
}

/// An installed rule. A malformed spec installed through the library API is
/// kept and answers matching requests with 400, so the mistake is visible.
struct Active {
    fault: Result<Fault, FaultSpecError>,
    model: Option<String>,
    route: Option<Route>,
    remaining: Option<u64>,
}

/// The installed rules, in insertion order.
#[derive(Default)]
pub(crate) struct FaultStore {
    rules: Mutex<Vec<Active>>,
    /// Number of installed rules, read lock-free on every request.
    len: AtomicUsize,
}

impl FaultStore {
    pub(crate) fn add(&self, rule: FaultRule) {
        if rule.times == Some(0) {
            return;
        }
        let mut rules = self.rules.lock();
        rules.push(Active {
            fault: Fault::parse(&rule.fault),
            model: rule.model,
            route: rule.route,
            remaining: rule.times,
        });
        self.len.store(rules.len(), Ordering::Release);
    }

    pub(crate) fn clear(&self) {
        let mut rules = self.rules.lock();
        rules.clear();
        self.len.store(0, Ordering::Release);
    }

    /// The fault of the first matching rule, consuming one of its `times`.
    pub(crate) fn take(
        &self,
        route: Route,
        model: Option<&str>,
    ) -> Option<Result<Fault, FaultSpecError>> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.rules.lock();
        let idx = rules.iter().position(|r| {
            r.route.is_none_or(|want| want == route)
                && r.model.as_deref().is_none_or(|want| Some(want) == model)
        })?;
        let rule = &mut rules[idx];
        let fault = rule.fault.clone();
        if let Some(left) = rule.remaining.as_mut() {
            *left -= 1;
            if *left == 0 {
                rules.remove(idx);
                self.len.store(rules.len(), Ordering::Release);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            Fault::parse("status=429; retry-after=3"),
            Ok(Fault::Status {
                code: 429,
                retry_after: Some(3)
            })
        );
        assert_eq!(Fault::parse(" hang "), Ok(Fault::Hang));
        assert_eq!(Fault::parse("cut-after=2"), Ok(Fault::CutAfter(2)));
        assert_eq!(Fault::parse("hang-after=0"), Ok(Fault::HangAfter(0)));
        assert_eq!(
            Fault::parse("echo-auth=400"),
            Ok(Fault::EchoAuth { code: 400 })
        );
        for bad in [
            "",
            "status",
            "status=200",
            "status=abc",
            "hang=1",
            "nope",
            "cut-after=-1",
            "bad-json;x=1",
            "status=500;foo=1",
            "echo-auth",
            "echo-auth=200",
        ] {
            assert!(Fault::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_match_and_expire() {
        let store = FaultStore::default();
        store.add(FaultRule::new("status=500").model("m").times(2));
        store.add(FaultRule::new("bad-json").route(Route::AnthropicMessages));
        assert!(store.take(Route::OpenAiChat, Some("other")).is_none());
        assert!(store.take(Route::OpenAiChat, Some("m")).is_some());
        assert!(store.take(Route::OpenAiChat, Some("m")).is_some());
        assert!(store.take(Route::OpenAiChat, Some("m")).is_none());
        assert_eq!(
            store.take(Route::AnthropicMessages, None),
            Some(Ok(Fault::BadJson))
        );
        store.clear();
        assert!(store.take(Route::AnthropicMessages, None).is_none());
    }
}
