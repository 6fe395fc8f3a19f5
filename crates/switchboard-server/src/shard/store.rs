//! The ledger snapshots a node holds (as owner or backup), persisted in its data
//! directory: `ledger/<hash of the quota id>.msgpack`, written atomically on every change.
//! After a whole-cluster restart each node loads its files, and whoever becomes a quota's
//! owner takes the newest version any node still holds.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use switchboard_ledger::{LedgerSnapshot, Quota, QuotaId};

use super::rpc::{decode, encode};

/// Snapshots by quota, newest version kept; and the terms this node promised.
pub struct SnapshotStore {
    dir: PathBuf,
    held: Mutex<HashMap<QuotaId, (Quota, LedgerSnapshot)>>,
    /// Per quota, the highest term claim this node accepted: it refuses changes of
    /// earlier terms from then on (see [`super::term`]).
    promised: Mutex<HashMap<QuotaId, (u64, String)>>,
    /// Writes one file at a time, newest state last.
    writing: Mutex<()>,
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
        SnapshotStore {
            dir: dir.to_owned(),
            held: Mutex::new(held),
            promised: Mutex::new(HashMap::new()),
            writing: Mutex::new(()),
        }
    }

    /// Keeps `snapshot` if it is newer (by epoch, then version) than what is held;
    /// true if it was.
    ///
    /// An owner offers one on every change it acknowledges (and its backup again), each
    /// carrying up to a thousand settlement ids per period, so the snapshot is encoded once
    /// and then moved into the map, not copied: the copies were most of an owner's CPU
    /// under load (`benches/PROFILE.md`, "The cluster's owners").
    pub fn offer(&self, quota: &Quota, snapshot: LedgerSnapshot) -> bool {
        let bytes = encode(&(quota, &snapshot));
        let version = (
            snapshot.epoch,
            snapshot.term_owner.clone(),
            snapshot.version,
        );
        {
            let mut held = self.held.lock();
            if held
                .get(&quota.id)
                .is_some_and(|(_, s)| s.order() >= snapshot.order())
            {
                return false;
            }
            held.insert(quota.id.clone(), (quota.clone(), snapshot));
        }
        // Concurrent offers write one at a time, and only while theirs is the newest
        // held: one superseded while it waited leaves the file to the newer offer, which
        // writes after it. So the file always ends at the newest state.
        let _writing = self.writing.lock();
        let newest = self
            .held
            .lock()
            .get(&quota.id)
            .is_some_and(|(_, s)| s.order() == (version.0, version.1.as_str(), version.2));
        if newest && let Err(e) = self.write(&quota.id, &bytes) {
            tracing::warn!(quota = %quota.id, error = %e, "ledger snapshot not persisted");
        }
        true
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
        }
    }

    fn version_on_disk(dir: &Path) -> u64 {
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
        assert_eq!(version_on_disk(&dir.path().join("ledger")), 1);
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
        assert_eq!(version_on_disk(dir.path()), 1599);
    }
}
