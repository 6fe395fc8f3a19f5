//! Anthropic Messages: `{base_url}/v1/messages`, `x-api-key`, `anthropic-version`.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_core::Wire;
use switchboard_proto::ProtoError;
use switchboard_proto::anthropic::request;

use super::{finish, json_str, post, secret_header};
use crate::call::ChatCall;
use crate::catalog::Deployment;

/// The API version sent when the config names none.
const DEFAULT_VERSION: &str = "2023-06-01";

pub(super) fn chat(d: &Deployment, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = if call.api == Wire::Anthropic {
        call.raw
            .write(&[("model", json_str(&d.model).as_bytes())], &[])
    } else {
        request::write(&call.chat, &d.model)?
    };
    let url = format!("{}/v1/messages", d.provider.base_url);
    let version = d.provider.api_version.as_deref().unwrap_or(DEFAULT_VERSION);
    let mut b = post(&d.provider, &url).header("anthropic-version", version);
    if let Some(key) = &d.provider.api_key {
        b = b.header("x-api-key", secret_header(key.expose())?);
    }
    finish(b, body)
}
