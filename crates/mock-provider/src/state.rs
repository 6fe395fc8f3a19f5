//! Configuration and the state shared by every connection.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::body::Hang;
use crate::faults::FaultStore;
use crate::record::Recorder;
use crate::stats::{HangGuard, Stats};

/// Upper bound on any `hang`/`hang-after`, so a forgotten client cannot pin
/// a task forever.
pub const HANG_LIMIT: Duration = Duration::from_secs(600);

/// How to run a [`MockServer`](crate::MockServer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Listen address; port 0 picks a free port. Default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// Default delay before response headers (time to first token).
    pub ttft: Duration,
    /// Default delay between streamed content chunks (and per output token
    /// for non-stream responses).
    pub token_delay: Duration,
    /// When set, every provider route requires exactly this key.
    pub require_key: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ttft: Duration::ZERO,
            token_delay: Duration::ZERO,
            require_key: None,
        }
    }
}

/// Server-wide latency defaults, changeable at run time via `/_mock/config`.
pub(crate) struct Knobs {
    ttft_ns: AtomicU64,
    token_delay_ns: AtomicU64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Knobs {
    fn new(ttft: Duration, token_delay: Duration) -> Self {
        Knobs {
            ttft_ns: AtomicU64::new(nanos(ttft)),
            token_delay_ns: AtomicU64::new(nanos(token_delay)),
        }
    }

    pub(crate) fn ttft(&self) -> Duration {
        Duration::from_nanos(self.ttft_ns.load(Ordering::Relaxed))
    }

    pub(crate) fn token_delay(&self) -> Duration {
        Duration::from_nanos(self.token_delay_ns.load(Ordering::Relaxed))
    }

    pub(crate) fn set_ttft(&self, d: Duration) {
        self.ttft_ns.store(nanos(d), Ordering::Relaxed);
    }

    pub(crate) fn set_token_delay(&self, d: Duration) {
        self.token_delay_ns.store(nanos(d), Ordering::Relaxed);
    }
}

/// Everything a request handler needs, behind one `Arc`.
pub(crate) struct State {
    pub stats: Arc<Stats>,
    pub recorder: Recorder,
    pub faults: FaultStore,
    pub knobs: Knobs,
    pub config: MockConfig,
    ids: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

impl State {
    pub(crate) fn new(config: MockConfig, shutdown: watch::Receiver<bool>) -> Self {
        State {
            stats: Arc::default(),
            recorder: Recorder::default(),
            faults: FaultStore::default(),
            knobs: Knobs::new(config.ttft, config.token_delay),
            config,
            ids: AtomicU64::new(1),
            shutdown,
        }
    }

    /// A fresh id for `chatcmpl-<hex>`, `msg_<hex>`, ...
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// A future that ends at [`HANG_LIMIT`] or shutdown, counted in the
    /// hanging gauge while it exists (from its first poll).
    pub(crate) fn hang(&self) -> Hang {
        let stats = self.stats.clone();
        let mut shutdown = self.shutdown.clone();
        Box::pin(async move {
            let _guard = HangGuard::new(stats);
            tokio::select! {
                () = tokio::time::sleep(HANG_LIMIT) => {}
                () = crate::server::stopped(&mut shutdown) => {}
            }
        })
    }

    /// Counters, faults, recorded requests and latency defaults back to the
    /// start-up state.
    pub(crate) fn reset(&self) {
        self.stats.reset();
        self.faults.clear();
        self.recorder.clear();
        self.knobs.set_ttft(self.config.ttft);
        self.knobs.set_token_delay(self.config.token_delay);
    }
}

/// Seconds since the Unix epoch (`created` fields).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
