//! A refused reservation, and when to try again.
//!
//! `retry_after_ms` tells a client (through `Retry-After`) when asking again can succeed:
//!
//! - if the quota's unspent capacity (`limit - spent`) could cover the request, the room
//!   is only tied up: reservations of calls in flight (which usually cost less than
//!   their estimate) and leases other nodes may return. That can change any moment, so
//!   the answer is [`RETRY_SOON_MS`], capped at the end of the period. This holds for
//!   every window, rate limit or budget alike;
//! - otherwise only a new period helps: the answer is the time until it starts;
//! - a [`crate::Window::Total`] quota never starts over: `None`, the limit must be raised.

use std::fmt;

use crate::lease::NodeLease;
use crate::owner::Grant;
use crate::quota::{Quota, QuotaId};
use crate::reservation::Want;
use crate::window::Window;

/// When room may come back because calls in flight settle below their estimates.
pub const RETRY_SOON_MS: u64 = 1_000;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCause {
    /// The quota has no room for the request: HTTP 429.
    Exhausted,
    /// The quota's owner did not answer and the local lease could not cover the request:
    /// the ledger fails closed, HTTP 503.
    OwnerUnavailable,
}

/// The first quota of a request that could not be reserved. Nothing of the request
/// stays reserved, in any quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub quota: QuotaId,
    pub cause: RefusalCause,
    pub limit: i64,
    /// What could still be reserved: the owner's headroom plus this node's free lease.
    pub remaining: i64,
    /// See the module docs; `None` when waiting cannot help.
    pub retry_after_ms: Option<u64>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause {
            RefusalCause::Exhausted => write!(
                f,
                "quota {} is exhausted: {} of {} left",
                self.quota, self.remaining, self.limit
            ),
            RefusalCause::OwnerUnavailable => {
                write!(f, "quota {} cannot be checked right now", self.quota)
            }
        }
    }
}

impl Refusal {
    /// The owner could not grant the shortfall of `want`; `held` is what this node holds
    /// of the quota now.
    pub fn exhausted(want: Want<'_>, grant: &Grant, held: &NodeLease, now_ms: u64) -> Self {
        let (free, reserved) = if held.period == grant.period {
            (held.free, held.reserved)
        } else {
            (0, 0)
        };
        // This node's settlements still on their way to the owner are spent too.
        let unreported = grant
            .lease
            .saturating_sub(free.saturating_add(reserved))
            .max(0);
        let unspent = grant
            .limit
            .saturating_sub(grant.spent)
            .saturating_sub(unreported);
        let window = want.quota.id.window;
        Refusal {
            quota: want.quota.id.clone(),
            cause: RefusalCause::Exhausted,
            limit: grant.limit,
            remaining: grant.available_after.saturating_add(free.max(0)),
            retry_after_ms: retry_after_ms(window, now_ms, grant.period, unspent, want.amount),
        }
    }

    /// The owner of `quota` did not answer and this node's lease was short.
    pub fn unavailable(quota: &Quota, held: &NodeLease) -> Self {
        Refusal {
            quota: quota.id.clone(),
            cause: RefusalCause::OwnerUnavailable,
            limit: quota.limit,
            remaining: held.free.max(0),
            retry_after_ms: Some(RETRY_SOON_MS),
        }
    }
}

/// The policy of the module docs. `unspent` is `limit - spent` of `period`.
pub fn retry_after_ms(
    window: Window,
    now_ms: u64,
    period: u64,
    unspent: i64,
    amount: i64,
) -> Option<u64> {
    let until_end = window
        .period_end_ms(period)
        .map(|end| end.saturating_sub(now_ms).max(1));
    if unspent >= amount {
        Some(until_end.map_or(RETRY_SOON_MS, |u| u.min(RETRY_SOON_MS)))
    } else {
        until_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_period_is_retried_when_it_ends() {
        assert_eq!(
            retry_after_ms(Window::Minute, 61_500, 1, 0, 1),
            Some(58_500)
        );
        assert_eq!(
            retry_after_ms(Window::Day, 1_000, 0, 5, 10),
            Some(86_399_000)
        );
    }

    #[test]
    fn room_tied_up_in_flight_is_retried_soon() {
        assert_eq!(
            retry_after_ms(Window::Month, 1_000, 0, 50, 10),
            Some(RETRY_SOON_MS)
        );
        assert_eq!(retry_after_ms(Window::Minute, 119_800, 1, 5, 1), Some(200));
        assert_eq!(
            retry_after_ms(Window::Total, 1_000, 0, 10, 10),
            Some(RETRY_SOON_MS)
        );
    }

    #[test]
    fn an_exhausted_lifetime_budget_has_no_retry_time() {
        assert_eq!(retry_after_ms(Window::Total, 1_000, 0, 5, 10), None);
    }
}
