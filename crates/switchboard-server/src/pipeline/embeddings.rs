//! Embeddings calls.

use std::sync::Arc;

use http::Response;
use switchboard_config::ProviderKind;
use switchboard_core::Usage;
use switchboard_proto::openai::embeddings::write_response;
use switchboard_upstream::{EmbeddingsCall, UpstreamError, builtin};
use tokio::time::Instant;

use super::accounting::Accounting;
use super::chat::failed;
use super::{RequestCtx, attempt, estimate, policy, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;

pub async fn serve(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    call: EmbeddingsCall,
) -> Result<Response<ResponseBody>, GatewayError> {
    let alias = call.request.model.clone();
    let deployments = route::route(&gw.catalog, &ctx.identity, &alias)?;
    let Some(d) = deployments.first() else {
        return Err(GatewayError::ModelUnavailable {
            alias,
            reason: "no deployment".into(),
        });
    };
    {
        let mut t = ctx.trail.lock();
        t.provider = Some(d.provider.name.clone());
        t.served_model = Some(d.model.clone());
        t.attempts = 1;
    }
    let texts = call.request.texts.as_deref();
    let estimate = estimate::embeddings(texts, call.request.raw.body_len(), d);
    if d.provider.kind == ProviderKind::Builtin && texts.is_none() {
        return Err(GatewayError::BadRequest(
            switchboard_proto::ProtoError::field(
                "input",
                "the offline model embeds text, not token ids",
            ),
        ));
    }
    let admission = policy::admit(gw, ctx, &estimate).await?;
    let acct = Accounting::new(Arc::clone(gw), ctx.clone(), d.price, estimate, admission);
    let (out, usage) = if let (ProviderKind::Builtin, Some(texts)) = (d.provider.kind, texts) {
        let vectors = builtin::embeddings(texts, call.request.dimensions);
        let usage = Usage::new(texts.iter().map(|t| builtin::count_words(t)).sum(), 0);
        (
            write_response(&vectors, &d.model, usage, call.request.encoding_format),
            usage,
        )
    } else {
        let req = match d.embeddings_request(&call) {
            Ok(r) => r,
            Err(e) => return Err(failed(acct, e.into())),
        };
        let deadline = Instant::now() + d.provider.total_timeout;
        let resp = match attempt::send(d, req).await {
            Ok(r) => r,
            Err(e) => return Err(failed(acct, e.into())),
        };
        let body = match attempt::read_answer(resp.into_body(), deadline).await {
            Ok(b) => b,
            Err(e) => return Err(failed(acct, e.into())),
        };
        match d.read_embeddings(&call, body) {
            Ok(v) => v,
            Err(e) => return Err(failed(acct, UpstreamError::Proto(e).into())),
        }
    };
    let cost = acct.complete(usage, 0, None, None);
    Ok(respond::with_cost(respond::json(&ctx.id, d, out), cost))
}
