//! `POST /v1/messages` (Anthropic).

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use switchboard_core::Wire;
use switchboard_proto::anthropic::request;
use switchboard_proto::raw::RawObject;
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
    let chat = request::parse(&body)?;
    let raw = RawObject::parse(body.clone())?;
    // Anthropic's `metadata` holds only `user_id`, already read into `chat.user`.
    let note = super::CallNote {
        endpoint: "chat",
        model: &chat.model,
        stream: chat.stream,
        user: chat.user.as_deref(),
    };
    super::note_call(gw, ctx, note, &raw, &body);
    let mut call = ChatCall {
        api: Wire::Anthropic,
        chat,
        raw,
        include_usage: false,
    };
    crate::pipeline::guardrails::check_chat(gw, ctx, &mut call)?;
    chat::serve(gw, ctx, call).await
}
