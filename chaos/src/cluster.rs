//! The system under test as real processes: mock-llm, three `switchboard serve` nodes
//! (each with its own data directory, in its own namespace where there are namespaces)
//! and HAProxy in front of them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::net::{ADMIN_KEY, Net};
use crate::topology::{Place, Topology};

pub const SECRET: &str = "chaos-cluster-secret-0123456789abcdef";

/// The tenants every node knows: two with room to spare, and one per scenario whose
/// budget runs out while the scenario is under way.
pub const STEADY: &str = "steady";
pub const STREAMER: &str = "streamer";
/// What one metered call costs: 10 output tokens at $1 per million, in nano-dollars.
pub const CALL_NANOS: i64 = 10_000;
/// An edge tenant's budget: this many calls.
pub const EDGE_CALLS: i64 = 40;

pub fn key_of(tenant: &str) -> String {
    format!("sk-chaos-{tenant}")
}

pub struct Node {
    pub name: String,
    pub place: Place,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

pub struct Cluster {
    pub topology: Topology,
    pub nodes: Vec<Node>,
    pub lb: String,
    pub mock: String,
    pub net: Net,
    bins: PathBuf,
    /// The node whose audit directory is a small tmpfs of its own (so its disk can be
    /// filled), if mounting was possible here.
    pub small_disk: Option<usize>,
    mock_child: Child,
    haproxy: Child,
}

impl Cluster {
    pub async fn start(
        bins: &Path,
        work: &Path,
        base_port: u16,
        loopback: bool,
        edge_tenants: &[String],
    ) -> Result<Cluster> {
        let topology = Topology::create(3, base_port, loopback);
        for i in 1..=3 {
            unmount(&work.join(format!("node-{i}")));
        }
        let _ = std::fs::remove_dir_all(work);
        std::fs::create_dir_all(work)?;
        let (mock_child, mock) = spawn_mock(bins, &topology, base_port + 50, work)?;
        let seeds: Vec<String> = topology.places.iter().map(Place::gossip_addr).collect();
        let mut nodes = Vec::new();
        for (i, place) in topology.places.iter().enumerate() {
            let name = format!("node-{}", i + 1);
            let dir = work.join(&name);
            std::fs::create_dir_all(&dir)?;
            let toml = node_config(&name, place, &dir, &seeds, &mock, edge_tenants);
            std::fs::write(dir.join("node.toml"), toml)?;
            nodes.push(Node {
                name,
                place: place.clone(),
                dir,
                child: None,
            });
        }
        let small_disk = mount_small_disk(&nodes[SMALL_DISK_NODE].dir);
        let lb = format!("127.0.0.1:{base_port}");
        let cfg = haproxy_config(&lb, base_port + 99, &nodes);
        std::fs::write(work.join("haproxy.cfg"), cfg)?;
        let haproxy = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(work.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(log_file(&work.join("haproxy.log"))?)
            .spawn()
            .context("starting haproxy")?;
        let mut cluster = Cluster {
            topology,
            nodes,
            lb,
            mock,
            net: Net::new(),
            bins: bins.to_owned(),
            small_disk: small_disk.then_some(SMALL_DISK_NODE),
            mock_child,
            haproxy,
        };
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i)?;
        }
        for i in 0..cluster.nodes.len() {
            cluster.wait_ready(i, Duration::from_secs(30)).await?;
        }
        cluster
            .wait_live_everywhere(3, Duration::from_secs(15))
            .await?;
        cluster.wait_lb(Duration::from_secs(10)).await?;
        Ok(cluster)
    }

    /// Starts node `i` on its config and data directory (again, after a kill).
    pub fn spawn(&mut self, i: usize) -> Result<()> {
        let node = &mut self.nodes[i];
        let bin = self.bins.join("switchboard");
        let mut cmd = match &node.place.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let mut child = cmd
            .args(["serve", "--config"])
            .arg(node.dir.join("node.toml"))
            .stdout(Stdio::piped())
            .stderr(log_file(&node.dir.join("node.log"))?)
            .spawn()
            .with_context(|| format!("starting {}", node.name))?;
        // The node prints one line once it listens; the pipe is not read again.
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        if !line.contains("listening") {
            let _ = child.kill();
            bail!(
                "{} did not start: see {}",
                node.name,
                node.dir.join("node.log").display()
            );
        }
        node.child = Some(child);
        Ok(())
    }

    pub fn signal(&self, i: usize, sig: &str) -> Result<()> {
        let pid = self.nodes[i]
            .pid()
            .ok_or_else(|| anyhow!("{} is not running", self.nodes[i].name))?;
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()?
            .success();
        if !ok {
            bail!("kill {sig} {pid} failed");
        }
        Ok(())
    }

