//! The attempt loop: where a call goes, and where it goes next when that fails, until an
//! answer is committed to the client (a complete body, or a stream's first chunk) or the
//! plan runs out.
//!
//! Each attempt takes a deployment from the alias's order, skipping open breakers, counts
//! itself in flight, runs under the per-attempt timeout, and reports its outcome to the
//! deployment's breaker and latency EWMA. The per-attempt timeout (shortened to what is
//! left of the total deadline) bounds an attempt up to the point where its answer can be
//! committed: the whole body of a plain call, the first event of a stream; so a provider
//! that sends its headers and then stalls is still failed over, invisibly. The EWMA is
//! fed the time to first byte ([`FirstByte`]): response headers for a plain call, the
//! first event for a stream, so a long answer does not make a fast provider look slow. After a failure the router's planner decides:
//! retry the same deployment after a backoff (honouring `Retry-After`), fail over to the
//! next one at once, move to a fallback alias, or give up with the last error. Nothing has
//! reached the client at any of these points, so every retry is invisible to it.
//!
//! An alias with nothing to try is skipped without an attempt: down the fallback chain
//! when every breaker is open, to the context fallback when no context window is large
//! enough. A call that made no attempt at all because every alias of its chain was fully
//! open gets the immediate 503 with Retry-After (the soonest reopening).

use std::time::{Duration, Instant};

use switchboard_config::RetryConfig;
use switchboard_router::{
    AttemptError, Estimate, Fallbacks, Next, Outcome, Planner, RetryOn, RetryPolicy, Skip,
    SplitMix, breaker_outcome,
};
use switchboard_upstream::{Deployment, UpstreamError};

use super::explain::Move;
use super::resolve::{Ordered, order};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics;
use crate::pipeline::RequestCtx;

/// Who answered, after how many attempts, through which fallbacks.
#[derive(Debug, Clone)]
pub struct Served {
    pub deployment: Deployment,
    pub attempts: u32,
    pub fallbacks: Vec<String>,
    /// How the serving alias and deployment were chosen: the `x-switchboard-route` header.
    pub route: String,
    /// The deployment the alias's shadow strategy would have chosen first: id and price.
    pub shadow: Option<(std::sync::Arc<str>, switchboard_core::Price)>,
}

pub fn retry_policy(r: &RetryConfig) -> RetryPolicy {
    let on = |name: &str| r.retry_on.iter().any(|x| x == name);
    RetryPolicy {
        max_attempts: r.max_attempts,
        base_backoff: r.base_backoff,
        max_backoff: r.max_backoff,
        per_attempt_timeout: r.per_attempt_timeout,
        total_deadline: r.total_deadline,
        retry_on: RetryOn {
            rate_limited: on("rate_limited"),
            server_errors: on("server_errors"),
            timeouts: on("timeouts"),
            connect_errors: on("connect_errors"),
        },
        ..RetryPolicy::default()
    }
}

/// What a failed attempt means to the router.
pub fn attempt_error(e: &UpstreamError) -> AttemptError {
    match e {
        UpstreamError::Connect(_) => AttemptError::Connect,
        UpstreamError::FirstByteTimeout(_) | UpstreamError::BodyTimeout(_) => AttemptError::Timeout,
        UpstreamError::Status {
            status,
            retry_after,
            message,
            ..
        } => {
            let m = message.to_ascii_lowercase();
            if status.as_u16() == 400
                && (m.contains("context length")
                    || m.contains("context_length")
                    || m.contains("too long")
                    || m.contains("maximum context"))
            {
                AttemptError::ContextTooLong
            } else if status.as_u16() == 400
                && (m.contains("content policy")
                    || m.contains("content_policy")
                    || m.contains("content filter")
                    || m.contains("safety"))
            {
                AttemptError::ContentPolicy
            } else {
                AttemptError::Status {
                    status: status.as_u16(),
                    retry_after: *retry_after,
                }
            }
        }
        // The provider broke off or answered garbage: as good as a server error.
        UpstreamError::Body(_)
        | UpstreamError::Proto(switchboard_proto::ProtoError::BadUpstream(_)) => {
            AttemptError::Status {
                status: 502,
                retry_after: None,
            }
        }
        UpstreamError::Proto(switchboard_proto::ProtoError::UpstreamStream { .. }) => {
            AttemptError::Status {
                status: 502,
                retry_after: None,
            }
        }
        // The request cannot be expressed for this provider: another attempt won't help.
        UpstreamError::Proto(_) | UpstreamError::NoLiveDeployment { .. } => {
            AttemptError::BadRequest
        }
    }
}

