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
//!
//! Gemini 3 models also attach a `thoughtSignature` to each function call and refuse the
//! next turn unless it comes back on that call. Clients of other families have nowhere to
//! keep it but the call id, which every client echoes in its tool result and assistant
//! history; so the signature rides in the id after [`SIGNATURE_MARK`] and is split off
//! again when the history is written back to Gemini.

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

/// Separates a call id from the thought signature carried in it.
pub const SIGNATURE_MARK: &str = "~ts~";

/// The id given to the `n`th function call of an answer (Gemini's own id if it sent one),
/// with the call's thought signature appended when there is one.
pub(crate) fn call_id(given: Option<String>, n: u32, signature: Option<&str>) -> String {
    let id = given
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{n}"));
    match signature.filter(|s| !s.is_empty()) {
        Some(sig) => format!("{id}{SIGNATURE_MARK}{sig}"),
        None => id,
    }
}

/// The thought signature carried in a call id, if any.
pub(crate) fn signature_of(call_id: &str) -> Option<&str> {
    call_id.split_once(SIGNATURE_MARK).map(|(_, sig)| sig)
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
