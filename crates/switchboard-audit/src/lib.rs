//! switchboard-audit: a tamper-evident audit log of every gateway request.
//!
//! Each request the gateway answers (or refuses) becomes one [`AuditRecord`], one JSON
//! line in a segment file, carrying the SHA-256 of the line before it. The log is also
//! the node's settlement journal: on restart the gateway [`scan()`]s it to rebuild budget
//! spend, so a record carries identity, time, usage and cost.
//!
//! # How data flows
//!
//! 1. At admission the gateway takes room for the request's record with
//!    [`AuditLog::try_reserve`] (no room: 503, rather than serve a request it cannot
//!    audit). The room is bounded by [`AuditConfig::capacity`]: backpressure.
//! 2. When the request completes, [`AuditSlot::append`] sends the record to the writer
//!    actor. The response never waits for it: the caller awaits it off the critical
//!    path (or only to learn the record's seq).
//! 3. The actor ([`writer`]) buffers records and group-commits them: one write and one
//!    fsync for everything that arrived during the previous commit. It assigns `seq`,
//!    chains `prev`, rotates segments, rewrites `HEAD`, and answers each append with
//!    its [`Appended`] seq and hash once durable. A failing disk is retried with
//!    backoff; records are never dropped.
//! 4. Offline or from the admin API, [`verify()`] re-walks the chain and names the first
//!    edit, deletion, reorder or truncation; [`scan()`] streams records through a
//!    [`Filter`].
//!
//! # Modules
//!
//! - [`record`]: the record and its chain hash.
//! - [`segment`]: segment file names and streaming line readers.
//! - [`head`]: the `HEAD` file and the threat model (what the chain proves, and what not).
//! - [`lock`]: one writer per directory.
//! - [`recovery`]: resuming a directory after a stop or a crash.
//! - [`sink`]: where committed bytes go ([`SegmentSink`], injectable for tests).
//! - [`writer`]: the actor; [`handle`]: [`AuditLog`], [`AuditSlot`], [`start`].
//! - [`verify`](mod@verify) and [`scan`](mod@scan): reading a directory back.
//!
//! # On disk
//!
//! ```text
//! dir/
//!   audit-00000000000000000001.jsonl   records 1..=N, one JSON object per line
//!   audit-0000000000000000000N+1.jsonl the next segment, named for its first seq
//!   HEAD                               {"seq":<last>,"hash":"<hex sha256 of last line>"}
//!   LOCK                               the writer's lock (holds the writer's pid)
//! ```

pub mod config;
pub mod error;
pub mod handle;
pub mod head;
pub mod lock;
pub mod record;
pub mod recovery;
pub mod scan;
pub mod segment;
pub mod sink;
pub mod verify;
pub mod writer;

pub use config::AuditConfig;
pub use error::AuditError;
pub use handle::{AuditLog, AuditSlot, start, start_with_sink};
pub use head::Head;
pub use record::{AuditRecord, Decision, GENESIS_PREV, line_hash};
pub use recovery::{HeadCheck, RecoveryReport};
pub use scan::{Filter, ScanStats, scan};
pub use sink::{FileSink, SegmentSink};
pub use verify::{VerifyError, VerifyErrorKind, VerifyReport, scan_verified, verify};
pub use writer::Appended;
