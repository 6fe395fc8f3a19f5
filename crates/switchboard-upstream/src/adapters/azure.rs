//! Azure OpenAI: the deployment is in the URL, the version in `api-version`, the key in
//! `api-key`. Bodies are OpenAI's.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_proto::ProtoError;
use switchboard_proto::openai::embeddings as emb;

use super::{finish, openai, post};
use crate::call::{ChatCall, EmbeddingsCall};
use crate::catalog::Deployment;

fn url(d: &Deployment, operation: &str) -> String {
    let version = d.provider.api_version.as_deref().unwrap_or("2024-10-21");
    format!(
        "{}/openai/deployments/{}/{operation}?api-version={version}",
        d.provider.base_url, d.model
    )
}

pub(super) fn chat(d: &Deployment, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = openai::chat_body(d, call)?;
    finish(
        post(&d.provider, None, || url(d, "chat/completions"))?,
        body,
    )
}

pub(super) fn embeddings(
    d: &Deployment,
    call: &EmbeddingsCall,
) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = emb::passthrough_body(&call.request, &d.model);
    finish(post(&d.provider, None, || url(d, "embeddings"))?, body)
}
