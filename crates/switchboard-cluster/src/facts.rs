//! [`Fact`]: the small versioned statements nodes gossip to each other.
//!
//! A breaker transition on one node should close the door to a failing deployment on all
//! of them; a revoked key must stop working everywhere within about a second. Both are
//! "the latest word about X", so a fact names its subject ([`Subject`]) and carries a
//! version, and every node keeps only the newest fact per subject.
//!
//! Precedence is total and the same on every node, so all nodes settle on the same
//! fact whatever order the gossip arrived in: the higher version wins; an equal version
//! (two writers raced) is broken by the origin node's name for breakers and by the
//! record's JSON text for keys. The payloads are opaque JSON: this crate does not
//! depend on the router or the key store, it only orders and carries their facts.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A versioned statement about one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    /// A deployment's circuit breaker, as the node `origin` last saw it.
    Breaker {
        deployment: String,
        /// The router's `BreakerState`, as JSON.
        state: serde_json::Value,
        origin: String,
        version: u64,
    },
    /// A virtual key's identity record, or its revocation.
    Key {
        key_id: String,
        version: u64,
        /// The identity record or a revocation marker, as JSON.
        record: serde_json::Value,
    },
}

/// What a fact is about: newer facts about the same subject replace older ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subject {
    Breaker(String),
    Key(String),
}

impl Fact {
    pub fn subject(&self) -> Subject {
        match self {
            Fact::Breaker { deployment, .. } => Subject::Breaker(deployment.clone()),
            Fact::Key { key_id, .. } => Subject::Key(key_id.clone()),
        }
    }

    pub fn version(&self) -> u64 {
        match self {
            Fact::Breaker { version, .. } | Fact::Key { version, .. } => *version,
        }
    }

    /// The version, then the tie-breaker. Comparable only between facts of one subject.
    pub fn precedence(&self) -> Precedence {
        let tie = match self {
            Fact::Breaker { origin, .. } => origin.clone(),
            Fact::Key { record, .. } => record.to_string(),
        };
        Precedence {
            version: self.version(),
            tie,
        }
    }

    /// How this fact compares with `other`, or `None` if they are about different
    /// subjects.
    pub fn compare(&self, other: &Fact) -> Option<Ordering> {
        (self.subject() == other.subject()).then(|| self.precedence().cmp(&other.precedence()))
    }

    /// True if this fact is about the same subject as `other` and strictly newer.
    pub fn supersedes(&self, other: &Fact) -> bool {
        self.compare(other) == Some(Ordering::Greater)
    }
}

/// A fact's rank among facts about the same subject: version first, then tie-breaker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Precedence {
    pub version: u64,
    pub tie: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn breaker(deployment: &str, origin: &str, version: u64) -> Fact {
        Fact::Breaker {
            deployment: deployment.to_owned(),
            state: json!({"state": "open", "until_ms": 10, "trips": 1}),
            origin: origin.to_owned(),
            version,
        }
    }

    #[test]
    fn a_higher_version_supersedes_a_lower_one() {
        assert!(breaker("d", "a", 2).supersedes(&breaker("d", "z", 1)));
        assert!(!breaker("d", "z", 1).supersedes(&breaker("d", "a", 2)));
    }

    #[test]
    fn an_equal_version_is_broken_by_origin_name_the_same_way_everywhere() {
        let a = breaker("d", "node-a", 5);
        let b = breaker("d", "node-b", 5);
        assert!(b.supersedes(&a));
        assert!(!a.supersedes(&b));
    }

    #[test]
    fn a_fact_does_not_supersede_itself() {
        let a = breaker("d", "node-a", 5);
        assert!(!a.supersedes(&a.clone()));
        assert_eq!(a.compare(&a), Some(Ordering::Equal));
    }

    #[test]
    fn facts_about_different_subjects_do_not_compare() {
        assert_eq!(breaker("d1", "a", 9).compare(&breaker("d2", "a", 1)), None);
        let key = Fact::Key {
            key_id: "d1".into(),
            version: 1,
            record: json!({"revoked": true}),
        };
        assert_eq!(key.compare(&breaker("d1", "a", 1)), None);
    }

    #[test]
    fn key_facts_tie_break_on_the_record() {
        let revoked = Fact::Key {
            key_id: "k".into(),
            version: 3,
            record: json!({"revoked": true}),
        };
        let active = Fact::Key {
            key_id: "k".into(),
            version: 3,
            record: json!({"revoked": false}),
        };
        assert!(revoked.supersedes(&active) != active.supersedes(&revoked));
    }
}
