//! `POST /v1/messages` (Anthropic).

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
    gw: &Gateway,
    ctx: &RequestCtx,
    body: Bytes,
) -> Result<Response<ResponseBody>, GatewayError> {
    let chat = request::parse(&body)?;
    let raw = RawObject::parse(body)?;
    let call = ChatCall {
        api: Wire::Anthropic,
        chat,
        raw,
        include_usage: false,
    };
    chat::serve(gw, ctx, call).await
}
