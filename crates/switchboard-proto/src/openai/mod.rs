//! OpenAI Chat Completions, Embeddings and Models: the family most clients speak and most
//! upstreams copy (Azure, vLLM, Groq, Ollama...).
//!
//! - [`wire`]: request types as clients send them.
//! - [`request`]: client body -> canonical, canonical -> upstream body, passthrough edits.
//! - [`response`]: upstream answer -> canonical, canonical -> client answer, usage.
//! - [`stream`]: chunk [`stream::Decoder`] and [`stream::Encoder`].
//! - [`passthrough`]: [`Passthrough`], the stream transform when both sides are OpenAI.
//! - [`embeddings`], [`models`]: the other two endpoints.
//! - [`error`]: the `{"error":{...}}` shape.

pub mod embeddings;
pub mod error;
pub mod models;
pub mod passthrough;
pub mod request;
pub mod response;
pub mod stream;
pub mod wire;

pub use passthrough::Passthrough;
