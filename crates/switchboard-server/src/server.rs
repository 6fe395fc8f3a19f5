//! Starting and stopping a node: bind both listeners, serve, drain on request.

use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_config::Config;
use switchboard_ledger::{Clock, SystemClock};
use switchboard_upstream::UpstreamError;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{self, Readiness};
use crate::gateway::Gateway;
use crate::{listener, restore};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A provider's client could not be built.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The data directory (admin state, audit log) could not be opened or read.
    #[error("data directory: {0}")]
    Data(String),
}

/// A running node.
pub struct RunningServer {
    /// The client API's bound address (useful when the config asked for port 0).
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    ready: Arc<Readiness>,
    shutdown: watch::Sender<bool>,
    admin_shutdown: watch::Sender<bool>,
    client: JoinHandle<()>,
    admin: JoinHandle<()>,
}

impl RunningServer {
    /// Binds the listeners and starts serving, on the system clock.
    pub async fn start(config: Config) -> Result<RunningServer, StartError> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts on `clock` (tests move time by hand). Opens the data directory, rebuilds
    /// budget spend from the audit log, then binds the listeners.
    pub async fn start_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<RunningServer, StartError> {
        let config = Arc::new(config);
        crate::metrics::handle();
        // The token counter's tables load once per process (about half a second): start
        // now, off the runtime's workers, rather than in the first call's way. A thread
        // of its own that ends when they are built, not one of the blocking pool's, which
        // would idle ten seconds and then, on exiting, have glibc sort through the
        // loader's freed memory (15 million instructions of `malloc_consolidate` in one
        // go) in the middle of whatever the node is doing by then. If the thread cannot
        // start, the first call that counts tokens loads them.
        let _ = std::thread::Builder::new()
            .name("sb-bpe-load".into())
            .spawn(|| {
                std::sync::LazyLock::force(&crate::pipeline::bpe::O200K);
            });
        let gateway = Arc::new(Gateway::start(Arc::clone(&config), clock).await?);
        crate::membership::spawn(Arc::clone(&gateway));
        let restored = restore::restore_spend(&gateway)
            .await
            .map_err(StartError::Data)?;
        tracing::info!(
            quotas = restored.quotas,
            records = restored.records_read,
            "budget spend restored from the audit log"
        );
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let client_listener = bind(config.server.listen).await?;
        let admin_listener = bind(config.admin.listen).await?;
        let addr = client_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.server.listen,
                source,
            })?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.admin.listen,
                source,
            })?;
        let (shutdown, rx) = watch::channel(false);
        let (admin_shutdown, admin_rx) = watch::channel(false);
        // Peers may still call this node's owners while its own clients drain: the RPC
        // listener stops with the admin listener, after the drain.
        let rpc_listener = gateway.rpc_listener.lock().take();
        if let (Some(listener), Some(c)) = (rpc_listener, &config.cluster) {
            let owners = gateway.owners.clone();
            let secret = c.secret.expose().as_bytes().to_vec();
            tokio::spawn(crate::shard::server::run(
                listener,
                owners,
                secret,
                crate::shard::server::Limits::default(),
                admin_rx.clone(),
            ));
        }
        let ready = Arc::new(Readiness::default());
        ready.set(true);
        let client = tokio::spawn(listener::run(client_listener, Arc::clone(&gateway), rx));
        let admin = tokio::spawn(admin::run(
            admin_listener,
            Arc::clone(&gateway),
            Arc::clone(&ready),
            admin_rx,
        ));
        tracing::info!(%addr, %admin_addr, "switchboard serving");
        Ok(RunningServer {
            addr,
            admin_addr,
            gateway,
            ready,
            shutdown,
            admin_shutdown,
            client,
            admin,
        })
    }

    /// Graceful shutdown: readiness turns false, calls are still taken for
    /// `server.drain_delay`, then the listener stops accepting, in-flight
    /// requests and streams finish (up to `server.shutdown_grace`), then it returns. The
    /// admin listener stays up until the drain is over, so a load balancer keeps seeing
    /// `/readyz` answer 503 rather than a refused connection.
    pub async fn shutdown(self) {
        self.ready.set(false);
        // Still serving, and still in the cluster, while the load balancer notices.
        tokio::time::sleep(self.gateway.config.server.drain_delay).await;
        // Leave the cluster first: peers stop counting on this node (and move its
        // quotas) while its in-flight calls finish.
        if let Some(cluster) = &self.gateway.cluster {
            cluster.depart().await;
        }
        let _ = self.shutdown.send(true);
        let _ = self.client.await;
        let _ = self.admin_shutdown.send(true);
        let _ = self.admin.await;
        if let Err(e) = self.gateway.flush_settlements().await {
            tracing::warn!(error = %e, "ledger settlements not all applied at shutdown");
        }
        if let Err(e) = self.gateway.ledger.give_back_all().await {
            tracing::warn!(error = %e, "leases not all given back at shutdown");
        }
        // The ledger snapshots this node holds, written out for the next start.
        self.gateway.owners.persisted().await;
        // Makes every record durable, stops the writer and releases the directory.
        if let Err(e) = self.gateway.audit.shutdown().await {
            tracing::error!(error = %e, "audit log not fully flushed at shutdown");
        }
        tracing::info!("switchboard stopped");
    }
}
