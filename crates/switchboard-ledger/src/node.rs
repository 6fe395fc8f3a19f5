//! What this node holds: its [`LeaseTable`] and its outbox of reports to the owners.
//!
//! Shared by the [`crate::Ledger`] and every outstanding [`crate::Reservation`], which
//! must be able to release itself when dropped.

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::flusher::Outgoing;
use crate::lease::{LeaseTable, NeedGrant};
use crate::reservation::{Held, Want};

/// The lease table behind one short lock, and the flusher's queue.
#[derive(Debug)]
pub(crate) struct NodeState {
    pub(crate) table: Mutex<LeaseTable>,
    outbox: mpsc::UnboundedSender<Outgoing>,
}

/// The first quota of a request whose lease was short.
pub(crate) struct Short {
    pub(crate) index: usize,
    pub(crate) need: NeedGrant,
}

impl NodeState {
    pub(crate) fn new(table: LeaseTable, outbox: mpsc::UnboundedSender<Outgoing>) -> Self {
        Self {
            table: Mutex::new(table),
            outbox,
        }
    }

    pub(crate) fn send(&self, item: Outgoing) {
        if self.outbox.send(item).is_err() {
            tracing::error!("the settlement flusher has stopped; a report is lost");
        }
    }

    /// Reserves every want under one lock, or none of them.
    pub(crate) fn try_reserve_all(
        &self,
        wants: &[Want<'_>],
        now_ms: u64,
    ) -> Result<Vec<Held>, Short> {
        let mut table = self.table.lock();
        let mut held = Vec::with_capacity(wants.len());
        for (index, want) in wants.iter().enumerate() {
            match table.try_reserve(want.quota, now_ms, want.amount) {
                Ok(period) => held.push(Held {
                    quota: want.quota.id.clone(),
                    period,
                    amount: want.amount.max(0),
                }),
                Err(need) => {
                    for h in &held {
                        table.release(&h.quota, h.period, h.amount);
                    }
                    return Err(Short { index, need });
                }
            }
        }
        Ok(held)
    }
}
