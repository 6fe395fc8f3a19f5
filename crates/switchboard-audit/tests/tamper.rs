//! `verify` catches every kind of tampering, and says where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{config, record, segments};
use switchboard_audit::{VerifyError, VerifyErrorKind, line_hash, start, verify};

/// A stopped log of `n` records (costs 100, 200, ...), `per_segment` records a segment.
async fn log_of(dir: &Path, n: u64, max_segment_bytes: u64) {
    let mut cfg = config(dir);
    cfg.max_segment_bytes = max_segment_bytes;
    let log = start(cfg).await.unwrap();
    for i in 1..=n {
        log.append(record("acme", 1_000 + i, 200, 100 * i as i64))
            .await
            .unwrap();
    }
    log.shutdown().await.unwrap();
}

fn only_segment(dir: &Path) -> PathBuf {
    let mut s = segments(dir);
    assert_eq!(s.len(), 1);
    s.pop().unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn expect_err(dir: &Path) -> VerifyError {
    verify(dir).expect_err("tampering must be detected")
}

#[tokio::test]
async fn an_untouched_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        (report.segments, report.records, report.last_seq),
        (1, 10, 10)
    );
    let last = lines(&only_segment(dir.path())).pop().unwrap();
    assert_eq!(report.last_hash, line_hash(last.as_bytes()));
}

#[test]
fn an_empty_directory_is_an_empty_valid_log() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(verify(dir.path()).unwrap().records, 0);
}

#[tokio::test]
async fn editing_one_byte_of_a_record_breaks_the_link_of_the_next() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    assert!(l[4].contains(r#""cost_nanos":500,"#));
    l[4] = l[4].replace(r#""cost_nanos":500,"#, r#""cost_nanos":5,"#);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!(
        (err.file.clone(), err.line, err.seq),
        (seg, 6, Some(6)),
        "{err}"
    );
    assert!(matches!(err.kind, VerifyErrorKind::BadLink { .. }), "{err}");
}

#[tokio::test]
async fn swapping_two_records_is_detected_where_the_order_breaks() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l.swap(3, 6);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!(err.line, 4, "{err}");
    assert_eq!(
        err.kind,
        VerifyErrorKind::SeqGap {
            expected: 4,
            found: 7
        }
    );
}

#[tokio::test]
async fn renumbering_after_a_reorder_still_breaks_the_link() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l.swap(3, 4);
    l[3] = l[3].replace(r#"{"seq":5,"#, r#"{"seq":4,"#);
    l[4] = l[4].replace(r#"{"seq":4,"#, r#"{"seq":5,"#);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!((err.line, err.seq), (4, Some(4)), "{err}");
    assert!(matches!(err.kind, VerifyErrorKind::BadLink { .. }), "{err}");
}

#[tokio::test]
async fn deleting_a_middle_record_leaves_a_seq_gap() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l.remove(4);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!((err.line, err.seq), (5, Some(6)), "{err}");
    assert_eq!(
        err.kind,
        VerifyErrorKind::SeqGap {
            expected: 5,
            found: 6
        }
    );
}

