//! [`NodeOwners`]: where each quota's owner is, seen from this node.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use parking_lot::Mutex;
use switchboard_cluster::{Cluster, NodeId, owner_and_backup};
use switchboard_ledger::{
    Clock, Grant, GrantRequest, Ledger, LedgerError, LedgerSnapshot, LocalOwners, OwnerStatus,
    Owners, Quota, QuotaId, Settled, Settlement, SystemClock,
};

use super::rpc::{self, RPC_TIMEOUT, RpcRequest, RpcResponse, SIGNATURE};
use super::store::SnapshotStore;

/// How long a call keeps trying while its owner is unreachable or says it is not the
/// owner (membership still settling): longer than failure detection takes (2-3 s), so a
/// dead owner or backup delays calls rather than fails them.
const FORWARD_DEADLINE: Duration = Duration::from_secs(5);
/// Wait between those tries: about a gossip round.
const ROUTE_WAIT: Duration = Duration::from_millis(200);
/// How long a recalled node waits for its free lease to reach the owner before it
/// answers the recall (the owner's grant waits on that answer, under [`RPC_TIMEOUT`]).
const RECALL_WAIT: Duration = Duration::from_millis(500);

/// The cluster side, when there is one.
pub(super) struct Link {
    pub(super) cluster: Arc<Cluster>,
    pub(super) secret: Vec<u8>,
    pub(super) client: Client<HttpConnector, Full<Bytes>>,
    pub(super) store: SnapshotStore,
    /// Quotas this node has taken over since the membership last changed.
    pub(super) owned: Mutex<HashSet<QuotaId>>,
    /// One take-over per quota at a time: calls arriving meanwhile wait for it rather
    /// than each begin a term.
    pub(super) taking: Mutex<HashMap<QuotaId, Arc<tokio::sync::Mutex<()>>>>,
    /// Per quota this node owns, the backup and the state it last acknowledged: the
    /// base of the next change's delta (see [`super::replicate`]).
    pub(super) backed: Mutex<HashMap<QuotaId, super::replicate::Backed>>,
    /// This node's clock: calls' deadlines and answers' times.
    pub(super) clock: Arc<dyn Clock>,
    /// Per peer, how far its clock is ahead of this node's, in ms (see [`rpc::Answer`]).
    offsets: Mutex<HashMap<String, i64>>,
}

pub(super) struct Inner {
    pub(super) me: String,
    pub(super) local: LocalOwners,
    pub(super) link: Option<Link>,
    /// Whether this node has reconciled its journal with the owners since it started
    /// (see [`NodeOwners::rejoin`]); until then it asks for no lease.
    pub(super) reconciled: tokio::sync::watch::Sender<bool>,
    /// This node's ledger, to serve recalls: set once the ledger exists (it holds these
    /// owners, hence the weak reference).
    pub(super) ledger: OnceLock<Weak<Ledger<NodeOwners>>>,
}

/// The ledger's owners, for this node. Cheap to clone.
#[derive(Clone)]
pub struct NodeOwners(pub(super) Arc<Inner>);

/// Where a quota's owner is.
enum Route {
    /// No cluster: every owner is local.
    Alone,
    /// This node owns it; its backup, if any.
    Me(Option<NodeId>),
    Remote(NodeId),
}

impl NodeOwners {
    /// A single node's owners: all local.
    pub fn alone(me: &str) -> NodeOwners {
        NodeOwners(Arc::new(Inner {
            me: me.to_owned(),
            local: LocalOwners::new(),
            link: None,
            reconciled: tokio::sync::watch::Sender::new(true),
            ledger: OnceLock::new(),
        }))
    }

