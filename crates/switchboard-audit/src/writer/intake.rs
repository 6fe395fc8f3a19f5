//! Where appended records wait for the writer: a queue it takes whole, woken once per
//! batch rather than once per record.
//!
//! Each record used to be a message in the writer's mailbox. Under load that made the
//! writer's intake the node's narrowest point: tokio's cooperative budget lets a task
//! take about 128 messages in one turn, and with hundreds of connections runnable on a
//! saturated core a turn came round every few tens of milliseconds, so the writer took
//! in a few thousand records a second while the node finished more calls than that. The
//! backlog filled and the node refused calls with 503 `audit_unavailable` while its disk
//! sat idle (`benches/PROFILE.md`, "The audit writer under overload"). Now an append
//! pushes its record here under a short lock, and only the append that finds the queue
//! unannounced casts a [`super::AuditMsg::Wake`]; the writer takes everything queued at
//! the start of every message it handles, however much there is.
//!
//! Order is kept: a caller's record is queued before its append returns, so a barrier
//! cast afterwards, which the writer handles after taking the queue, covers it.

use super::Pending;

/// Records appended and not yet taken by the writer.
#[derive(Default)]
pub(crate) struct Intake {
    records: Vec<Pending>,
    /// A wake-up is on its way to the writer, which will take the queue.
    announced: bool,
    /// The writer is stopping or gone: nothing more is taken in.
    closed: bool,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("queued", &self.records.len())
            .field("announced", &self.announced)
            .field("closed", &self.closed)
            .finish()
    }
}

/// What became of a pushed record.
pub(crate) enum Pushed {
    /// Queued; `announce` says this append must wake the writer.
    Queued { announce: bool },
    /// The log is closed: the record is handed back (boxed: this is the rare case).
    Closed(Box<Pending>),
}

impl Intake {
    pub(crate) fn push(&mut self, pending: Pending) -> Pushed {
        if self.closed {
            return Pushed::Closed(Box::new(pending));
        }
        self.records.push(pending);
        let announce = !self.announced;
        self.announced = true;
        Pushed::Queued { announce }
    }

    /// Swaps everything queued (oldest first) into `empty`, which must be empty, and
    /// keeps its allocation for the next batch: the lock is held for a swap, however
    /// many records there are, and neither side reallocates once both have grown. The
    /// next append wakes the writer again.
    pub(crate) fn take_into(&mut self, empty: &mut Vec<Pending>) {
        debug_assert!(empty.is_empty());
        self.announced = false;
        std::mem::swap(&mut self.records, empty);
    }

    /// Records the queue has room for without growing.
    #[cfg(test)]
    pub(crate) fn room(&self) -> usize {
        self.records.capacity()
    }

    /// Refuses every later append and returns what is still queued.
    pub(crate) fn close(&mut self) -> Vec<Pending> {
        self.closed = true;
        self.announced = false;
        std::mem::take(&mut self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::AuditRecord;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn pending(id: &str) -> Pending {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Pending {
            record: AuditRecord {
                request_id: id.to_owned(),
                ..AuditRecord::default()
            },
            reply: None,
            permit,
            hold: None,
        }
    }

    fn announced(p: &Pushed) -> Option<bool> {
        match p {
            Pushed::Queued { announce } => Some(*announce),
            Pushed::Closed(_) => None,
        }
    }

    #[test]
    fn only_the_first_append_of_a_batch_wakes_the_writer() {
        let mut intake = Intake::default();
        assert_eq!(announced(&intake.push(pending("a"))), Some(true));
        assert_eq!(announced(&intake.push(pending("b"))), Some(false));
        let mut taken = Vec::new();
        intake.take_into(&mut taken);
        let taken: Vec<_> = taken.into_iter().map(|p| p.record.request_id).collect();
        assert_eq!(taken, ["a", "b"], "taken whole, oldest first");
        let mut again = Vec::new();
        intake.take_into(&mut again);
        assert!(again.is_empty());
        assert_eq!(
            announced(&intake.push(pending("c"))),
            Some(true),
            "the next batch wakes the writer again"
        );
    }

    #[test]
    fn taking_swaps_allocations_so_neither_side_grows_again() {
        let mut intake = Intake::default();
        for i in 0..100 {
            intake.push(pending(&i.to_string()));
        }
        let mut spare = Vec::with_capacity(500);
        intake.take_into(&mut spare);
        assert_eq!(spare.len(), 100);
        assert!(intake.records.is_empty());
        assert!(
            intake.records.capacity() >= 500,
            "the intake got the spare's allocation"
        );
    }

    #[test]
    fn a_closed_intake_hands_the_rest_over_once_and_refuses_later_appends() {
        let mut intake = Intake::default();
        intake.push(pending("a"));
        let rest: Vec<_> = intake
            .close()
            .into_iter()
            .map(|p| p.record.request_id)
            .collect();
        assert_eq!(rest, ["a"]);
        match intake.push(pending("late")) {
            Pushed::Closed(p) => assert_eq!(p.record.request_id, "late"),
            Pushed::Queued { .. } => panic!("a closed intake took a record"),
        }
        assert!(
            intake.close().is_empty(),
            "the refused record was handed back, not kept"
        );
    }
}
