//! Quota ledgers: budgets and rate limits that are exact across a cluster, without a
//! database.
//!
//! Every quota (a key's requests per minute, a team's dollars per day, a tenant's
//! dollars per month...) has one owner. Nodes never spend against a limit directly:
//! they spend out of leases the owner granted them, and the owner never grants past the
//! limit. A request reserves its estimate out of the local lease before its call (no
//! network, no await in the common case) and settles the real cost after it.
//!
//! Pure state machines, unit-tested without a runtime:
//! - [`quota`]: what a quota is ([`QuotaId`]: scope, metric, window; [`Quota`]: + limit).
//! - [`window`] and [`calendar`]: numbered periods (minutes, hours, UTC days, calendar
//!   months) and when each ends; [`clock`]: the injectable time they are computed from.
//! - [`owner`]: [`QuotaLedger`], the owner's book of one quota and its one rule,
//!   `spent + leased <= limit`; [`recent`]: its memory of settlement ids, so a retried
//!   report counts once.
//! - [`lease`]: [`LeaseTable`], what this node holds of each quota (free and reserved);
//!   [`sizing`]: how much lease to ask for, shrinking to single reservations at the edge.
//! - [`refusal`]: [`Refusal`], and when a refused client should try again.
//!
//! Runtime pieces, thin:
//! - [`actor`]: [`LedgerActor`], one per owned quota, serialising its [`QuotaLedger`].
//! - [`owners`]: the [`Owners`] seam (where is the owner of this quota?) and
//!   [`LocalOwners`], the single-node answer; the cluster adds placement, replication to
//!   a backup and journaling behind the same trait.
//! - [`reservation`]: [`Want`], [`Reservation`] (released if dropped unsettled),
//!   [`Reports`] (a settled call's reports, queued for the owners when dropped),
//!   [`Actual`].
//! - [`flusher`]: settlements stream to their owners in batches, off the request path.
//! - `node`: this node's lease table behind one short lock, and its outbox.
//! - [`ledger`]: [`Ledger`], the facade the request pipeline calls: `reserve`, `settle`,
//!   `release`, `status`, `set_limit`, `restore`, `flush`.
//!
//! Data flow of one request: `Ledger::reserve` -> [`LeaseTable::try_reserve`] for each
//! quota (short? -> [`Owners::grant`] -> [`LedgerActor`] -> [`QuotaLedger::grant`] ->
//! [`LeaseTable::credit`], retry) -> the call -> `Ledger::settle` ->
//! [`LeaseTable::settle`] now, [`QuotaLedger::settle`] soon after, via the flusher, once
//! the gateway lets go of the [`Reports`] (when the call's audit record is durable).

pub mod actor;
pub mod calendar;
pub mod clock;
pub mod error;
pub mod flusher;
pub mod lease;
pub mod ledger;
mod node;
pub mod owner;
pub mod owners;
pub mod quota;
pub mod recent;
pub mod refusal;
pub mod reservation;
pub mod sizing;
pub mod snapshot;
pub mod window;

/// The maps every call looks its quotas up in: keys are quota ids from the config, so
/// foldhash (seeded per map) rather than SipHash, which cost several times as much per
/// lookup on the request path.
pub(crate) type QuotaMap<V> =
    std::collections::HashMap<quota::QuotaId, V, foldhash::fast::RandomState>;

pub use actor::{LedgerActor, LedgerMsg};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LedgerError;
pub use lease::{LeaseTable, NeedGrant, NodeLease};
pub use ledger::{Ledger, QuotaStatus};
pub use owner::{Grant, OwnerStatus, QuotaLedger, Settled, Settlement};
pub use owners::{GrantRequest, LocalOwners, Owners};
pub use quota::{Metric, NodeId, Quota, QuotaId, Scope};
pub use refusal::{Refusal, RefusalCause};
pub use reservation::{Actual, Held, Reports, Reservation, Want};
pub use snapshot::{BookSnapshot, LedgerDelta, LedgerSnapshot};
pub use window::Window;
