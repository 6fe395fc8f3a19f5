//! Domain types and pure logic shared by every Switchboard crate.
//!
//! Nothing here knows about sockets, runtimes or wire formats; it is the vocabulary the
//! other crates speak:
//!
//! - [`usage`]: token counts of one call ([`Usage`]), captured from every upstream answer.
//! - [`wire`]: the protocol families a request can arrive in or leave in ([`Wire`]).
//! - [`money`]: [`Money`], integer nano-dollars; [`price`]: [`Price`] per million tokens
//!   and the cost of a call.
//! - [`time`]: RFC 3339 UTC timestamps and calendar arithmetic.
//! - [`id`]: request ids ([`RequestId`]) that tie a response header, a log line and an
//!   audit record together.

pub mod id;
pub mod log_gate;
pub mod money;
pub mod price;
pub mod time;
pub mod usage;
pub mod wire;

pub use id::RequestId;
pub use log_gate::LogGate;
pub use money::Money;
pub use price::Price;
pub use usage::Usage;
pub use wire::Wire;
