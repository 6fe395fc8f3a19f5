//! `switchboard-chaos`: starts a three-node Switchboard cluster behind HAProxy with
//! mock-llm as the provider, drives steady load from several tenants through HAProxy,
//! and breaks things one scenario at a time (nodes killed, paused, restarted in turn,
//! the provider failing in four ways, a node cut off the network). After each scenario,
//! with every node back, it checks that no tenant passed a limit, that every owner's book
//! equals the sum of the audit logs across the nodes, and that every audit chain
//! verifies; it prints a table and exits non-zero if any of that broke.
//!
//! Run it through `chaos/run`, which builds the binaries and installs HAProxy.

mod checks;
mod cluster;
mod load;
mod net;
mod scenarios;
mod topology;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;

use crate::cluster::Cluster;
use crate::load::{Load, Tallies};
use crate::scenarios::{Profile, Scenario};

#[derive(Debug, Parser)]
#[command(name = "switchboard-chaos", about)]
struct Args {
    /// `short` (a few minutes, run by CI) or `long` (longer faults, more load).
    #[arg(long, default_value = "short")]
    profile: String,
    /// Where the `switchboard` and `mock-llm` binaries are.
    #[arg(long)]
    bin_dir: PathBuf,
    /// Where the nodes' data directories and logs go (emptied first).
    #[arg(long)]
    work_dir: PathBuf,
    /// HAProxy listens on 127.0.0.1:PORT; loopback nodes and mock-llm take the next ones.
    #[arg(long, default_value_t = 19100)]
    base_port: u16,
    /// Run the nodes on loopback even where network namespaces could be made.
    #[arg(long)]
    loopback: bool,
    /// Only these scenarios (by name); all when empty.
    #[arg(long = "only")]
    only: Vec<String>,
}

struct Row {
    scenario: Scenario,
    tallies: Tallies,
    timings: Vec<(&'static str, Duration)>,
    broken: Vec<String>,
    skipped: Option<String>,
    took: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool> {
    let profile = match args.profile.as_str() {
        "short" => Profile {
            hold: Duration::from_secs(2),
            workers_per_class: 2,
            pace: Duration::from_millis(100),
        },
        "long" => Profile {
            hold: Duration::from_secs(15),
            workers_per_class: 6,
            pace: Duration::from_millis(40),
        },
        other => anyhow::bail!("unknown profile {other:?}: short or long"),
    };
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| o == s.name()))
        .collect();
    let edge: Vec<String> = scenarios.iter().map(|s| s.edge_tenant()).collect();
    let started = Instant::now();
    let mut c = Cluster::start(
        &args.bin_dir,
        &args.work_dir,
        args.base_port,
        args.loopback,
        &edge,
    )
    .await?;
    eprintln!(
        "chaos: three nodes up behind HAProxy on {} ({}) in {:.1?}",
        c.lb,
        if c.topology.has_namespaces() {
            "each in its own network namespace"
        } else {
            "on loopback"
        },
        started.elapsed()
    );
    let mut rows = Vec::new();
    for scenario in scenarios {
        let row = run_one(&mut c, scenario, &profile).await;
        print_row(&row);
        let fatal = row
            .broken
            .iter()
            .any(|b| b.starts_with("cluster did not recover"));
        rows.push(row);
        if fatal {
            break;
        }
    }
    let shutdown = c.shutdown().await;
    print_table(&rows);
    let ok = rows.iter().all(|r| r.broken.is_empty());
    if let Err(e) = shutdown {
        eprintln!("chaos: shutdown: {e:#}");
        return Ok(false);
    }
    println!(
        "\nchaos: {} in {:.0?}; node logs and data under {}",
        if ok {
            "every invariant held"
        } else {
            "INVARIANTS BROKEN"
        },
        started.elapsed(),
        args.work_dir.display()
    );
    Ok(ok)
}

