//! Shared test helpers: records, and a sink the test can stall or break.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Condvar, Mutex};
use switchboard_audit::{AuditConfig, AuditRecord, Decision, Head, SegmentSink};
use tokio::sync::mpsc;

/// A completed request for `tenant` at `time_ms`.
pub fn record(tenant: &str, time_ms: u64, status: u16, cost_nanos: i64) -> AuditRecord {
    AuditRecord {
        time_ms,
        request_id: format!("req-{time_ms}"),
        tenant: tenant.to_owned(),
        key: "key-1".into(),
        api: "openai".into(),
        endpoint: "chat".into(),
        model: "gpt".into(),
        served_model: Some("gpt-4o-mini".into()),
        provider: Some("openai".into()),
        attempts: 1,
        decision: if status == 429 {
            Decision::Blocked
        } else {
            Decision::Allowed
        },
        status,
        input_tokens: 100,
        output_tokens: 20,
        cost_nanos,
        latency_ms: 12,
        ..AuditRecord::default()
    }
}

pub fn config(dir: &Path) -> AuditConfig {
    AuditConfig::new(dir, "node-a")
}

/// The segment files of `dir`, sorted.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

/// What the test sink reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An append reached the sink (before the gate), with this many records.
    Entered(usize),
    /// An injected failure.
    Failed,
    /// An append went through to the files, with this many records.
    Written(usize),
    /// `HEAD` was rewritten.
    Head,
}

/// The test's remote control for a [`TestSink`].
pub struct Control {
    gate_open: Mutex<bool>,
    gate: Condvar,
    fail_appends: AtomicBool,
    fail_head: AtomicBool,
    events: mpsc::UnboundedSender<Event>,
}

impl Control {
    pub fn new() -> (Arc<Control>, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let ctl = Control {
            gate_open: Mutex::new(true),
            gate: Condvar::new(),
            fail_appends: AtomicBool::new(false),
            fail_head: AtomicBool::new(false),
            events: tx,
        };
        (Arc::new(ctl), rx)
    }

    pub fn close_gate(&self) {
        *self.gate_open.lock() = false;
    }

    pub fn open_gate(&self) {
        *self.gate_open.lock() = true;
        self.gate.notify_all();
    }

    pub fn fail_appends(&self, fail: bool) {
        self.fail_appends.store(fail, Ordering::SeqCst);
    }

    pub fn fail_head(&self, fail: bool) {
        self.fail_head.store(fail, Ordering::SeqCst);
    }

    fn wait_for_gate(&self) {
        let mut open = self.gate_open.lock();
        while !*open {
            self.gate.wait(&mut open);
        }
    }
}

/// Wraps the real sink: appends wait at the gate, then fail while told to.
pub struct TestSink<S> {
    pub inner: S,
    pub ctl: Arc<Control>,
}

impl<S: SegmentSink> SegmentSink for TestSink<S> {
    fn append(&mut self, segment: u64, lines: &[u8]) -> io::Result<()> {
        let records = lines.iter().filter(|&&b| b == b'\n').count();
        let _ = self.ctl.events.send(Event::Entered(records));
        self.ctl.wait_for_gate();
        if self.ctl.fail_appends.load(Ordering::SeqCst) {
            let _ = self.ctl.events.send(Event::Failed);
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected: disk full",
            ));
        }
        self.inner.append(segment, lines)?;
        let _ = self.ctl.events.send(Event::Written(records));
        Ok(())
    }

    fn write_head(&mut self, head: &Head) -> io::Result<()> {
        if self.ctl.fail_head.load(Ordering::SeqCst) {
            let _ = self.ctl.events.send(Event::Failed);
            return Err(io::Error::new(
                io::ErrorKind::ReadOnlyFilesystem,
                "injected: read-only",
            ));
        }
        let _ = self.ctl.events.send(Event::Head);
        self.inner.write_head(head)
    }
}

/// Waits for the next event matching `want`, skipping others.
pub async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    want: impl Fn(&Event) -> bool,
) -> Event {
    loop {
        let ev = rx.recv().await.expect("sink dropped");
        if want(&ev) {
            return ev;
        }
    }
}
