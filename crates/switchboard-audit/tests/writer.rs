//! The writer: group commit, rotation, restart, ownership of the directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::task::{Context, Waker};
use std::time::Duration;

use common::{Control, Event, TestSink, config, record, segments, wait_for};
use switchboard_audit::{
    AuditError, AuditRecord, Filter, GENESIS_PREV, HeadCheck, scan, start, start_with_sink, verify,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_appends_all_become_durable_in_far_fewer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let tasks: Vec<_> = (0..1000u64)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(record("acme", i, 200, 5)).await })
        })
        .collect();
    let mut appended = Vec::new();
    for t in tasks {
        appended.push(t.await.unwrap().unwrap());
    }
    appended.sort_by_key(|a| a.seq);
    let seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    assert_eq!(log.backlog(), 0);
    let commits = log.commits();
    assert!(
        commits <= 100,
        "group commit should batch: {commits} commits for 1000 records"
    );
    log.shutdown().await.unwrap();

    let report = verify(dir.path()).unwrap();
    assert_eq!(report.records, 1000);
    assert_eq!(report.last_seq, 1000);
    assert_eq!(report.last_hash, appended[999].hash);
}

#[tokio::test(flavor = "current_thread")]
async fn everything_that_arrives_during_a_commit_goes_out_in_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ctl, mut events) = Control::new();
    let sink_ctl = ctl.clone();
    let mut cfg = config(dir.path());
    cfg.max_batch = 100;
    let log = start_with_sink(cfg, move |files| TestSink {
        inner: files,
        ctl: sink_ctl,
    })
    .await
    .unwrap();

    ctl.close_gate();
    let first = tokio::spawn({
        let log = log.clone();
        async move { log.append(record("acme", 0, 200, 1)).await }
    });
    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::Entered(_))).await,
        Event::Entered(1)
    );
    let rest: Vec<_> = (1..1000u64)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(record("acme", i, 200, 1)).await })
        })
        .collect();
    // The writer is stuck in the first commit; every other record queues behind it.
    while log.backlog() < 1000 {
        tokio::task::yield_now().await;
    }
    ctl.open_gate();
    first.await.unwrap().unwrap();
    for t in rest {
        t.await.unwrap().unwrap();
    }
    log.shutdown().await.unwrap();

    let mut batches = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let Event::Written(n) = ev {
            batches.push(n);
        }
    }
    let mut expected = vec![1];
    expected.extend([100; 9]);
    expected.push(99);
    assert_eq!(
        batches, expected,
        "one record, then the queue in batches of max_batch"
    );
    assert_eq!(verify(dir.path()).unwrap().records, 1000);
}

#[tokio::test]
async fn segments_rotate_by_size_and_the_chain_runs_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_segment_bytes = 2_000;
    let log = start(cfg).await.unwrap();
    for i in 0..40 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    log.shutdown().await.unwrap();

    let files = segments(dir.path());
    assert!(files.len() >= 4, "expected several segments, got {files:?}");
    let line_len = std::fs::read_to_string(&files[0])
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .len() as u64
        + 1;
    for f in &files {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len < 2_000 + line_len, "{} is {len} bytes", f.display());
    }
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.segments, report.records), (files.len(), 40));
}

#[tokio::test]
async fn segments_rotate_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_segment_age = Duration::ZERO;
    let log = start(cfg).await.unwrap();
    for i in 0..3 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    assert_eq!(segments(dir.path()).len(), 3);
    assert_eq!(verify(dir.path()).unwrap().records, 3);
}

#[tokio::test]
async fn the_writer_owns_seq_prev_and_node() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let forged = AuditRecord {
        seq: 99,
        prev: "f".repeat(64),
        node: "elsewhere".into(),
        ..record("acme", 1, 200, 1)
    };
    let a = log.append(forged).await.unwrap();
    assert_eq!(a.seq, 1);
    log.shutdown().await.unwrap();
    let mut got = Vec::new();
    scan(dir.path(), &Filter::default(), |r| got.push(r)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].seq, got[0].prev.as_str(), got[0].node.as_str()),
        (1, GENESIS_PREV, "node-a")
    );
}

#[tokio::test]
async fn a_restart_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let mut last = None;
    for i in 0..5 {
        last = Some(log.append(record("acme", i, 200, 1)).await.unwrap());
    }
    log.shutdown().await.unwrap();

    let log = start(config(dir.path())).await.unwrap();
    let rec = log.recovery().clone();
    assert_eq!(
        (rec.last_seq, rec.head.clone(), rec.cut_partial_bytes),
        (5, HeadCheck::Matched, 0)
    );
    assert_eq!(Some(rec.last_hash), last.map(|a| a.hash));
    for i in 5..10 {
        let a = log.append(record("acme", i, 200, 1)).await.unwrap();
        assert_eq!(a.seq, i + 1);
    }
    log.shutdown().await.unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.segments), (10, 2));
}

