//! `GET /v1/models` and `GET /v1/models/{id}`: the aliases this key may call, in OpenAI's
//! shape, or Anthropic's when the client sends `anthropic-version` (the Anthropic SDK's
//! `models.list()` hits the same path).

use bytes::Bytes;
use http::{HeaderMap, Response};
use serde_json::json;
use switchboard_proto::openai::models::{ModelEntry, write_list, write_one};

use crate::body::ResponseBody;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::pipeline::{RequestCtx, respond};

fn entries(gw: &Gateway, ctx: &RequestCtx) -> Vec<ModelEntry> {
    gw.catalog
        .live_models()
        .filter(|(alias, _)| ctx.identity.may_use(alias))
        .map(|(alias, owner)| ModelEntry {
            id: alias.to_owned(),
            owned_by: owner.to_owned(),
            created: 0,
        })
        .collect()
}

fn anthropic_entry(m: &ModelEntry) -> serde_json::Value {
    json!({"type": "model", "id": m.id, "display_name": m.id, "created_at": "1970-01-01T00:00:00Z"})
}

pub fn list(gw: &Gateway, ctx: &RequestCtx, headers: &HeaderMap) -> Response<ResponseBody> {
    let models = entries(gw, ctx);
    let body = if headers.contains_key("anthropic-version") {
        let data: Vec<_> = models.iter().map(anthropic_entry).collect();
        let first = models.first().map(|m| m.id.clone());
        let last = models.last().map(|m| m.id.clone());
        Bytes::from(
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
                .to_string(),
        )
    } else {
        write_list(&models)
    };
    respond::plain_json(&ctx.id, body)
}

pub fn get(
    gw: &Gateway,
    ctx: &RequestCtx,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response<ResponseBody>, GatewayError> {
    let models = entries(gw, ctx);
    let m = models
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| GatewayError::UnknownModel(id.to_owned()))?;
    let body = if headers.contains_key("anthropic-version") {
        Bytes::from(anthropic_entry(m).to_string())
    } else {
        write_one(m)
    };
    Ok(respond::plain_json(&ctx.id, body))
}
