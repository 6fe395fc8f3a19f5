//! Switchboard's server side: the listeners, a ConnectionActor per client connection, the
//! request pipeline, and the admin listener.
//!
//! A request travels: [`listener`] accepts the socket and starts a
//! [`connection::ConnectionActor`], which serves HTTP/1.1 or h2c through hyper; each
//! request goes to [`service::handle`], which routes the endpoint, authenticates the key
//! ([`identity`]), reads the body, and calls the endpoint's handler in [`api`]. Handlers parse
//! the body in their API's format and run the [`pipeline`] phases: route the model, try
//! the upstream, answer (a whole JSON [`body::ResponseBody`] or a relayed stream), record
//! the completion. Any failure becomes a [`error::GatewayError`], shown to the client in
//! the shape of the API it called.
//!
//! [`server::RunningServer`] binds everything and runs the graceful shutdown; [`admin`]
//! serves health probes and the admin API on its own listener. [`gateway::Gateway`] is the
//! state shared by all of it.

pub mod admin;
pub mod api;
pub mod body;
pub mod cache;
pub mod connection;
pub mod error;
pub mod gateway;
pub mod identity;
pub mod listener;
pub mod membership;
pub mod metrics;
pub mod pipeline;
pub mod restore;
pub mod routing;
pub mod server;
pub mod service;
pub mod shard;
pub mod trace;

pub use server::{RunningServer, StartError};