#[tokio::test]
async fn a_partial_line_left_by_a_crash_is_cut_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    for i in 0..3 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let garbage = br#"{"seq":4,"prev":"ab12"#;
    bytes.extend_from_slice(garbage);
    std::fs::write(&seg, &bytes).unwrap();

    let log = start(config(dir.path())).await.unwrap();
    assert_eq!(log.recovery().cut_partial_bytes, garbage.len() as u64);
    assert_eq!(log.recovery().last_seq, 3);
    assert_eq!(log.append(record("acme", 3, 200, 1)).await.unwrap().seq, 4);
    log.shutdown().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 4);
}

/// A log of four records whose `HEAD` names the second, as a crash between a commit and
/// its `HEAD` update leaves it.
async fn four_records_with_head_at_the_second() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let mut hashes = Vec::new();
    for i in 0..4 {
        hashes.push(log.append(record("acme", i, 200, 1)).await.unwrap().hash);
    }
    log.shutdown().await.unwrap();
    let stale = format!(r#"{{"seq":2,"hash":"{}"}}"#, hashes[1]);
    std::fs::write(dir.path().join("HEAD"), stale).unwrap();
    dir
}

#[tokio::test]
async fn a_head_one_commit_behind_is_accepted_as_a_crash_before_its_update() {
    let dir = four_records_with_head_at_the_second().await;

    let log = start(config(dir.path())).await.unwrap();
    assert_eq!(log.recovery().head, HeadCheck::Lagged { head_seq: 2 });
    assert_eq!(log.append(record("acme", 4, 200, 1)).await.unwrap().seq, 5);
    log.shutdown().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 5);
}

/// A node restarted after a crash that left `HEAD` behind (or never wrote it) brings it
/// up to the chain's end itself, records or not: otherwise a node that writes nothing
/// after its restart would fail `verify` for ever.
#[tokio::test]
async fn a_restart_brings_a_lagging_or_missing_head_up_to_date_without_new_records() {
    let dir = four_records_with_head_at_the_second().await;
    assert!(verify(dir.path()).is_err(), "a lagging HEAD fails verify");

    let log = start(config(dir.path())).await.unwrap();
    assert_eq!(log.recovery().head, HeadCheck::Lagged { head_seq: 2 });
    log.shutdown().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 4);

    std::fs::remove_file(dir.path().join("HEAD")).unwrap();
    let log = start(config(dir.path())).await.unwrap();
    assert_eq!(log.recovery().head, HeadCheck::Missing);
    // Without a shutdown: a flush waits for the repaired HEAD too.
    log.flush().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 4);
    log.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_log_shorter_than_its_head_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    for i in 0..4 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    let seg = segments(dir.path()).pop().unwrap();
    let text = std::fs::read_to_string(&seg).unwrap();
    let kept: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&seg, kept).unwrap();

    match start(config(dir.path())).await {
        Err(AuditError::Recovery { reason, .. }) => assert!(reason.contains("seq 4"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_second_writer_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    assert!(matches!(
        start(config(dir.path())).await,
        Err(AuditError::Locked { .. })
    ));
    log.shutdown().await.unwrap();
    start(config(dir.path()))
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();
}

#[tokio::test]
async fn after_shutdown_appends_fail_instead_of_vanishing() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let other = log.clone();
    log.append(record("acme", 0, 200, 1)).await.unwrap();
    // Room reserved before the shutdown and used after it: refused, not queued for ever.
    let early = other.try_reserve().unwrap();
    log.shutdown().await.unwrap();
    assert!(matches!(
        early.append(record("acme", 2, 200, 1)).await,
        Err(AuditError::Closed)
    ));
    assert!(matches!(
        other.append(record("acme", 1, 200, 1)).await,
        Err(AuditError::Closed)
    ));
    assert!(other.try_reserve().is_none());
    assert_eq!(verify(dir.path()).unwrap().records, 1);
}

#[tokio::test]
async fn flush_returns_once_everything_before_it_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let mut appends: Vec<_> = (0..20)
        .map(|i| Box::pin(log.try_reserve().unwrap().append(record("acme", i, 200, 1))))
        .collect();
    // One poll sends each record to the writer; nobody awaits them before the flush.
    let mut cx = Context::from_waker(Waker::noop());
    for a in &mut appends {
        assert!(a.as_mut().poll(&mut cx).is_pending());
    }
    log.flush().await.unwrap();
    assert_eq!(log.backlog(), 0);
    assert_eq!(verify(dir.path()).unwrap().records, 20);
    for a in appends {
        a.await.unwrap();
    }
    log.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_empty_segment_left_by_a_crash_is_valid_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    for i in 0..3 {
        log.append(record("acme", i, 200, 1)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    std::fs::write(dir.path().join("audit-00000000000000000004.jsonl"), b"").unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 3);

    let log = start(config(dir.path())).await.unwrap();
    assert_eq!(log.recovery().last_seq, 3);
    assert_eq!(log.append(record("acme", 3, 200, 1)).await.unwrap().seq, 4);
    log.shutdown().await.unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.records, report.segments), (4, 2));
}

