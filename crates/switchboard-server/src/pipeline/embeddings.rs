//! Embeddings calls.

use http::Response;
use switchboard_config::ProviderKind;
use switchboard_core::Usage;
use switchboard_proto::openai::embeddings::write_response;
use switchboard_upstream::{EmbeddingsCall, UpstreamError, builtin};
use tokio::time::Instant;

use super::{Completion, RequestCtx, attempt, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;

pub async fn serve(
    gw: &Gateway,
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
    let (out, usage) = if d.provider.kind == ProviderKind::Builtin {
        let texts = call.request.texts.as_deref().ok_or_else(|| {
            GatewayError::BadRequest(switchboard_proto::ProtoError::field(
                "input",
                "the offline model embeds text, not token ids",
            ))
        })?;
        let vectors = builtin::embeddings(texts, call.request.dimensions);
        let usage = Usage::new(texts.iter().map(|t| builtin::count_words(t)).sum(), 0);
        (
            write_response(&vectors, &d.model, usage, call.request.encoding_format),
            usage,
        )
    } else {
        let req = d.embeddings_request(&call)?;
        let deadline = Instant::now() + d.provider.total_timeout;
        let resp = attempt::send(d, req).await?;
        let body = attempt::read_answer(resp.into_body(), deadline).await?;
        d.read_embeddings(&call, body)
            .map_err(UpstreamError::Proto)?
    };
    Completion {
        request_id: ctx.id.clone(),
        tenant: ctx.identity.tenant.clone(),
        alias,
        provider: d.provider.name.clone(),
        upstream_model: d.model.clone(),
        status: 200,
        usage,
        streamed: false,
        end: "complete",
    }
    .record(ctx.started);
    Ok(respond::json(&ctx.id, d, out))
}
