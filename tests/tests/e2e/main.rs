//! End-to-end suite in one test binary (one link instead of one per file): a real gateway
//! and a real mock provider over loopback sockets, one module per capability.

mod admin;
mod budgets;
mod cache;
mod chat_completions;
mod cluster;
mod cluster_ledger;
mod connections;
mod embeddings_models;
mod errors;
mod guardrails;
mod messages;
mod observability;
mod provider_death;
mod routing;
mod routing_latency;
mod tools_and_formats;
