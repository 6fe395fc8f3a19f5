//! Embeddings calls: the same admission, attempt loop and settlement as chat, without
//! streams.

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use switchboard_config::ProviderKind;
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::openai::embeddings::write_response;
use switchboard_upstream::{Deployment, EmbeddingsCall, UpstreamError, builtin};
use tokio::time::Instant;

use super::accounting::Accounting;
use super::chat::{failed, plan_estimate};
use super::{RequestCtx, attempt, estimate, policy, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::routing::{self, resolve};

pub async fn serve(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    call: EmbeddingsCall,
) -> Result<Response<ResponseBody>, GatewayError> {
    let alias = call.request.model.clone();
    route::route(&gw.catalog, &ctx.identity, &alias)?;
    let texts = call.request.texts.as_deref();
    let estimate = plan_estimate(gw, &alias, |d| {
        estimate::embeddings(&ctx.identity.tenant, texts, call.request.raw.body_len(), d)
    })?;
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
    let router_est = switchboard_router::Estimate {
        input_tokens: estimate.usage.input_tokens,
        output_tokens: 0,
    };
    let result = routing::run(
        gw,
        ctx,
        &alias,
        &router_est,
        &EmbeddingsAttempt(&call, ctx.trace.header()),
    )
    .await;
    let ((out, usage), served) = match result {
        Ok(v) => v,
        Err(e) => return Err(failed(acct, e)),
    };
    acct.set_price(served.deployment.price);
    let cost = acct.complete(usage, 0, None, None);
    let resp = respond::with_cost(respond::json(&ctx.id, out), cost);
    Ok(respond::with_route(resp, &served))
}

struct EmbeddingsAttempt<'c>(&'c EmbeddingsCall, http::HeaderValue);

impl routing::Attempt for EmbeddingsAttempt<'_> {
    type Answer = (Bytes, Usage);
    fn on<'a>(
        &'a self,
        d: &'a Deployment,
        first_byte: &'a routing::FirstByte,
    ) -> impl Future<Output = Result<(Bytes, Usage), UpstreamError>> + Send + 'a {
        attempt_on(d, self.0, &self.1, first_byte)
    }
}

async fn attempt_on(
    d: &Deployment,
    call: &EmbeddingsCall,
    trace: &http::HeaderValue,
    first_byte: &routing::FirstByte,
) -> Result<(Bytes, Usage), UpstreamError> {
    if d.provider.kind == ProviderKind::Builtin {
        first_byte.mark();
        let texts = call.request.texts.as_deref().ok_or_else(|| {
            UpstreamError::Proto(ProtoError::field(
                "input",
                "the offline model embeds text, not token ids",
            ))
        })?;
        let vectors = builtin::embeddings(texts, call.request.dimensions);
        let usage = Usage::new(texts.iter().map(|t| builtin::count_words(t)).sum(), 0);
        return Ok((
            write_response(&vectors, &d.model, usage, call.request.encoding_format),
            usage,
        ));
    }
    let mut req = d.embeddings_request(call).map_err(UpstreamError::Proto)?;
    req.headers_mut()
        .insert(crate::trace::TRACEPARENT, trace.clone());
    let deadline = Instant::now() + d.provider.total_timeout;
    let resp = attempt::send(d, req).await?;
    first_byte.mark();
    let body = attempt::read_answer(resp.into_body(), deadline).await?;
    d.read_embeddings(call, body).map_err(UpstreamError::Proto)
}
