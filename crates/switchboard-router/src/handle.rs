//! [`BreakerHandle`]: what the gateway holds per deployment, and [`spawn_breaker`].
//!
//! Admission reads the [`Gate`] (never awaits); outcomes are cast to the actor (never
//! await either), except a success while the gate is closed, which the gate counts and
//! the next message carries (see [`Gate::count_success`]). The actor stops when the last
//! clone of the handle is dropped.

use std::fmt;
use std::sync::Arc;

use ractor::{Actor, ActorRef};
use switchboard_ledger::Clock;

use crate::actor::{BreakerActor, BreakerArgs, BreakerMsg};
use crate::breaker::{BreakerConfig, BreakerState, Outcome};
use crate::error::RouterError;
use crate::gate::{Admission, Gate};
use crate::strategy::Availability;

/// Starts the breaker of deployment `name`; outcomes are timed by `clock`.
pub async fn spawn_breaker(
    name: String,
    cfg: BreakerConfig,
    clock: Arc<dyn Clock>,
) -> Result<BreakerHandle, RouterError> {
    let gate = Arc::new(Gate::new(cfg.probe_timeout));
    let args = BreakerArgs {
        name: name.clone(),
        cfg,
        clock,
        gate: Arc::clone(&gate),
    };
    // Unnamed: ractor's registry is process-wide, and two aliases (or two tests) may
    // hold breakers for deployments of the same name.
    let (actor, _join) = Actor::spawn(None, BreakerActor, args)
        .await
        .map_err(|e| RouterError::Spawn(e.to_string()))?;
    Ok(BreakerHandle {
        inner: Arc::new(Inner { name, actor, gate }),
    })
}

/// A cloneable handle to one deployment's breaker.
#[derive(Clone)]
pub struct BreakerHandle {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    actor: ActorRef<BreakerMsg>,
    gate: Arc<Gate>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.actor.stop(None);
    }
}

impl fmt::Debug for BreakerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerHandle")
            .field("name", &self.inner.name)
            .field("state", &self.state())
            .finish()
    }
}

impl BreakerHandle {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether a request may go to the deployment at `now_ms`. Returns
    /// [`Availability::HalfOpenProbe`] to one caller at a time once the cooldown has
    /// ended; that caller should send the request first ([`crate::order`] does) and
    /// [`Self::record`] its outcome. While another caller holds the probe, the answer
    /// is `Open` until that probe's lease ends. Never blocks on the actor.
    pub fn admit(&self, now_ms: u64) -> Availability {
        let admission = self.inner.gate.admit(now_ms);
        if let Admission::Probe { epoch, at_ms } = admission {
            // A stopped actor cannot be told; the claim still holds in the gate.
            let _ = self.inner.actor.cast(BreakerMsg::Probe {
                epoch,
                now_ms: at_ms,
            });
        }
        admission.availability()
    }

    /// Reports how a call went (see [`crate::breaker_outcome`]); fire and forget.
    pub fn record(&self, outcome: Outcome) {
        if matches!(outcome, Outcome::Success) && self.inner.gate.count_success() {
            return;
        }
        // After `stop`, outcomes have nowhere to go and nothing to change.
        let _ = self.inner.actor.cast(BreakerMsg::Record {
            outcome,
            successes_before: self.inner.gate.take_successes(),
        });
    }

    /// The last published state.
    pub fn state(&self) -> BreakerState {
        self.inner.gate.state()
    }

    /// State changes so far.
    pub fn transitions(&self) -> u64 {
        self.inner.gate.transitions()
    }

    /// Waits until everything sent before is applied and published.
    pub async fn sync(&self) -> Result<(), RouterError> {
        match self
            .inner
            .actor
            .call(
                |reply| BreakerMsg::Sync {
                    successes_before: self.inner.gate.take_successes(),
                    reply,
                },
                None,
            )
            .await
            .map_err(|_| RouterError::Stopped)?
        {
            ractor::rpc::CallResult::Success(()) => Ok(()),
            _ => Err(RouterError::Stopped),
        }
    }

    /// Takes on a state a peer's breaker of this deployment reached (heard by gossip).
    pub fn adopt(&self, remote: BreakerState) {
        let _ = self.inner.actor.cast(BreakerMsg::Adopt(remote));
    }

    /// The latest transition this node's own outcomes caused since the last call, for
    /// gossip (transitions adopted from peers are not reported back).
    pub fn take_local_change(&self) -> Option<crate::breaker::Transition> {
        self.inner.gate.local_change.lock().take()
    }

    /// Stops the actor now; later outcomes are dropped and the state stays as it was.
    pub fn stop(&self) {
        self.inner.actor.stop(None);
    }
}
