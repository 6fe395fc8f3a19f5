//! OpenAI and OpenAI-compatible servers: `{base_url}/chat/completions`, bearer key.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_config::ProviderKind;
use switchboard_core::Wire;
use switchboard_proto::ProtoError;
use switchboard_proto::openai::{embeddings as emb, request};

use super::{finish, post};
use crate::call::{ChatCall, EmbeddingsCall};
use crate::catalog::Deployment;

/// The body for an OpenAI-family upstream: the client's own bytes when it spoke OpenAI.
pub(super) fn chat_body(d: &Deployment, call: &ChatCall) -> Result<Bytes, ProtoError> {
    if call.api == Wire::OpenAi {
        return Ok(request::passthrough_body(
            &call.raw,
            call.chat.stream,
            &d.model,
        ));
    }
    let opts = request::WriteOptions {
        max_completion_tokens: d.provider.kind == ProviderKind::Openai,
    };
    request::write(&call.chat, &d.model, opts)
}

pub(super) fn chat(d: &Deployment, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = chat_body(d, call)?;
    let p = &d.provider;
    let url = || format!("{}/chat/completions", p.base_url);
    finish(post(p, p.prepared.chat.as_ref(), url)?, body)
}

pub(super) fn embeddings(
    d: &Deployment,
    call: &EmbeddingsCall,
) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = emb::passthrough_body(&call.request, &d.model);
    let p = &d.provider;
    let url = || format!("{}/embeddings", p.base_url);
    finish(post(p, p.prepared.embeddings.as_ref(), url)?, body)
}
