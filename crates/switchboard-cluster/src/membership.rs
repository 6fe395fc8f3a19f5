//! [`start`] and [`Cluster`]: a [`Node`] on a real UDP socket and real timers.
//!
//! The runner is one tokio task with a command channel, not a ractor actor. It owns the
//! node, the socket and one [`TimerQueue`], and waits on three things at once: a
//! datagram, the earliest due timer, a command. A `select!` loop gives foca its timers
//! in order from a single queue (no task per timer, no mailbox between the socket and
//! foca), and all of the logic sits in [`Node`], which is synchronous and tested in the
//! simulator. The handle is the seam for supervision: the server's supervisor tree can
//! own the [`Cluster`] inside an actor of its own, and whoever holds the handle decides
//! the task's lifetime. Dropping it without [`Cluster::leave`] stops the task abruptly,
//! which is how tests play a crash.
//!
//! Reads that the request path may make (`members`, `facts`, `counters`) never wait on
//! the task: it publishes a members snapshot behind a short lock after each change.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::ClusterConfig;
use crate::counters::{CounterSnapshot, Counters, bump};
use crate::error::ClusterError;
use crate::facts::Fact;
use crate::identity::NodeId;
use crate::node::{ClusterEvent, Effect, Node, Wake, encode_fact};
use crate::placement;
use crate::schedule::TimerQueue;
use crate::store::SharedFacts;

/// Events buffered per subscriber before a slow one starts missing them.
const EVENT_BUFFER: usize = 1024;

/// Receive buffer: foca's packets are at most 1400 bytes plus the frame; anything longer
/// is truncated by the socket and then fails the signature check, which is right.
const RECV_BUFFER: usize = 2048;

enum Command {
    Publish(Fact),
    Leave(oneshot::Sender<()>),
}

/// What the handle reads without asking the task.
struct Shared {
    members: RwLock<Vec<NodeId>>,
    /// [`Node::quorum`], as of the last change.
    quorum: AtomicUsize,
    /// [`Node::superseded_by`], as of the last change.
    superseded_by: RwLock<Option<NodeId>>,
    facts: SharedFacts,
    counters: Arc<Counters>,
}

/// A running member of the cluster.
pub struct Cluster {
    me: NodeId,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<ClusterEvent>,
    task: JoinHandle<()>,
}

/// Binds the gossip socket, joins through the seeds and runs membership until the
/// returned handle leaves or is dropped.
pub async fn start(config: ClusterConfig) -> Result<Cluster, ClusterError> {
    config.validate()?;
    let bind = |source| ClusterError::Bind {
        addr: config.gossip_addr,
        source,
    };
    let socket = UdpSocket::bind(config.gossip_addr).await.map_err(bind)?;
    let gossip = socket.local_addr().map_err(bind)?;
    let me = NodeId {
        name: config.name.clone(),
        gossip,
        rpc: config.rpc_addr,
        admin: config.admin_addr,
        incarnation: now_ms(),
        size: config.size_on_the_wire(),
    };
    let rng_seed =
        getrandom::u64().unwrap_or_else(|_| me.incarnation ^ placement::score("", &me.name));
    let node = Node::new(&config, me.clone(), rng_seed);
    let shared = Arc::new(Shared {
        members: RwLock::new(node.members()),
        quorum: AtomicUsize::new(node.quorum()),
        superseded_by: RwLock::new(None),
        facts: node.facts().clone(),
        counters: node.counters().clone(),
    });
    let (commands, inbox) = mpsc::unbounded_channel();
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let runner = Runner {
        node,
        socket,
        timers: TimerQueue::new(),
        events: events.clone(),
        shared: shared.clone(),
        seen_view: u64::MAX,
    };
    let task = tokio::spawn(runner.run(inbox));
    tracing::info!(%me, "cluster membership started");
    Ok(Cluster {
        me,
        shared,
        commands,
        events,
        task,
    })
}

impl Cluster {
    /// The identity this process started with. Name and addresses never change; foca
    /// bumps the incarnation if the cluster ever declares this node down (see
    /// [`Cluster::members`] for the current one).
    pub fn me(&self) -> &NodeId {
        &self.me
    }

    /// Live members including this node, sorted by name.
    pub fn members(&self) -> Vec<NodeId> {
        self.shared.members.read().clone()
    }

    /// How many nodes a majority is counted out of: the configured size, or more if the
    /// cluster has shown more (see [`Node::quorum`]).
    pub fn quorum(&self) -> usize {
        self.shared.quorum.load(Ordering::SeqCst)
    }

    /// Whether this node sees more than half of [`Cluster::quorum`], itself included, and
    /// is not [`Cluster::superseded_by`] another process: the condition for owning quotas.
    pub fn has_majority(&self) -> bool {
        self.is_majority(self.members().len())
    }

