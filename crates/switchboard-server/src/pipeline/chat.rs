//! Chat calls (OpenAI Chat Completions and Anthropic Messages share this path).

use std::sync::Arc;

use http::Response;
use switchboard_config::{Capture, ProviderKind};
use switchboard_proto::stream::encode_all;
use switchboard_upstream::adapters::{client_encoder, write_for_client};
use switchboard_upstream::{ChatCall, Deployment, UpstreamError, builtin};
use tokio::time::Instant;

use super::accounting::Accounting;
use super::relay::{OutcomeSink, RelayTimeouts, SseRelay, StreamEnd};
use super::{RequestCtx, attempt, estimate, policy, respond, route};
use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// Serves one chat call end to end.
pub async fn serve(
    gw: &Arc<Gateway>,
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
    {
        let mut t = ctx.trail.lock();
        t.provider = Some(d.provider.name.clone());
        t.served_model = Some(d.model.clone());
        t.attempts = 1;
    }
    let estimate = estimate::chat(&call.chat, d);
    let admission = policy::admit(gw, ctx, &estimate).await?;
    let acct = Accounting::new(Arc::clone(gw), ctx.clone(), d.price, estimate, admission);
    if d.provider.kind == ProviderKind::Builtin {
        return Ok(serve_builtin(ctx, d, &call, acct));
    }
    let req = match d.chat_request(&call) {
        Ok(r) => r,
        Err(e) => return Err(failed(acct, e.into())),
    };
    let deadline = Instant::now() + d.provider.total_timeout;
    let resp = match attempt::send(d, req).await {
        Ok(r) => r,
        Err(e) => return Err(failed(acct, e.into())),
    };
    if call.chat.stream {
        let capture = acct.capture == Capture::All;
        let relay = SseRelay::new(
            resp.into_body(),
            d.stream_transform(&call),
            RelayTimeouts {
                idle: d.provider.stream_idle_timeout,
                deadline,
                capture,
            },
            settle_stream(acct),
        );
        return Ok(respond::event_stream(
            &ctx.id,
            d,
            ResponseBody::stream(relay),
        ));
    }
    let body = match attempt::read_answer(resp.into_body(), deadline).await {
        Ok(b) => b,
        Err(e) => return Err(failed(acct, e.into())),
    };
    let (out, usage) = match d.read_chat(&call, body) {
        Ok(v) => v,
        Err(e) => return Err(failed(acct, UpstreamError::Proto(e).into())),
    };
    let captured =
        (acct.capture == Capture::All).then(|| String::from_utf8_lossy(&out).into_owned());
    let cost = acct.complete(usage, 0, None, captured);
    Ok(respond::with_cost(respond::json(&ctx.id, d, out), cost))
}

/// Ends a call that failed before answering: releases its reservation, records why.
pub fn failed(acct: Accounting, err: GatewayError) -> GatewayError {
    acct.fail(err.disposition().status.as_u16(), &err.to_string());
    err
}

/// The offline provider answers in-process; a stream is replayed from the whole answer.
fn serve_builtin(
    ctx: &RequestCtx,
    d: &Deployment,
    call: &ChatCall,
    acct: Accounting,
) -> Response<ResponseBody> {
    let answer = builtin::chat(&call.chat, &d.model, ctx.id.as_str());
    let body = if call.chat.stream {
        let mut encoder = client_encoder(call, &d.model);
        encode_all(encoder.as_mut(), &builtin::stream_events(&answer)).freeze()
    } else {
        write_for_client(call, &answer)
    };
    let captured =
        (acct.capture == Capture::All).then(|| String::from_utf8_lossy(&body).into_owned());
    let cost = acct.complete(
        answer.usage,
        0,
        call.chat.stream.then_some("complete"),
        captured,
    );
    if call.chat.stream {
        respond::event_stream(&ctx.id, d, ResponseBody::full(body))
    } else {
        respond::with_cost(respond::json(&ctx.id, d, body), cost)
    }
}

/// Settles a relayed stream when it ends, however it ends. A stream cut before the
/// provider reported usage is billed at least for the content it forwarded.
fn settle_stream(acct: Accounting) -> OutcomeSink {
    Box::new(move |outcome| {
        let end = match outcome.end {
            StreamEnd::Complete => "complete",
            StreamEnd::UpstreamBroke(_) => "upstream_broke",
            StreamEnd::Timeout => "timeout",
            StreamEnd::ClientGone => "client_gone",
        };
        acct.complete(
            outcome.usage,
            outcome.content_events,
            Some(end),
            outcome.captured,
        );
    })
}
