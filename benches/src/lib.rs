//! Switchboard's performance harness.
//!
//! Micro-benchmarks (`cargo bench -p switchboard-benches`) of the work the gateway adds to
//! every call, measured with criterion on this machine:
//! - `policy_chain`: authentication, parsing, routing, the reservation estimate,
//!   admission against the ledger and the audit slot, settlement — each step and the whole
//!   chain for one small chat request.
//! - `stream_chunks`: the per-chunk cost of relaying a stream (SSE parse + passthrough or
//!   translation + encode).
//!
//! Speed is measured here, never asserted by tests. [`fixture`] builds a real gateway
//! (config, catalog, keys, ledger, audit log in a temp dir) shared by the benchmarks.
//!
//! The side-by-side load harness (`benches/run`) drives real processes instead: mock-llm
//! directly, `bare-proxy` (the floor: a pooled hyper passthrough), one Switchboard node,
//! the three-node cluster behind HAProxy and LiteLLM, with the same constant-rate loads
//! from `loadgen`, whose engine is [`load`].

pub mod fixture;
pub mod load;
