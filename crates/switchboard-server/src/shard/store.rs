//! The ledger snapshots a node holds (as owner or backup), persisted in its data
//! directory: `ledger/<hash of the quota id>.msgpack`, each file replaced atomically.
//! After a whole-cluster restart each node loads its files, and whoever becomes a quota's
//! owner takes the newest version any node still holds.
//!
//! The files are written by a thread of their own, not by the change: an owner offers
//! a snapshot on every change it acknowledges and its backup again, and creating,
//! writing and renaming a file on the runtime's worker was nearly a third of an
//! owner's CPU under load, its worker blocked meanwhile (ext4 writes a renamed-over
//! file's data back and discards the old one's blocks). The thread writes the newest
//! snapshot of each quota offered since its last round, so changes arriving during a
//! round share one write, and rounds begin at most every [`ROUND_EVERY`]. A change is
//! acknowledged once the backup holds it in memory (as before: the files were never
//! synced, so they only ever covered a process's end, not the machine's); the files
//! trail memory by at most a round, and a node's graceful shutdown waits for them
//! ([`SnapshotStore::flush`]).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sha2::{Digest, Sha256};
use switchboard_ledger::{LedgerDelta, LedgerSnapshot, Quota, QuotaId};

use super::rpc::{decode, encode};

/// The shortest time between two rounds of writes (a round writes every quota changed
/// since the last). Under load this bounds the writes per quota; at rest a change is
/// written at once. At 5 ms an owner's writer thread wrote each quota's file after
/// nearly every change and took a fifth of the owner's CPU (`benches/PROFILE.md`,
/// "Replication as deltas"); the files only matter when every node stopped at once, and
/// then each node's audit journal (a rejoin) makes up the spend they trail by.
const ROUND_EVERY: Duration = Duration::from_millis(50);

/// Snapshots by quota, the newest held of each.
type Held = Mutex<HashMap<QuotaId, (Quota, LedgerSnapshot)>>;

/// Snapshots by quota, newest version kept; and the terms this node promised.
pub struct SnapshotStore {
    held: Arc<Held>,
    /// Per quota, the highest term claim this node accepted: it refuses changes of
    /// earlier terms from then on (see [`super::term`]).
    promised: Mutex<HashMap<QuotaId, (u64, String)>>,
    files: Arc<Files>,
}

/// What the writing thread shares with the store.
struct Files {
    dir: PathBuf,
    /// The store's snapshots: the thread encodes the newest of a quota when it writes
    /// it, not every one offered.
    held: Arc<Held>,
    queue: Mutex<Queue>,
    /// Signalled when a snapshot is queued, a round ends, or the store closes.
    changed: Condvar,
    /// Files written so far, and writes that failed.
    written: AtomicU64,
    failed: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// Quotas offered a snapshot not yet written.
    dirty: HashSet<QuotaId>,
    /// A round is writing.
    writing: bool,
    closed: bool,
}

fn file_name(quota: &QuotaId) -> String {
    let digest = Sha256::digest(quota.to_string().as_bytes());
    format!("{}.msgpack", hex::encode(&digest[..12]))
}