async fn run_one(c: &mut Cluster, scenario: Scenario, p: &Profile) -> Row {
    let started = Instant::now();
    let mut row = Row {
        scenario,
        tallies: Tallies::default(),
        timings: Vec::new(),
        broken: Vec::new(),
        skipped: None,
        took: Duration::ZERO,
    };
    if scenario == Scenario::Partition && !c.topology.has_namespaces() {
        row.skipped = Some("no network namespaces here".into());
        return row;
    }
    if scenario == Scenario::AuditDiskFull && c.small_disk.is_none() {
        row.skipped = Some("no tmpfs could be mounted here".into());
        return row;
    }
    let limit = p.hold * 12 + Duration::from_secs(60);
    let load = Load::start(
        &c.net,
        &c.lb,
        &scenario.edge_tenant(),
        p.workers_per_class,
        p.pace,
        limit,
    );
    match scenario.run(c, p).await {
        Ok(t) => row.timings = t,
        Err(e) => row.broken.push(format!("{}: {e:#}", scenario.name())),
    }
    row.tallies = load.stop().await;
    if let Err(e) = recover(c).await {
        row.broken.push(format!("cluster did not recover: {e:#}"));
    } else {
        match checks::check(c).await {
            Ok(f) => row.broken.extend(f.broken),
            Err(e) => row.broken.push(format!("checks could not run: {e:#}")),
        }
    }
    row.took = started.elapsed();
    row
}

/// Brings every node back (a scenario that failed half-way may leave one down) and waits
/// until all see all.
async fn recover(c: &mut Cluster) -> Result<()> {
    if let Some(i) = c.small_disk {
        // Only there if a disk-full scenario stopped half-way.
        let _ = c.free_disk(i);
    }
    for i in 0..c.nodes.len() {
        if c.topology.has_namespaces() {
            c.topology.heal(i)?;
        }
        if !c.nodes[i].running() {
            c.spawn(i)?;
        } else {
            let _ = c.signal(i, "-CONT");
        }
    }
    for i in 0..c.nodes.len() {
        c.wait_ready(i, Duration::from_secs(30)).await?;
    }
    c.wait_live_everywhere(3, Duration::from_secs(20)).await?;
    Ok(())
}

fn print_row(r: &Row) {
    let status = match (&r.skipped, r.broken.is_empty()) {
        (Some(why), _) => format!("skipped ({why})"),
        (None, true) => "ok".to_owned(),
        (None, false) => "BROKEN".to_owned(),
    };
    eprintln!(
        "chaos: {:<22} {status} in {:.1?}",
        r.scenario.name(),
        r.took
    );
    for b in &r.broken {
        eprintln!("chaos:   - {b}");
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<22} {:>7} {:>8} {:>8} {:>8} {:>13}  {:<9} timings",
        "scenario", "calls", "success", "plain", "streams", "edge ok/429", "invariants"
    );
    for r in rows {
        let t = &r.tallies;
        let share = |ok: u64, all: u64| {
            if all == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}%", 100.0 * ok as f64 / all as f64)
            }
        };
        let invariants = match (&r.skipped, r.broken.is_empty()) {
            (Some(_), _) => "skipped",
            (None, true) => "hold",
            (None, false) => "BROKEN",
        };
        let timings: Vec<String> = r
            .timings
            .iter()
            .map(|(name, d)| format!("{name} {:.2}s", d.as_secs_f64()))
            .collect();
        println!(
            "{:<22} {:>7} {:>8} {:>8} {:>8} {:>13}  {:<10} {}",
            r.scenario.name(),
            t.plain.total() + t.streams.total() + t.edge.total(),
            format!("{:.1}%", 100.0 * t.success_share()),
            share(t.plain.ok, t.plain.total()),
            share(t.streams.ok, t.streams.total()),
            format!("{}/{}", t.edge.ok, t.edge.refused),
            invariants,
            timings.join(", ")
        );
    }
}
