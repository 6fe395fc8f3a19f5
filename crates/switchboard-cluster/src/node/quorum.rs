//! How many nodes a majority is counted out of, and the misconfigurations that change it.
//!
//! Ownership is safe because two majorities share a member: a node takes over a quota
//! only with more than half of the cluster behind it. That holds only while every node
//! counts out of the same number and no more nodes exist than that number. A node
//! configured for a cluster of 1 (or 2) beside three configured for 3 would see
//! itself as a majority once the others are out of sight, and grant from a quota the
//! others hold; four nodes configured for 3 split 2 | 2 would give two majorities.
//!
//! So a node counts majorities out of the largest of:
//! - its own configured size;
//! - the largest size any member it remembers says it was configured with (identities
//!   carry it);
//! - how many members (by name, itself included) it remembers, live or down.
//!
//! foca remembers a down member for [`crate::config::REMEMBER_DOWN`] (10 minutes), so a
//! member that froze or was cut off still counts while a partition lasts that long, and
//! a node replaced under a new name, or a member that left for good, stops counting 10
//! minutes after it is gone. Each raises the count only while remembered, which makes
//! majorities harder to reach, never easier. Every change of the count is logged with its
//! cause, as are members configured with another size and two live nodes with one name,
//! since each is a configuration an operator must fix (give every node the same `size`,
//! each its own `node_name`).

use std::collections::{BTreeMap, BTreeSet};

use switchboard_core::LogGate;

use super::Node;

/// Warnings at most once a minute each: a flapping member must not flood the log.
static OTHER_SIZE: LogGate = LogGate::new(std::time::Duration::from_secs(60));
static SAME_NAME: LogGate = LogGate::new(std::time::Duration::from_secs(60));

/// The configured size and what the remembered members add to it.
#[derive(Debug)]
pub(super) struct Quorum {
    configured: usize,
    remembered: usize,
    largest_advertised: usize,
}

impl Quorum {
    pub(super) fn new(configured: usize) -> Self {
        Self {
            configured: configured.max(1),
            remembered: 1,
            largest_advertised: 0,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.configured
            .max(self.remembered)
            .max(self.largest_advertised)
    }
}

impl Node {
    /// After a change in the members, and periodically (foca forgets down members
    /// without telling): recount, and say what is misconfigured.
    pub(super) fn review_quorum(&mut self) {
        let before = self.quorum.size();
        let configured = self.quorum.configured;
        let me = self.identity().clone();
        let mut names: BTreeSet<&str> = BTreeSet::from([me.name.as_str()]);
        let mut advertised = me.size;
        // A seed's stand-in has no name; it is not a member.
        for m in self
            .foca
            .iter_membership_state()
            .filter(|m| !m.id().name.is_empty())
        {
            names.insert(m.id().name.as_str());
            advertised = advertised.max(m.id().size);
        }
        self.quorum.remembered = names.len();
        self.quorum.largest_advertised = usize::try_from(advertised).unwrap_or(usize::MAX);

        let odd: Vec<String> = self
            .foca
            .iter_members()
            .map(|m| m.id())
            .filter(|id| id.size != 0 && usize::try_from(id.size).ok() != Some(configured))
            .map(|id| format!("{id} (size {})", id.size))
            .collect();
        if !odd.is_empty() && OTHER_SIZE.pass() {
            tracing::warn!(
                members = %odd.join(", "),
                configured,
                "members configured with another cluster size: give every node the same `cluster.size` (majorities are counted out of the largest; logged at most once a minute)"
            );
        }

        let mut live: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in self.foca.iter_members() {
            live.entry(m.id().name.as_str())
                .or_default()
                .push(m.id().gossip.to_string());
        }
        live.entry(me.name.as_str())
            .or_default()
            .push(me.gossip.to_string());
        for (name, mut at) in live {
            at.sort();
            at.dedup();
            if at.len() > 1 && SAME_NAME.pass() {
                tracing::warn!(
                    name,
                    at = %at.join(", "),
                    "two live nodes share one name: only the newest is placed; give each node its own `server.node_name` (logged at most once a minute)"
                );
            }
        }

        let after = self.quorum.size();
        if after != before {
            tracing::warn!(
                quorum = after,
                was = before,
                configured,
                remembered_members = self.quorum.remembered,
                largest_size_of_a_member = self.quorum.largest_advertised,
                "majorities are now counted out of this many nodes (the configured size, or more while more members, or a member configured for more, are remembered: down members for 10 minutes)"
            );
            self.view_version += 1;
        }
    }
}
