//! [`Groups`]: group replication, the owner's version of the audit writer's group commit.
//!
//! An owner acknowledges a change only once its backup holds a snapshot that includes
//! it. A snapshot carries the whole quota (up to a thousand settlement ids per period),
//! so one replication per change made the owner the busiest node of a cluster: at light
//! load every settlement batch held one or two calls and cost a full snapshot, a file
//! rewrite and an RPC carrying it (`benches/PROFILE.md`, "The cluster's owners").
//!
//! Here the changes to one quota that arrive while a replication of it is in flight
//! wait for it to end, and the first of them then makes one replication whose snapshot,
//! taken after all of them, covers every one. Each change still returns only when a
//! replication covering it reached its backup; a replication that failed fails the
//! changes it covered (their callers retry, as they did when their own replication
//! failed), and a change it did not cover makes its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Replications grouped per key (a quota). An entry stays once made: one per quota this
/// node has owned, as the ledger keeps its books.
pub(super) struct Groups<K> {
    groups: Mutex<HashMap<K, Arc<Group>>>,
}

struct Group {
    /// Changes noted so far; a change's ticket is its number in this sequence.
    noted: AtomicU64,
    /// Held while a replication is in flight; the last one's outcome.
    turn: tokio::sync::Mutex<Last>,
}

/// What the last replication of a key covered.
#[derive(Default)]
struct Last {
    /// The highest ticket noted before its snapshot was taken.
    covered: u64,
    /// Where it went (the backup), so a change is never taken as covered by a
    /// replication to a node that is no longer its backup.
    to: Option<String>,
    ok: bool,
}

impl<K: Hash + Eq + Clone> Groups<K> {
    pub(super) fn new() -> Groups<K> {
        Groups {
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Returns once a replication of `key` to `to` that includes the change the caller
    /// just applied has ended: true if it reached `to`. `replicate` takes the snapshot
    /// and sends it (true when the backup took it); it runs at most once per call, and
    /// not at all when a replication that began after this change covered it.
    ///
    /// The caller must have applied its change before calling: the ticket is drawn
    /// after it, so any snapshot taken after the ticket was noted includes the change.
    pub(super) async fn replicate<F>(&self, key: &K, to: Option<&str>, replicate: F) -> bool
    where
        F: AsyncFnOnce() -> bool,
    {
        let group = Arc::clone(
            self.groups
                .lock()
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Group::new())),
        );
        let ticket = group.noted.fetch_add(1, Ordering::SeqCst) + 1;
        let mut last = group.turn.lock().await;
        if last.covered >= ticket && last.to.as_deref() == to {
            return last.ok;
        }
        // Every change noted so far was applied before its ticket, so the snapshot
        // `replicate` takes from here on includes them all.
        let covered = group.noted.load(Ordering::SeqCst);
        // Cancelled before it ends (its RPC handler dropped), `last` is left as it was
        // and the next change in line replicates for itself.
        let ok = replicate().await;
        *last = Last {
            covered,
            to: to.map(str::to_owned),
            ok,
        };
        ok
    }
}

