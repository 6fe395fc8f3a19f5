//! [`Counters`]: what the gossip layer did with the packets it saw.
//!
//! Dropped packets are the signal worth watching: a steady `dropped_bad_signature` means
//! a node with the wrong secret (or someone probing the port), `dropped_malformed` a
//! version mismatch. Plain atomics, written by the membership task and read from any
//! thread through [`Counters::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering};

use crate::frame::FrameError;

/// Live counters, shared between the membership task and its handle.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets_sent: AtomicU64,
    pub packets_received: AtomicU64,
    /// Well-framed packets whose HMAC did not verify (wrong secret, tampering).
    pub dropped_bad_signature: AtomicU64,
    /// Packets too short for a frame, of an unknown frame version, or that foca could
    /// not decode even though they were signed.
    pub dropped_malformed: AtomicU64,
    /// Signed, decodable packets foca refused (e.g. data claiming to come from us).
    pub rejected_by_foca: AtomicU64,
    /// Facts learned from peers that were newer than what this node knew.
    pub facts_learned: AtomicU64,
    /// Datagrams the socket failed to send.
    pub send_errors: AtomicU64,
}

/// A point-in-time copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CounterSnapshot {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub dropped_bad_signature: u64,
    pub dropped_malformed: u64,
    pub rejected_by_foca: u64,
    pub facts_learned: u64,
    pub send_errors: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            packets_sent: get(&self.packets_sent),
            packets_received: get(&self.packets_received),
            dropped_bad_signature: get(&self.dropped_bad_signature),
            dropped_malformed: get(&self.dropped_malformed),
            rejected_by_foca: get(&self.rejected_by_foca),
            facts_learned: get(&self.facts_learned),
            send_errors: get(&self.send_errors),
        }
    }

    /// Counts a packet the frame check refused.
    pub(crate) fn frame_refused(&self, error: FrameError) {
        match error {
            FrameError::BadSignature => bump(&self.dropped_bad_signature),
            FrameError::Truncated { .. } | FrameError::UnknownVersion(_) => {
                bump(&self.dropped_malformed)
            }
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl CounterSnapshot {
    /// Every packet dropped before or by foca, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_bad_signature + self.dropped_malformed + self.rejected_by_foca
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_refusals_are_counted_by_cause() {
        let counters = Counters::default();
        counters.frame_refused(FrameError::BadSignature);
        counters.frame_refused(FrameError::Truncated { len: 3 });
        counters.frame_refused(FrameError::UnknownVersion(9));
        let snap = counters.snapshot();
        assert_eq!(snap.dropped_bad_signature, 1);
        assert_eq!(snap.dropped_malformed, 2);
        assert_eq!(snap.dropped(), 3);
    }
}
