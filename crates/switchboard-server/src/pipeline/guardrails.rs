//! The guardrail phase: a caller's guard (its key's, else its tenant's) applied to the
//! request before anything else sees it, and to every answer when it checks output:
//! complete ones, the offline provider's, cache hits, and streams (fetched whole and
//! replayed, see [`super::chat`]).
//!
//! A blocking rule refuses the call with a 400 naming the rule. Redactions are applied
//! to both views of the request: the canonical one (used for translation, routing and
//! the cache key) and the raw body (forwarded untouched when the upstream speaks the
//! client's family), so redacted text never reaches a provider either way. The audit
//! record lists every finding and, when prompts are captured, holds the redacted prompt.

use std::sync::Arc;

use bytes::Bytes;
use switchboard_guard::{Action, Finding, Guard, Verdict};
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::raw::RawObject;

use super::RequestCtx;
use super::estimate::count_chat;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::identity::Identity;

/// The guard that applies to `identity`: its key's own, else its tenant's.
pub fn guard_for(gw: &Gateway, identity: &Identity) -> Option<Arc<Guard>> {
    if let Some(g) = &identity.guard {
        return Some(Arc::clone(&g.0));
    }
    gw.directory.with_tenant(&identity.tenant, |t| {
        t.and_then(|t| t.guard.as_ref()).map(|g| Arc::clone(&g.0))
    })
}

fn note(ctx: &RequestCtx, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let mut t = ctx.trail.lock();
    for f in findings {
        let action = match f.action {
            Action::Block => "block",
            Action::Redact => "redact",
            Action::Flag => "flag",
        };
        t.guardrails.push(format!("{}:{action}", f.rule));
    }
}

fn redacted(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.action == Action::Redact)
}

/// Re-parses a raw body after its JSON was redacted.
fn redact_raw(
    guard: &Guard,
    raw: &RawObject,
    tokens: u64,
) -> Result<(RawObject, serde_json::Value), GatewayError> {
    let mut value: serde_json::Value = serde_json::from_slice(raw.body()).map_err(|e| {
        GatewayError::BadRequest(switchboard_proto::ProtoError::MalformedJson(e.to_string()))
    })?;
    guard.check_request_json(&mut value, tokens);
    let bytes = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
    Ok((RawObject::parse(bytes)?, value))
}

fn blocked(ctx: &RequestCtx, verdict: Verdict) -> Result<Vec<Finding>, GatewayError> {
    match verdict {
        Verdict::Allow { findings } => {
            note(ctx, &findings);
            Ok(findings)
        }
        Verdict::Block {
            rule,
            message,
            findings,
        } => {
            note(ctx, &findings);
            Err(GatewayError::Guardrail { rule, message })
        }
    }
}

/// Checks a chat call's prompt; redacts it in place (both views) or refuses it.
pub fn check_chat(
    gw: &Gateway,
    ctx: &RequestCtx,
    call: &mut switchboard_upstream::ChatCall,
) -> Result<(), GatewayError> {
    let Some(guard) = guard_for(gw, &ctx.identity) else {
        return Ok(());
    };
    // The tokenizer runs again on the redacted prompt for the call's estimate; here it
    // runs only when the guard has a token limit to check.
    let tokens = if guard.limits_input_tokens() {
        count_chat(&ctx.identity.tenant, &call.chat).input_tokens
    } else {
        0
    };
    let findings = blocked(ctx, guard.check_request(&mut call.chat, tokens))?;
    if redacted(&findings) {
        let (raw, value) = redact_raw(&guard, &call.raw, tokens)?;
        call.raw = raw;
        let mut t = ctx.trail.lock();
        if t.prompt.is_some() {
            t.prompt = Some(value);
        }
    }
    Ok(())
}

/// Checks an embeddings call's input (string values of the body).
pub fn check_embeddings(
    gw: &Gateway,
    ctx: &RequestCtx,
    call: &mut switchboard_upstream::EmbeddingsCall,
) -> Result<(), GatewayError> {
    let Some(guard) = guard_for(gw, &ctx.identity) else {
        return Ok(());
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(call.request.raw.body()).unwrap_or_default();
    let tokens = match &call.request.texts {
        Some(texts) if guard.limits_input_tokens() => texts
            .iter()
            .map(|t| super::estimate::count_tokens(&ctx.identity.tenant, t))
            .sum(),
        _ => 0,
    };
    let findings = blocked(ctx, guard.check_request_json(&mut value, tokens))?;
    if redacted(&findings) {
        let bytes = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        call.request = switchboard_proto::openai::embeddings::parse(bytes)?;
    }
    Ok(())
}

/// The caller's guard, when it checks answers.
fn output_guard(gw: &Gateway, ctx: &RequestCtx) -> Option<Arc<Guard>> {
    guard_for(gw, &ctx.identity).filter(|g| g.checks_output())
}

/// Whether the caller's answers are checked: then a streaming call is fetched whole and
/// replayed, since a stream relayed event by event would reach the client unchecked.
pub fn checks_output(gw: &Gateway, ctx: &RequestCtx) -> bool {
    output_guard(gw, ctx).is_some()
}

/// Checks a canonical answer (the offline provider's, or a cached one) when the guard
/// checks output; redacts it in place or refuses it.
pub fn check_canonical(
    gw: &Gateway,
    ctx: &RequestCtx,
    answer: &mut ChatResponse,
) -> Result<(), GatewayError> {
    let Some(guard) = output_guard(gw, ctx) else {
        return Ok(());
    };
    blocked(ctx, guard.check_response(answer)).map(drop)
}

/// Checks a complete answer (in the client's shape) when the guard checks output;
/// returns the body to send, redacted if need be.
pub fn check_answer(gw: &Gateway, ctx: &RequestCtx, body: Bytes) -> Result<Bytes, GatewayError> {
    let Some(guard) = output_guard(gw, ctx) else {
        return Ok(body);
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(body);
    };
    let findings = blocked(ctx, guard.check_response_json(&mut value))?;
    Ok(if redacted(&findings) {
        Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
    } else {
        body
    })
}
