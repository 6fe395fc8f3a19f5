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
    pub fn offer(&self, quota: &Quota, snapshot: LedgerSnapshot) -> bool {
        {
            let mut held = self.held.lock();
            if held
                .get(&quota.id)
                .is_some_and(|(_, s)| s.order() >= snapshot.order())
            {
                return false;
            }
            held.insert(quota.id.clone(), (quota.clone(), snapshot.clone()));
        }
        // Concurrent offers: whichever writes last writes the newest state held.
        let _writing = self.writing.lock();
        let Some((quota, newest)) = self.get(&quota.id) else {
            return true;
        };
        if let Err(e) = self.write(&quota, &newest) {
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

    fn write(&self, quota: &Quota, snapshot: &LedgerSnapshot) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(file_name(&quota.id));
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&encode(&(quota, snapshot)))?;
        std::fs::rename(&tmp, &path)
    }
}
