//! ConnectionActor: one per client connection.
//!
//! The actor owns the connection's lifecycle; hyper does the HTTP in a task the actor
//! spawns. The actor's jobs are the ones hyper does not do for us:
//! - the idle timeout: a periodic tick closes the connection gracefully once no request
//!   has been in flight for `idle_timeout` (for HTTP/1.1 hyper's header-read timer also
//!   runs while a keep-alive connection waits, so its idle time is the smaller of the two);
//! - drain on shutdown: [`ConnectionMsg::Drain`] asks hyper to finish the requests and
//!   streams in flight, then close (HTTP/2 sends GOAWAY);
//! - the connection cap: hyper's task holds a permit of the listener's semaphore for the
//!   connection's whole life, so the listener stops accepting while the cap is reached
//!   (and the drain knows every connection, cut or not, is over when all are back).
//!
//! The header-read timeout (slowloris protection) is hyper's own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::task::JoinHandle;

use crate::body::BodyGuard;
use crate::gateway::Gateway;
use crate::service;

/// Messages a connection understands.
#[derive(Debug)]
pub enum ConnectionMsg {
    /// Finish what is in flight, accept nothing new, close.
    Drain,
    /// Periodic idle check.
    Tick,
    /// hyper's task has finished: the connection is closed.
    Closed,
}

/// What a connection needs to start.
pub struct ConnectionArgs {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub http: auto::Builder<TokioExecutor>,
    pub idle_timeout: Duration,
    pub permit: OwnedSemaphorePermit,
    /// The process group the listener broadcasts [`ConnectionMsg::Drain`] to.
    pub group: String,
}

/// Requests in flight and the time of the last activity, shared with the hyper service.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    last_active_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn touch(&self) {
        self.last_active_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Marks a request in flight until the returned guard drops (the response body is
    /// fully sent, or the request is abandoned).
    fn begin(self: &Arc<Self>) -> BodyGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        let me = Arc::clone(self);
        BodyGuard::new(move || {
            me.touch();
            me.in_flight.fetch_sub(1, Ordering::Relaxed);
        })
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        Some(Duration::from_millis(
            now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)),
        ))
    }
}

pub struct ConnectionState {
    activity: Arc<Activity>,
    drain: Option<oneshot::Sender<()>>,
    idle_timeout: Duration,
    tick: Option<JoinHandle<()>>,
    /// hyper's task, aborted if the actor is stopped before it finishes (a drain that ran
    /// past the shutdown deadline).
    task: JoinHandle<()>,
}

pub struct ConnectionActor;

impl Actor for ConnectionActor {
    type Msg = ConnectionMsg;
    type State = ConnectionState;
    type Arguments = ConnectionArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ConnectionMsg>,
        args: ConnectionArgs,
    ) -> Result<ConnectionState, ActorProcessingErr> {
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let (drain_tx, drain_rx) = oneshot::channel::<()>();
        let _ = args.stream.set_nodelay(true);
        let gateway = args.gateway;
        let svc_activity = Arc::clone(&activity);
        let svc = service_fn(move |req| {
            let gateway = Arc::clone(&gateway);
            let guard = svc_activity.begin();
            async move {
                let resp = service::handle(gateway, req).await;
                Ok::<_, Infallible>(resp.map(|body| body.with_guard(guard)))
            }
        });
        let http = args.http;
        let io = TokioIo::new(args.stream);
        let peer = args.peer;
        let me = myself.clone();
        ractor::pg::join(args.group, vec![myself.get_cell()]);
        // The connection's slot goes back when hyper's task is over, however it ends: a
        // task aborted at the end of the shutdown grace drops its calls (each writing its
        // audit record on the way out) before the drain sees the slot come back.
        let permit = args.permit;
        let task = tokio::spawn(async move {
            let _permit = permit;
            let conn = http.serve_connection_with_upgrades(io, svc);
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                _ = drain_rx => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            let _ = me.cast(ConnectionMsg::Closed);
        });
        Ok(ConnectionState {
            activity,
            drain: Some(drain_tx),
            idle_timeout: args.idle_timeout,
            tick: None,
            task,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<ConnectionMsg>,
        state: &mut ConnectionState,
    ) -> Result<(), ActorProcessingErr> {
        let period =
            (state.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        state.tick = Some(myself.send_interval(period, || ConnectionMsg::Tick));
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<ConnectionMsg>,
        msg: ConnectionMsg,
        state: &mut ConnectionState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ConnectionMsg::Drain => {
                if let Some(tx) = state.drain.take() {
                    let _ = tx.send(());
                }
            }
            ConnectionMsg::Tick => {
                if state
                    .activity
                    .idle_for()
                    .is_some_and(|idle| idle >= state.idle_timeout)
                    && let Some(tx) = state.drain.take()
                {
                    tracing::trace!("closing idle connection");
                    let _ = tx.send(());
                }
            }
            ConnectionMsg::Closed => myself.stop(None),
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<ConnectionMsg>,
        state: &mut ConnectionState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(tick) = state.tick.take() {
            tick.abort();
        }
        state.task.abort();
        Ok(())
    }
}