impl Group {
    fn new() -> Group {
        Group {
            noted: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(Last::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::AtomicUsize;

    use tokio::sync::{Semaphore, oneshot};

    use super::*;

    /// A replication that counts itself, records the state it "snapshots", and waits
    /// for the test to let it end.
    struct Fake {
        state: AtomicU64,
        runs: AtomicUsize,
        sent: Mutex<Vec<u64>>,
        gate: Semaphore,
        ok: std::sync::atomic::AtomicBool,
    }

    impl Fake {
        fn new() -> Arc<Fake> {
            Arc::new(Fake {
                state: AtomicU64::new(0),
                runs: AtomicUsize::new(0),
                sent: Mutex::new(Vec::new()),
                gate: Semaphore::new(0),
                ok: std::sync::atomic::AtomicBool::new(true),
            })
        }

        async fn replicate(&self, started: Option<oneshot::Sender<()>>) -> bool {
            self.runs.fetch_add(1, Ordering::SeqCst);
            self.sent.lock().push(self.state.load(Ordering::SeqCst));
            if let Some(s) = started {
                let _ = s.send(());
            }
            self.gate.acquire().await.unwrap().forget();
            self.ok.load(Ordering::SeqCst)
        }
    }

    /// Applies change `n` and replicates it; returns (the change, acknowledged).
    async fn change(
        groups: Arc<Groups<&'static str>>,
        fake: Arc<Fake>,
        n: u64,
        to: &'static str,
        started: Option<oneshot::Sender<()>>,
    ) -> (u64, bool) {
        fake.state.fetch_max(n, Ordering::SeqCst);
        let ok = groups
            .replicate(&"q", Some(to), async || fake.replicate(started).await)
            .await;
        (n, ok)
    }

    /// Yields until `n` changes of "q" have drawn their tickets (the tasks that drew
    /// them are then applied and waiting for their turn, or replicating).
    async fn until_noted(groups: &Groups<&'static str>, n: u64) {
        loop {
            let noted = groups
                .groups
                .lock()
                .get("q")
                .map_or(0, |g| g.noted.load(Ordering::SeqCst));
            if noted >= n {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Starts change 1 to `to` and returns once its replication is in flight.
    async fn first_in_flight(
        groups: &Arc<Groups<&'static str>>,
        fake: &Arc<Fake>,
        to: &'static str,
    ) -> tokio::task::JoinHandle<(u64, bool)> {
        let (started, running) = oneshot::channel();
        let first = tokio::spawn(change(groups.clone(), fake.clone(), 1, to, Some(started)));
        running.await.unwrap();
        first
    }

    #[tokio::test]
    async fn changes_made_while_one_is_in_flight_share_the_next_replication() {
        let groups = Arc::new(Groups::new());
        let fake = Fake::new();
        let first = first_in_flight(&groups, &fake, "b").await;
        // Ten more changes while the first replication is in flight: each is applied
        // and waits for its turn.
        let rest: Vec<_> = (2..=11)
            .map(|n| tokio::spawn(change(groups.clone(), fake.clone(), n, "b", None)))
            .collect();
        until_noted(&groups, 11).await;
        fake.gate.add_permits(100);
        assert_eq!(first.await.unwrap(), (1, true));
        for r in rest {
            assert!(r.await.unwrap().1, "every change acknowledged");
        }
        assert_eq!(
            fake.runs.load(Ordering::SeqCst),
            2,
            "the first change's replication and one for the other ten"
        );
        let sent = fake.sent.lock().clone();
        assert_eq!(sent, vec![1, 11], "the second snapshot holds every change");
    }

    #[tokio::test]
    async fn a_change_is_never_acknowledged_by_a_replication_that_missed_it() {
        let groups = Arc::new(Groups::new());
        let fake = Fake::new();
        fake.gate.add_permits(1000);
        // Changes one after another: nothing is in flight when each comes, so each
        // replicates for itself and its own snapshot includes it.
        for n in 1..=5 {
            assert_eq!(
                change(groups.clone(), fake.clone(), n, "b", None).await,
                (n, true)
            );
        }
        assert_eq!(fake.runs.load(Ordering::SeqCst), 5);
        assert_eq!(fake.sent.lock().clone(), vec![1, 2, 3, 4, 5]);
        // Many at once from many tasks: every acknowledged change is in some snapshot
        // sent after it was applied.
        let tasks: Vec<_> = (6..=105)
            .map(|n| tokio::spawn(change(groups.clone(), fake.clone(), n, "b", None)))
            .collect();
        for t in tasks {
            let (n, ok) = t.await.unwrap();
            assert!(ok);
            assert!(
                fake.sent.lock().iter().any(|&s| s >= n),
                "change {n} acknowledged without a snapshot holding it"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_replication_fails_the_changes_it_covered() {
        let groups = Arc::new(Groups::new());
        let fake = Fake::new();
        fake.ok.store(false, Ordering::SeqCst);
        let first = first_in_flight(&groups, &fake, "b").await;
        let waiting: Vec<_> = (2..=3)
            .map(|n| tokio::spawn(change(groups.clone(), fake.clone(), n, "b", None)))
            .collect();
        until_noted(&groups, 3).await;
        fake.gate.add_permits(100);
        assert_eq!(first.await.unwrap(), (1, false));
        for w in waiting {
            assert!(!w.await.unwrap().1, "not acknowledged: the backup refused");
        }
        assert_eq!(
            fake.runs.load(Ordering::SeqCst),
            2,
            "change 2 replicated for 2 and 3; 3 took its outcome"
        );
        // A later change is not failed by the old outcome: it replicates for itself.
        fake.ok.store(true, Ordering::SeqCst);
        assert_eq!(
            change(groups.clone(), fake.clone(), 4, "b", None).await,
            (4, true)
        );
    }

    #[tokio::test]
    async fn a_change_for_a_new_backup_is_never_covered_by_one_to_the_old() {
        let groups = Arc::new(Groups::new());
        let fake = Fake::new();
        let first = first_in_flight(&groups, &fake, "b").await;
        // Change 2 still sees "b" as the backup; change 3 already sees "c".
        let to_b = tokio::spawn(change(groups.clone(), fake.clone(), 2, "b", None));
        until_noted(&groups, 2).await;
        let to_c = tokio::spawn(change(groups.clone(), fake.clone(), 3, "c", None));
        until_noted(&groups, 3).await;
        fake.gate.add_permits(100);
        assert!(first.await.unwrap().1);
        assert!(to_b.await.unwrap().1);
        assert!(to_c.await.unwrap().1);
        assert_eq!(
            fake.runs.load(Ordering::SeqCst),
            3,
            "the replication to b covered change 3's ticket, but not its backup"
        );
    }
}