fn outcome_label(e: &AttemptError) -> &'static str {
    match e {
        AttemptError::Status { status: 429, .. } => "rate_limited",
        AttemptError::Status {
            status: 500..=599, ..
        } => "status_5xx",
        AttemptError::Status { .. } => "status_4xx",
        AttemptError::Timeout => "timeout",
        AttemptError::Connect => "connect",
        AttemptError::ContextTooLong => "context_too_long",
        AttemptError::ContentPolicy => "content_policy",
        AttemptError::BadRequest => "bad_request",
    }
}

/// One upstream attempt of a call, on a given deployment, up to the point where its
/// answer can be committed to the client. It marks `first_byte` when the provider's
/// answer begins (response headers; for a stream, its first event). (A trait rather than
/// an async closure, so the future's `Send`-ness is stated once instead of inferred for
/// every lifetime.)
pub trait Attempt: Sync {
    type Answer: Send;
    fn on<'a>(
        &'a self,
        d: &'a Deployment,
        first_byte: &'a FirstByte,
    ) -> impl Future<Output = Result<Self::Answer, UpstreamError>> + Send + 'a;
}

/// When an attempt's answer began arriving; set once by the attempt, read by the loop.
#[derive(Debug, Default)]
pub struct FirstByte(std::sync::OnceLock<Instant>);

impl FirstByte {
    pub fn mark(&self) {
        // Only the first mark counts: it is the first byte.
        let _ = self.0.set(Instant::now());
    }

    pub fn at(&self) -> Option<Instant> {
        self.0.get().copied()
    }
}

