//! What a request reserves, and how it ends: [`Want`], [`Reservation`], [`Actual`].
//!
//! A reservation ends exactly once. Settling or releasing takes it by value, so a
//! request cannot settle twice; dropping it unsettled (a handler that returned early, a
//! client that went away, a panic) releases it, so an abandoned request never strands
//! lease.

use std::sync::Arc;

use switchboard_core::{Money, Usage};

use crate::flusher::Outgoing;
use crate::node::NodeState;
use crate::owner::Settlement;
use crate::quota::{Metric, Quota, QuotaId};

/// One quota a request must fit in, and its estimate in the quota's unit (for money:
/// input tokens and `max_tokens` at the model's price; for requests: 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want<'a> {
    /// The quota as configured; its limit is used when its owner is first created.
    pub quota: &'a Quota,
    pub amount: i64,
}

impl<'a> Want<'a> {
    pub fn new(quota: &'a Quota, amount: i64) -> Self {
        Self { quota, amount }
    }
}

/// What a finished call really consumed; each quota is charged by its metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actual {
    /// Nano-dollars.
    pub money: i64,
    pub tokens: i64,
    pub requests: i64,
}

impl Actual {
    /// One call of `usage` that cost `cost`.
    pub fn of_call(cost: Money, usage: Usage) -> Self {
        Self {
            money: cost.nanos(),
            tokens: i64::try_from(usage.total()).unwrap_or(i64::MAX),
            requests: 1,
        }
    }

    pub fn charge(&self, metric: Metric) -> i64 {
        match metric {
            Metric::Money => self.money,
            Metric::Tokens => self.tokens,
            Metric::Requests => self.requests,
        }
        .max(0)
    }
}

/// One quota's part of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub quota: QuotaId,
    /// The period it was reserved in; its cost is charged there.
    pub period: u64,
    pub amount: i64,
}

/// Amounts reserved for one request, across all of its quotas.
#[derive(Debug)]
pub struct Reservation {
    request_id: Arc<str>,
    held: Vec<Held>,
    node: Arc<NodeState>,
}

impl Reservation {
    pub(crate) fn new(request_id: &str, held: Vec<Held>, node: Arc<NodeState>) -> Self {
        Self {
            request_id: request_id.into(),
            held,
            node,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn held(&self) -> &[Held] {
        &self.held
    }

    /// Charges each quota the real cost in the local lease now; the owners hear of it
    /// when the returned [`Reports`] is dropped. A quota listed twice in the request is
    /// charged once.
    pub(crate) fn settle(mut self, actual: &Actual) -> Reports {
        let held = std::mem::take(&mut self.held);
        let mut table = self.node.table.lock();
        for (i, h) in held.iter().enumerate() {
            if held[..i].iter().any(|earlier| earlier.quota == h.quota) {
                table.release(&h.quota, h.period, h.amount);
            } else {
                table.settle(&h.quota, h.period, h.amount, actual.charge(h.quota.metric));
            }
        }
        drop(table);
        let mut due = Vec::with_capacity(held.len());
        for (i, h) in held.iter().enumerate() {
            if held[..i].iter().any(|earlier| earlier.quota == h.quota) {
                continue;
            }
            let settlement = Settlement {
                request_id: self.request_id.clone(),
                period: h.period,
                reserved: h.amount,
                charged: actual.charge(h.quota.metric),
                // Numbered by the flusher, in the order it sends them.
                stream: 0,
                seq: 0,
            };
            due.push(Outgoing::Settle {
                quota: h.quota.clone(),
                settlement,
            });
        }
        Reports {
            due,
            node: Arc::clone(&self.node),
        }
    }

    /// Gives every amount back to the local lease; nothing was spent.
    pub(crate) fn release(mut self) {
        self.release_held();
    }

    fn release_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let mut table = self.node.table.lock();
        for h in self.held.drain(..) {
            table.release(&h.quota, h.period, h.amount);
        }
    }
}

/// A settled call's reports to the owners of its quotas, queued for them when this is
/// dropped. The gateway holds it until the call's audit record is durable: an owner
/// never counts spend that a crash could still take out of the audit log, so the books
/// and the logs agree after a node dies (a restarted node recovers from its log the
/// spend it had not yet reported). Dropped at once, it reports at once.
#[derive(Debug)]
pub struct Reports {
    due: Vec<Outgoing>,
    node: Arc<NodeState>,
}

impl Drop for Reports {
    fn drop(&mut self) {
        for item in self.due.drain(..) {
            self.node.send(item);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release_held();
    }
}