    /// A clustered node's owners; snapshots persist under `dir`.
    pub fn clustered(
        me: &str,
        cluster: Arc<Cluster>,
        secret: &[u8],
        dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> NodeOwners {
        // TCP_NODELAY, as on every other socket here (the peers' side of these
        // connections included): RPCs are small request-answer exchanges.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let link = Link {
            cluster,
            secret: secret.to_vec(),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(rpc::RPC_POOL_IDLE)
                .pool_timer(TokioTimer::new())
                .build(connector),
            store: SnapshotStore::open(dir),
            owned: Mutex::new(HashSet::new()),
            taking: Mutex::new(HashMap::new()),
            backed: Mutex::new(HashMap::new()),
            clock,
            offsets: Mutex::new(HashMap::new()),
        };
        NodeOwners(Arc::new(Inner {
            me: me.to_owned(),
            local: LocalOwners::new(),
            link: Some(link),
            reconciled: tokio::sync::watch::Sender::new(false),
            ledger: OnceLock::new(),
        }))
    }

    /// Tells the owners which ledger spends on this node, so an owner's recall of free
    /// lease can be served.
    pub fn attach(&self, ledger: &Arc<Ledger<NodeOwners>>) {
        let _ = self.0.ledger.set(Arc::downgrade(ledger));
    }

    /// Gives this node's free lease of `quota` back to its owner, when the owner recalls
    /// it. The lease leaves this node's table first; the return then goes to whichever
    /// node owns the quota, retried with the same id while the membership settles (as
    /// [`NodeOwners::forward`] does): a give-back id is applied once and travels in the
    /// snapshots, so a retry reaching another owner never counts twice. (Serving a
    /// give-back never recalls, so this cannot loop.)
    ///
    /// A return dropped at the first failure would leave the lease counted as this
    /// node's at the owner while no node holds it, for the rest of the period: a
    /// recall reaching a node that still routes to an owner just killed did exactly
    /// that. The return runs in a task of its own, so neither a recall that stops
    /// waiting after [`RECALL_WAIT`] nor a cancelled RPC handler can strand it.
    async fn give_back_free(&self, quota: &QuotaId) {
        let Some(ledger) = self.0.ledger.get().and_then(Weak::upgrade) else {
            return;
        };
        let Some((period, amount)) = ledger.take_free(quota) else {
            return;
        };
        let id = ledger.next_op();
        let owners = self.clone();
        let quota = quota.clone();
        let giving = tokio::spawn(async move {
            let me = owners.0.me.clone();
            let req = RpcRequest::GiveBack {
                quota: quota.clone(),
                node: me.clone(),
                id,
                period,
                amount,
            };
            // Served here by `serve_give_back`, not `serve`: `serve` answers the recall
            // that awaits this, and an async fn cannot await itself.
            let here = || owners.serve_give_back(&quota, &me, id, period, amount);
            let returned = owners.forward_to(&quota, &req, here).await;
            if !matches!(returned, Ok(RpcResponse::Done)) {
                // No owner took it in time. One may have applied it without answering:
                // keeping the lease could then spend it twice. Dropped, it stays counted
                // as this node's until the period ends or the node rejoins: capacity
                // idles, no limit is broken.
                tracing::warn!(quota = %quota, amount, answer = ?returned, "recalled lease not given back; left idle");
            }
        });
        // The recall answers once the return landed, or after RECALL_WAIT with the
        // return still on its way (its owner re-grants then, and may refuse early).
        let _ = tokio::time::timeout(RECALL_WAIT, giving).await;
    }

