//! # mock-provider: a fake LLM provider
//!
//! The upstream of every Switchboard test, chaos run and benchmark. It speaks
//! the wire formats of OpenAI, Azure OpenAI, Anthropic and Gemini (chat,
//! streaming, tool calls, JSON mode, embeddings), answers with deterministic
//! content (see [`content`]) and can misbehave on demand (see [`faults`]).
//! It deliberately shares no code with the gateway: it is the independent
//! oracle the gateway is checked against.
//!
//! Run it in-process with [`MockServer::start`] or as the `mock-llm` binary.
//!
//! ## How a request flows
//! 1. `server` accepts the TCP connection (`TCP_NODELAY`), hyper-util's auto
//!    builder serves HTTP/1.1 keep-alive or h2c on it, and the body is read.
//! 2. `/_mock/*` goes to [`admin`]. Otherwise `routes` maps the path to a
//!    [`Route`]; unknown paths get a 404 in OpenAI's error shape.
//! 3. `dispatch` parses the body with the provider module (`openai`,
//!    `anthropic`, `gemini`, `embeddings`; message text extraction in `text`),
//!    counts the call (`stats`), records it (`record`), checks credentials
//!    (`auth`), then picks a fault (`x-mock-fault` header or a server-wide
//!    [`FaultRule`]).
//! 4. [`content`] generates the answer; the provider module renders it,
//!    straight into a string (`json` helpers), either whole or as frames of a
//!    stream.
//! 5. `body` serves it (stream framing in `sse`), sleeping for `ttft` first
//!    and `token_delay` between stream chunks (never sleeping when they are
//!    zero), and applies stream-level faults (cut, hang, bad JSON, broken SSE).
//!
//! Counting: a call counts as soon as the request is routed to a provider
//! route, including auth failures, malformed bodies and faulted requests (a
//! test wants to know the gateway reached the mock). Admin calls and unknown
//! paths are not counted; unknown paths are still recorded.
//!
//! ## Request headers understood on every provider route
//! * `x-mock-output-tokens: N` — output length (see [`content`]);
//! * `x-mock-ttft-ms`, `x-mock-token-delay-ms` — latency for this request;
//!   `ttft` passes before the response headers (error statuses included);
//!   streams send their first content chunk right after the headers and each
//!   later one `token_delay` after the previous; non-stream responses wait
//!   `ttft + N * token_delay` in total. Defaults come from [`MockConfig`],
//!   the CLI or `POST /_mock/config`;
//! * `x-mock-fault: <spec>` — see [`faults`].
//!
//! Malformed values of these headers are answered with 400.
//!
//! ## Fault kinds
//! * `status=<code>[;retry-after=<secs>]`: that status with the provider's error
//!   shape (429 rate limit, 529 Anthropic overloaded, 5xx server error, other
//!   4xx invalid request) and `Retry-After` when given;
//! * `echo-auth=<code>`: that status with the provider's error shape and a
//!   message quoting every credential the request carried, verbatim
//!   (`credentials received: authorization=Bearer sk-..., key=...`: the
//!   `Authorization`, `api-key`, `x-api-key` and `x-goog-api-key` headers and a
//!   `key` query parameter), as providers that echo a refused key do. A gateway's
//!   tests use it to prove the provider key never reaches clients or logs;
//! * `hang`: response headers are never sent; the request is held until the
//!   client disconnects, shutdown, or 10 minutes;
//! * `hang-after=<n>`: stream headers and `n` content chunks, then hang (same
//!   bounds). Non-stream: headers with the full `Content-Length`, the first
//!   half of the body, then hang;
//! * `cut-after=<n>`: `n` content chunks, then the connection is aborted
//!   (`cut-after=0`: not even the opening event, so the stream breaks before its
//!   first byte)
//!   without the terminating chunk. Non-stream: `Content-Length` header, half
//!   of the body, then abort;
//! * `bad-json`: non-stream, 200 with the first half of the JSON body (not
//!   valid JSON); stream, one `data: {not json` event after the first content
//!   chunk, then the rest of the stream normally;
//! * `bad-sse`: stream, the first content chunk, then lines without a field
//!   name and non-UTF-8 bytes, then the body ends. Non-stream: same as
//!   `bad-json`.
//!
//! "Content chunks" are token events only (OpenAI token/argument chunks,
//! Anthropic `content_block_delta`, Gemini events), not role/start/ping
//! preambles, which are always sent.

pub mod admin;
mod anthropic;
mod auth;
mod body;
pub mod content;
mod dispatch;
pub mod embeddings;
mod errors;
pub mod faults;
mod gemini;
mod json;
mod openai;
mod record;
mod routes;
mod server;
mod sse;
mod state;
mod stats;
mod text;

pub use faults::{FaultRule, FaultSpecError};
pub use record::{RECORDED_REQUESTS, RecordedRequest};
pub use routes::Route;
pub use server::MockServer;
pub use state::{HANG_LIMIT, MockConfig};
