//! The faults: each breaks something under load, waits for the cluster to cope, repairs
//! it, and reports how long each step took.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cluster::{Cluster, STEADY, poll};

/// How long the faults last and how long the load runs around them.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Load before and after a fault, and how long a provider fault or a partition lasts.
    pub hold: Duration,
    pub workers_per_class: usize,
    pub pace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Kill,
    Pause,
    Rolling,
    Provider503,
    ProviderHang,
    ProviderCut,
    Provider429,
    Partition,
    AuditDiskFull,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Kill,
        Scenario::Pause,
        Scenario::Rolling,
        Scenario::Provider503,
        Scenario::ProviderHang,
        Scenario::ProviderCut,
        Scenario::Provider429,
        Scenario::Partition,
        Scenario::AuditDiskFull,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Kill => "kill-restart",
            Scenario::Pause => "pause-resume",
            Scenario::Rolling => "rolling-restart",
            Scenario::Provider503 => "provider-503",
            Scenario::ProviderHang => "provider-hang",
            Scenario::ProviderCut => "provider-cut-streams",
            Scenario::Provider429 => "provider-429-storm",
            Scenario::Partition => "partition-one-node",
            Scenario::AuditDiskFull => "audit-disk-full",
        }
    }

    /// The tenant whose budget this scenario's edge load spends.
    pub fn edge_tenant(self) -> String {
        format!("edge-{}", self.name())
    }

    pub async fn run(self, c: &mut Cluster, p: &Profile) -> Result<Vec<(&'static str, Duration)>> {
        match self {
            Scenario::Kill => lose_owner(c, p, Loss::Kill).await,
            Scenario::Pause => lose_owner(c, p, Loss::Pause).await,
            Scenario::Rolling => rolling_restart(c).await,
            Scenario::Provider503 => provider(c, p, "status=503").await,
            Scenario::ProviderHang => provider(c, p, "hang").await,
            Scenario::ProviderCut => provider(c, p, "cut-after=3").await,
            Scenario::Provider429 => provider(c, p, "status=429;retry-after=2").await,
            Scenario::Partition => lose_owner(c, p, Loss::Cut).await,
            Scenario::AuditDiskFull => audit_disk_full(c, p).await,
        }
    }
}

const DETECT_LIMIT: Duration = Duration::from_secs(10);
const PRIMARY: &str = "mock/primary-gpt";

/// The node owning the steady tenant's budget: the one whose death moves the most.
async fn owner_of_steady(c: &Cluster) -> Result<usize> {
    let quota = format!("tenant:{STEADY}/money/total");
    let view = c.view(0).await?;
    let owner = view["quotas"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| q["quota"] == quota.as_str())
        .and_then(|q| q["owner"].as_str().map(str::to_owned));
    Ok(owner
        .and_then(|o| c.nodes.iter().position(|n| n.name == o))
        .unwrap_or(0))
}