    /// Whether `live` members (read from [`Cluster::members`] just before) are a majority
    /// this node may act on, as [`Cluster::has_majority`] decides.
    pub fn is_majority(&self, live: usize) -> bool {
        live > self.quorum() / 2 && self.superseded_by().is_none()
    }

    /// A live process under this node's name that the cluster keeps instead of this one
    /// (see [`Node::superseded_by`]).
    pub fn superseded_by(&self) -> Option<NodeId> {
        self.shared.superseded_by.read().clone()
    }

    /// Membership changes and learned facts from now on. Events before the call are
    /// not replayed: read [`Cluster::members`] and [`Cluster::facts`] after subscribing
    /// for the current state. A subscriber more than 1024 events behind gets `Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.events.subscribe()
    }

    /// Stores `fact` here and gossips it to the cluster. Refused synchronously only if
    /// it is too large for a packet or the membership task has stopped.
    pub fn publish(&self, fact: Fact) -> Result<(), ClusterError> {
        encode_fact(&fact)?;
        self.commands
            .send(Command::Publish(fact))
            .map_err(|_| ClusterError::Stopped)
    }

    /// Every fact this node holds, the newest per subject.
    pub fn facts(&self) -> Vec<Fact> {
        self.shared.facts.lock().all()
    }

    pub fn counters(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    /// Tells the cluster this node is leaving (peers see `MemberDown` at once rather
    /// than after failure detection), then stops.
    /// Announces this node's departure and waits until foca has sent it, without
    /// consuming the handle (for owners that share it, like a gateway behind an `Arc`).
    /// Later calls do nothing.
    pub async fn depart(&self) {
        let (done, left) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).is_ok() {
            let _ = left.await;
        }
    }

    pub async fn leave(self) {
        let (done, left) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).is_ok() {
            let _ = left.await;
        }
        let _ = self.task.await;
    }
}

struct Runner {
    node: Node,
    socket: UdpSocket,
    timers: TimerQueue<Instant, Wake>,
    events: broadcast::Sender<ClusterEvent>,
    shared: Arc<Shared>,
    seen_view: u64,
}

impl Runner {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let mut effects = Vec::new();
        let mut buf = vec![0u8; RECV_BUFFER];
        self.node.start(&mut effects);
        self.apply(&mut effects).await;
        loop {
            let deadline = self.timers.next_deadline();
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(Command::Publish(fact)) => {
                        if let Err(error) = self.node.publish(&fact, &mut effects) {
                            tracing::warn!(%error, "fact not published");
                        }
                    }
                    Some(Command::Leave(done)) => {
                        self.node.leave(&mut effects);
                        self.apply(&mut effects).await;
                        let _ = done.send(());
                        break;
                    }
                    None => break,
                },
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, _from)) => self.node.handle_packet(&buf[..len], &mut effects),
                    // ICMP port unreachable from a dead peer surfaces here on some
                    // platforms; it says nothing about this node.
                    Err(error) => tracing::debug!(%error, "gossip recv"),
                },
                () = sleep_until(deadline) => {
                    let now = Instant::now();
                    while let Some((_, wake)) = self.timers.pop_due(now) {
                        self.node.handle_wake(wake, &mut effects);
                    }
                }
            }
            self.apply(&mut effects).await;
        }
        tracing::info!(me = %self.node.identity(), "cluster membership stopped");
    }

    async fn apply(&mut self, effects: &mut Vec<Effect>) {
        let now = Instant::now();
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, packet } => self.send(to, &packet).await,
                Effect::Schedule { after, wake } => self.timers.push(now + after, wake),
                Effect::Event(event) => {
                    // No subscriber is not an error: events are advisory.
                    let _ = self.events.send(event);
                }
            }
        }
        if self.node.view_version() != self.seen_view {
            self.seen_view = self.node.view_version();
            // The stand-down and the count are published before the members: a reader
            // that sees the new members (read first) sees them too.
            let superseded = self.node.superseded_by();
            if superseded.is_some() && self.shared.superseded_by.read().is_none() {
                tracing::error!(
                    by = ?superseded,
                    "another process runs under this node's name and the cluster keeps it instead of this one: this node owns nothing and reports unready; give each node its own server.node_name"
                );
            }
            *self.shared.superseded_by.write() = superseded;
            self.shared
                .quorum
                .store(self.node.quorum(), Ordering::SeqCst);
            *self.shared.members.write() = self.node.members();
        }
    }

    async fn send(&self, to: SocketAddr, packet: &[u8]) {
        if let Err(error) = self.socket.send_to(packet, to).await {
            bump(&self.shared.counters.send_errors);
            tracing::debug!(%error, %to, "gossip send");
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