    /// The newest state of `quota` this node holds, as owner or backup.
    pub async fn held(&self, quota: &QuotaId) -> Option<(Quota, LedgerSnapshot)> {
        let local = match self.0.local.snapshot(quota).await {
            Some(s) => self.known(quota).await.map(|q| (q, s)),
            None => None,
        };
        let stored = self.0.link.as_ref().and_then(|l| l.store.get(quota));
        match (local, stored) {
            (Some(a), Some(b)) => Some(if a.1.order() >= b.1.order() { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// A grant near the limit came back empty while other nodes hold lease: some of it
    /// may be free and stranded there. Asks them to give their free lease back, so the
    /// refusal, if the owner still has to make it, is exact. Returns whether anything
    /// was asked for (then the grant is worth trying again).
    async fn recall(&self, quota: &QuotaId, requester: &str, shortfall: i64) -> bool {
        let Some(link) = &self.0.link else {
            return false;
        };
        let Some(snapshot) = self.0.local.snapshot(quota).await else {
            return false;
        };
        let holders: Vec<&String> = snapshot
            .leases
            .iter()
            .filter(|(node, lease)| node.as_str() != requester && **lease > 0)
            .map(|(node, _)| node)
            .collect();
        let held: i64 = snapshot
            .leases
            .iter()
            .filter(|(node, _)| node.as_str() != requester)
            .map(|(_, lease)| (*lease).max(0))
            .sum();
        if holders.is_empty() || held < shortfall {
            return false;
        }
        let members = link.cluster.members();
        let mut asks = tokio::task::JoinSet::new();
        for name in holders {
            if *name == self.0.me {
                let me = self.clone();
                let quota = quota.clone();
                asks.spawn(async move { me.give_back_free(&quota).await });
            } else if let Some(peer) = members.iter().find(|m| &m.name == name).cloned() {
                let me = self.clone();
                let req = RpcRequest::Recall {
                    quota: quota.clone(),
                };
                asks.spawn(async move {
                    if let Err(e) = me.call(&peer, &req).await {
                        tracing::debug!(peer = %peer.name, error = %e, "recall not answered");
                    }
                });
            }
        }
        asks.join_all().await;
        true
    }

    /// Waits until the snapshots this node holds are written to its data directory
    /// (they trail its memory by a few milliseconds; see [`SnapshotStore`]).
    pub async fn persisted(&self) {
        if self.0.link.is_none() {
            return;
        }
        let owners = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(link) = &owners.0.link {
                link.store.flush();
            }
        })
        .await;
    }

    pub fn is_clustered(&self) -> bool {
        self.0.link.is_some()
    }

    /// Whether this node may ask for lease: always alone; in a cluster once its journal
    /// is reconciled with the owners.
    pub fn is_reconciled(&self) -> bool {
        *self.0.reconciled.borrow()
    }

    /// Marks the journal reconciled: leases may be asked for from now.
    pub fn reconciled(&self) {
        self.0.reconciled.send_replace(true);
    }

    /// Tells `quota`'s owner this node is back and its journal charged `journal_total`
    /// in `period`; returns the unreported spend the owner charged. The owner drops the
    /// lease of this node's previous life, so this must come before any grant to it.
    pub async fn rejoin(
        &self,
        quota: &Quota,
        period: u64,
        journal_total: i64,
    ) -> Result<i64, LedgerError> {
        let req = RpcRequest::Rejoin {
            quota: quota.clone(),
            node: self.0.me.clone(),
            period,
            journal_total,
        };
        match self.forward(&quota.id, req).await? {
            RpcResponse::Rejoined(n) => Ok(n),
            _ => Err(unexpected(&quota.id)),
        }
    }

    /// Membership changed: every quota is checked again before this node serves it as
    /// owner, so one it now owns is taken over with the newest state.
    pub fn membership_changed(&self) {
        if let Some(link) = &self.0.link {
            link.owned.lock().clear();
        }
    }

    /// Owner and backup of `quota`, by this node's view of the live members.
    pub fn placement(&self, quota: &QuotaId) -> Option<(String, Option<String>)> {
        let link = self.0.link.as_ref()?;
        let members = link.cluster.members();
        owner_and_backup(&quota.to_string(), &members)
            .map(|(o, b)| (o.name.clone(), b.map(|b| b.name.clone())))
    }

    fn route(&self, quota: &QuotaId) -> Result<Route, LedgerError> {
        let Some(link) = &self.0.link else {
            return Ok(Route::Alone);
        };
        let members = link.cluster.members();
        // Without a majority in sight this node may be the minority of a partition, and
        // one superseded by a process with its name is out of every peer's placement:
        // it must not act as anyone's owner.
        if !link.cluster.is_majority(members.len()) {
            return Err(LedgerError::OwnerUnavailable(quota.clone()));
        }
        let Some((owner, backup)) = owner_and_backup(&quota.to_string(), &members) else {
            return Err(LedgerError::OwnerUnavailable(quota.clone()));
        };
        Ok(if owner.name == self.0.me {
            Route::Me(backup.cloned())
        } else {
            Route::Remote(owner.clone())
        })
    }

    /// This node's clock (the system clock when it is not clustered).
    pub(super) fn now_ms(&self) -> u64 {
        self.0
            .link
            .as_ref()
            .map_or_else(|| SystemClock.now_ms(), |l| l.clock.now_ms())
    }

    pub(super) async fn call(&self, to: &NodeId, req: &RpcRequest) -> Result<RpcResponse, String> {
        let link = self.0.link.as_ref().ok_or("not clustered")?;
        let sent = link.clock.now_ms();
        let offset = link.offsets.lock().get(&to.name).copied().unwrap_or(0);
        let body = rpc::encode(&rpc::Call::due(req, sent.saturating_add_signed(offset)));
        let http = Request::post(format!("http://{}/rpc", to.rpc))
            .header(SIGNATURE, rpc::sign(&link.secret, &body))
            .header("content-type", "application/msgpack")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(RPC_TIMEOUT, link.client.request(http))
            .await
            .map_err(|_| format!("{} did not answer in time", to.name))?
            .map_err(|e| format!("{}: {e}", to.name))?;
        let signature = resp
            .headers()
            .get(SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !signature.is_some_and(|s| rpc::verify(&link.secret, &bytes, &s)) {
            return Err(format!(
                "{}: answer not signed with the cluster secret",
                to.name
            ));
        }
        let answer: rpc::Answer = rpc::decode(&bytes)?;
        if let Some(offset) = rpc::clock_offset(sent, link.clock.now_ms(), answer.now_ms) {
            link.offsets.lock().insert(to.name.clone(), offset);
        }
        Ok(answer.response)
    }

    /// The quota as the owner knows it, with its current limit, for calls that carry
    /// only its id.
    async fn known(&self, quota: &QuotaId) -> Option<Quota> {
        if let Some(limit) = self.0.local.limit(quota).await {
            return Some(Quota::new(quota.clone(), limit));
        }
        self.0.link.as_ref()?.store.get(quota).map(|(q, _)| q)
    }

    /// Serves a call from a peer, as this node's view of ownership allows.
    pub async fn serve(&self, req: RpcRequest) -> RpcResponse {
        match req {
            RpcRequest::Replicate { quota, snapshot } => self.take_replica(&quota, snapshot).await,
            RpcRequest::ReplicateDelta { quota, delta } => self.take_delta(&quota, &delta).await,
            RpcRequest::Rejoin {
                quota,
                node,
                period,
                journal_total,
            } => {
                self.as_owner(&quota.id, async |me: &Self, backup| {
                    me.take_over(&quota).await?;
                    let charged =
                        me.0.local
                            .rejoin(&quota, &node, period, journal_total)
                            .await?;
                    me.replicate(&quota.id, backup).await?;
                    Ok(RpcResponse::Rejoined(charged))
                })
                .await
            }
            RpcRequest::Recall { quota } => {
                self.give_back_free(&quota).await;
                RpcResponse::Done
            }
            RpcRequest::Claim {
                quota,
                epoch,
                claimant,
            } => self.answer_claim(&quota, epoch, claimant).await,
            RpcRequest::Grant {
                quota,
                node,
                request,
            } => {
                self.as_owner(&quota.id, async |me: &Self, backup| {
                    me.take_over(&quota).await?;
                    let mut g = me.0.local.grant(&quota, &node, request).await?;
                    let shortfall = request.min.saturating_sub(g.available_after);
                    if g.amount == 0 && me.recall(&quota.id, &node, shortfall).await {
                        g = me.0.local.grant(&quota, &node, request).await?;
                    }
                    // Unreplicated, it is not acknowledged: the node asks again with the
                    // same id and gets this grant, from this owner or the next.
                    me.replicate(&quota.id, backup).await?;
                    Ok(RpcResponse::Grant(g))
                })
                .await
            }
            RpcRequest::Settle { quota, node, batch } => {
                self.as_owner(&quota, async |me: &Self, backup| {
                    let q = me
                        .known(&quota)
                        .await
                        .ok_or_else(|| LedgerError::UnknownQuota(quota.clone()))?;
                    me.take_over(&q).await?;
                    let s = me.0.local.settle(&quota, &node, batch).await?;
                    me.replicate(&q.id, backup).await?;
                    Ok(RpcResponse::Settled(s))
                })
                .await
            }
            RpcRequest::GiveBack {
                quota,
                node,
                id,
                period,
                amount,
            } => {
                self.serve_give_back(&quota, &node, id, period, amount)
                    .await
            }
            RpcRequest::SetLimit { quota, limit } => {
                self.as_owner(&quota, async |me: &Self, backup| {
                    me.0.local.set_limit(&quota, limit).await?;
                    me.replicate(&quota, backup).await?;
                    Ok(RpcResponse::Done)
                })
                .await
            }
            RpcRequest::Status { quota, period } => {
                self.as_owner(&quota.id, async |me: &Self, _| {
                    me.take_over(&quota).await?;
                    Ok(RpcResponse::Status(
                        me.0.local.status(&quota, period).await?,
                    ))
                })
                .await
            }
        }
    }

    /// Applies `node`'s return of `amount` of its lease of `period`, as the owner.
    async fn serve_give_back(
        &self,
        quota: &QuotaId,
        node: &str,
        id: u64,
        period: u64,
        amount: i64,
    ) -> RpcResponse {
        self.as_owner(quota, async |me: &Self, backup| {
            let q = me
                .known(quota)
                .await
                .ok_or_else(|| LedgerError::UnknownQuota(quota.clone()))?;
            me.take_over(&q).await?;
            me.0.local
                .give_back(quota, node, id, period, amount)
                .await?;
            me.replicate(&q.id, backup).await?;
            Ok(RpcResponse::Done)
        })
        .await
    }

    /// Runs `f` if this node is the quota's owner by its own view; `NotOwner` otherwise.
    async fn as_owner(
        &self,
        quota: &QuotaId,
        f: impl AsyncFnOnce(&Self, Option<NodeId>) -> Result<RpcResponse, LedgerError>,
    ) -> RpcResponse {
        match self.route(quota) {
            Ok(Route::Me(backup)) => f(self, backup)
                .await
                .unwrap_or_else(|e| RpcResponse::Failed(e.to_string())),
            Ok(Route::Alone) => f(self, None)
                .await
                .unwrap_or_else(|e| RpcResponse::Failed(e.to_string())),
            Ok(Route::Remote(_)) => RpcResponse::NotOwner,
            Err(e) => RpcResponse::Failed(e.to_string()),
        }
    }

    /// Sends `req` to the owner of `quota` (or serves it here), retrying while the
    /// membership settles.
    async fn forward(&self, quota: &QuotaId, req: RpcRequest) -> Result<RpcResponse, LedgerError> {
        self.forward_to(quota, &req, || self.serve(req.clone()))
            .await
    }

    /// [`NodeOwners::forward`], with `here` serving `req` when this node is the owner.
    async fn forward_to<F: Future<Output = RpcResponse>>(
        &self,
        quota: &QuotaId,
        req: &RpcRequest,
        here: impl Fn() -> F,
    ) -> Result<RpcResponse, LedgerError> {
        let deadline = tokio::time::Instant::now() + FORWARD_DEADLINE;
        while tokio::time::Instant::now() < deadline {
            let answer = match self.route(quota)? {
                Route::Alone | Route::Me(_) => here().await,
                Route::Remote(owner) => match self.call(&owner, req).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(quota = %quota, owner = %owner.name, error = %e, "owner unreachable");
                        RpcResponse::NotOwner
                    }
                },
            };
            match answer {
                RpcResponse::NotOwner => tokio::time::sleep(ROUTE_WAIT).await,
                // The owner could not replicate (its backup just died, or it was
                // fenced): the membership is moving, and a retry finds it settled.
                RpcResponse::Failed(why) => {
                    tracing::debug!(quota = %quota, %why, "owner refused");
                    tokio::time::sleep(ROUTE_WAIT).await;
                }
                other => return Ok(other),
            }
        }
        Err(LedgerError::OwnerUnavailable(quota.clone()))
    }
}

fn unexpected(quota: &QuotaId) -> LedgerError {
    LedgerError::OwnerUnavailable(quota.clone())
}

impl Owners for NodeOwners {
    async fn grant(
        &self,
        quota: &Quota,
        node: &str,
        request: GrantRequest,
    ) -> Result<Grant, LedgerError> {
        if !self.is_clustered() {
            return self.0.local.grant(quota, node, request).await;
        }
        if !self.is_reconciled() {
            let mut seen = self.0.reconciled.subscribe();
            let waited = tokio::time::timeout(RPC_TIMEOUT, seen.wait_for(|done| *done)).await;
            if !matches!(waited, Ok(Ok(_))) {
                return Err(LedgerError::OwnerUnavailable(quota.id.clone()));
            }
        }
        let req = RpcRequest::Grant {
            quota: quota.clone(),
            node: node.to_owned(),
            request,
        };
        match self.forward(&quota.id, req).await? {
            RpcResponse::Grant(g) => Ok(g),
            _ => Err(unexpected(&quota.id)),
        }
    }

