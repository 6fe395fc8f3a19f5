//! `POST /v1/embeddings` (OpenAI).

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use switchboard_proto::openai::embeddings;
use switchboard_upstream::EmbeddingsCall;

use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::pipeline::{RequestCtx, embeddings as pipeline};

pub async fn handle(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    body: Bytes,
) -> Result<Response<ResponseBody>, GatewayError> {
    let request = embeddings::parse(body.clone())?;
    let user = request
        .raw
        .get("user")
        .and_then(|u| serde_json::from_slice::<String>(u).ok());
    let note = super::CallNote {
        endpoint: "embeddings",
        model: &request.model,
        stream: false,
        user: user.as_deref(),
    };
    super::note_call(gw, ctx, note, &request.raw, &body);
    let mut call = EmbeddingsCall { request };
    crate::pipeline::guardrails::check_embeddings(gw, ctx, &mut call)?;
    pipeline::serve(gw, ctx, call).await
}
