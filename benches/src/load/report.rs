//! The JSON a run prints: what was offered, what came back, and how fast.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::latency::Percentiles;
use super::plan::Plan;
use super::worker::Tally;

/// One run's outcome. Latencies are in microseconds.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Requests per second offered.
    pub rate: f64,
    pub concurrency: usize,
    pub duration_s: f64,
    pub warmup_sent: u64,
    pub warmup_errors: u64,
    /// Slots the pacer released.
    pub offered: u64,
    /// Requests sent (offered less unsent).
    pub sent: u64,
    /// Complete 2xx answers (and, for streams, ending with `data: [DONE]`).
    pub ok: u64,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    /// Offered but still queued at the run's hard stop, or when it gave up.
    pub unsent: u64,
    /// The run stopped early: a request waited longer than the plan's `give_up`.
    pub gave_up: bool,
    /// Successes per second, from the first release to the last answer's end.
    pub achieved_rate: f64,
    pub elapsed_s: f64,
    /// Release to last byte.
    pub latency_us: Percentiles,
    /// Release to first body byte.
    pub first_byte_us: Percentiles,
    /// How late the pacer released slots (the load generator's own timer slack).
    pub pacer_late_us: Percentiles,
    pub bytes_per_response: f64,
    pub events_per_response: f64,
}

impl Report {
    pub fn new(plan: &Plan, started: Instant, offered: u64, gave_up: bool, tally: Tally) -> Report {
        let ok = tally.latency.len() as u64;
        let errors = tally.errors.values().sum();
        let elapsed = tally
            .last_done
            .map_or(0.0, |done| (done - started).as_secs_f64());
        let per_response = |total: u64| {
            if ok == 0 {
                0.0
            } else {
                total as f64 / ok as f64
            }
        };
        Report {
            rate: plan.rate,
            concurrency: plan.concurrency,
            duration_s: plan.duration.as_secs_f64(),
            warmup_sent: tally.warmup_sent,
            warmup_errors: tally.warmup_errors,
            offered,
            sent: offered - tally.unsent,
            ok,
            errors,
            error_kinds: tally.errors,
            unsent: tally.unsent,
            gave_up,
            achieved_rate: if elapsed > 0.0 {
                ok as f64 / elapsed
            } else {
                0.0
            },
            elapsed_s: elapsed,
            latency_us: Percentiles::of(tally.latency),
            first_byte_us: Percentiles::of(tally.first_byte),
            pacer_late_us: Percentiles::of(tally.pacer_late),
            bytes_per_response: per_response(tally.bytes),
            events_per_response: per_response(tally.events),
        }
    }
}