/// Runs `attempt` against `alias`'s deployments until one commits an answer.
pub async fn run<A: Attempt>(
    gw: &Gateway,
    ctx: &RequestCtx,
    alias: &str,
    est: &Estimate,
    attempt: &A,
) -> Result<(A::Answer, Served), GatewayError> {
    let m = gw
        .config
        .models
        .get(alias)
        .ok_or_else(|| GatewayError::UnknownModel(alias.to_owned()))?;
    let fallbacks = Fallbacks {
        chain: m.fallbacks.clone(),
        context: m.context_fallback.clone(),
        content_policy: m.content_policy_fallback.clone(),
    };
    // One generator per request, from the gateway (seeded when `server.routing_seed` is
    // set); the planner's jitter gets its own stream split off it, so how many draws the
    // weighted order takes does not shift the jitter.
    let mut rng = gw.rng();
    let jitter = SplitMix::seeded(rng.next_u64());
    let mut planner = Planner::new(
        alias,
        retry_policy(&m.retry),
        fallbacks,
        gw.now_ms(),
        jitter,
    );
    let mut current = alias.to_owned();
    let mut used_fallbacks: Vec<String> = Vec::new();
    let mut ordered = order(gw, &current, est, &mut rng)?;
    note_open(ctx, &ordered);
    let shadow = ordered.shadow.map(|i| {
        (
            ordered.deployments[i].id.clone(),
            ordered.deployments[i].price,
        )
    });
    // What the call has run into so far, for the error it ends with if nothing answers.
    let mut dead_end = DeadEnd::default();
    let mut pos = 0;
    let mut attempts = 0u32;
    loop {
        if ordered.order.is_empty() {
            // Nothing to try here: skipped without an attempt, down the chain when every
            // breaker is open (the fallbacks may be healthy, and an open breaker would
            // only fail at once), to the context fallback when no window is big enough.
            let why = match ordered.all_open_until {
                Some(until) => {
                    dead_end.open_until = Some(dead_end.open_until.map_or(until, |s| s.min(until)));
                    Skip::AllOpen
                }
                None => Skip::NothingFits,
            };
            match planner.skip(why) {
                Next::FallbackAlias(next) => {
                    metrics::fallback(&current, &next);
                    let how = match why {
                        Skip::AllOpen => Move::Chain,
                        Skip::NothingFits => Move::Context,
                    };
                    ctx.trail.lock().route.moved(how, &next);
                    used_fallbacks.push(next.clone());
                    ordered = order(gw, &next, est, &mut rng)?;
                    note_open(ctx, &ordered);
                    current = next;
                    pos = 0;
                    continue;
                }
                _ => return Err(dead_end.into_error(gw, ctx, alias, attempts)),
            }
        }
        let Some(&index) = ordered.order.get(pos) else {
            ctx.trail.lock().attempts = attempts;
            metrics::route_decision("exhausted");
            return Err(GatewayError::ModelUnavailable {
                alias: current,
                reason: "no deployment left to try".into(),
            });
        };
        let d = &ordered.deployments[index];
        let health = gw.health.get(&d.id);
        let _in_flight = health.map(|h| h.in_flight.enter());
        attempts += 1;
        let started = Instant::now();
        let first_byte = FirstByte::default();
        let result = match planner.attempt_timeout(gw.now_ms()) {
            Some(limit) => match tokio::time::timeout(limit, attempt.on(d, &first_byte)).await {
                Ok(r) => r,
                // Say which part was too slow: waiting for the provider, or its body.
                Err(_) if first_byte.at().is_some() => {
                    Err(UpstreamError::BodyTimeout("per-attempt timeout"))
                }
                Err(_) => Err(UpstreamError::FirstByteTimeout(limit)),
            },
            None => attempt.on(d, &first_byte).await,
        };
        ctx.trail.lock().upstream += started.elapsed();
        let err = match result {
            Ok(answer) => {
                if let Some(h) = health {
                    h.breaker.record(Outcome::Success);
                    let ttfb = first_byte
                        .at()
                        .map_or_else(|| started.elapsed(), |t| t - started);
                    h.latency.observe(ttfb.as_secs_f64() * 1000.0);
                }
                metrics::attempt(&d.provider.name, "ok");
                let mut t = ctx.trail.lock();
                t.route.log(&d.id, "ok");
                let strategy = gw.config.models.get(&current).map(|m| m.strategy);
                t.route
                    .strategy(super::resolve::strategy(strategy.unwrap_or_default()).as_str());
                metrics::route_decision(t.route.reason());
                let served = Served {
                    deployment: d.clone(),
                    attempts,
                    fallbacks: used_fallbacks,
                    route: t.route.route(),
                    shadow,
                };
                t.provider = Some(d.provider.name.clone());
                t.served_model = Some(d.model.to_string());
                t.attempts = attempts;
                t.fallbacks = served.fallbacks.clone();
                return Ok((answer, served));
            }
            Err(e) => e,
        };
        let failure = attempt_error(&err);
        if let Some(h) = health {
            h.breaker.record(breaker_outcome(&failure));
        }
        metrics::attempt(&d.provider.name, outcome_label(&failure));
        ctx.trail.lock().route.log(&d.id, &log_label(&failure));
        tracing::debug!(request_id = %ctx.id, deployment = %d.id, error = %err, "attempt failed");
        let remaining = ordered.order.len().saturating_sub(pos + 1);
        let next = planner.after_failure(gw.now_ms(), &failure, remaining);
        dead_end.last = Some(err);
        match next {
            Next::RetrySame { after } => tokio::time::sleep(after).await,
            Next::Failover { after } => {
                tokio::time::sleep(after).await;
                pos += 1;
            }
            Next::FallbackAlias(next) => {
                metrics::fallback(&current, &next);
                let how = match failure {
                    AttemptError::ContextTooLong => Move::Context,
                    AttemptError::ContentPolicy => Move::ContentPolicy,
                    _ => Move::Chain,
                };
                ctx.trail.lock().route.moved(how, &next);
                used_fallbacks.push(next.clone());
                ordered = order(gw, &next, est, &mut rng)?;
                note_open(ctx, &ordered);
                current = next;
                pos = 0;
            }
            Next::GiveUp => return Err(dead_end.into_error(gw, ctx, alias, attempts)),
        }
    }
}

