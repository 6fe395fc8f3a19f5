//! `POST /v1/embeddings` (OpenAI).

use bytes::Bytes;
use http::Response;
use switchboard_proto::openai::embeddings;
use switchboard_upstream::EmbeddingsCall;

use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::pipeline::{RequestCtx, embeddings as pipeline};

pub async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    body: Bytes,
) -> Result<Response<ResponseBody>, GatewayError> {
    let request = embeddings::parse(body)?;
    pipeline::serve(gw, ctx, EmbeddingsCall { request }).await
}
