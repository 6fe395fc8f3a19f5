//! `GET /v1/models` in OpenAI's shape.

use bytes::Bytes;
use serde_json::json;

/// One listed model: the alias clients call, and who serves it.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub id: String,
    pub owned_by: String,
    pub created: u64,
}

pub fn write_list(models: &[ModelEntry]) -> Bytes {
    let data: Vec<_> = models
        .iter()
        .map(|m| json!({"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by}))
        .collect();
    Bytes::from(json!({"object": "list", "data": data}).to_string())
}

pub fn write_one(model: &ModelEntry) -> Bytes {
    Bytes::from(json!({"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}).to_string())
}
