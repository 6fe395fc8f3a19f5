//! `scan` streams records in seq order through a filter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{config, record, segments};
use switchboard_audit::{AuditError, Filter, scan, start};
use switchboard_core::Money;

async fn sample(dir: &Path) {
    let mut cfg = config(dir);
    cfg.max_segment_bytes = 1_500;
    let log = start(cfg).await.unwrap();
    // time 1000..1019; tenants alternate; every fifth request was blocked (429).
    for i in 0..20u64 {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        let status = if i % 5 == 4 { 429 } else { 200 };
        log.append(record(tenant, 1_000 + i, status, 10))
            .await
            .unwrap();
    }
    log.shutdown().await.unwrap();
}

fn times(dir: &Path, filter: &Filter) -> Vec<u64> {
    let mut out = Vec::new();
    scan(dir, filter, |r| out.push(r.time_ms)).unwrap();
    out
}

#[tokio::test]
async fn an_empty_filter_yields_every_record_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path()).await;
    let mut seqs = Vec::new();
    let stats = scan(dir.path(), &Filter::default(), |r| seqs.push(r.seq)).unwrap();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert!(stats.segments > 1, "{stats:?}");
    assert_eq!(
        (stats.records, stats.matched, stats.partial_lines),
        (20, 20, 0)
    );
}

#[tokio::test]
async fn the_time_range_is_from_inclusive_to_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path()).await;
    let f = Filter {
        from_ms: Some(1_005),
        to_ms: Some(1_008),
        ..Filter::default()
    };
    assert_eq!(times(dir.path(), &f), vec![1_005, 1_006, 1_007]);
}

#[tokio::test]
async fn tenant_and_status_narrow_the_result_together() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path()).await;
    let acme = Filter {
        tenant: Some("acme".into()),
        ..Filter::default()
    };
    assert_eq!(times(dir.path(), &acme).len(), 10);
    let blocked = Filter {
        status: Some(429),
        ..Filter::default()
    };
    assert_eq!(
        times(dir.path(), &blocked),
        vec![1_004, 1_009, 1_014, 1_019]
    );
    let both = Filter {
        tenant: Some("acme".into()),
        status: Some(429),
        from_ms: Some(1_010),
        to_ms: None,
    };
    assert_eq!(times(dir.path(), &both), vec![1_014]);
}

#[tokio::test]
async fn spend_can_be_rebuilt_from_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path()).await;
    let mut spend = Money::ZERO;
    let f = Filter {
        tenant: Some("globex".into()),
        ..Filter::default()
    };
    scan(dir.path(), &f, |r| spend += r.cost()).unwrap();
    assert_eq!(spend, Money(100));
}

#[tokio::test]
async fn a_partial_last_line_is_skipped_and_a_garbled_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path()).await;
    let last = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(br#"{"seq":21,"pr"#);
    std::fs::write(&last, &bytes).unwrap();
    let stats = scan(dir.path(), &Filter::default(), |_| {}).unwrap();
    assert_eq!((stats.records, stats.partial_lines), (20, 1));

    bytes.extend_from_slice(b"\n");
    std::fs::write(&last, &bytes).unwrap();
    let err = scan(dir.path(), &Filter::default(), |_| {}).unwrap_err();
    assert!(matches!(err, AuditError::Malformed { .. }), "{err}");
}
