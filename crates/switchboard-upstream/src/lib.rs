//! Everything between a parsed client call and an upstream provider.
//!
//! - [`call`]: [`ChatCall`] and [`EmbeddingsCall`], a client's request as the pipeline
//!   hands it over (canonical view, raw body, client family).
//! - [`catalog`]: [`Catalog`], built once from the config: providers with their pooled
//!   clients, and each model alias's live deployments.
//! - [`adapters`]: one module per provider kind. Each builds the HTTP request for a call
//!   (passing the client's body through when the families match, translating when they
//!   do not) and reads the answer back into the client's family. Pure functions, no I/O.
//! - [`client`]: the pooled keep-alive HTTPS client (rustls, TCP_NODELAY, connect and
//!   first-byte timeouts), one per provider.
//! - [`builtin`]: the offline provider that answers in-process, so the default config works
//!   with no keys and no network.
//! - [`error`]: [`UpstreamError`], what can go wrong on the way.
//!
//! Data flow: the server resolves an alias with [`Catalog::lookup`], asks the
//! deployment's adapter for a request ([`Deployment::chat_request`]), sends it with
//! [`Provider::send`], then reads the answer with [`Deployment::read_chat`] or streams it
//! through the transform from [`Deployment::stream_transform`].

pub mod adapters;
pub mod builtin;
pub mod call;
pub mod catalog;
pub mod client;
pub mod error;

pub use call::{ChatCall, EmbeddingsCall};
pub use catalog::{Catalog, Deployment, Provider};
pub use error::UpstreamError;