/// The quotas `victim` owns, as the others see it.
async fn owned_by(c: &Cluster, victim: usize) -> Result<Vec<String>> {
    let other = (victim + 1) % c.nodes.len();
    let view = c.view(other).await?;
    Ok(view["quotas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|q| q["owner"] == c.nodes[victim].name.as_str())
        .filter_map(|q| q["quota"].as_str().map(str::to_owned))
        .collect())
}

/// Waits until a survivor serves each of `quotas` as its owner (a new term taken).
async fn moved(c: &Cluster, survivors: &[usize], quotas: &[String]) -> Result<Duration> {
    poll(
        DETECT_LIMIT,
        "the dead node's quotas taken over",
        || async {
            let mut owned = Vec::new();
            for &i in survivors {
                let Ok(v) = c.quick_view(i).await else {
                    return false;
                };
                for q in v["quotas"].as_array().into_iter().flatten() {
                    if q["role"] == "owner" {
                        owned.push(q["quota"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
            quotas.iter().all(|q| owned.contains(q))
        },
    )
    .await
}

fn others(c: &Cluster, i: usize) -> Vec<usize> {
    (0..c.nodes.len()).filter(|j| *j != i).collect()
}

/// How the owner of the steady tenant's budget is lost, and brought back.
#[derive(Debug, Clone, Copy)]
enum Loss {
    /// SIGKILL, then a restart on the same data directory.
    Kill,
    /// SIGSTOP past the failure detector's timeout, then SIGCONT.
    Pause,
    /// Its link cut, then restored.
    Cut,
}

/// Loses the owner under load: the others must declare it down and take its quotas over;
/// then it comes back and must rejoin.
async fn lose_owner(
    c: &mut Cluster,
    p: &Profile,
    loss: Loss,
) -> Result<Vec<(&'static str, Duration)>> {
    if matches!(loss, Loss::Cut) && !c.topology.has_namespaces() {
        bail!("skipped: no network namespaces here");
    }
    tokio::time::sleep(p.hold).await;
    let victim = owner_of_steady(c).await?;
    let quotas = owned_by(c, victim).await?;
    let survivors = others(c, victim);
    match loss {
        Loss::Kill => c.kill(victim)?,
        Loss::Pause => c.signal(victim, "-STOP")?,
        Loss::Cut => c.topology.cut(victim)?,
    }
    let detect = c.wait_live(&survivors, 2, DETECT_LIMIT).await;
    let moved = match &detect {
        Ok(_) => moved(c, &survivors, &quotas).await,
        Err(_) => Ok(Duration::ZERO),
    };
    tokio::time::sleep(p.hold).await;
    // Bring it back whatever happened above, so the cluster is whole for the checks.
    match loss {
        Loss::Kill => c.spawn(victim)?,
        Loss::Pause => c.signal(victim, "-CONT")?,
        Loss::Cut => c.topology.heal(victim)?,
    }
    let (detect, moved) = (detect?, moved?);
    let back = Instant::now();
    c.wait_ready(victim, Duration::from_secs(30)).await?;
    c.wait_live_everywhere(3, Duration::from_secs(20)).await?;
    let rejoin = back.elapsed();
    tokio::time::sleep(p.hold).await;
    Ok(vec![
        ("detect", detect),
        ("quotas moved", moved + detect),
        ("rejoin", rejoin),
    ])
}

async fn rolling_restart(c: &mut Cluster) -> Result<Vec<(&'static str, Duration)>> {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..c.nodes.len() {
        let one = Instant::now();
        c.terminate(i).await?;
        c.spawn(i)?;
        c.wait_ready(i, Duration::from_secs(30)).await?;
        c.wait_live_everywhere(3, DETECT_LIMIT).await?;
        slowest = slowest.max(one.elapsed());
    }
    Ok(vec![
        ("slowest node", slowest),
        ("all three", started.elapsed()),
    ])
}

/// Breaks the primary deployment at mock-llm, measures how fast every node opens its
/// breaker, then repairs it and measures how fast every node closes it again.
async fn provider(
    c: &mut Cluster,
    p: &Profile,
    fault: &str,
) -> Result<Vec<(&'static str, Duration)>> {
    tokio::time::sleep(p.hold).await;
    c.provider_fault("primary-gpt", Some(fault)).await?;
    let broken = Instant::now();
    let first = poll(DETECT_LIMIT, "a breaker opens", || async {
        for i in 0..c.nodes.len() {
            if c.breaker(i, PRIMARY).await.as_deref() == Some("open") {
                return true;
            }
        }
        false
    })
    .await?;
    let spread = poll(Duration::from_secs(5), "every breaker open", || async {
        for i in 0..c.nodes.len() {
            if c.breaker(i, PRIMARY).await.as_deref() != Some("open") {
                return false;
            }
        }
        true
    })
    .await?;
    tokio::time::sleep(p.hold).await;
    c.provider_fault("primary-gpt", None).await?;
    let repaired = Instant::now();
    poll(
        Duration::from_secs(20),
        "every breaker closed again",
        || async {
            for i in 0..c.nodes.len() {
                if c.breaker(i, PRIMARY).await.as_deref() != Some("closed") {
                    return false;
                }
            }
            true
        },
    )
    .await?;
    let recovered = repaired.elapsed();
    tokio::time::sleep(p.hold).await;
    Ok(vec![
        ("first open", first),
        ("open everywhere", spread),
        ("closed again", recovered),
        ("fault lasted", repaired.duration_since(broken)),
    ])
}

/// Fills the disk under one node's audit log: the node must stop taking calls (its
/// `/readyz` turns 503, so HAProxy sends them elsewhere) while keeping every record it
/// owes, and write them all once there is room again.
async fn audit_disk_full(c: &mut Cluster, p: &Profile) -> Result<Vec<(&'static str, Duration)>> {
    let Some(victim) = c.small_disk else {
        bail!("skipped: no small disk could be mounted");
    };
    tokio::time::sleep(p.hold).await;
    c.fill_disk(victim)?;
    let unready = poll(
        DETECT_LIMIT,
        "the node with a full disk reports unready",
        || async { !c.ready(victim).await },
    )
    .await;
    tokio::time::sleep(p.hold).await;
    c.free_disk(victim)?;
    let unready = unready?;
    let freed = Instant::now();
    c.wait_ready(victim, Duration::from_secs(20)).await?;
    let ready = freed.elapsed();
    tokio::time::sleep(p.hold).await;
    Ok(vec![("unready after", unready), ("ready again", ready)])
}
