//! Guardrails: what a tenant or key lets into a model, and back out of it.
//!
//! A [`GuardConfig`] says which kinds of personal data to look for and what to do on a
//! hit — [`Action::Block`] the call, [`Action::Redact`] the match, or only
//! [`Action::Flag`] it for the audit record — which regexes are denied, and how many input
//! tokens a prompt may have. [`Guard::compile`] turns it into a [`Guard`] once, at
//! start-up or on reload: every regex is built there, with one [`regex::RegexSet`] over
//! all of them, so checking a text no rule touches costs a single pass over it. The
//! guard returns decisions; the gateway does the HTTP (a 400 naming the rule) and writes
//! the findings into the audit record.
//!
//! Pure logic, no I/O:
//! - [`config`]: [`GuardConfig`], [`PiiRule`], [`DenyRule`], [`Detector`], [`Action`]; the
//!   shapes the gateway's TOML or JSON configuration embeds.
//! - [`detect`]: the built-in detectors, one module each (email, phone, card number,
//!   national id, secret), with their patterns and precision trade-offs; [`digits`]: the
//!   view of numbers the numeric ones share, which keeps redaction idempotent.
//! - [`guard`]: [`Guard::compile`] and the search every check runs.
//! - [`placeholder`]: `[REDACTED:<kind>]`, merging overlaps, recognising its own output.
//! - [`scan`]: [`Guard::scan`] of one text into a [`Scan`] of [`Finding`]s, [`Hit`]s and
//!   the redacted text, searching again until redaction is stable; `mapping`: how what a
//!   later search finds maps back to the text as given.
//! - [`verdict`]: [`Verdict`], allow or block, and which rule blocks first.
//! - [`request`]: [`Guard::check_request`] on a canonical request (before the call),
//!   [`Guard::check_text`] and [`Guard::check_response`] on answers (after).
//! - [`json`]: [`redact_json_strings`] and [`Guard::check_request_json`] for raw bodies
//!   the gateway forwards untranslated.
//! - [`error`]: [`GuardError`], a configuration that does not compile.
//!
//! Data flow of one call: [`Guard::check_request`] -> token cap -> for each text part
//! and tool-call argument: [`Guard::scan`] (regex set -> matching patterns -> detector
//! checks -> hits -> placeholders) -> tally per rule -> [`Verdict`]; the upstream call;
//! [`Guard::check_response`] when `check_output` is on.
//!
//! Streamed answers are not checked here: a stream would have to be held back to redact
//! a match split across chunks; the gateway checks the assembled text if it buffers.

pub mod config;
pub mod detect;
pub mod digits;
pub mod error;
pub mod guard;
pub mod json;
mod mapping;
pub mod placeholder;
pub mod request;
pub mod scan;
pub mod verdict;

pub use config::{Action, DenyRule, Detector, GuardConfig, PiiRule};
pub use error::GuardError;
pub use guard::Guard;
pub use json::redact_json_strings;
pub use scan::{Finding, Hit, MAX_PASSES, Scan};
pub use verdict::{MAX_INPUT_TOKENS, Verdict};
