//! Anthropic Messages: `{base_url}/v1/messages`, `x-api-key`, `anthropic-version`.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_core::Wire;
use switchboard_proto::ProtoError;
use switchboard_proto::anthropic::request;
use switchboard_proto::raw::json_string;

use super::{finish, post};
use crate::call::ChatCall;
use crate::catalog::Deployment;

/// The API version sent when the config names none.
const DEFAULT_VERSION: &str = "2023-06-01";

pub(super) fn chat(d: &Deployment, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
    let body = if call.api == Wire::Anthropic {
        call.raw
            .write(&[("model", json_string(&d.model).as_bytes())], &[])
    } else {
        request::write(&call.chat, &d.model)?
    };
    let p = &d.provider;
    let url = || format!("{}/v1/messages", p.base_url);
    let version = p.api_version.as_deref().unwrap_or(DEFAULT_VERSION);
    let b = post(p, p.prepared.chat.as_ref(), url)?.header("anthropic-version", version);
    finish(b, body)
}