    async fn settle(
        &self,
        quota: &QuotaId,
        node: &str,
        batch: Vec<Settlement>,
    ) -> Result<Vec<Settled>, LedgerError> {
        if !self.is_clustered() {
            return self.0.local.settle(quota, node, batch).await;
        }
        let req = RpcRequest::Settle {
            quota: quota.clone(),
            node: node.to_owned(),
            batch,
        };
        match self.forward(quota, req).await? {
            RpcResponse::Settled(s) => Ok(s),
            _ => Err(unexpected(quota)),
        }
    }

    async fn give_back(
        &self,
        quota: &QuotaId,
        node: &str,
        id: u64,
        period: u64,
        amount: i64,
    ) -> Result<(), LedgerError> {
        if !self.is_clustered() {
            return self
                .0
                .local
                .give_back(quota, node, id, period, amount)
                .await;
        }
        let req = RpcRequest::GiveBack {
            quota: quota.clone(),
            node: node.to_owned(),
            id,
            period,
            amount,
        };
        self.forward(quota, req).await.map(|_| ())
    }

    async fn set_limit(&self, quota: &QuotaId, limit: i64) -> Result<(), LedgerError> {
        if !self.is_clustered() {
            return self.0.local.set_limit(quota, limit).await;
        }
        self.forward(
            quota,
            RpcRequest::SetLimit {
                quota: quota.clone(),
                limit,
            },
        )
        .await
        .map(|_| ())
    }

    async fn status(&self, quota: &Quota, period: u64) -> Result<OwnerStatus, LedgerError> {
        if !self.is_clustered() {
            return self.0.local.status(quota, period).await;
        }
        match self
            .forward(
                &quota.id,
                RpcRequest::Status {
                    quota: quota.clone(),
                    period,
                },
            )
            .await?
        {
            RpcResponse::Status(s) => Ok(s),
            _ => Err(unexpected(&quota.id)),
        }
    }

    /// Spend rebuilt from this node's audit log. In a cluster the owners' replicated and
    /// persisted state is the truth (one node's log holds only its own calls), so this
    /// applies to a single node only.
    async fn restore(&self, quota: &Quota, period: u64, spent: i64) -> Result<(), LedgerError> {
        if self.is_clustered() {
            return Ok(());
        }
        self.0.local.restore(quota, period, spent).await
    }
}
