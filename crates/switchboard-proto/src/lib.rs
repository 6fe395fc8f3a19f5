//! Wire formats of the APIs Switchboard speaks, and translation between them. No I/O.
//!
//! A chat call enters in the client's family (OpenAI Chat Completions or Anthropic
//! Messages) and leaves in the upstream's (OpenAI, Anthropic or Gemini). Where the two
//! families match, the body is forwarded from its [`raw::RawObject`] with only the model
//! changed; where they differ it is read into the canonical [`chat::ChatRequest`], written
//! out in the upstream's format, and the answer comes back the same way: a complete
//! [`chat::ChatResponse`], or a stream of [`stream::StreamEvent`]s decoded from the
//! upstream's SSE and encoded into the client's.
//!
//! Modules:
//! - [`chat`]: the canonical request and response.
//! - [`stream`]: canonical stream events, decoder/encoder traits, the [`stream::StreamTransform`]
//!   the server drives.
//! - [`sse`]: incremental server-sent-events parser and writer.
//! - [`raw`]: a JSON object as raw field slices, for passthrough with edits.
//! - [`openai`], [`anthropic`], [`gemini`]: each family's wire types and its conversions
//!   to and from the canonical form, its stream decoder and encoder, and its error shape.
//! - [`error`]: [`ProtoError`], and the JSON parsing that names the offending field.

pub mod anthropic;
pub mod chat;
pub mod error;
pub mod gemini;
pub mod openai;
pub mod raw;
pub mod sse;
pub mod stream;

pub use error::{ApiErrorKind, ProtoError, UpstreamError};
