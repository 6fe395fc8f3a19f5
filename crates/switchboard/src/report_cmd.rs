//! `switchboard spend` and `switchboard audit ...`: reports over the admin API, and the
//! offline verification of an audit directory.

use std::path::PathBuf;

use clap::Subcommand;
use http::Method;
use serde_json::Value;

use crate::admin_client::{AdminTarget, encode};

/// Filters shared by the reports.
#[derive(clap::Args, Debug)]
pub struct Range {
    /// Start (inclusive): `2026-11-01T00:00:00Z`, a date, or unix ms.
    #[arg(long)]
    pub from: Option<String>,
    /// End (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub tenant: Option<String>,
}

impl Range {
    fn query(&self, extra: &[(&str, String)]) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("tenant", &self.tenant),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.extend(extra.iter().map(|(k, v)| format!("{k}={}", encode(v))));
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check a directory's hash chain offline; reports the first broken link or missing
    /// record, and exits non-zero if there is one.
    Verify { dir: PathBuf },
    /// Records from a running node's audit log, newest (or most expensive) first.
    Query {
        #[command(flatten)]
        range: Range,
        #[arg(long)]
        status: Option<u16>,
        /// `time` or `cost`.
        #[arg(long, default_value = "time")]
        order: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        target: AdminTarget,
    },
}

pub fn spend(group_by: &str, range: &Range, target: &AdminTarget) -> anyhow::Result<()> {
    let v = target.call(
        Method::GET,
        &format!(
            "/admin/spend{}",
            range.query(&[("group_by", group_by.to_owned())])
        ),
        None,
    )?;
    if target.json {
        out!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    out!(
        "{:<28} {:>9} {:>7} {:>12} {:>12} {:>16}",
        group_by,
        "requests",
        "errors",
        "input tok",
        "output tok",
        "cost (USD)"
    );
    for g in v["groups"].as_array().into_iter().flatten() {
        out!(
            "{:<28} {:>9} {:>7} {:>12} {:>12} {:>16}",
            g["group"].as_str().unwrap_or(""),
            g["requests"].as_u64().unwrap_or(0),
            g["errors"].as_u64().unwrap_or(0),
            g["input_tokens"].as_u64().unwrap_or(0),
            g["output_tokens"].as_u64().unwrap_or(0),
            g["cost_usd"].as_str().unwrap_or("")
        );
    }
    out!(
        "{:<28} {:>76}",
        "total",
        v["total_usd"].as_str().unwrap_or("")
    );
    Ok(())
}

pub fn audit(cmd: AuditCmd) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::Verify { dir } => match switchboard_audit::verify(&dir) {
            Ok(report) => {
                out!(
                    "{}: ok, {} records in {} segments, last seq {} ({})",
                    dir.display(),
                    report.records,
                    report.segments,
                    report.last_seq,
                    report.last_hash
                );
                Ok(())
            }
            Err(e) => anyhow::bail!("{}: {e}", dir.display()),
        },
        AuditCmd::Query {
            range,
            status,
            order,
            limit,
            target,
        } => {
            let mut extra = vec![("order", order), ("limit", limit.to_string())];
            if let Some(s) = status {
                extra.push(("status", s.to_string()));
            }
            let v = target.call(
                Method::GET,
                &format!("/admin/audit{}", range.query(&extra)),
                None,
            )?;
            if target.json {
                out!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            for r in v["records"].as_array().into_iter().flatten() {
                out!("{}", summary(r));
            }
            Ok(())
        }
    }
}

fn summary(r: &Value) -> String {
    let time = r["time_ms"]
        .as_u64()
        .map(switchboard_core::time::format_rfc3339)
        .unwrap_or_default();
    format!(
        "{time} {:<24} {:<10} {:<14} {:<16} {:>3} in={} out={} ${}",
        r["request_id"].as_str().unwrap_or(""),
        r["tenant"].as_str().unwrap_or(""),
        r["key"].as_str().unwrap_or(""),
        r["model"].as_str().unwrap_or(""),
        r["status"],
        r["input_tokens"],
        r["output_tokens"],
        switchboard_core::Money(r["cost_nanos"].as_i64().unwrap_or(0))
    )
}
