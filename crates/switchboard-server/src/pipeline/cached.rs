//! The cache phase of a chat call: look the request up before admission; when the answer
//! has to come from a provider, remember where to store it.
//!
//! A hit is still a request: it is admitted against the caller's quotas (at zero cost and
//! zero tokens, so it counts toward request limits), audited at zero cost with
//! `cache: "hit"`, checked by the caller's output guardrails, and replayed in the
//! client's shape, as a stream when the client streams.

use std::sync::Arc;
use std::time::Duration;

use http::Response;
use http::header::HeaderValue;
use switchboard_core::{Usage, Wire};
use switchboard_proto::chat::ChatResponse;
use switchboard_upstream::ChatCall;

use super::accounting::Accounting;
use super::estimate::Estimate;
use super::{RequestCtx, policy, respond};
use crate::body::ResponseBody;
use crate::cache::semantic::{embed, prompt_text};
use crate::cache::{CacheKey, Directive, capture, directive};
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// Where and how a fresh answer is stored.
pub struct StorePlan {
    key: CacheKey,
    ttl: Duration,
    api: Wire,
    /// The prompt's vector, for the semantic index.
    semantic: Option<(String, String, Vec<f32>, usize)>,
}

impl StorePlan {
    fn put(&self, gw: &Gateway, answer: Option<ChatResponse>) {
        let Some(answer) = answer else { return };
        gw.cache.put(self.key, answer, self.ttl);
        if let Some((scope, alias, vector, max)) = &self.semantic {
            gw.semantic
                .insert(scope, alias, vector.clone(), self.key, *max);
        }
    }

    /// Stores a complete answer from the client body it was sent as.
    pub fn store_body(&self, gw: &Gateway, body: &[u8]) {
        self.put(gw, capture::from_body(self.api, body));
    }

    /// Stores a streamed answer from the stream the client received, when it completed.
    pub fn store_stream(&self, gw: &Gateway, stream: &[u8]) {
        self.put(gw, capture::from_stream(self.api, stream));
    }
}

/// The canonical answer in a complete body of the client's family.
pub fn read_body(api: Wire, body: &[u8]) -> Option<ChatResponse> {
    capture::from_body(api, body)
}

/// What the lookup found.
pub enum Lookup {
    Hit(Response<ResponseBody>),
    /// Call the provider; store the answer by this plan, if any.
    Miss(Option<StorePlan>),
}

/// Looks `call` up in the cache of the alias the client asked for.
pub async fn lookup(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    call: &ChatCall,
) -> Result<Lookup, GatewayError> {
    let alias = &call.chat.model;
    let Some(cfg) = gw.config.models.get(alias).and_then(|m| m.cache.as_ref()) else {
        return Ok(Lookup::Miss(None));
    };
    let directive = Directive::of(&ctx.headers);
    if directive == Directive::Bypass {
        ctx.trail.lock().cache = Some("bypass");
        return Ok(Lookup::Miss(None));
    }
    let key = gw.cache.key(&ctx.identity.tenant, &call.chat);
    let scope = if gw.config.cache.shared_across_tenants {
        "shared".to_owned()
    } else {
        ctx.identity.tenant.clone()
    };
    let mut semantic = None;
    if directive.lookup() {
        if let Some(hit) = gw.cache.get(&key) {
            return serve_hit(gw, ctx, call, &hit, "hit").await.map(Lookup::Hit);
        }
        if let Some(sem) = &cfg.semantic {
            match embed(gw, &sem.embedding_model, &prompt_text(&call.chat)).await {
                Ok(vector) => {
                    if let Some((near, _)) =
                        gw.semantic.nearest(&scope, alias, &vector, sem.threshold)
                        && let Some(hit) = gw.cache.get(&near)
                    {
                        return serve_hit(gw, ctx, call, &hit, "semantic_hit")
                            .await
                            .map(Lookup::Hit);
                    }
                    semantic = Some((scope.clone(), alias.clone(), vector, sem.max_entries));
                }
                Err(e) => {
                    tracing::warn!(request_id = %ctx.id, error = %e, "semantic cache: prompt not embedded")
                }
            }
        }
    }
    ctx.trail.lock().cache = Some(if directive == Directive::Refresh {
        "refresh"
    } else {
        "miss"
    });
    let plan = directive.store().then_some(StorePlan {
        key,
        ttl: cfg.ttl,
        api: call.api,
        semantic,
    });
    Ok(Lookup::Miss(plan))
}

async fn serve_hit(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    call: &ChatCall,
    hit: &ChatResponse,
    how: &'static str,
) -> Result<Response<ResponseBody>, GatewayError> {
    ctx.trail.lock().cache = Some(how);
    let free = Estimate {
        usage: Usage::default(),
        cost: Default::default(),
    };
    let admission = policy::admit(gw, ctx, &free).await?;
    let acct = Accounting::new(
        Arc::clone(gw),
        ctx.clone(),
        Default::default(),
        free,
        admission,
    );
    let mut answer = hit.clone();
    answer.id = ctx.id.to_string();
    // The answer may have been stored for a caller whose output is not checked (another
    // key of the tenant, or a tenant sharing the cache): it is checked for this one.
    if let Err(e) = super::guardrails::check_canonical(gw, ctx, &mut answer) {
        acct.complete_refused(Usage::default(), &e);
        return Err(e);
    }
    let body = respond::answer_body(call, &answer);
    let captured = (acct.capture == switchboard_config::Capture::All)
        .then(|| String::from_utf8_lossy(&body).into_owned());
    let cost = acct.complete(
        Usage::default(),
        0,
        call.chat.stream.then_some("complete"),
        captured,
    );
    let mut resp = respond::plain_json(&ctx.id, body);
    if call.chat.stream {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
    }
    let resp = respond::with_cost(resp, cost);
    Ok(with_cache_header(resp, how))
}

/// Reports how the cache answered.
pub fn with_cache_header(
    mut resp: Response<ResponseBody>,
    how: &'static str,
) -> Response<ResponseBody> {
    resp.headers_mut()
        .insert(directive::HEADER, HeaderValue::from_static(how));
    resp
}
