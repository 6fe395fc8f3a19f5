//! The schedule: one slot per request, released at a constant rate by an OS thread.
//!
//! A thread rather than a Tokio timer: Tokio's timer wheel rounds every deadline up to the
//! next millisecond, which at thousands of requests a second would release them in bursts
//! and add up to a millisecond to each. `thread::sleep` wakes within tens of microseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

/// One request's turn.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// When the schedule says it is due.
    pub due: Instant,
    /// When the pacer actually released it: its latency starts here.
    pub released: Instant,
}

/// Starts releasing `rate` slots a second into `slots` for `duration`, `max` at most.
/// The thread ends, dropping the sender, when the schedule is done, `stop` is set or every
/// worker has gone; it returns how many slots it released.
pub fn spawn(
    rate: f64,
    duration: Duration,
    max: u64,
    stop: Arc<AtomicBool>,
    slots: UnboundedSender<Slot>,
) -> anyhow::Result<JoinHandle<u64>> {
    anyhow::ensure!(rate > 0.0 && rate.is_finite(), "the rate must be positive");
    let handle = thread::Builder::new().name("pacer".into()).spawn(move || {
        let start = Instant::now();
        let mut released = 0;
        while released < max && !stop.load(Ordering::Relaxed) {
            let offset = Duration::from_secs_f64(released as f64 / rate);
            if offset >= duration {
                break;
            }
            let due = start + offset;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            let slot = Slot {
                due,
                released: Instant::now(),
            };
            if slots.send(slot).is_err() {
                break;
            }
            released += 1;
        }
        released
    })?;
    Ok(handle)
}