impl SnapshotStore {
    /// Opens `dir`, loading every snapshot in it (unreadable files are skipped, logged).
    pub fn open(dir: &Path) -> SnapshotStore {
        let mut held = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                match decode::<(Quota, LedgerSnapshot)>(&bytes) {
                    Ok((quota, snap)) => {
                        held.insert(quota.id.clone(), (quota, snap));
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "ledger snapshot unreadable; skipped")
                    }
                }
            }
        }
        let held = Arc::new(Mutex::new(held));
        let files = Arc::new(Files {
            dir: dir.to_owned(),
            held: Arc::clone(&held),
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let writer = Arc::clone(&files);
        let spawned = std::thread::Builder::new()
            .name("sb-snapshots".into())
            .spawn(move || writer.run());
        if let Err(e) = spawned {
            // Without the thread, snapshots stay in memory (and on the backups): a
            // whole-cluster restart would start from older files.
            files.queue.lock().closed = true;
            tracing::error!(error = %e, "ledger snapshot writer not started; snapshots are not persisted");
        }
        SnapshotStore {
            held,
            promised: Mutex::new(HashMap::new()),
            files,
        }
    }

    /// Waits until every snapshot offered so far is written (or failed to be, logged),
    /// unless the writing thread could not start. Blocks: call it off the async
    /// runtime's workers.
    pub fn flush(&self) {
        let mut queue = self.files.queue.lock();
        while !queue.closed && (queue.writing || !queue.dirty.is_empty()) {
            self.files.changed.wait(&mut queue);
        }
    }

    /// Keeps `snapshot` if it is newer (by epoch, then version) than what is held, and
    /// queues it to be written; true if it was newer.
    ///
    /// An owner offers one on every change it acknowledges (and its backup again), each
    /// carrying up to a thousand settlement ids per period, so the snapshot is moved into
    /// the map, not copied (the copies were most of an owner's CPU under load:
    /// `benches/PROFILE.md`, "The cluster's owners"), and encoded only when written.
    pub fn offer(&self, quota: &Quota, snapshot: LedgerSnapshot) -> bool {
        self.offer_then(quota, snapshot, |_, _| ()).is_ok()
    }

    /// [`SnapshotStore::offer`], calling `then` with the snapshot held before (if any)
    /// and the one offered, under the lock, before the offered moves in; gives the
    /// snapshot back if it was not newer. What an owner sends its backup is made from
    /// both without copying the snapshot.
    pub fn offer_then<R>(
        &self,
        quota: &Quota,
        snapshot: LedgerSnapshot,
        then: impl FnOnce(Option<&LedgerSnapshot>, &LedgerSnapshot) -> R,
    ) -> Result<R, Box<LedgerSnapshot>> {
        let mut held = self.held.lock();
        let before = held.get(&quota.id).map(|(_, s)| s);
        if before.is_some_and(|s| s.order() >= snapshot.order()) {
            return Err(Box::new(snapshot));
        }
        let made = then(before, &snapshot);
        held.insert(quota.id.clone(), (quota.clone(), snapshot));
        // Marked under the map's lock: a round that takes the mark reads the map after
        // it, so the file ends at the newest snapshot held.
        self.files.queue.lock().dirty.insert(quota.id.clone());
        drop(held);
        self.files.changed.notify_all();
        Ok(made)
    }

    /// The state `delta` makes of the snapshot held of `quota`, if that is its base.
    pub fn rebuild(&self, quota: &QuotaId, delta: &LedgerDelta) -> Option<LedgerSnapshot> {
        self.held.lock().get(quota)?.1.apply(delta)
    }

    /// The highest term this node knows of `quota`: promised, or of the state held.
    pub fn highest_term(&self, quota: &QuotaId) -> Option<(u64, String)> {
        let promised = self.promised.lock().get(quota).cloned();
        let held = self
            .held
            .lock()
            .get(quota)
            .map(|(_, s)| (s.epoch, s.term_owner.clone()));
        promised.max(held)
    }

    /// Accepts a claim of term `claim` of `quota` if it is above every term known here;
    /// otherwise returns the highest known.
    pub fn promise(&self, quota: &QuotaId, claim: (u64, String)) -> Result<(), (u64, String)> {
        let mut promised = self.promised.lock();
        let held = self
            .held
            .lock()
            .get(quota)
            .map(|(_, s)| (s.epoch, s.term_owner.clone()));
        let highest = promised.get(quota).cloned().max(held);
        match highest {
            Some(h) if h >= claim => Err(h),
            _ => {
                promised.insert(quota.clone(), claim);
                Ok(())
            }
        }
    }

    /// The term of the snapshot held of `quota`: its epoch and who began it.
    pub fn term(&self, quota: &QuotaId) -> Option<(u64, String)> {
        self.held
            .lock()
            .get(quota)
            .map(|(_, s)| (s.epoch, s.term_owner.clone()))
    }

    /// Every quota a snapshot is held of.
    pub fn quotas(&self) -> Vec<QuotaId> {
        self.held.lock().keys().cloned().collect()
    }

    pub fn get(&self, quota: &QuotaId) -> Option<(Quota, LedgerSnapshot)> {
        self.held.lock().get(quota).cloned()
    }
}

impl Drop for SnapshotStore {
    /// The thread writes what is queued, then ends.
    fn drop(&mut self) {
        self.files.queue.lock().closed = true;
        self.files.changed.notify_all();
    }
}

impl Files {
    /// The writing thread: a round at a time, each writing the newest snapshot of every
    /// quota queued since the last, until the store is dropped and nothing is left.
    fn run(&self) {
        let mut last_round: Option<Instant> = None;
        // Whether the last write failed: a full or read-only disk is logged when it
        // begins and when it ends, not on every round (rounds come every few ms).
        let mut failing = false;
        loop {
            let round = {
                let mut queue = self.queue.lock();
                queue.writing = false;
                self.changed.notify_all();
                while queue.dirty.is_empty() && !queue.closed {
                    self.changed.wait(&mut queue);
                }
                if queue.dirty.is_empty() {
                    return;
                }
                // Changes arriving in the pause join this round.
                if let Some(due) = last_round.map(|t| t + ROUND_EVERY) {
                    while !queue.closed && Instant::now() < due {
                        let _ = self.changed.wait_until(&mut queue, due);
                    }
                }
                queue.writing = true;
                std::mem::take(&mut queue.dirty)
            };
            last_round = Some(Instant::now());
            for quota in round {
                // The newest held now, encoded off the lock.
                let Some(held) = self.held.lock().get(&quota).cloned() else {
                    continue;
                };
                match self.write(&quota, &encode(&(&held.0, &held.1))) {
                    Ok(()) => {
                        self.written.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("switchboard_ledger_snapshot_writes_total").increment(1);
                        if std::mem::take(&mut failing) {
                            tracing::info!(dir = %self.dir.display(), "ledger snapshots persisted again");
                        }
                    }
                    Err(e) => {
                        self.failed.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("switchboard_ledger_snapshot_write_errors_total")
                            .increment(1);
                        if !std::mem::replace(&mut failing, true) {
                            // Memory and the backups still hold every change; a file is
                            // written again at its quota's next change.
                            tracing::warn!(quota = %quota, dir = %self.dir.display(), error = %e, "ledger snapshots not persisted (logged once until they are again)");
                        }
                    }
                }
            }
        }
    }

