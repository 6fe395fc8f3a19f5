//! The request pipeline, as named phases. Each phase is a module; this one composes them
//! and says why each sits where it does.
//!
//! 1. endpoint and auth ([`crate::service`], [`crate::identity`]): who is calling, from the
//!    headers alone, so a client without a valid key costs no body buffering or parsing.
//! 2. [`read_body`]: read the body under the size limit; a 413 must not cost more than the
//!    limit in memory.
//! 3. parse ([`crate::api`]): the body in the API's own format, into a call that keeps
//!    both the canonical view and the raw fields.
//! 4. [`guardrails`]: the caller's guard on the prompt: redact, flag or refuse (400),
//!    before anything else (the cache key, a provider, the audit log) sees it.
//! 5. [`route`] and [`crate::routing::resolve`]: whether this key may use the model, and
//!    which alias serves it (rules, tiers).
//! 6. [`cached`]: answer from the response cache when the alias caches.
//! 7. admission ([`estimate`], [`policy`]): the most the call can cost over every
//!    deployment it may reach, reserved against the key's, team's and tenant's quotas
//!    (429 when one refuses), and an audit slot (503 when there is none).
//! 8. attempts ([`crate::routing::attempts`], [`attempt`]): deployments in the alias's
//!    order, breakers consulted, retried, failed over and fallen back before the first
//!    byte reaches the client.
//! 9. respond ([`respond`]): a complete answer is read, translated if needed, checked by
//!    output guardrails and returned with its cost; a stream is handed to [`relay`],
//!    which forwards it event by event, unless the caller's output is checked: then the
//!    answer is fetched whole, checked, and replayed as a stream.
//! 10. settle ([`accounting`]): when the answer or the stream is done, however it ends,
//!     the reservation is settled to the real cost (or released), the audit record
//!     written, the answer cached.

pub mod accounting;
pub mod attempt;
pub mod bpe;
pub mod cached;
pub mod chat;
mod count_memo;
pub mod embeddings;
pub mod estimate;
pub mod guardrails;
pub mod policy;
pub mod read_body;
pub mod relay;
pub mod respond;
pub mod route;

use std::sync::Arc;
use std::time::Instant;

use switchboard_core::{RequestId, Wire};

pub use accounting::{SharedTrail, Trail};

use crate::identity::Identity;

/// What every phase knows about the request in hand.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub id: RequestId,
    /// What the call's spend is settled under: unique to this call even when `id` is the
    /// client's own (see [`crate::gateway::Gateway::request_ids`]).
    pub settle_id: RequestId,
    /// The API family the client called, which decides the shape of every error.
    pub api: Wire,
    pub identity: Arc<Identity>,
    pub started: Instant,
    /// Filled in as the phases learn things; read by the audit record.
    pub trail: SharedTrail,
    /// The request's headers, for routing rules that match on them.
    pub headers: Arc<http::HeaderMap>,
    /// This hop's W3C trace context, sent upstream and echoed back.
    pub trace: crate::trace::TraceContext,
}
