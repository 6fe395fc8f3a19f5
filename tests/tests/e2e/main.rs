//! End-to-end suite in one test binary (one link instead of one per file): a real gateway
//! and a real mock provider over loopback sockets, one module per capability.

mod admin;
mod admin_changes;
mod admin_reports;
mod budgets;
mod cache;
mod chat_completions;
mod cluster;
mod cluster_ledger;
mod connections;
mod embeddings_models;
mod errors;
mod guardrails;
mod keys_and_prices;
mod limits;
mod messages;
mod observability;
mod output_guardrails;
mod provider_death;
mod provider_keys;
mod quotas;
mod routing;
mod routing_latency;
mod sampling;
mod tools_and_formats;