    /// Replaces the quota's file with `bytes` (written aside, then renamed over it).
    fn write(&self, quota: &QuotaId, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.dir.join(file_name(quota));
        let tmp = path.with_extension("tmp");
        let mut f = match std::fs::File::create(&tmp) {
            Ok(f) => f,
            // The directory is made on the first write (or again if it was removed),
            // not checked on every one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                std::fs::File::create(&tmp)?
            }
            Err(e) => return Err(e),
        };
        f.write_all(bytes)?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use switchboard_ledger::{BookSnapshot, Metric, Scope, Window};

    use super::*;

    fn quota() -> Quota {
        Quota::new(
            QuotaId::new(Scope::Tenant("acme".into()), Metric::Money, Window::Day),
            1_000,
        )
    }

    fn snapshot(epoch: u64, version: u64) -> LedgerSnapshot {
        LedgerSnapshot {
            epoch,
            term_owner: "node-1".into(),
            version,
            limit: 1_000,
            current: BookSnapshot {
                period: 7,
                spent: i64::try_from(version).unwrap(),
                recent_ids: (0..3)
                    .map(|i| Arc::from(format!("id-{version}-{i}")))
                    .collect(),
                by_node: BTreeMap::new(),
            },
            previous: None,
            leases: BTreeMap::new(),
            last_grants: BTreeMap::new(),
            returns: BTreeMap::new(),
            sequences: BTreeMap::new(),
        }
    }

    fn version_on_disk(store: &SnapshotStore, dir: &Path) -> u64 {
        store.flush();
        let reopened = SnapshotStore::open(dir);
        reopened.get(&quota().id).unwrap().1.version
    }

    #[test]
    fn only_a_newer_snapshot_is_kept_and_the_file_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        // The directory is made by the first write.
        let store = SnapshotStore::open(&dir.path().join("ledger"));
        assert!(store.offer(&quota(), snapshot(1, 5)));
        assert!(!store.offer(&quota(), snapshot(1, 4)), "older version");
        assert!(!store.offer(&quota(), snapshot(1, 5)), "same version");
        assert!(store.offer(&quota(), snapshot(2, 1)), "a later epoch wins");
        let (_, held) = store.get(&quota().id).unwrap();
        assert_eq!(held, snapshot(2, 1));
        assert_eq!(version_on_disk(&store, &dir.path().join("ledger")), 1);
        let reopened = SnapshotStore::open(&dir.path().join("ledger"));
        assert_eq!(reopened.get(&quota().id).unwrap().1, snapshot(2, 1));
    }

    #[test]
    fn offers_racing_from_many_threads_leave_the_newest_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SnapshotStore::open(dir.path()));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for v in 0..200u64 {
                        store.offer(&quota(), snapshot(1, v * 8 + t));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.get(&quota().id).unwrap().1.version, 1599);
        assert_eq!(version_on_disk(&store, dir.path()), 1599);
    }

    #[test]
    fn offers_made_while_a_write_is_under_way_share_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path());
        for v in 1..=2000u64 {
            assert!(store.offer(&quota(), snapshot(1, v)));
        }
        assert_eq!(version_on_disk(&store, dir.path()), 2000);
        let written = store.files.written.load(Ordering::Relaxed);
        assert!(
            (1..100).contains(&written),
            "2000 offers in a burst took {written} writes"
        );
        // At rest a single offer is written without waiting for more.
        assert!(store.offer(&quota(), snapshot(1, 2001)));
        assert_eq!(version_on_disk(&store, dir.path()), 2001);
    }

    #[test]
    fn a_store_that_cannot_write_keeps_its_snapshots_and_its_flush_returns() {
        let dir = tempfile::tempdir().unwrap();
        // The directory cannot be made: a file stands where its parent should be.
        std::fs::write(dir.path().join("not-a-dir"), b"").unwrap();
        let store = SnapshotStore::open(&dir.path().join("not-a-dir").join("ledger"));
        for v in 1..=3 {
            assert!(store.offer(&quota(), snapshot(1, v)));
            store.flush();
        }
        assert_eq!(store.files.failed.load(Ordering::Relaxed), 3);
        assert_eq!(store.files.written.load(Ordering::Relaxed), 0);
        assert_eq!(
            store.get(&quota().id).unwrap().1.version,
            3,
            "held in memory"
        );
    }
}