#[tokio::test]
async fn deleting_the_last_records_disagrees_with_head() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l.truncate(8);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!(err.file, dir.path().join("HEAD"));
    assert!(
        matches!(
            err.kind,
            VerifyErrorKind::HeadMismatch {
                head_seq: 10,
                last_seq: 8,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn editing_the_last_record_disagrees_with_head() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 3, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l[2] = l[2].replace(r#""status":200"#, r#""status":201"#);
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert!(
        matches!(
            err.kind,
            VerifyErrorKind::HeadMismatch {
                head_seq: 3,
                last_seq: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn deleting_a_middle_segment_leaves_a_seq_gap_at_the_next() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 30, 1_500).await;
    let segs = segments(dir.path());
    assert!(segs.len() >= 3, "{segs:?}");
    let deleted_lines = lines(&segs[1]).len() as u64;
    let expected = lines(&segs[0]).len() as u64 + 1;
    std::fs::remove_file(&segs[1]).unwrap();

    let err = expect_err(dir.path());
    assert_eq!((err.file.clone(), err.line), (segs[2].clone(), 1), "{err}");
    assert_eq!(
        err.kind,
        VerifyErrorKind::SeqGap {
            expected,
            found: expected + deleted_lines
        }
    );
}

#[tokio::test]
async fn deleting_the_last_segment_disagrees_with_head() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 30, 1_500).await;
    let segs = segments(dir.path());
    std::fs::remove_file(segs.last().unwrap()).unwrap();
    let err = expect_err(dir.path());
    assert!(
        matches!(err.kind, VerifyErrorKind::HeadMismatch { head_seq: 30, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn deleting_every_segment_but_head_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 3, u64::MAX).await;
    std::fs::remove_file(only_segment(dir.path())).unwrap();
    let err = expect_err(dir.path());
    assert!(
        matches!(
            err.kind,
            VerifyErrorKind::HeadMismatch {
                head_seq: 3,
                last_seq: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn renaming_a_segment_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 3, u64::MAX).await;
    let seg = only_segment(dir.path());
    let renamed = dir.path().join("audit-00000000000000000002.jsonl");
    std::fs::rename(&seg, &renamed).unwrap();
    let err = expect_err(dir.path());
    assert_eq!((err.file.clone(), err.line), (renamed, 1));
    assert_eq!(
        err.kind,
        VerifyErrorKind::SegmentName {
            named: 2,
            first_seq: 1
        }
    );
}

#[tokio::test]
async fn truncating_mid_line_is_a_partial_line() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let bytes = std::fs::read(&seg).unwrap();
    let cut = bytes.len() - lines(&seg)[9].len() / 2;
    std::fs::write(&seg, &bytes[..cut]).unwrap();

    let err = expect_err(dir.path());
    assert_eq!((err.file.clone(), err.line), (seg, 10), "{err}");
    assert_eq!(err.kind, VerifyErrorKind::PartialLine);
}

#[tokio::test]
async fn a_line_that_is_not_a_record_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 5, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l[2] = r#"{"seq":3,"hello":"world"}"#.to_owned();
    write_lines(&seg, &l);

    let err = expect_err(dir.path());
    assert_eq!(err.line, 3, "{err}");
    assert!(matches!(err.kind, VerifyErrorKind::Malformed(_)), "{err}");
}

#[tokio::test]
async fn records_without_head_are_not_vouched_for() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 2, u64::MAX).await;
    std::fs::remove_file(dir.path().join("HEAD")).unwrap();
    assert_eq!(expect_err(dir.path()).kind, VerifyErrorKind::MissingHead);
}

#[tokio::test]
async fn the_error_message_names_file_line_seq_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 10, u64::MAX).await;
    let seg = only_segment(dir.path());
    let mut l = lines(&seg);
    l.remove(4);
    write_lines(&seg, &l);
    let msg = expect_err(dir.path()).to_string();
    assert!(
        msg.ends_with(".jsonl:5 (seq 6): expected seq 5, found 6"),
        "{msg}"
    );
}

/// The replay at start reads and checks in one pass: on an untouched log it yields what
/// `scan` yields; on an edited one it stops with the error `verify` names.
#[tokio::test]
async fn scan_verified_yields_what_scan_does_and_stops_where_verify_does() {
    use switchboard_audit::{Filter, scan, scan_verified};
    let dir = tempfile::tempdir().unwrap();
    log_of(dir.path(), 12, 600).await;
    assert!(segments(dir.path()).len() > 2, "several segments");
    let filter = Filter {
        from_ms: Some(1_004),
        ..Filter::default()
    };
    let (mut plain, mut checked) = (Vec::new(), Vec::new());
    let plain_stats = scan(dir.path(), &filter, |r| plain.push(r.seq)).unwrap();
    let checked_stats = scan_verified(dir.path(), &filter, |r| checked.push(r.seq)).unwrap();
    assert_eq!(checked, plain);
    assert_eq!(plain, (4..=12).collect::<Vec<u64>>());
    assert_eq!(
        (checked_stats.records, checked_stats.matched),
        (plain_stats.records, plain_stats.matched)
    );

    let seg = segments(dir.path())[1].clone();
    let mut l = lines(&seg);
    l[0] = l[0].replacen(r#""cost_nanos":"#, r#""cost_nanos":1"#, 1);
    write_lines(&seg, &l);
    let expected = expect_err(dir.path());
    let got = scan_verified(dir.path(), &Filter::default(), |_| {}).unwrap_err();
    assert_eq!(got, expected);
    assert!(matches!(got.kind, VerifyErrorKind::BadLink { .. }), "{got}");
}