    /// SIGKILL: no drain, no goodbye.
    pub fn kill(&mut self, i: usize) -> Result<()> {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM and wait (15 s at most) for a clean exit.
    pub async fn terminate(&mut self, i: usize) -> Result<()> {
        self.signal(i, "-TERM")?;
        let Some(mut child) = self.nodes[i].child.take() else {
            return Ok(());
        };
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("{} exited with {status} after SIGTERM", self.nodes[i].name);
                }
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(15) {
                child.kill()?;
                child.wait()?;
                bail!("{} did not stop within 15 s of SIGTERM", self.nodes[i].name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn ready(&self, i: usize) -> bool {
        let url = format!("http://{}/readyz", self.nodes[i].place.admin_addr());
        matches!(
            self.net.call("GET", &url, "", None, Duration::from_secs(2)).await,
            Ok(r) if r.status == 200
        )
    }

    pub async fn wait_ready(&self, i: usize, limit: Duration) -> Result<Duration> {
        poll(limit, &format!("{} ready", self.nodes[i].name), || {
            self.ready(i)
        })
        .await
    }

    /// This node's view of the cluster (`GET /admin/cluster`).
    pub async fn view(&self, i: usize) -> Result<Value> {
        self.net
            .admin(&self.nodes[i].place.admin_addr(), "/admin/cluster")
            .await
    }

    /// Node `i`'s view without applying its settlements first: quick, even with an owner
    /// just gone, but its books may lag.
    pub async fn quick_view(&self, i: usize) -> Result<Value> {
        let addr = self.nodes[i].place.admin_addr();
        self.net.admin(&addr, "/admin/cluster?flush=false").await
    }

    /// Waits until every running node in `among` counts `live` members.
    pub async fn wait_live(&self, among: &[usize], live: u64, limit: Duration) -> Result<Duration> {
        poll(
            limit,
            &format!("{among:?} see {live} live"),
            || async move {
                for &i in among {
                    match self.view(i).await {
                        Ok(v) if v["live"] == live => {}
                        _ => return false,
                    }
                }
                true
            },
        )
        .await
    }

    pub async fn wait_live_everywhere(&self, live: u64, limit: Duration) -> Result<Duration> {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.wait_live(&all, live, limit).await
    }

    /// Waits until HAProxy answers through to a node.
    pub async fn wait_lb(&self, limit: Duration) -> Result<Duration> {
        let url = format!("http://{}/v1/models", self.lb);
        let key = key_of(STEADY);
        poll(limit, "HAProxy routes to a node", || async {
            matches!(
                self.net.call("GET", &url, &key, None, Duration::from_secs(2)).await,
                Ok(r) if r.status == 200
            )
        })
        .await
    }

    /// The deployment's breaker state on node `i`.
    pub async fn breaker(&self, i: usize, deployment: &str) -> Option<String> {
        let v = self
            .net
            .admin(&self.nodes[i].place.admin_addr(), "/admin/breakers")
            .await
            .ok()?;
        v["breakers"]
            .as_array()?
            .iter()
            .find(|b| b["deployment"] == deployment)
            .and_then(|b| b["state"].as_str().map(str::to_owned))
    }

    /// Installs a fault rule on mock-llm (`None` clears every rule).
    pub async fn provider_fault(&self, model: &str, fault: Option<&str>) -> Result<()> {
        let url = format!("{}/_mock/faults", self.mock);
        let status = match fault {
            Some(f) => {
                let rule = serde_json::json!({"fault": f, "model": model});
                self.net.send("POST", &url, Some(&rule)).await?
            }
            None => self.net.send("DELETE", &url, None).await?,
        };
        if status >= 300 {
            bail!("mock-llm refused the fault rule: {status}");
        }
        Ok(())
    }

    /// Fills the small disk of node `i`'s audit directory to the last byte.
    pub fn fill_disk(&self, i: usize) -> Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(filler(&self.nodes[i].dir))?;
        let chunk = vec![0u8; 64 * 1024];
        // Bounded: the disk is 128 MiB.
        for _ in 0..2048 {
            if f.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = f.sync_all();
        Ok(())
    }

    pub fn free_disk(&self, i: usize) -> Result<()> {
        std::fs::remove_file(filler(&self.nodes[i].dir))?;
        Ok(())
    }

    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        let mut result = Ok(());
        for i in 0..self.nodes.len() {
            if self.nodes[i].running()
                && let Err(e) = self.terminate(i).await
            {
                result = Err(e);
            }
        }
        let _ = self.mock_child.kill();
        let _ = self.mock_child.wait();
        if let Some(i) = self.small_disk.take() {
            result = result.and(keep_and_unmount(&self.nodes[i].dir));
        }
        result
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        for n in &mut self.nodes {
            if let Some(c) = n.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = self.mock_child.kill();
        if let Some(i) = self.small_disk {
            unmount(&self.nodes[i].dir);
        }
    }
}

/// Polls `check` every 25 ms until it holds; the time it took, or an error after `limit`.
pub async fn poll<F: std::future::Future<Output = bool>>(
    limit: Duration,
    what: &str,
    check: impl Fn() -> F,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        if check().await {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            bail!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const SMALL_DISK_NODE: usize = 2;

fn audit_dir(node_dir: &Path) -> PathBuf {
    node_dir.join("data/audit")
}

fn filler(node_dir: &Path) -> PathBuf {
    audit_dir(node_dir).join("filler")
}

/// Mounts a 128 MiB tmpfs as the node's audit directory; false where that is not allowed.
fn mount_small_disk(node_dir: &Path) -> bool {
    let dir = audit_dir(node_dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return false;
    }
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=128m", "chaos-audit"])
        .arg(&dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Copies the audit log off the small disk into the directory under it, so it outlives
/// the run like the other nodes' logs.
fn keep_and_unmount(node_dir: &Path) -> Result<()> {
    let dir = audit_dir(node_dir);
    let kept = node_dir.join("data/audit-kept");
    std::fs::create_dir_all(&kept)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.is_file() && path != filler(node_dir) {
            std::fs::copy(&path, kept.join(path.file_name().unwrap_or_default()))?;
        }
    }
    unmount(node_dir);
    for entry in std::fs::read_dir(&kept)? {
        let path = entry?.path();
        std::fs::rename(&path, dir.join(path.file_name().unwrap_or_default()))?;
    }
    std::fs::remove_dir(&kept)?;
    Ok(())
}

fn unmount(node_dir: &Path) {
    let _ = Command::new("umount")
        .arg(audit_dir(node_dir))
        .stderr(Stdio::null())
        .status();
}

fn log_file(path: &Path) -> Result<std::fs::File> {
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?)
}

fn spawn_mock(bins: &Path, topology: &Topology, port: u16, work: &Path) -> Result<(Child, String)> {
    let mut child = Command::new(bins.join("mock-llm"))
        .args([
            "--host",
            &topology.host_ip.to_string(),
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(log_file(&work.join("mock-llm.log"))?)
        .spawn()
        .context("starting mock-llm")?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| anyhow!("mock-llm did not start: {line:?}"))?
        .to_owned();
    Ok((child, url))
}

fn node_config(
    name: &str,
    place: &Place,
    dir: &Path,
    seeds: &[String],
    mock: &str,
    edge_tenants: &[String],
) -> String {
    let seeds: Vec<String> = seeds.iter().map(|s| format!("\"{s}\"")).collect();
    let mut toml = format!(
        r#"[server]
listen = "{client}"
data_dir = "{data}"
node_name = "{name}"
shutdown_grace = "5s"
drain_delay = "1500ms"

[admin]
listen = "{admin}"
key = "{ADMIN_KEY}"

[cluster]
gossip = "{gossip}"
rpc = "{ip}:{rpc}"
seeds = [{seeds}]
secret = "{SECRET}"
size = 3

[providers.mock]
kind = "openai-compatible"
base_url = "{mock}/v1"
api_key = "sk-mock"
first_byte_timeout = "1s"
stream_idle_timeout = "2s"

# A primary deployment the scenarios break, and a fallback that keeps answering.
[models.chat]
deployments = [
  {{ provider = "mock", model = "primary-gpt", price = {{ input = 0, output = 1 }} }},
  {{ provider = "mock", model = "fallback-gpt", price = {{ input = 0, output = 1 }} }},
]
retry = {{ max_attempts = 3, base_backoff = "20ms", max_backoff = "200ms" }}
breaker = {{ consecutive_failures = 5, cooldown = "2s", max_cooldown = "4s" }}

[[tenants]]
name = "{STEADY}"
quotas = [{{ metric = "money", window = "total", limit = "1000.00" }}]

[[tenants]]
name = "{STREAMER}"
quotas = [{{ metric = "money", window = "total", limit = "1000.00" }}]
"#,
        client = place.client_addr(),
        admin = place.admin_addr(),
        gossip = place.gossip_addr(),
        ip = place.ip,
        rpc = place.rpc,
        data = dir.join("data").display(),
        seeds = seeds.join(", "),
    );
    let budget = EDGE_CALLS * CALL_NANOS;
    for t in edge_tenants {
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"{t}\"\nquotas = [{{ metric = \"money\", window = \"total\", limit = \"{}.{:09}\" }}]\n",
            budget / 1_000_000_000,
            budget % 1_000_000_000
        ));
    }
    for t in [STEADY, STREAMER]
        .iter()
        .copied()
        .chain(edge_tenants.iter().map(String::as_str))
    {
        toml.push_str(&format!(
            "\n[[keys]]\nname = \"{t}\"\nkey = \"{}\"\ntenant = \"{t}\"\n",
            key_of(t)
        ));
    }
    toml
}

fn haproxy_config(lb: &str, stats_port: u16, nodes: &[Node]) -> String {
    let mut cfg = format!(
        "global\n    maxconn 4000\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n    timeout check 1s\n    retries 2\n    option redispatch 1\n    retry-on conn-failure\n\nfrontend switchboard\n    bind {lb}\n    default_backend nodes\n\nbackend nodes\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    default-server inter 500ms fall 2 rise 2 check\n"
    );
    for n in nodes {
        cfg.push_str(&format!(
            "    server {} {} port {}\n",
            n.name,
            n.place.client_addr(),
            n.place.admin
        ));
    }
    cfg.push_str(&format!(
        "\nlisten stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /\n"
    ));
    cfg
}
