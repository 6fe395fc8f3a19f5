//! [`FactStore`]: the newest fact per subject, and [`FactHandler`], its face to foca.
//!
//! foca piggybacks custom broadcasts on its own messages and asks the handler, for every
//! item it receives, whether it is news worth passing on. The answer is "only if it is
//! strictly newer than what we hold": that is what stops a fact from circulating forever.
//! Items added locally (a publish, or a re-announce of what we already hold) are
//! passed on when they are not older, because foca keeps no history: a member that
//! joins after the original broadcast died out only learns a fact if someone re-sends it.
//!
//! foca owns the handler, so the store sits behind a short lock shared with the node
//! (which drains newly learned facts into events) and with the [`crate::Cluster`] handle
//! (which reads `facts()`).

use std::collections::BTreeMap;
use std::sync::Arc;

use foca::{BroadcastHandler, Invalidates};
use parking_lot::Mutex;

use crate::codec;
use crate::error::ClusterError;
use crate::facts::{Fact, Precedence, Subject};
use crate::identity::NodeId;

/// The store, shared between foca's handler, the node and the handle.
pub type SharedFacts = Arc<Mutex<FactStore>>;

/// What a node knows: the newest fact per subject, and what it learned since the node
/// last looked.
#[derive(Debug, Default)]
pub struct FactStore {
    facts: BTreeMap<Subject, Fact>,
    learned: Vec<Fact>,
}

/// How an offered fact compares with the one held for its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Newer (or the first about its subject): stored.
    Newer,
    /// Exactly what is held.
    Same,
    /// Older than what is held: ignored.
    Older,
}

impl FactStore {
    /// Keeps `fact` if it is newer than the one held for its subject. A newer fact
    /// `from_peer` is also queued for [`FactStore::take_learned`].
    pub fn offer(&mut self, fact: Fact, from_peer: bool) -> Offer {
        let subject = fact.subject();
        let offer = match self.facts.get(&subject) {
            None => Offer::Newer,
            Some(held) => match fact.precedence().cmp(&held.precedence()) {
                std::cmp::Ordering::Greater => Offer::Newer,
                std::cmp::Ordering::Equal => Offer::Same,
                std::cmp::Ordering::Less => Offer::Older,
            },
        };
        if offer == Offer::Newer {
            if from_peer {
                self.learned.push(fact.clone());
            }
            self.facts.insert(subject, fact);
        }
        offer
    }

    /// Every fact held, ordered by subject.
    pub fn all(&self) -> Vec<Fact> {
        self.facts.values().cloned().collect()
    }

    pub fn get(&self, subject: &Subject) -> Option<&Fact> {
        self.facts.get(subject)
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Facts learned from peers since the last call, in arrival order.
    pub fn take_learned(&mut self) -> Vec<Fact> {
        std::mem::take(&mut self.learned)
    }
}

/// foca's key for a queued broadcast: a newer (or equal, re-announced) fact about the
/// same subject replaces the queued one instead of riding beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactKey {
    subject: Subject,
    precedence: Precedence,
}

impl Invalidates for FactKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.subject == other.subject && self.precedence >= other.precedence
    }
}

/// foca's [`BroadcastHandler`] over a [`SharedFacts`].
#[derive(Debug, Clone)]
pub struct FactHandler {
    store: SharedFacts,
}

impl FactHandler {
    pub fn new(store: SharedFacts) -> Self {
        Self { store }
    }
}

impl BroadcastHandler<NodeId> for FactHandler {
    type Key = FactKey;
    type Error = ClusterError;

    fn receive_item(
        &mut self,
        data: &[u8],
        sender: Option<&NodeId>,
    ) -> Result<Option<FactKey>, ClusterError> {
        let fact: Fact = codec::from_bytes(data)?;
        let key = FactKey {
            subject: fact.subject(),
            precedence: fact.precedence(),
        };
        let from_peer = sender.is_some();
        let offer = self.store.lock().offer(fact, from_peer);
        let pass_on = match offer {
            Offer::Newer => true,
            Offer::Same => !from_peer,
            Offer::Older => false,
        };
        Ok(pass_on.then_some(key))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use serde_json::json;

    use super::*;

    fn breaker(origin: &str, version: u64) -> Fact {
        Fact::Breaker {
            deployment: "openai-eu".into(),
            state: json!({"state": "closed"}),
            origin: origin.into(),
            version,
        }
    }

    fn peer() -> NodeId {
        NodeId::seed(SocketAddr::from(([10, 0, 0, 2], 7946)))
    }

    fn handler() -> (FactHandler, SharedFacts) {
        let store = SharedFacts::default();
        (FactHandler::new(store.clone()), store)
    }

    #[test]
    fn a_newer_fact_from_a_peer_is_kept_passed_on_and_reported() {
        let (mut h, store) = handler();
        let bytes = codec::to_bytes(&breaker("a", 1)).unwrap();
        assert!(h.receive_item(&bytes, Some(&peer())).unwrap().is_some());
        assert_eq!(store.lock().take_learned(), vec![breaker("a", 1)]);
        assert!(store.lock().take_learned().is_empty());
    }

    #[test]
    fn a_fact_heard_again_from_a_peer_is_not_passed_on() {
        let (mut h, store) = handler();
        let bytes = codec::to_bytes(&breaker("a", 1)).unwrap();
        h.receive_item(&bytes, Some(&peer())).unwrap();
        assert!(h.receive_item(&bytes, Some(&peer())).unwrap().is_none());
        assert_eq!(store.lock().take_learned().len(), 1);
    }

    #[test]
    fn an_older_fact_is_ignored_whoever_offers_it() {
        let (mut h, store) = handler();
        h.receive_item(&codec::to_bytes(&breaker("a", 2)).unwrap(), None)
            .unwrap();
        let old = codec::to_bytes(&breaker("z", 1)).unwrap();
        assert!(h.receive_item(&old, Some(&peer())).unwrap().is_none());
        assert!(h.receive_item(&old, None).unwrap().is_none());
        assert_eq!(store.lock().all(), vec![breaker("a", 2)]);
    }

    #[test]
    fn a_local_re_announce_of_a_held_fact_is_passed_on_but_not_reported() {
        let (mut h, store) = handler();
        let bytes = codec::to_bytes(&breaker("a", 1)).unwrap();
        h.receive_item(&bytes, Some(&peer())).unwrap();
        store.lock().take_learned();
        assert!(h.receive_item(&bytes, None).unwrap().is_some());
        assert!(store.lock().take_learned().is_empty());
    }

    #[test]
    fn a_newer_key_invalidates_a_queued_older_one_and_an_equal_one_replaces_it() {
        let key = |f: &Fact| FactKey {
            subject: f.subject(),
            precedence: f.precedence(),
        };
        let (v1, v2) = (key(&breaker("a", 1)), key(&breaker("a", 2)));
        assert!(v2.invalidates(&v1));
        assert!(!v1.invalidates(&v2));
        assert!(v1.invalidates(&v1.clone()));
    }

    #[test]
    fn an_undecodable_item_is_an_error() {
        let (mut h, _) = handler();
        assert!(h.receive_item(b"\xc1", Some(&peer())).is_err());
    }
}
