//! The request pipeline, as named phases. Each phase is a module; this one composes them
//! and says why each sits where it does.
//!
//! 1. endpoint and auth ([`crate::service`], [`crate::identity`]): who is calling, from the
//!    headers alone, so a client without a valid key costs no body buffering or parsing.
//! 2. [`read_body`]: read the body under the size limit; a 413 must not cost more than the
//!    limit in memory.
//! 3. parse ([`crate::api`]): the body in the API's own format, into a call that keeps
//!    both the canonical view and the raw fields.
//! 4. [`route`]: which deployments may serve the requested model, and whether this key
//!    may use it.
//! 5. [`attempt`]: send the call upstream and turn a failure status into an error, before
//!    anything reaches the client.
//! 6. respond ([`respond`]): a complete answer is read, translated if needed, and returned
//!    with its usage; a stream is handed to [`relay`], which forwards it event by event.
//! 7. completion: when the answer or the stream is done, [`Completion`] records the
//!    outcome (the hook where settlement, audit and metrics attach).

pub mod attempt;
pub mod chat;
pub mod embeddings;
pub mod estimate;
pub mod read_body;
pub mod relay;
pub mod respond;
pub mod route;

use std::sync::Arc;
use std::time::Instant;

use switchboard_core::{RequestId, Usage, Wire};

use crate::identity::Identity;

/// What every phase knows about the request in hand.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub id: RequestId,
    /// The API family the client called, which decides the shape of every error.
    pub api: Wire,
    pub identity: Arc<Identity>,
    pub started: Instant,
}

/// How a call ended, reported once.
#[derive(Debug, Clone)]
pub struct Completion {
    pub request_id: RequestId,
    pub tenant: String,
    pub alias: String,
    pub provider: String,
    pub upstream_model: String,
    pub status: u16,
    pub usage: Usage,
    pub streamed: bool,
    /// For streams: how the stream ended (`complete`, `client_gone`...).
    pub end: &'static str,
}

impl Completion {
    /// Logs the completed call. Settlement, audit and metrics will hang off this point.
    pub fn record(self, started: Instant) {
        tracing::debug!(
            request_id = %self.request_id,
            tenant = %self.tenant,
            model = %self.alias,
            provider = %self.provider,
            upstream_model = %self.upstream_model,
            status = self.status,
            input_tokens = self.usage.input_tokens,
            output_tokens = self.usage.output_tokens,
            streamed = self.streamed,
            end = self.end,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "call completed"
        );
    }
}
