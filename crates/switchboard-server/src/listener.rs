//! The client listener: accepts connections under the cap and starts a ConnectionActor
//! for each; on shutdown stops accepting and drains them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use ractor::{Actor, ActorRef};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::connection::{ConnectionActor, ConnectionArgs, ConnectionMsg};
use crate::gateway::Gateway;

/// Distinguishes the connection groups of several servers in one process (tests).
static NEXT_GROUP: AtomicU64 = AtomicU64::new(0);

/// How long the drain waits, after the grace period, for the connections it cut to be
/// gone. An aborted task is dropped the next time a worker gets to it: milliseconds.
const CUT_WAIT: Duration = Duration::from_secs(5);

/// The HTTP settings every connection shares: HTTP/1.1 and h2c on one port.
fn http_builder(gw: &Gateway) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(gw.config.server.header_read_timeout)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    b
}

/// Accepts until `shutdown` turns true, then drains every connection for up to `grace`.
pub async fn run(listener: TcpListener, gw: Arc<Gateway>, mut shutdown: watch::Receiver<bool>) {
    let cap = gw.config.server.max_connections;
    let slots = Arc::new(Semaphore::new(cap));
    let group = format!(
        "switchboard.connections.{}",
        NEXT_GROUP.fetch_add(1, Ordering::Relaxed)
    );
    let http = http_builder(&gw);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let args = ConnectionArgs {
            stream,
            peer,
            gateway: Arc::clone(&gw),
            http: http.clone(),
            idle_timeout: gw.config.server.idle_timeout,
            permit,
            group: group.clone(),
        };
        if let Err(e) = Actor::spawn(None, ConnectionActor, args).await {
            tracing::warn!(error = %e, "could not start a connection actor");
        }
    }
    drop(listener);
    drain(&gw, &group, &slots, cap).await;
}

/// Asks every connection to finish and waits until all have closed (every permit is
/// back) or the grace period ends, then stops the stragglers.
async fn drain(gw: &Gateway, group: &str, slots: &Arc<Semaphore>, cap: usize) {
    let grace = gw.config.server.shutdown_grace;
    let members = ractor::pg::get_members(&group.to_owned());
    tracing::info!(connections = members.len(), "draining connections");
    for cell in &members {
        let _ = ActorRef::<ConnectionMsg>::from(cell.clone()).cast(ConnectionMsg::Drain);
    }
    let all_closed = slots.acquire_many(cap as u32);
    if tokio::time::timeout(grace, all_closed).await.is_err() {
        let left = ractor::pg::get_members(&group.to_owned());
        tracing::warn!(
            connections = left.len(),
            "grace period over; closing remaining connections"
        );
        gw.cutting.store(true, Ordering::Relaxed);
        for cell in left {
            cell.stop(Some("shutdown grace period over".into()));
        }
        // Stopping a connection aborts its task; the calls in it end when the task is
        // dropped, each writing its audit record (status 499, or a stream's record with
        // what it relayed). Only then may the shutdown flush the audit log and the
        // ledger: a record handed in after the writer stopped would be lost, and the
        // call with it. The slot comes back once the task is gone.
        let cut = slots.acquire_many(cap as u32);
        if tokio::time::timeout(CUT_WAIT, cut).await.is_err() {
            tracing::error!(
                connections = cap - slots.available_permits(),
                "connections still not closed after being cut; their calls may go unrecorded"
            );
        }
    }
}
