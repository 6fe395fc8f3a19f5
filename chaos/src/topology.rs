//! Where the nodes live: each in its own network namespace on a bridge (so one can be cut
//! off), or, where namespaces cannot be made, side by side on loopback.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The bridge's prefix: nodes are `10.77.0.1..=n`, the host side (HAProxy, mock-llm, the
/// load) is `10.77.0.254`.
const SUBNET: [u8; 3] = [10, 77, 0];
const HOST: u8 = 254;
const BRIDGE: &str = "sbchaos0";

/// One node's addresses.
#[derive(Debug, Clone)]
pub struct Place {
    pub ip: Ipv4Addr,
    pub client: u16,
    pub admin: u16,
    pub gossip: u16,
    pub rpc: u16,
    /// The namespace to run it in, if any.
    pub netns: Option<String>,
}

impl Place {
    pub fn client_addr(&self) -> String {
        format!("{}:{}", self.ip, self.client)
    }
    pub fn admin_addr(&self) -> String {
        format!("{}:{}", self.ip, self.admin)
    }
    pub fn gossip_addr(&self) -> String {
        format!("{}:{}", self.ip, self.gossip)
    }
}

#[derive(Debug)]
pub struct Topology {
    pub places: Vec<Place>,
    /// The address the host side listens on for the nodes (mock-llm).
    pub host_ip: Ipv4Addr,
    namespaces: bool,
}

impl Topology {
    /// Namespaces if `ip netns` works here (root, iproute2) and `loopback` is not asked
    /// for, else loopback.
    pub fn create(nodes: usize, base_port: u16, loopback: bool) -> Topology {
        let made = if loopback {
            Err(anyhow::anyhow!("loopback asked for"))
        } else {
            Self::namespaces(nodes)
        };
        match made {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "chaos: no network namespaces ({e:#}); nodes share loopback and the partition scenario is skipped"
                );
                Self::teardown_namespaces(nodes);
                Topology {
                    places: (0..nodes as u16)
                        .map(|i| Place {
                            ip: Ipv4Addr::LOCALHOST,
                            client: base_port + 1 + i,
                            admin: base_port + 11 + i,
                            gossip: base_port + 21 + i,
                            rpc: base_port + 31 + i,
                            netns: None,
                        })
                        .collect(),
                    host_ip: Ipv4Addr::LOCALHOST,
                    namespaces: false,
                }
            }
        }
    }

    pub fn has_namespaces(&self) -> bool {
        self.namespaces
    }

    fn namespaces(nodes: usize) -> Result<Topology> {
        Self::teardown_namespaces(nodes);
        let host = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], HOST);
        ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{host}/24"), "dev", BRIDGE])?;
        ip(&["link", "set", BRIDGE, "up"])?;
        let mut places = Vec::new();
        for i in 1..=nodes {
            let ns = ns_name(i);
            let (outer, inner) = (format!("sbc{i}h"), format!("sbc{i}n"));
            let addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], i as u8);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &outer, "master", BRIDGE])?;
            ip(&["link", "set", &outer, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            places.push(Place {
                ip: addr,
                client: 8080,
                admin: 8081,
                gossip: 7946,
                rpc: 7947,
                netns: Some(ns),
            });
        }
        Ok(Topology {
            places,
            host_ip: host,
            namespaces: true,
        })
    }

    /// Cuts node `i` (0-based) off the network: its peers, HAProxy and the provider.
    pub fn cut(&self, i: usize) -> Result<()> {
        if !self.namespaces {
            bail!("partitions need network namespaces");
        }
        ip(&["link", "set", &format!("sbc{}h", i + 1), "down"])
    }

    pub fn heal(&self, i: usize) -> Result<()> {
        ip(&["link", "set", &format!("sbc{}h", i + 1), "up"])
    }

    fn teardown_namespaces(nodes: usize) {
        for i in 1..=nodes {
            let _ = quiet_ip(&["netns", "del", &ns_name(i)]);
            let _ = quiet_ip(&["link", "del", &format!("sbc{i}h")]);
        }
        let _ = quiet_ip(&["link", "del", BRIDGE]);
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if self.namespaces {
            Self::teardown_namespaces(self.places.len());
        }
    }
}

fn ns_name(i: usize) -> String {
    format!("sbchaos-{i}")
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn quiet_ip(args: &[&str]) -> Result<()> {
    Command::new("ip")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()?;
    Ok(())
}
