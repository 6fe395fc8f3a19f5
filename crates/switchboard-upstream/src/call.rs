//! A client's call as the pipeline hands it to an adapter.

use switchboard_core::Wire;
use switchboard_proto::chat::ChatRequest;
use switchboard_proto::openai::embeddings::EmbeddingsRequest;
use switchboard_proto::raw::RawObject;

/// A chat call: the canonical view (for decisions and translation) and the client's raw
/// body (for passthrough when the upstream speaks the client's family).
#[derive(Debug)]
pub struct ChatCall {
    /// The family the client spoke: [`Wire::OpenAi`] or [`Wire::Anthropic`].
    pub api: Wire,
    pub chat: ChatRequest,
    pub raw: RawObject,
    /// An OpenAI client asked for the trailing usage chunk of its stream.
    pub include_usage: bool,
}

/// An embeddings call (OpenAI's API is the only inbound one).
#[derive(Debug)]
pub struct EmbeddingsCall {
    pub request: EmbeddingsRequest,
}
