//! How many nodes a majority is counted out of, and the misconfigurations that change it.
//!
//! Ownership is safe because two majorities share a member: a node takes over a quota
//! only with more than half of the cluster behind it. That holds only while every node
//! counts out of the same number and no more nodes exist than that number. A node
//! configured for a cluster of 1 (or 2) beside three nodes configured for 3 would see
//! itself as a majority once the others are out of sight, and grant from a quota the
//! others hold; four nodes configured for 3 split 2 | 2 would give two majorities.
//!
//! So a node counts majorities out of the largest of:
//! - its own configured size;
//! - the largest size any member it knows of says it was configured with (identities
//!   carry it; foca keeps down members for a day, so a node that froze or was cut off
//!   still counts; a member restarted on the same address replaces its old identity);
//! - the most members it has seen live at once since it started.
//!
//! Each only ever raises the count, which makes majorities harder to reach, never
//! easier: the safe direction. Every rise is logged with its cause, as are members
//! configured with another size and two live nodes with one name, since each is a
//! configuration an operator must fix (give every node the same `size`, each its own
//! `node_name`). A count raised by a member that has since left stays raised until this
//! node restarts.

use std::collections::BTreeMap;

use switchboard_core::LogGate;

use super::Node;

/// Warnings at most once a minute each: a flapping member must not flood the log.
static OTHER_SIZE: LogGate = LogGate::new(std::time::Duration::from_secs(60));
static SAME_NAME: LogGate = LogGate::new(std::time::Duration::from_secs(60));

/// The three numbers above and the largest of them.
#[derive(Debug)]
pub(super) struct Quorum {
    configured: usize,
    largest_view: usize,
    largest_advertised: usize,
}

impl Quorum {
    pub(super) fn new(configured: usize) -> Self {
        Self {
            configured: configured.max(1),
            largest_view: 1,
            largest_advertised: 0,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.configured
            .max(self.largest_view)
            .max(self.largest_advertised)
    }
}

impl Node {
    /// After a change in the live members: raise the count if the cluster shows more
    /// than it did, and say what is misconfigured.
    pub(super) fn review_quorum(&mut self) {
        let before = self.quorum.size();
        let configured = self.quorum.configured;
        let live = self.members();
        self.quorum.largest_view = self.quorum.largest_view.max(live.len());
        let advertised = self
            .foca
            .iter_membership_state()
            .map(|m| m.id().size)
            .max()
            .unwrap_or(0);
        self.quorum.largest_advertised = self
            .quorum
            .largest_advertised
            .max(usize::try_from(advertised).unwrap_or(usize::MAX));

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

        let mut names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in self.foca.iter_members() {
            names
                .entry(m.id().name.as_str())
                .or_default()
                .push(m.id().gossip.to_string());
        }
        let me = self.identity();
        names
            .entry(me.name.as_str())
            .or_default()
            .push(me.gossip.to_string());
        for (name, mut at) in names {
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
        if after > before {
            tracing::warn!(
                quorum = after,
                configured,
                live = live.len(),
                largest_live = self.quorum.largest_view,
                largest_size_of_a_member = self.quorum.largest_advertised,
                "majorities are now counted out of more nodes than this node's cluster.size, since the cluster showed more; until every node has the same, right size and this node restarts, more members must be live to own quotas"
            );
            self.view_version += 1;
        }
    }
}
