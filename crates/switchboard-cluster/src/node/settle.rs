//! After every input: foca's accumulated output becomes [`Effect`]s, and the change in
//! live members becomes [`ClusterEvent`]s.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use foca::{Codec, Message, OwnedNotification};

use super::{ClusterEvent, Effect, Node, Wake};
use crate::counters::bump;
use crate::frame;
use crate::identity::NodeId;

impl Node {
    /// Turns what foca accumulated into effects, then reports membership changes and
    /// learned facts. A member coming up triggers a re-announce, since it may have missed
    /// every fact published before it joined.
    pub(super) fn settle(&mut self, out: &mut Vec<Effect>) {
        self.drain_runtime(out);
        if self.diff_members(out) {
            self.reannounce();
            self.drain_runtime(out);
        }
        for fact in self.facts.lock().take_learned() {
            bump(&self.counters.facts_learned);
            out.push(Effect::Event(ClusterEvent::Learned(fact)));
        }
    }

    fn drain_runtime(&mut self, out: &mut Vec<Effect>) {
        while let Some((to, data)) = self.runtime.to_send() {
            if self.is_stray_turn_undead(&to, &data) {
                tracing::debug!(%to, "dropped a TurnUndead to a member that refuted its suspicion");
                continue;
            }
            bump(&self.counters.packets_sent);
            out.push(Effect::Send {
                to: to.gossip,
                packet: frame::seal(&self.secret, &data),
            });
        }
        while let Some((after, timer)) = self.runtime.to_schedule() {
            out.push(Effect::Schedule {
                after,
                wake: Wake::Foca(timer),
            });
        }
        while let Some(notification) = self.runtime.to_notify() {
            match notification {
                OwnedNotification::Rejoin(me) => {
                    tracing::info!(%me, "declared down by the cluster; rejoined as a new incarnation");
                    self.view_version += 1;
                }
                OwnedNotification::Defunct => {
                    tracing::warn!("this node is down in the cluster's view")
                }
                other => tracing::trace!(?other, "foca notification"),
            }
        }
    }

    /// foca 2.0.0 answers an expired suspicion with `TurnUndead` even when the suspect
    /// refuted it in time (the suspect-to-down timer checks the incarnation before
    /// declaring it down, but not before notifying). The suspect then believes the
    /// cluster declared it down and rejoins under a new identity: at 10% loss that was
    /// a spurious down/up every few seconds. A `TurnUndead` to a member foca still
    /// considers alive is exactly that case, so it is not sent.
    fn is_stray_turn_undead(&mut self, to: &NodeId, data: &[u8]) -> bool {
        self.foca.iter_members().any(|m| m.id() == to)
            && self
                .peek
                .decode_header(data)
                .is_ok_and(|header| header.message == Message::TurnUndead)
    }

    /// Emits `MemberDown`/`MemberUp` for what changed since the last call; true if any
    /// member came up.
    fn diff_members(&mut self, out: &mut Vec<Effect>) -> bool {
        let unchanged = self.foca.num_members() == self.up.len()
            && self
                .foca
                .iter_members()
                .all(|m| self.up.get(&m.id().gossip) == Some(m.id()));
        if unchanged {
            return false;
        }
        let now: BTreeMap<SocketAddr, NodeId> = self
            .foca
            .iter_members()
            .map(|m| (m.id().gossip, m.id().clone()))
            .collect();
        for (addr, old) in &self.up {
            if now.get(addr) != Some(old) {
                out.push(Effect::Event(ClusterEvent::MemberDown(old.clone())));
            }
        }
        let mut any_up = false;
        for (addr, new) in &now {
            if self.up.get(addr) != Some(new) {
                any_up = true;
                out.push(Effect::Event(ClusterEvent::MemberUp(new.clone())));
            }
        }
        self.up = now;
        self.view_version += 1;
        self.review_quorum();
        any_up
    }
}
