//! Chat calls (OpenAI Chat Completions and Anthropic Messages share this path).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::Response;
use switchboard_config::{Capture, ProviderKind};
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::raw::RawObject;
use switchboard_upstream::{ChatCall, Deployment, UpstreamError, builtin};
use tokio::time::Instant;

use super::accounting::{Accounting, ShadowNote};
use super::estimate::Estimate;
use super::relay::{OutcomeSink, RelayTimeouts, SseRelay, StreamEnd};
use super::{RequestCtx, attempt, cached, estimate, policy, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::routing::{self, Served, resolve};

/// What one successful attempt produced, before the client sees any of it.
enum Answer {
    Complete {
        body: Bytes,
        usage: Usage,
    },
    Stream(Box<SseRelay>),
    /// The offline provider's whole answer.
    Builtin(ChatResponse),
}

/// Serves one chat call end to end.
pub async fn serve(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    call: ChatCall,
) -> Result<Response<ResponseBody>, GatewayError> {
    let requested = call.chat.model.clone();
    route::route(&gw.catalog, &ctx.identity, &requested)?;
    let counted = estimate::count_chat(&ctx.identity.tenant, &call.chat);
    let resolve::Serving { alias, shadow_tier } = match gw.config.models.get(&requested) {
        Some(m) => {
            let mut explain = routing::Explain::default();
            let serving = resolve::serving_alias(
                m,
                &requested,
                || resolve::features(ctx, m, Some(&call.chat), counted.input_tokens),
                &mut explain,
            );
            ctx.trail.lock().route = explain;
            serving
        }
        None => resolve::Serving {
            alias: requested.clone(),
            shadow_tier: None,
        },
    };
    let store = match cached::lookup(gw, ctx, &call).await? {
        cached::Lookup::Hit(resp) => return Ok(resp),
        cached::Lookup::Miss(plan) => plan,
    };
    let estimate = plan_estimate(gw, &alias, |d| counted.on(d))?;
    let admission = policy::admit(gw, ctx, &estimate).await?;
    let first_price = resolve::deployments(gw, &alias)?
        .first()
        .map(|d| d.price)
        .unwrap_or_default();
    let mut acct = Accounting::new(
        Arc::clone(gw),
        ctx.clone(),
        first_price,
        estimate,
        admission,
    );
    // Keep what the client is sent when the audit captures responses or the cache stores them.
    let capture = acct.capture == Capture::All || store.is_some();
    // With output checks on, a streaming client's answer is fetched whole, checked, then
    // replayed as a stream: relayed event by event, it would reach the client before the
    // checks could read it (and be cached unchecked). The client loses token-by-token
    // delivery, not the stream format.
    let replay = call.chat.stream && super::guardrails::checks_output(gw, ctx);
    let whole;
    let sent = if replay {
        whole = match whole_call(&call) {
            Ok(c) => c,
            Err(e) => return Err(failed(acct, e)),
        };
        &whole
    } else {
        &call
    };
    let router_est = switchboard_router::Estimate {
        input_tokens: estimate.usage.input_tokens,
        output_tokens: estimate.usage.output_tokens,
    };
    let result = routing::run(
        gw,
        ctx,
        &alias,
        &router_est,
        &ChatAttempt {
            call: sent,
            capture,
            trace: ctx.trace.header(),
        },
    )
    .await;
    let (answer, served) = match result {
        Ok(v) => v,
        Err(e) => return Err(failed(acct, e)),
    };
    acct.set_price(served.deployment.price);
    if let Some(note) = shadow_note(gw, &alias, shadow_tier.as_deref(), &served) {
        acct.set_shadow(note);
    }
    let resp = match answer {
        Answer::Stream(mut relay) => {
            relay.set_sink(settle_stream(Arc::clone(gw), acct, store));
            respond::event_stream(&ctx.id, ResponseBody::stream(*relay))
        }
        Answer::Complete { body, usage } => {
            // Output guardrails: the call was made and is charged even when its answer
            // is refused.
            let body = match super::guardrails::check_answer(gw, ctx, body) {
                Ok(b) => b,
                Err(e) => {
                    acct.complete_refused(usage, &e);
                    return Err(e);
                }
            };
            // Only a checked answer is stored: this is the one place a complete answer
            // leaves the provider's hands.
            if let Some(plan) = &store {
                plan.store_body(gw, &body);
            }
            if replay {
                replayed(ctx, &call, acct, &body, usage)?
            } else {
                let captured = (acct.capture == Capture::All)
                    .then(|| String::from_utf8_lossy(&body).into_owned());
                let cost = acct.complete(usage, 0, None, captured);
                respond::with_cost(respond::json(&ctx.id, body), cost)
            }
        }
        Answer::Builtin(answer) => builtin_response(gw, ctx, &call, acct, answer)?,
    };
    let resp = respond::with_route(resp, &served);
    Ok(match ctx.trail.lock().cache {
        Some(how) => cached::with_cache_header(resp, how),
        None => resp,
    })
}

/// The most a call can cost over every deployment its plan may reach: the alias's and
/// its fallbacks', so a failover to a pricier deployment is still covered.
pub fn plan_estimate(
    gw: &Gateway,
    alias: &str,
    on: impl Fn(&Deployment) -> Estimate,
) -> Result<Estimate, GatewayError> {
    let first = resolve::deployments(gw, alias)?;
    let m = gw.config.models.get(alias);
    let others = m
        .into_iter()
        .flat_map(|m| {
            m.fallbacks
                .iter()
                .chain(&m.context_fallback)
                .chain(&m.content_policy_fallback)
        })
        .filter_map(|a| resolve::deployments(gw, a).ok())
        .flatten();
    first
        .iter()
        .chain(others)
        .map(on)
        .reduce(|a, b| Estimate {
            usage: Usage::new(
                a.usage.input_tokens.max(b.usage.input_tokens),
                a.usage.output_tokens.max(b.usage.output_tokens),
            ),
            cost: a.cost.max(b.cost),
        })
        .ok_or_else(|| GatewayError::ModelUnavailable {
            alias: alias.to_owned(),
            reason: "no deployment".into(),
        })
}

struct ChatAttempt<'c> {
    call: &'c ChatCall,
    capture: bool,
    /// This hop's `traceparent`, sent to the provider.
    trace: http::HeaderValue,
}

