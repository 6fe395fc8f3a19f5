//! The node's side of the ledgers: [`LeaseTable`], a pure state machine.
//!
//! A node spends only out of leases the owners granted it. Per quota it holds `free`
//! (granted, not yet reserved) and `reserved` (out in calls in flight) for one period.
//! Reserving moves an estimate from `free` to `reserved`; settling takes the
//! reservation back out and the real cost with it, so `free` keeps the difference.
//! Checking `free` is the whole hot path: no owner, no I/O, no await.
//!
//! A lease belongs to its period. When the node's clock enters a new period the lease is
//! void (the owner voids it too when it rolls over): `free` is dropped, and calls still
//! in flight settle against their own period, touching nothing current.
//!
//! `free` may go negative when a call costs more than it reserved: the node owes the
//! overrun, reserves nothing more until a grant covers it, and asks for the debt on top
//! of its next lease (the owner mirrors it; see [`crate::owner`]).

use crate::QuotaMap;

use crate::quota::{Quota, QuotaId};
use crate::sizing::{RateMeter, lease_want};

/// What a node holds of one quota, for one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeLease {
    pub period: u64,
    /// Granted and unreserved; negative while the node owes an overrun.
    pub free: i64,
    /// Reserved by calls in flight of `period`.
    pub reserved: i64,
    meter: RateMeter,
}

impl NodeLease {
    fn new(period: u64) -> Self {
        Self {
            period,
            ..Self::default()
        }
    }

    /// A lease of an ended period is void; calls in flight settle against their period.
    fn roll(&mut self, period: u64) {
        if period > self.period {
            *self = Self {
                meter: self.meter,
                ..Self::new(period)
            };
        }
    }
}

/// The lease is too small for a reservation: ask the owner for a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedGrant {
    /// The period to ask in.
    pub period: u64,
    /// The lease to ask for, sized from the node's recent rate (see [`crate::sizing`]).
    pub want: i64,
    /// The least grant that lets the reservation through: its shortfall.
    pub min: i64,
}

/// Every lease this node holds, by quota.
#[derive(Debug, Clone, Default)]
pub struct LeaseTable {
    leases: QuotaMap<NodeLease>,
}

impl LeaseTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves `amount` of `quota` at `now_ms` out of the free lease. On success returns
    /// the period the reservation belongs to (the lease's: the owner may be a few
    /// milliseconds ahead of this node's clock).
    pub fn try_reserve(
        &mut self,
        quota: &Quota,
        now_ms: u64,
        amount: i64,
    ) -> Result<u64, NeedGrant> {
        let period = quota.id.window.period(now_ms);
        let amount = amount.max(0);
        if let Some(lease) = self.leases.get_mut(&quota.id) {
            return reserve_in(lease, quota.limit, now_ms, period, amount);
        }
        let lease = self
            .leases
            .entry(quota.id.clone())
            .or_insert_with(|| NodeLease::new(period));
        reserve_in(lease, quota.limit, now_ms, period, amount)
    }

    /// Adds a grant to the lease. A grant for an ended period is void on arrival.
    pub fn credit(&mut self, quota: &QuotaId, period: u64, amount: i64) {
        let lease = match self.leases.get_mut(quota) {
            Some(lease) => lease,
            None => self
                .leases
                .entry(quota.clone())
                .or_insert_with(|| NodeLease::new(period)),
        };
        if period < lease.period {
            return;
        }
        lease.roll(period);
        lease.free = lease.free.saturating_add(amount.max(0));
    }

    /// A call of `period` finished: its reservation comes back and its real cost goes.
    /// A settlement of an ended period touches nothing current.
    pub fn settle(&mut self, quota: &QuotaId, period: u64, reserved: i64, charged: i64) {
        if let Some(lease) = self.leases.get_mut(quota)
            && lease.period == period
        {
            lease.reserved = lease.reserved.saturating_sub(reserved);
            let change = reserved.saturating_sub(charged.max(0));
            lease.free = lease.free.saturating_add(change);
        }
    }

    /// A call failed before it cost anything: its whole reservation is free again.
    pub fn release(&mut self, quota: &QuotaId, period: u64, reserved: i64) {
        self.settle(quota, period, reserved, 0);
    }

    /// Takes the free lease of `quota` to give it back to the owner: `(period, amount)`,
    /// or `None` if there is nothing free in the current period.
    pub fn take_free(&mut self, quota: &QuotaId, now_ms: u64) -> Option<(u64, i64)> {
        let lease = self.leases.get_mut(quota)?;
        if lease.period < quota.window.period(now_ms) || lease.free <= 0 {
            return None;
        }
        let amount = std::mem::take(&mut lease.free);
        Some((lease.period, amount))
    }

    /// The quotas this node holds a lease of.
    pub fn quotas(&self) -> impl Iterator<Item = &QuotaId> {
        self.leases.keys()
    }

    /// What the node holds of `quota` in the period of `now_ms` (nothing if its lease is
    /// of an ended period).
    pub fn held(&self, quota: &QuotaId, now_ms: u64) -> NodeLease {
        let period = quota.window.period(now_ms);
        match self.leases.get(quota) {
            Some(lease) if lease.period >= period => *lease,
            _ => NodeLease::new(period),
        }
    }
}

fn reserve_in(
    lease: &mut NodeLease,
    limit: i64,
    now_ms: u64,
    period: u64,
    amount: i64,
) -> Result<u64, NeedGrant> {
    lease.roll(period);
    lease.meter.record(now_ms, amount);
    if lease.free >= amount {
        lease.free -= amount;
        lease.reserved = lease.reserved.saturating_add(amount);
        return Ok(lease.period);
    }
    let sized = lease_want(lease.meter.per_second(now_ms), amount, limit);
    Err(NeedGrant {
        period: lease.period,
        want: sized.saturating_sub(lease.free),
        min: amount.saturating_sub(lease.free),
    })
}

#[cfg(test)]
mod tests;
