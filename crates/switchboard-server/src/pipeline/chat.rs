//! Chat calls (OpenAI Chat Completions and Anthropic Messages share this path).

use http::Response;
use switchboard_config::ProviderKind;
use switchboard_proto::stream::encode_all;
use switchboard_upstream::adapters::{client_encoder, write_for_client};
use switchboard_upstream::{ChatCall, Deployment, UpstreamError, builtin};
use tokio::time::Instant;

use super::relay::{OutcomeSink, RelayTimeouts, SseRelay, StreamEnd};
use super::{Completion, RequestCtx, attempt, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// Serves one chat call end to end.
pub async fn serve(
    gw: &Gateway,
    ctx: &RequestCtx,
    call: ChatCall,
) -> Result<Response<ResponseBody>, GatewayError> {
    let deployments = route::route(&gw.catalog, &ctx.identity, &call.chat.model)?;
    let Some(d) = deployments.first() else {
        return Err(GatewayError::ModelUnavailable {
            alias: call.chat.model.clone(),
            reason: "no deployment".into(),
        });
    };
    if d.provider.kind == ProviderKind::Builtin {
        return Ok(serve_builtin(ctx, d, &call));
    }
    let req = d.chat_request(&call)?;
    let deadline = Instant::now() + d.provider.total_timeout;
    let resp = attempt::send(d, req).await?;
    if call.chat.stream {
        let relay = SseRelay::new(
            resp.into_body(),
            d.stream_transform(&call),
            RelayTimeouts {
                idle: d.provider.stream_idle_timeout,
                deadline,
            },
            completion_sink(ctx, d, &call),
        );
        return Ok(respond::event_stream(
            &ctx.id,
            d,
            ResponseBody::stream(relay),
        ));
    }
    let body = attempt::read_answer(resp.into_body(), deadline).await?;
    let (out, usage) = d.read_chat(&call, body).map_err(UpstreamError::Proto)?;
    completion(ctx, d, &call, 200, usage, false, "complete").record(ctx.started);
    Ok(respond::json(&ctx.id, d, out))
}

/// The offline provider answers in-process; a stream is replayed from the whole answer.
fn serve_builtin(ctx: &RequestCtx, d: &Deployment, call: &ChatCall) -> Response<ResponseBody> {
    let answer = builtin::chat(&call.chat, &d.model, ctx.id.as_str());
    completion(
        ctx,
        d,
        call,
        200,
        answer.usage,
        call.chat.stream,
        "complete",
    )
    .record(ctx.started);
    if call.chat.stream {
        let mut encoder = client_encoder(call, &d.model);
        let bytes = encode_all(encoder.as_mut(), &builtin::stream_events(&answer));
        respond::event_stream(&ctx.id, d, ResponseBody::full(bytes.freeze()))
    } else {
        respond::json(&ctx.id, d, write_for_client(call, &answer))
    }
}

fn completion(
    ctx: &RequestCtx,
    d: &Deployment,
    call: &ChatCall,
    status: u16,
    usage: switchboard_core::Usage,
    streamed: bool,
    end: &'static str,
) -> Completion {
    Completion {
        request_id: ctx.id.clone(),
        tenant: ctx.identity.tenant.clone(),
        alias: call.chat.model.clone(),
        provider: d.provider.name.clone(),
        upstream_model: d.model.clone(),
        status,
        usage,
        streamed,
        end,
    }
}

/// Records a relayed stream's outcome when it ends, however it ends.
fn completion_sink(ctx: &RequestCtx, d: &Deployment, call: &ChatCall) -> OutcomeSink {
    let base = completion(ctx, d, call, 200, Default::default(), true, "complete");
    let started = ctx.started;
    Box::new(move |outcome| {
        let end = match outcome.end {
            StreamEnd::Complete => "complete",
            StreamEnd::UpstreamBroke(_) => "upstream_broke",
            StreamEnd::Timeout => "timeout",
            StreamEnd::ClientGone => "client_gone",
        };
        let mut usage = outcome.usage;
        // A stream cut before the provider reported usage is billed at least for what
        // was forwarded.
        usage.output_tokens = usage.output_tokens.max(outcome.content_events);
        Completion { usage, end, ..base }.record(started);
    })
}