impl routing::Attempt for ChatAttempt<'_> {
    type Answer = Answer;
    fn on<'a>(
        &'a self,
        d: &'a Deployment,
        first_byte: &'a routing::FirstByte,
    ) -> impl Future<Output = Result<Answer, UpstreamError>> + Send + 'a {
        attempt_on(d, self.call, self.capture, &self.trace, first_byte)
    }
}

/// One attempt on `d`, up to the point where the answer can be committed.
async fn attempt_on(
    d: &Deployment,
    call: &ChatCall,
    capture: bool,
    trace: &http::HeaderValue,
    first_byte: &routing::FirstByte,
) -> Result<Answer, UpstreamError> {
    if d.provider.kind == ProviderKind::Builtin {
        first_byte.mark();
        return Ok(Answer::Builtin(builtin::chat(
            &call.chat, &d.model, "builtin",
        )));
    }
    let mut req = d.chat_request(call).map_err(UpstreamError::Proto)?;
    req.headers_mut()
        .insert(crate::trace::TRACEPARENT, trace.clone());
    let deadline = Instant::now() + d.provider.total_timeout;
    let resp = attempt::send(d, req).await?;
    if call.chat.stream {
        let timeouts = RelayTimeouts {
            idle: d.provider.stream_idle_timeout,
            deadline,
            capture,
        };
        let mut relay = SseRelay::new(resp.into_body(), d.stream_transform(call), timeouts);
        relay.first_chunk().await.map_err(UpstreamError::Body)?;
        // A stream's headers say little (some providers send them at once): its first
        // event is when the answer really begins.
        first_byte.mark();
        return Ok(Answer::Stream(Box::new(relay)));
    }
    first_byte.mark();
    let body = attempt::read_answer(resp.into_body(), deadline).await?;
    let (body, usage) = d.read_chat(call, body).map_err(UpstreamError::Proto)?;
    Ok(Answer::Complete { body, usage })
}

