//! Client API handlers: parse the body in the API's own format, then hand the call to
//! the pipeline. One module per endpoint family.

pub mod chat;
pub mod embeddings;
pub mod messages;
pub mod models;
