//! Google Gemini `generateContent`: an upstream family only (no client speaks it here).
//!
//! - [`request`]: canonical request into a Gemini request body.
//! - [`response`]: a Gemini answer into canonical form.
//! - [`stream`]: the [`stream::Decoder`] for `streamGenerateContent?alt=sse`.
//! - [`embeddings`]: `batchEmbedContents`, written and read.
//! - [`error`]: Google's error body, read.
//! - [`wire`]: the serde types.
//!
//! Gemini gives function calls no ids, yet canonical (OpenAI-style) tool results must name
//! the call they answer. Calls are therefore numbered `call_0`, `call_1`, ... in the order
//! they appear in each answer (across all candidates, in stream arrival order when
//! streamed). The numbers repeat from one answer to the next, which is harmless going back
//! to Gemini: [`request::write`] resolves each tool result to the nearest earlier call with
//! that id. A `functionCall.id`, where a Gemini surface does send one, is used instead.

pub mod embeddings;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;

use crate::chat::FinishReason;

/// Gemini `finishReason` to canonical. `STOP` after function calls is a tool-call finish,
/// as OpenAI clients expect; the block reasons are content filtering; everything else
/// (`OTHER`, `MALFORMED_FUNCTION_CALL`, reasons newer than this code) reads as a stop.
pub(crate) fn finish_reason_of(reason: &str, made_calls: bool) -> FinishReason {
    match reason {
        "STOP" if made_calls => FinishReason::ToolCalls,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ => FinishReason::Stop,
    }
}

/// The id given to the `n`th function call of an answer that carries none.
pub(crate) fn call_id(given: Option<String>, n: u32) -> String {
    given
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{n}"))
}

/// An id for an answer without `responseId` (older models, some proxies).
pub(crate) fn fallback_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("gemini-{nanos:x}")
}

/// Gemini answers carry no timestamp; the canonical `created` is when it was read.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Serializes a wire type. They hold only strings, numbers and JSON values, which cannot
/// fail to serialize; the fallback keeps that an invariant rather than a panic.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}
