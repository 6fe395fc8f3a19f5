//! The writer's own thread for the sink's blocking writes and fsyncs.
//!
//! A commit's I/O runs here rather than on tokio's blocking pool for two reasons. The
//! thread is the sink's only user, so the sink needs no lock, and it keeps its caches
//! rather than landing on whichever pooled thread is free. And on Linux it runs at a
//! lower scheduling priority (nice 10): a commit wakes when its fsync returns, and at
//! normal priority that wake-up tends to take the CPU from a runtime worker in the
//! middle of a request (on a node sharing one core with its upstream, the audit log on
//! tmpfs had a p99 about a tenth of a millisecond lower at 1000 calls/s; the lower
//! priority took the worker's preemptions per call from 0.77 to 0.66, and the p99 by
//! 0.04 ms on average, inside the noise: `benches/PROFILE.md`). The I/O
//! thread mostly sleeps in the disk, so a lower share costs it nothing while the CPU
//! has room; on a saturated CPU the kernel still gives it its weight's share, and
//! records wait in the buffer, where capacity pushes back on new requests.
//!
//! A job that panics is caught on the thread: the commit reports it as failed (and is
//! retried like any failure) and the thread and its sink stay up.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use crate::sink::SegmentSink;

/// How much less priority the I/O thread takes than the runtime's workers.
const NICE: i32 = 10;

type Job = Box<dyn FnOnce(&mut dyn SegmentSink) + Send>;

/// The I/O thread and the sink it owns. Dropping this ends the thread once its queued
/// jobs are done.
pub(crate) struct DiskThread {
    jobs: mpsc::Sender<Job>,
}

impl DiskThread {
    pub(crate) fn start(mut sink: Box<dyn SegmentSink>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("audit-io".into())
            .spawn(move || {
                lower_priority();
                while let Ok(job) = queue.recv() {
                    job(sink.as_mut());
                }
            })?;
        Ok(Self { jobs })
    }

    /// Runs `f` with the sink on the I/O thread. `Err` says why it gave no result: it
    /// panicked, or the thread is gone.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn SegmentSink) -> T + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |sink| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(sink)));
            let _ = tx.send(result.map_err(|panic| panic_message(&*panic)));
        });
        self.jobs
            .send(job)
            .map_err(|_| "the audit I/O thread is gone".to_owned())?;
        rx.await
            .map_err(|_| "the audit I/O thread is gone".to_owned())?
            .map_err(|why| format!("audit sink panicked: {why}"))
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Lowers the calling thread's priority; on Linux `setpriority` with a thread id affects
/// that thread alone. Elsewhere, and if the kernel refuses, the thread keeps its own.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE) {
        tracing::debug!(error = %e, "audit I/O thread keeps normal priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::Head;

    /// Records the segments it was asked to append to; panics on one numbered 13.
    #[derive(Default)]
    struct Probe {
        appended: std::sync::Arc<parking_lot::Mutex<Vec<u64>>>,
    }

    impl SegmentSink for Probe {
        fn append(&mut self, segment: u64, _lines: &[u8]) -> std::io::Result<()> {
            assert_ne!(segment, 13, "unlucky segment");
            self.appended.lock().push(segment);
            Ok(())
        }

        fn write_head(&mut self, _head: &Head) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn jobs_run_in_order_on_the_thread_and_a_panic_leaves_it_up() {
        let probe = Probe::default();
        let appended = std::sync::Arc::clone(&probe.appended);
        let disk = DiskThread::start(Box::new(probe)).unwrap();
        for segment in [1, 2] {
            disk.run(move |sink| sink.append(segment, b"x"))
                .await
                .unwrap()
                .unwrap();
        }
        let err = disk.run(|sink| sink.append(13, b"x")).await.unwrap_err();
        assert!(err.contains("unlucky segment"), "{err}");
        disk.run(|sink| sink.append(3, b"x"))
            .await
            .unwrap()
            .unwrap();
        let on = disk
            .run(|_| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(on.as_deref(), Some("audit-io"));
        assert_eq!(*appended.lock(), [1, 2, 3]);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_thread_runs_at_lower_priority_than_its_caller() {
        let disk = DiskThread::start(Box::new(Probe::default())).unwrap();
        let tid = disk.run(|_| rustix::thread::gettid()).await.unwrap();
        let stat =
            std::fs::read_to_string(format!("/proc/self/task/{}/stat", tid.as_raw_nonzero()))
                .unwrap();
        // Field 19 of stat (the 17th after the parenthesised name) is the nice value.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
        let own = rustix::process::getpriority_process(None).unwrap();
        assert_eq!(nice, (own + NICE).min(19), "{stat}");
    }
}
