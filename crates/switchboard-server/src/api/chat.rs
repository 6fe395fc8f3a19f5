//! `POST /v1/chat/completions` (OpenAI).

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use switchboard_core::Wire;
use switchboard_proto::openai::request;
use switchboard_upstream::ChatCall;

use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::pipeline::{RequestCtx, chat};

pub async fn handle(
    gw: &Arc<Gateway>,
    ctx: &RequestCtx,
    body: Bytes,
) -> Result<Response<ResponseBody>, GatewayError> {
    let inbound = request::parse(body.clone())?;
    let c = &inbound.chat;
    let note = super::CallNote {
        endpoint: "chat",
        model: &c.model,
        stream: c.stream,
        user: c.user.as_deref(),
    };
    super::note_call(gw, ctx, note, &inbound.raw, &body);
    let mut call = ChatCall {
        api: Wire::OpenAi,
        chat: inbound.chat,
        raw: inbound.raw,
        include_usage: inbound.include_usage,
    };
    crate::pipeline::guardrails::check_chat(gw, ctx, &mut call)?;
    chat::serve(gw, ctx, call).await
}