/// Why a call found nobody to answer it.
#[derive(Default)]
struct DeadEnd {
    /// The last attempt's error, when any attempt was made.
    last: Option<UpstreamError>,
    /// The soonest an open breaker of a skipped alias reopens.
    open_until: Option<u64>,
}

impl DeadEnd {
    /// The error the client gets: a real provider error wins (it says what went wrong);
    /// with no attempt at all, every alias of the chain was fully open (an immediate 503
    /// with Retry-After) or the prompt fits no context window.
    fn into_error(
        self,
        gw: &Gateway,
        ctx: &RequestCtx,
        alias: &str,
        attempts: u32,
    ) -> GatewayError {
        ctx.trail.lock().attempts = attempts;
        let all_open_chain = self.last.is_none() && self.open_until.is_some();
        metrics::route_decision(if all_open_chain {
            "all_open"
        } else {
            "exhausted"
        });
        match (self.last, self.open_until) {
            (Some(e), _) => GatewayError::from(e),
            (None, Some(until)) => all_open(gw, alias, until),
            (None, None) => GatewayError::BadRequest(switchboard_proto::ProtoError::field(
                "messages",
                format!(
                    "the prompt and max_tokens exceed the context window of every deployment of `{alias}`"
                ),
            )),
        }
    }
}

/// Notes the deployments of a freshly ordered alias that were skipped for an open breaker.
fn note_open(ctx: &RequestCtx, ordered: &Ordered<'_>) {
    if ordered.open.is_empty() {
        return;
    }
    let mut t = ctx.trail.lock();
    for &i in &ordered.open {
        t.route.log(&ordered.deployments[i].id, "breaker open");
    }
}

/// An attempt's outcome in the route log: the provider's status code when it answered
/// one (what an operator looks up), else the kind of failure.
fn log_label(e: &AttemptError) -> String {
    match e {
        AttemptError::Status { status, .. } => status.to_string(),
        other => outcome_label(other).to_owned(),
    }
}

/// Every deployment's breaker is open: refuse at once, saying when to come back.
fn all_open(gw: &Gateway, alias: &str, until_ms: u64) -> GatewayError {
    let wait = Duration::from_millis(until_ms.saturating_sub(gw.now_ms()).max(1000));
    GatewayError::AllOpen {
        alias: alias.to_owned(),
        retry_after: wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn status(code: u16, message: &str) -> UpstreamError {
        UpstreamError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: Some(Duration::from_secs(2)),
            message: message.into(),
            detail: None,
        }
    }

    #[test]
    fn provider_errors_are_classified_for_the_planner() {
        let too_long = status(400, "This model's maximum context length is 8192 tokens");
        assert_eq!(attempt_error(&too_long), AttemptError::ContextTooLong);
        let policy = status(
            400,
            "Your request was rejected as a result of our content_policy",
        );
        assert_eq!(attempt_error(&policy), AttemptError::ContentPolicy);
        assert_eq!(
            attempt_error(&status(429, "slow down")),
            AttemptError::Status {
                status: 429,
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            attempt_error(&UpstreamError::Connect("refused".into())),
            AttemptError::Connect
        );
        assert_eq!(
            attempt_error(&UpstreamError::FirstByteTimeout(Duration::from_secs(1))),
            AttemptError::Timeout
        );
        assert_eq!(
            attempt_error(&UpstreamError::Body("reset".into())),
            AttemptError::Status {
                status: 502,
                retry_after: None
            }
        );
        let untranslatable =
            UpstreamError::Proto(switchboard_proto::ProtoError::Unsupported("n > 1".into()));
        assert_eq!(attempt_error(&untranslatable), AttemptError::BadRequest);
    }
}
