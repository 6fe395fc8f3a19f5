//! This node's place in the cluster: membership (foca, via `switchboard-cluster`), and
//! the facts every node keeps in step by gossip.
//!
//! - Breakers: a transition this node's own traffic caused is published as a versioned
//!   fact (version = the transition's time); peers adopt it, so a provider failing on one
//!   node is skipped by all within about a second, and a recovery seen by one closes the
//!   breaker everywhere.
//! - Keys, tenants and teams: every admin change is published with its record; peers
//!   apply it and persist it in their own admin state, so a key created or revoked on any
//!   node works or is refused on every node within about a second.
//!
//! Facts are re-announced whenever a member comes up and periodically (foca keeps no
//! history), which is also how a joining node catches up: the full state sync.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_cluster::{Cluster, ClusterConfig, ClusterEvent, Fact};
use switchboard_config::Config;
use switchboard_router::BreakerState;
use tokio::task::JoinHandle;

use crate::gateway::Gateway;
use crate::identity::directory::{TeamPolicy, TenantPolicy};
use crate::identity::{Identity, Origin, state};

/// How often this node's breakers are checked for transitions to gossip.
const BREAKER_POLL: Duration = Duration::from_millis(100);

/// Starts membership when the config has a `[cluster]`, advertising `rpc_addr` (the
/// bound RPC listener's address) to peers.
pub async fn start(
    config: &Config,
    rpc_addr: std::net::SocketAddr,
) -> Result<Option<Cluster>, String> {
    let Some(c) = &config.cluster else {
        return Ok(None);
    };
    let mut cfg = ClusterConfig::new(
        config.server.node_name.clone(),
        c.gossip,
        c.secret.expose().as_bytes().to_vec(),
    );
    cfg.rpc_addr = rpc_addr;
    cfg.admin_addr = config.admin.listen;
    cfg.seeds = c.seeds.clone();
    cfg.size = c.size;
    switchboard_cluster::start(cfg)
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A member's last known state, as this node saw it change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberRecord {
    pub name: String,
    /// `up` or `down`.
    pub state: &'static str,
    /// When this node saw the change (unix ms).
    pub since_ms: u64,
    pub incarnation: u64,
    /// The cluster size the member was configured with (0: it did not say).
    pub size: u32,
    pub gossip: String,
    pub rpc: String,
    pub admin: String,
}

/// The members this node has seen, by name: the live ones and those declared down.
#[derive(Debug, Default)]
pub struct MemberLog(parking_lot::Mutex<std::collections::BTreeMap<String, MemberRecord>>);

impl MemberLog {
    pub fn record(&self, node: &switchboard_cluster::NodeId, state: &'static str, now_ms: u64) {
        let mut log = self.0.lock();
        // A newer incarnation's "up" is not undone by its older incarnation's "down".
        if state == "down"
            && log
                .get(&node.name)
                .is_some_and(|r| r.state == "up" && r.incarnation > node.incarnation)
        {
            return;
        }
        log.insert(
            node.name.clone(),
            MemberRecord {
                name: node.name.clone(),
                state,
                since_ms: now_ms,
                incarnation: node.incarnation,
                size: node.size,
                gossip: node.gossip.to_string(),
                rpc: node.rpc.to_string(),
                admin: node.admin.to_string(),
            },
        );
    }

    pub fn list(&self) -> Vec<MemberRecord> {
        self.0.lock().values().cloned().collect()
    }
}

/// Whether this node sees a majority of the cluster (itself included), counted out of
/// its configured size or more ([`Cluster::quorum`]): the condition for owning quotas,
/// and for `/readyz` in a cluster.
pub fn has_majority(gw: &Gateway) -> bool {
    gw.cluster.as_ref().is_none_or(|c| c.has_majority())
}

/// Publishes a fact; a failure (the membership task gone) is logged, not fatal.
pub fn publish(gw: &Gateway, fact: Fact) {
    if let Some(cluster) = &gw.cluster
        && let Err(e) = cluster.publish(fact)
    {
        tracing::warn!(error = %e, "fact not published");
    }
}

/// Gossips an admin change to a key.
pub fn publish_key(gw: &Gateway, identity: &Identity) {
    publish_key_after(gw, identity, 0);
}

/// Gossips `identity` as a version newer than `after` (the clock's ms may not be: a
/// fact heard within the millisecond it was made elsewhere).
fn publish_key_after(gw: &Gateway, identity: &Identity, after: u64) {
    let record = serde_json::to_value(identity).unwrap_or(Value::Null);
    publish(
        gw,
        Fact::Key {
            key_id: format!("key:{}", identity.id),
            version: gw.now_ms().max(after.saturating_add(1)),
            record,
        },
    );
}

pub fn publish_tenant(gw: &Gateway, name: &str, policy: &TenantPolicy) {
    let record = serde_json::to_value(policy).unwrap_or(Value::Null);
    publish(
        gw,
        Fact::Key {
            key_id: format!("tenant:{name}"),
            version: gw.now_ms(),
            record,
        },
    );
}

