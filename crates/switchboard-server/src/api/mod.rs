//! Client API handlers: parse the body in the API's own format, note what the audit
//! record needs, then hand the call to the pipeline. One module per endpoint family.

pub mod chat;
pub mod embeddings;
pub mod messages;
pub mod models;

use bytes::Bytes;
use switchboard_config::Capture;
use switchboard_proto::raw::RawObject;

use crate::gateway::Gateway;
use crate::identity::tags;
use crate::pipeline::RequestCtx;

/// What a parsed call says about itself, for its audit record.
struct CallNote<'a> {
    endpoint: &'static str,
    model: &'a str,
    stream: bool,
    user: Option<&'a str>,
}

/// Fills the request's trail once its body is parsed: endpoint, model, stream, the tags
/// carried in the body, and the prompt when the tenant captures prompts.
fn note_call(gw: &Gateway, ctx: &RequestCtx, note: CallNote<'_>, raw: &RawObject, body: &Bytes) {
    let capture = gw.directory.with_tenant(&ctx.identity.tenant, |t| {
        t.map(|t| t.capture).unwrap_or_default()
    });
    let metadata = raw
        .get("metadata")
        .and_then(|m| serde_json::from_slice::<serde_json::Value>(m).ok());
    let mut t = ctx.trail.lock();
    t.endpoint = note.endpoint;
    t.model = note.model.to_owned();
    t.stream = note.stream;
    let mut all = std::mem::take(&mut t.tags);
    tags::add_from_body(&mut all, metadata.as_ref(), note.user);
    t.tags = tags::finish(all);
    if capture != Capture::None {
        t.prompt = serde_json::from_slice(body).ok();
    }
}
