//! Backpressure and failing disks: the writer pushes back and retries, it never drops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::task::{Context, Waker};
use std::time::Duration;

use common::{Control, Event, TestSink, config, record, wait_for};
use switchboard_audit::{
    AuditConfig, AuditLog, Filter, VerifyErrorKind, scan, start_with_sink, verify,
};

async fn start_controlled(
    cfg: AuditConfig,
) -> (
    AuditLog,
    std::sync::Arc<Control>,
    tokio::sync::mpsc::UnboundedReceiver<Event>,
) {
    let (ctl, events) = Control::new();
    let sink_ctl = ctl.clone();
    let log = start_with_sink(cfg, move |files| TestSink {
        inner: files,
        ctl: sink_ctl,
    })
    .await
    .unwrap();
    (log, ctl, events)
}

#[tokio::test]
async fn a_full_log_makes_reserve_wait_and_try_reserve_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.capacity = 2;
    let (log, ctl, mut events) = start_controlled(cfg).await;

    // A slot dropped unused gives its room back.
    drop(log.try_reserve().unwrap());

    ctl.close_gate();
    let a = tokio::spawn(
        log.reserve()
            .await
            .unwrap()
            .append(record("acme", 1, 200, 1)),
    );
    let b = tokio::spawn(
        log.reserve()
            .await
            .unwrap()
            .append(record("acme", 2, 200, 1)),
    );
    wait_for(&mut events, |e| matches!(e, Event::Entered(_))).await;

    assert!(log.try_reserve().is_none());
    let mut third = Box::pin(log.reserve());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        third.as_mut().poll(&mut cx).is_pending(),
        "no room while two records are in flight"
    );
    assert!(!a.is_finished() && !b.is_finished());

    ctl.open_gate();
    let slot = third.await.unwrap();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    assert_eq!(slot.append(record("acme", 3, 200, 1)).await.unwrap().seq, 3);
    log.shutdown().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 3);
}

#[tokio::test]
async fn a_failing_disk_keeps_records_until_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retry_min = Duration::from_millis(2);
    cfg.retry_max = Duration::from_millis(10);
    let (log, ctl, mut events) = start_controlled(cfg).await;
    log.append(record("acme", 0, 200, 1)).await.unwrap();
    assert!(log.healthy());

    ctl.fail_appends(true);
    let pending: Vec<_> = (1..=10u64)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(record("acme", i, 200, 1)).await })
        })
        .collect();
    for _ in 0..3 {
        wait_for(&mut events, |e| *e == Event::Failed).await;
    }
    assert!(!log.healthy());
    assert!(
        pending.iter().all(|p| !p.is_finished()),
        "nothing is acknowledged while failing"
    );
    // Records spawned above are all sent by the time the retries run; none was dropped.
    while log.backlog() < 10 {
        tokio::task::yield_now().await;
    }

    ctl.fail_appends(false);
    let mut seqs = Vec::new();
    for p in pending {
        seqs.push(p.await.unwrap().unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=11).collect::<Vec<_>>());
    assert!(log.healthy());
    assert_eq!(log.backlog(), 0);
    log.shutdown().await.unwrap();

    assert_eq!(verify(dir.path()).unwrap().records, 11);
    let stats = scan(dir.path(), &Filter::default(), |_| {}).unwrap();
    assert_eq!(stats.records, 11);
}

#[tokio::test]
async fn a_failed_head_update_still_acknowledges_durable_records_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retry_min = Duration::from_millis(2);
    cfg.retry_max = Duration::from_millis(10);
    let (log, ctl, mut events) = start_controlled(cfg).await;

    ctl.fail_head(true);
    let a = log.append(record("acme", 0, 200, 1)).await.unwrap();
    assert_eq!(a.seq, 1);
    wait_for(&mut events, |e| *e == Event::Failed).await;
    assert!(!log.healthy());
    let err = verify(dir.path()).unwrap_err();
    assert_eq!(err.kind, VerifyErrorKind::MissingHead, "{err}");
    let mut flushed = Box::pin(log.flush());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(flushed.as_mut().poll(&mut cx).is_pending());

    ctl.fail_head(false);
    // The retry rewrites HEAD on its own, without a new record; flush waits for it.
    flushed.await.unwrap();
    assert!(log.healthy());
    assert_eq!(verify(dir.path()).unwrap().last_hash, a.hash);
    log.shutdown().await.unwrap();
}

#[tokio::test]
async fn while_records_stream_in_head_is_rewritten_once_per_interval_and_is_current_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.head_interval = Duration::from_secs(3600);
    let (log, _ctl, mut events) = start_controlled(cfg).await;
    // One at a time: every record is its own group commit.
    for i in 0..20 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    let (mut writes, mut heads) = (0, 0);
    while let Ok(e) = events.try_recv() {
        match e {
            Event::Written(_) => writes += 1,
            Event::Head => heads += 1,
            _ => {}
        }
    }
    assert_eq!(writes, 20);
    assert_eq!(
        heads, 1,
        "only the first commit rewrote HEAD, the rest were within the interval"
    );
    log.flush().await.unwrap();
    assert_eq!(
        verify(dir.path()).unwrap().records,
        20,
        "flush waits for HEAD to catch up, so the chain verifies to its end"
    );
    log.shutdown().await.unwrap();
}