/// The shadow's choice, when the alias runs one: the tier alias its shadow tiers chose
/// (priced at that alias's first deployment, the one it serves from while healthy), or
/// the deployment its shadow strategy put first.
fn shadow_note(
    gw: &Gateway,
    alias: &str,
    shadow_tier: Option<&str>,
    served: &Served,
) -> Option<ShadowNote> {
    if let Some(tier_alias) = shadow_tier {
        let first = resolve::deployments(gw, tier_alias).ok()?.first()?;
        return Some(ShadowNote {
            alias: alias.to_owned(),
            choice: tier_alias.to_owned(),
            price: first.price,
            differed: tier_alias != alias,
        });
    }
    let (id, price) = served.shadow.as_ref()?;
    Some(ShadowNote {
        alias: alias.to_owned(),
        choice: id.to_string(),
        price: *price,
        differed: *id != served.deployment.id,
    })
}

/// Ends a call that failed before answering: releases its reservation, records why.
pub fn failed(acct: Accounting, err: GatewayError) -> GatewayError {
    acct.fail(err.disposition().status.as_u16(), &err.to_string());
    err
}

/// The request of a streaming call, asking for the whole answer instead (both views:
/// the raw body is what a passthrough upstream gets).
fn whole_call(call: &ChatCall) -> Result<ChatCall, GatewayError> {
    let raw = RawObject::parse(call.raw.write(&[("stream", b"false")], &["stream_options"]))?;
    let mut chat = call.chat.clone();
    chat.stream = false;
    Ok(ChatCall {
        api: call.api,
        chat,
        raw,
        include_usage: call.include_usage,
    })
}

/// A checked whole answer (`body`, in the client's complete shape) replayed to a
/// streaming client as its stream.
fn replayed(
    ctx: &RequestCtx,
    call: &ChatCall,
    acct: Accounting,
    body: &[u8],
    usage: Usage,
) -> Result<Response<ResponseBody>, GatewayError> {
    let Some(answer) = cached::read_body(call.api, body) else {
        let e = GatewayError::Upstream(UpstreamError::Proto(ProtoError::BadUpstream(
            "the answer could not be read back to replay as a stream".into(),
        )));
        acct.complete_refused(usage, &e);
        return Err(e);
    };
    let stream = respond::answer_body(call, &answer);
    let captured =
        (acct.capture == Capture::All).then(|| String::from_utf8_lossy(&stream).into_owned());
    acct.complete(usage, 0, Some("complete"), captured);
    Ok(respond::event_stream(&ctx.id, ResponseBody::full(stream)))
}

/// The offline provider answers in-process; a stream is replayed from the whole answer,
/// checked first when the caller's output is checked.
fn builtin_response(
    gw: &Gateway,
    ctx: &RequestCtx,
    call: &ChatCall,
    acct: Accounting,
    mut answer: ChatResponse,
) -> Result<Response<ResponseBody>, GatewayError> {
    answer.id = ctx.id.to_string();
    if let Err(e) = super::guardrails::check_canonical(gw, ctx, &mut answer) {
        acct.complete_refused(answer.usage, &e);
        return Err(e);
    }
    let body = respond::answer_body(call, &answer);
    let captured =
        (acct.capture == Capture::All).then(|| String::from_utf8_lossy(&body).into_owned());
    let cost = acct.complete(
        answer.usage,
        0,
        call.chat.stream.then_some("complete"),
        captured,
    );
    Ok(if call.chat.stream {
        respond::event_stream(&ctx.id, ResponseBody::full(body))
    } else {
        respond::with_cost(respond::json(&ctx.id, body), cost)
    })
}

/// Settles a relayed stream when it ends, however it ends. A stream cut before the
/// provider reported usage is billed at least for the content it forwarded.
fn settle_stream(
    gw: Arc<Gateway>,
    acct: Accounting,
    store: Option<cached::StorePlan>,
) -> OutcomeSink {
    Box::new(move |outcome| {
        let end = match outcome.end {
            StreamEnd::Complete => "complete",
            StreamEnd::UpstreamBroke(_) => "upstream_broke",
            StreamEnd::Timeout => "timeout",
            // Dropped unfinished: by the client, or by the node at the end of its
            // shutdown grace.
            StreamEnd::ClientGone if gw.cutting.load(Ordering::Relaxed) => "shutdown",
            StreamEnd::ClientGone => "client_gone",
        };
        if let (Some(plan), StreamEnd::Complete, Some(sent)) =
            (&store, &outcome.end, &outcome.captured)
        {
            plan.store_stream(&gw, sent.as_bytes());
        }
        acct.complete(
            outcome.usage,
            outcome.content_events,
            Some(end),
            outcome.captured,
        );
    })
}
