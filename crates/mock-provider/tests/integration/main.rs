//! Integration tests: a real `MockServer` on 127.0.0.1:0 per test, driven by a
//! small hyper client (or raw `TcpStream` where the fault is below HTTP).

// Helpers outside `#[test]` fns panic on purpose: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod anthropic;
mod azure;
mod binary;
mod common;
mod embeddings;
mod faults;
mod faults_stream;
mod gemini;
mod openai;
mod openai_features;