#[tokio::test]
async fn dropping_every_handle_commits_and_releases_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    let slot = log.try_reserve().unwrap();
    drop(log);
    // The slot keeps the writer alive: its record still goes in.
    assert_eq!(slot.append(record("acme", 0, 200, 1)).await.unwrap().seq, 1);
    let log = loop {
        match start(config(dir.path())).await {
            Err(AuditError::Locked { .. }) => tokio::task::yield_now().await,
            other => break other.unwrap(),
        }
    };
    assert_eq!(log.recovery().last_seq, 1);
    log.shutdown().await.unwrap();
}

/// With a commit delay, records that arrive one after another within it wait for each
/// other and go out in one commit (one fsync instead of one per record); a flush (a
/// barrier, as at shutdown) commits at once instead of waiting the delay out.
#[tokio::test(flavor = "current_thread")]
async fn records_within_the_commit_delay_share_one_commit_and_a_flush_does_not_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.commit_delay = Duration::from_secs(3600);
    let log = start(cfg).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..5u64 {
        let l = log.clone();
        tasks.push(tokio::spawn(async move {
            l.append(record("acme", i, 200, 1)).await
        }));
        // Let the writer take this record (and, were there no delay, commit it) before
        // the next one arrives.
        while log.backlog() < i as usize + 1 {
            tokio::task::yield_now().await;
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(log.commits(), 0, "nothing commits before the delay is up");
    tokio::time::timeout(Duration::from_secs(30), log.flush())
        .await
        .expect("a flush commits at once, not after the hour-long delay")
        .unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(log.commits(), 1, "five records, one commit");
    assert_eq!(verify(dir.path()).unwrap().records, 5);
}

/// `send` hands the record to the writer before it returns: a flush right after covers
/// it even if nobody awaits its durability (the gateway sends a call's record when the
/// call ends and leaves the waiting to a task; a reader that flushes then must see it).
#[tokio::test]
async fn a_record_sent_before_a_flush_is_covered_by_it_unawaited() {
    let dir = tempfile::tempdir().unwrap();
    let log = start(config(dir.path())).await.unwrap();
    for i in 0..50u64 {
        drop(log.try_reserve().unwrap().send(record("acme", i, 200, 1)));
        log.flush().await.unwrap();
        let mut seen = 0;
        scan(dir.path(), &Filter::default(), |_| seen += 1).unwrap();
        assert_eq!(seen, i + 1, "record {i} durable by the flush after it");
    }
}

/// A record submitted without a waiter is written like any other: a flush after the
/// submit covers it, in order, and its slot's capacity comes back once it is durable.
#[tokio::test]
async fn submitted_records_are_durable_after_a_flush_and_free_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.capacity = 2;
    let log = start(cfg).await.unwrap();
    for i in 0..5 {
        // Capacity 2: the third submit finds room only once earlier records are durable.
        let slot = log.reserve().await.unwrap();
        slot.submit(record("acme", i, 200, 1));
    }
    log.flush().await.unwrap();
    let mut seen = Vec::new();
    scan(dir.path(), &Filter::default(), |r| seen.push(r.time_ms)).unwrap();
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    assert!(log.try_reserve().is_some(), "every slot is free again");
    log.shutdown().await.unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 5);
}

/// Says when it is dropped.
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// What a record holds (the gateway: its call's ledger reports) is let go only once the
/// record is durable: not while the commit that writes it is still on the disk.
#[tokio::test(flavor = "current_thread")]
async fn a_submitted_records_hold_is_let_go_only_once_the_record_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (ctl, mut events) = Control::new();
    let sink_ctl = ctl.clone();
    let log = start_with_sink(config(dir.path()), move |files| TestSink {
        inner: files,
        ctl: sink_ctl,
    })
    .await
    .unwrap();

    ctl.close_gate();
    let (tx, mut released) = tokio::sync::oneshot::channel();
    let slot = log.reserve().await.unwrap();
    slot.submit_holding(
        record("acme", 7, 200, 1),
        Some(Box::new(DropSignal(Some(tx)))),
    );
    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::Entered(_))).await,
        Event::Entered(1)
    );
    // The writer is inside the commit, held at the gate: the record is not durable yet.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let early = released.try_recv().is_ok();
    ctl.open_gate();
    assert!(!early, "let go before the record was durable");
    released.await.unwrap();
    let mut seen = Vec::new();
    scan(dir.path(), &Filter::default(), |r| seen.push(r.time_ms)).unwrap();
    assert_eq!(seen, vec![7]);
    log.shutdown().await.unwrap();
}