pub fn publish_team(gw: &Gateway, tenant: &str, team: &str, policy: &TeamPolicy) {
    let record = serde_json::to_value(policy).unwrap_or(Value::Null);
    publish(
        gw,
        Fact::Key {
            key_id: format!("team:{tenant}/{team}"),
            version: gw.now_ms(),
            record,
        },
    );
}

/// Runs the node's side of gossip until the gateway goes away.
pub fn spawn(gw: Arc<Gateway>) -> Option<JoinHandle<()>> {
    let cluster = gw.cluster.as_ref()?;
    let mut events = cluster.subscribe();
    let weak = Arc::downgrade(&gw);
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(BREAKER_POLL);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => match weak.upgrade() {
                        Some(gw) => on_event(&gw, ev).await,
                        None => return,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "cluster events missed; re-announcements will catch up");
                    }
                    Err(_) => return,
                },
                _ = tick.tick() => match weak.upgrade() {
                    Some(gw) => publish_breaker_changes(&gw),
                    None => return,
                },
            }
        }
    }))
}

fn publish_breaker_changes(gw: &Gateway) {
    for (id, _, _) in gw.health.breakers() {
        let Some(h) = gw.health.get(&id) else {
            continue;
        };
        if let Some(t) = h.breaker.take_local_change()
            && !matches!(t.to, BreakerState::HalfOpen { .. })
        {
            let state = serde_json::to_value(t.to).unwrap_or(Value::Null);
            let fact = Fact::Breaker {
                deployment: id.clone(),
                state,
                origin: gw.config.server.node_name.clone(),
                version: t.at_ms,
            };
            publish(gw, fact);
        }
    }
}

async fn on_event(gw: &Arc<Gateway>, ev: ClusterEvent) {
    match ev {
        ClusterEvent::MemberUp(n) => {
            tracing::info!(member = %n.name, "cluster member up");
            gw.member_log.record(&n, "up", gw.now_ms());
            gw.owners.membership_changed();
        }
        ClusterEvent::MemberDown(n) => {
            tracing::warn!(member = %n.name, "cluster member down");
            gw.member_log.record(&n, "down", gw.now_ms());
            gw.owners.membership_changed();
        }
        ClusterEvent::Learned(Fact::Breaker {
            deployment,
            state,
            origin,
            ..
        }) => {
            if let (Some(h), Ok(state)) = (
                gw.health.get(&deployment),
                serde_json::from_value::<BreakerState>(state),
            ) {
                tracing::debug!(%deployment, %origin, "breaker state heard from a peer");
                h.breaker.adopt(state);
            }
        }
        ClusterEvent::Learned(Fact::Key {
            key_id,
            record,
            version,
        }) => {
            if let Err(e) = apply_admin_fact(gw, &key_id, record, version).await {
                tracing::warn!(%key_id, error = %e, "admin change from a peer not applied");
            }
        }
    }
}

/// Applies an admin change heard from a peer, and persists it like a local one.
async fn apply_admin_fact(
    gw: &Gateway,
    subject: &str,
    record: Value,
    version: u64,
) -> Result<(), String> {
    let mut st = gw.admin_state.lock().await;
    let mut republish = None;
    if let Some(id) = subject.strip_prefix("key:") {
        let mut identity: Identity = serde_json::from_value(record).map_err(|e| e.to_string())?;
        if identity.id != id {
            return Err("key id does not match its record".into());
        }
        // A revocation is for good, whatever came later: a node that changed the key
        // before it heard of the revocation gossips a newer copy without it, which would
        // bring the key back everywhere. The earliest revocation is kept, and gossiped
        // again (newer still) when it had to be restored, so every node ends revoked.
        if let Some(local) = gw.keys.get(id).and_then(|k| k.revoked_at_ms) {
            let merged = identity.revoked_at_ms.map_or(local, |r| r.min(local));
            if identity.revoked_at_ms != Some(merged) {
                identity.revoked_at_ms = Some(merged);
                republish = Some(identity.clone());
            }
        }
        match identity.origin {
            Origin::Admin => st.keys.insert(id.to_owned(), identity.clone()),
            Origin::Config => st
                .config_key_overrides
                .insert(id.to_owned(), identity.clone()),
        };
        gw.keys.put(identity);
    } else if let Some(name) = subject.strip_prefix("tenant:") {
        let policy: TenantPolicy = serde_json::from_value(record).map_err(|e| e.to_string())?;
        st.tenants.insert(name.to_owned(), policy.clone());
        gw.directory.put_tenant(name, policy);
    } else if let Some((tenant, team)) = subject
        .strip_prefix("team:")
        .and_then(|s| s.split_once('/'))
    {
        let policy: TeamPolicy = serde_json::from_value(record).map_err(|e| e.to_string())?;
        st.teams
            .entry(tenant.to_owned())
            .or_default()
            .insert(team.to_owned(), policy.clone());
        gw.directory.put_team(tenant, team, policy);
    } else {
        return Err(format!("unknown subject {subject}"));
    }
    st.version += 1;
    st.save(&state::state_path(&gw.config.server.data_dir))
        .map_err(|e| e.to_string())?;
    if let Some(identity) = republish {
        publish_key_after(gw, &identity, version);
    }
    Ok(())
}
