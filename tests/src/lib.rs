//! End-to-end test harness: a real Switchboard node and a real mock provider, talking
//! over loopback sockets bound to port 0.
//!
//! ```text
//! let h = Harness::builder().configure(|c| c.server.max_body_bytes = 1024).start().await;
//! let r = h.post("/v1/chat/completions", KEY_A, json!({...})).await;
//! assert_eq!(r.status, 200);
//! ```
//!
//! The generated config (see [`config::BASE`]) points one provider of every kind at the
//! mock and names the models the tests call; [`client`] is a small HTTP client that reads
//! whole answers or streams them event by event.

pub mod client;
pub mod cluster;
pub mod config;
pub mod harness;

pub use client::{Answer, StreamReader};
pub use harness::{ADMIN_KEY, Harness, HarnessBuilder};

/// A key of tenant `acme` that may use every model.
pub const KEY_A: &str = "sk-test-acme-0001";
/// A key of tenant `globex` limited to the `gpt` alias.
pub const KEY_LIMITED: &str = "sk-test-globex-0002";
