//! The open-loop load generator behind `loadgen` (and so behind `benches/run`).
//!
//! A run offers requests at a constant rate, whatever the server does, over a fixed number
//! of keep-alive connections, and times every request from the moment it was due:
//! - [`plan`]: what to send, where, how fast, for how long and how many at most.
//! - [`pacer`]: an OS thread that releases one [`pacer::Slot`] per request on schedule.
//! - [`worker`]: one task per connection; takes the next released slot, sends the
//!   request, reads the answer to its last byte and tallies the outcome.
//! - [`latency`]: percentiles over the recorded samples (sorted vectors; a run is bounded
//!   in count, so exact percentiles are cheap).
//! - [`report`]: the JSON a run prints.
//!
//! Latency starts when the pacer releases a request, not when a connection is free to
//! send it: a server that stalls makes the requests queued behind the stall late, and
//! that wait is counted (no coordinated omission). The pacer's own lateness (timer slack)
//! is reported separately so a starved load generator is visible.

pub mod latency;
pub mod pacer;
pub mod plan;
pub mod report;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{Barrier, Mutex, mpsc};

use self::plan::Plan;
use self::report::Report;
use self::worker::{Tally, Worker};

/// Runs `plan`: opens its connections, warms them up, offers the load, and reports.
pub async fn run(plan: Plan) -> anyhow::Result<Report> {
    let plan = Arc::new(plan);
    let (slots, queue) = mpsc::unbounded_channel();
    let queue = Arc::new(Mutex::new(queue));
    // Every worker connects and warms up before the first slot is released.
    let ready = Arc::new(Barrier::new(plan.concurrency + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(plan.concurrency);
    for index in 0..plan.concurrency {
        let worker = Worker {
            index,
            plan: Arc::clone(&plan),
            queue: Arc::clone(&queue),
            ready: Arc::clone(&ready),
            stop: Arc::clone(&stop),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    ready.wait().await;

    let started = Instant::now();
    let pacer = pacer::spawn(
        plan.rate,
        plan.duration,
        plan.max_requests,
        Arc::clone(&stop),
        slots,
    )?;
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await?);
    }
    let released = pacer
        .join()
        .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?;
    let gave_up = stop.load(Ordering::Relaxed);
    Ok(Report::new(&plan, started, released, gave_up, tally))
}
