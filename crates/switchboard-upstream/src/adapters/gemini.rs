//! Google Gemini: `{base_url}/v1beta/models/{model}:generateContent` (or
//! `:streamGenerateContent?alt=sse`), key in `x-goog-api-key`. Always translated: no
//! client speaks Gemini.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_core::Usage;
use switchboard_proto::ProtoError;
use switchboard_proto::gemini::{embeddings as gem_emb, request};
use switchboard_proto::openai::embeddings as oai_emb;

use super::{finish, post};
use crate::builtin::count_words;
use crate::call::{ChatCall, EmbeddingsCall};
use crate::catalog::Deployment;

pub(super) fn chat(d: &Deployment, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = request::write(&call.chat)?;
    let operation = if call.chat.stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    let url = format!(
        "{}/v1beta/models/{}:{operation}",
        d.provider.base_url, d.model
    );
    finish(post(&d.provider, None, || url)?, body)
}

fn texts(call: &EmbeddingsCall) -> Result<&[String], ProtoError> {
    call.request
        .texts
        .as_deref()
        .ok_or_else(|| ProtoError::field("input", "Gemini embeddings take text, not token ids"))
}

pub(super) fn embeddings(
    d: &Deployment,
    call: &EmbeddingsCall,
) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = gem_emb::write(texts(call)?, call.request.dimensions, &d.model);
    let url = format!(
        "{}/v1beta/models/{}:batchEmbedContents",
        d.provider.base_url, d.model
    );
    finish(post(&d.provider, None, || url)?, body)
}

/// Gemini's batch answer carries no usage; input tokens are estimated by word count.
pub(super) fn read_embeddings(
    call: &EmbeddingsCall,
    body: &[u8],
) -> Result<(Bytes, Usage), ProtoError> {
    let vectors = gem_emb::parse(body)?;
    let words: u64 = texts(call)?.iter().map(|t| count_words(t)).sum();
    let usage = Usage::new(words, 0);
    let out = oai_emb::write_response(
        &vectors,
        &call.request.model,
        usage,
        call.request.encoding_format,
    );
    Ok((out, usage))
}
