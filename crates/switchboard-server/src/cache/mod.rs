//! The response cache: repeated requests answered without calling a provider.
//!
//! - [`exact`]: [`ResponseCache`], answers keyed by a hash of the normalised request
//!   (model alias, messages, tools, sampling parameters; not the user id or the stream
//!   flag), scoped per tenant unless `[cache] shared_across_tenants`, bounded in bytes,
//!   each entry living its alias's TTL.
//! - [`semantic`]: opt-in per alias: prompts are embedded through a configured embeddings
//!   alias and the nearest cached prompt of the same tenant is served when its cosine
//!   similarity reaches the threshold.
//! - [`directive`]: what the client asked of the cache (`x-switchboard-cache`).
//!
//! Answers are stored in canonical form, so an answer cached from an OpenAI client serves
//! an Anthropic client too, and a streaming client gets it replayed as a proper stream.

pub mod capture;
pub mod directive;
pub mod exact;
pub mod semantic;

pub use directive::Directive;
pub use exact::{CacheKey, ResponseCache};
