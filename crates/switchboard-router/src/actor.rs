//! [`BreakerActor`]: the owner of one deployment's [`Breaker`], a thin actor around it.
//!
//! The actor serialises every change to the breaker and republishes the result to the
//! [`Gate`] the request path reads, so requests never wait for it: they read the gate
//! ([`crate::BreakerHandle::admit`]) and cast their outcomes here (successes while
//! closed ride along with the next message, counted by the gate). It holds the clock
//! outcomes are timed by. Adopting a peer's state (gossip) goes here later.
//!
//! [`BreakerMsg`] is plain data plus a reply port, so with ractor's `cluster` feature on
//! (which drops the blanket `Message` impl) it only needs an explicit
//! `impl ractor::Message for BreakerMsg {}` to stay local.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use switchboard_ledger::Clock;

use crate::breaker::{Breaker, BreakerConfig, BreakerState, Outcome, Transition};
use crate::gate::Gate;

/// Messages a breaker understands.
#[derive(Debug)]
pub enum BreakerMsg {
    /// The outcome of a call, timed by the actor's clock on arrival, after the
    /// successes the gate counted before it was sent ([`Gate::count_success`]).
    Record {
        outcome: Outcome,
        successes_before: u64,
    },
    /// A handle handed out the probe of opening `epoch` at `now_ms`; mirrored into the
    /// breaker so its state shows the probe in flight.
    Probe { epoch: u64, now_ms: u64 },
    /// Answered once every message sent before it (and every success counted before
    /// it) is applied and published.
    Sync {
        successes_before: u64,
        reply: RpcReplyPort<()>,
    },
    /// Another node's breaker of this deployment reached this state (gossip).
    Adopt(BreakerState),
}

/// What a breaker actor is started with.
pub struct BreakerArgs {
    /// The deployment, for logs.
    pub name: String,
    pub cfg: BreakerConfig,
    pub clock: Arc<dyn Clock>,
    pub gate: Arc<Gate>,
}

/// The actor's state: the breaker and where to publish it.
pub struct BreakerActorState {
    name: String,
    breaker: Breaker,
    clock: Arc<dyn Clock>,
    gate: Arc<Gate>,
}

/// Owns one deployment's [`Breaker`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BreakerActor;

impl Actor for BreakerActor {
    type Msg = BreakerMsg;
    type State = BreakerActorState;
    type Arguments = BreakerArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<BreakerMsg>,
        args: BreakerArgs,
    ) -> Result<BreakerActorState, ActorProcessingErr> {
        let st = BreakerActorState {
            name: args.name,
            breaker: Breaker::new(args.cfg),
            clock: args.clock,
            gate: args.gate,
        };
        st.gate.publish(&st.breaker);
        Ok(st)
    }

    async fn handle(
        &self,
        _myself: ActorRef<BreakerMsg>,
        msg: BreakerMsg,
        st: &mut BreakerActorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            BreakerMsg::Record {
                outcome,
                successes_before,
            } => {
                st.apply_counted_successes(successes_before);
                let now = st.clock.now_ms();
                if let Some(t) = st.breaker.record(now, outcome) {
                    st.note(t);
                }
            }
            BreakerMsg::Probe { epoch, now_ms } => {
                // A claim on a superseded opening is void: its outcome, when recorded,
                // is judged by whatever state the breaker is in by then.
                if epoch == st.breaker.epoch() {
                    if let Some(t) = st.breaker.tick(now_ms) {
                        st.note(t);
                    }
                    let _ = st.breaker.allow(now_ms);
                }
            }
            BreakerMsg::Adopt(remote) => {
                let now = st.clock.now_ms();
                if let Some(t) = st.breaker.adopt(remote, now) {
                    st.gate.transitions.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(deployment = %st.name, to = t.to.name(), "breaker state adopted from a peer");
                }
            }
            BreakerMsg::Sync {
                successes_before,
                reply,
            } => {
                st.apply_counted_successes(successes_before);
                st.gate.publish(&st.breaker);
                // The caller may have stopped waiting.
                let _ = reply.send(());
                return Ok(());
            }
        }
        st.gate.publish(&st.breaker);
        Ok(())
    }
}

impl BreakerActorState {
    /// Applies `n` successes the gate counted while closed ([`Gate::count_success`]),
    /// ahead of the message they came with (the sender took them when it sent it, so
    /// they keep their place before it). Counted only while the gate read closed, they
    /// belong to the closed state: if the breaker has opened since, they came in after
    /// the trip as far as it is concerned, and an open breaker ignores those. More than
    /// a window's worth changes nothing more than a window's worth.
    fn apply_counted_successes(&mut self, n: u64) {
        if n == 0 || self.breaker.state() != BreakerState::Closed {
            return;
        }
        let now = self.clock.now_ms();
        let window = self.breaker.config().window.max(1) as u64;
        for _ in 0..n.min(window) {
            if let Some(t) = self.breaker.record(now, Outcome::Success) {
                self.note(t);
            }
        }
    }

    fn note(&self, t: Transition) {
        self.gate.transitions.fetch_add(1, Ordering::Relaxed);
        // Local transitions are gossiped; adopted ones are not sent back.
        *self.gate.local_change.lock() = Some(t);
        tracing::info!(
            deployment = %self.name,
            from = t.from.name(),
            to = t.to.name(),
            at_ms = t.at_ms,
            "circuit breaker transition"
        );
    }
}
