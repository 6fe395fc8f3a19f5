use super::*;

fn settlement(id: &str, period: u64, reserved: i64, charged: i64) -> Settlement {
    Settlement {
        request_id: id.into(),
        period,
        reserved,
        charged,
        stream: 0,
        seq: 0,
    }
}

#[test]
fn grants_never_exceed_what_is_left_under_the_limit() {
    let mut ledger = QuotaLedger::new(100);
    assert_eq!(ledger.grant(7, "a", 60, 10).amount, 60);
    let second = ledger.grant(7, "b", 60, 10);
    assert_eq!(second.amount, 40);
    assert_eq!(second.available_after, 0);
    assert_eq!(ledger.grant(7, "a", 60, 1).amount, 0);
    assert!(ledger.within_limit());
    assert_eq!(ledger.leased(), 100);
}

#[test]
fn a_grant_smaller_than_the_asking_reservation_is_a_refusal() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 95, 95);
    let refused = ledger.grant(1, "b", 20, 10);
    assert_eq!(refused.amount, 0);
    assert_eq!(refused.available_after, 5);
    assert_eq!(ledger.lease_of("b"), 0);
    assert_eq!(ledger.grant(1, "b", 20, 5).amount, 5);
}

#[test]
fn a_settlement_moves_the_real_cost_from_the_lease_to_spent() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 50, 10);
    assert_eq!(
        ledger.settle("a", &settlement("r1", 1, 10, 4)),
        Settled::Applied
    );
    assert_eq!(ledger.spent(), 4);
    assert_eq!(ledger.lease_of("a"), 46);
    assert_eq!(ledger.status(1).available, 50);
}

#[test]
fn duplicate_settlement_ids_are_applied_once() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 50, 10);
    let s = settlement("r1", 1, 10, 10);
    assert_eq!(ledger.settle("a", &s), Settled::Applied);
    assert_eq!(ledger.settle("a", &s), Settled::Duplicate);
    assert_eq!(ledger.spent(), 10);
    assert_eq!(ledger.lease_of("a"), 40);
}

#[test]
fn a_new_period_starts_from_zero_and_voids_every_lease() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 50, 10);
    ledger.settle("a", &settlement("r1", 1, 10, 10));
    let grant = ledger.grant(2, "b", 30, 10);
    assert_eq!((grant.amount, grant.period, grant.spent), (30, 2, 0));
    assert_eq!(ledger.lease_of("a"), 0);
    assert_eq!(ledger.spent_in(1), Some(10));
}

#[test]
fn a_late_settlement_of_the_previous_period_does_not_charge_the_new_one() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 50, 10);
    ledger.grant(2, "a", 50, 10);
    let late = settlement("r1", 1, 10, 7);
    assert_eq!(ledger.settle("a", &late), Settled::Late);
    assert_eq!(ledger.settle("a", &late), Settled::Duplicate);
    assert_eq!(ledger.spent(), 0);
    assert_eq!(ledger.lease_of("a"), 50);
    assert_eq!(ledger.spent_in(1), Some(7));
}

#[test]
fn a_settlement_older_than_the_previous_period_is_expired() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 50, 10);
    ledger.grant(2, "a", 50, 10);
    ledger.grant(3, "a", 50, 10);
    assert_eq!(
        ledger.settle("a", &settlement("r1", 1, 10, 7)),
        Settled::Expired
    );
    assert_eq!(ledger.spent(), 0);
    assert_eq!(ledger.spent_in(1), None);
}

#[test]
fn a_returned_lease_can_be_granted_again() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 100, 10);
    ledger.give_back("a", 1, 30);
    assert_eq!(ledger.lease_of("a"), 70);
    assert_eq!(ledger.grant(1, "b", 50, 10).amount, 30);
}

#[test]
fn returning_a_lease_of_an_ended_period_changes_nothing() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 40, 10);
    ledger.grant(2, "a", 40, 10);
    ledger.give_back("a", 1, 40);
    assert_eq!(ledger.lease_of("a"), 40);
}

#[test]
fn lowering_the_limit_refuses_grants_until_spend_fits_without_revoking_leases() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 60, 10);
    ledger.settle("a", &settlement("r1", 1, 10, 10));
    ledger.set_limit(40);
    assert_eq!(ledger.lease_of("a"), 50);
    assert_eq!(ledger.grant(1, "b", 10, 1).amount, 0);
    assert_eq!(ledger.status(1).available, 0);
    ledger.give_back("a", 1, 50);
    assert_eq!(ledger.grant(1, "b", 100, 1).amount, 30);
}

#[test]
fn an_overrun_is_owed_and_repaid_out_of_the_next_grant() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 10, 10);
    // Reserved 10, really cost 15: the node now owes 5.
    ledger.settle("a", &settlement("r1", 1, 10, 15));
    assert_eq!(ledger.lease_of("a"), -5);
    assert_eq!(ledger.leased(), 0);
    assert_eq!(ledger.status(1).available, 85);
    // The node asks for its debt plus a reservation of 10; the overrun is absorbed once.
    let grant = ledger.grant(1, "a", 90, 15);
    assert_eq!(grant.amount, 90);
    assert_eq!(ledger.lease_of("a"), 85);
    assert!(ledger.within_limit());
}

#[test]
fn restore_sets_the_spend_of_its_period() {
    let mut ledger = QuotaLedger::new(100);
    ledger.restore(5, 70);
    assert_eq!(ledger.status(5).spent, 70);
    assert_eq!(ledger.grant(5, "a", 50, 10).amount, 30);
    ledger.restore(4, 1);
    assert_eq!(ledger.spent(), 70);
}

#[test]
fn the_status_of_an_ended_period_reads_as_a_fresh_one() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 60, 10);
    ledger.settle("a", &settlement("r1", 1, 10, 10));
    let status = ledger.status(1);
    assert_eq!(
        (status.spent, status.leased, status.available),
        (10, 50, 40)
    );
    let fresh = ledger.status(2);
    assert_eq!((fresh.period, fresh.spent, fresh.leased), (2, 0, 0));
    assert_eq!(fresh.available, 100);
}

#[test]
fn a_crashed_node_s_lease_counts_until_it_rejoins_with_its_journal() {
    let mut ledger = QuotaLedger::new(100);
    ledger.grant(1, "a", 40, 10);
    ledger.grant(1, "b", 30, 10);
    // a settles one call, then crashes with two more unreported (journal: 4 + 6 + 5).
    ledger.settle("a", &settlement("r1", 1, 10, 4));
    assert_eq!(ledger.status(1).spent, 4);
    // Meanwhile its lease still counts against the limit: b cannot take it.
    assert_eq!(ledger.status(1).available, 100 - 4 - 36 - 30);
    assert_eq!(
        ledger.rejoin(1, "a", 15),
        11,
        "the unreported calls are charged"
    );
    let status = ledger.status(1);
    assert_eq!(status.spent, 15);
    assert_eq!(ledger.lease_of("a"), 0, "the old life's lease is dropped");
    assert_eq!(status.available, 100 - 15 - 30);
    // A clean restart (journal equals settlements) changes nothing.
    assert_eq!(ledger.rejoin(1, "a", 15), 0);
    assert_eq!(ledger.status(1).spent, 15);
    // A journal of an ended period charges nothing now.
    ledger.grant(2, "a", 10, 10);
    assert_eq!(ledger.rejoin(1, "a", 99), 0);
    assert_eq!(ledger.status(2).spent, 0);
}

#[test]
fn a_retried_grant_or_give_back_is_applied_once() {
    let mut ledger = QuotaLedger::new(100);
    let first = ledger.grant_once(7, 1, "a", 30, 10);
    assert_eq!(first.amount, 30);
    // The answer was lost; the node asks again with the same id.
    assert_eq!(ledger.grant_once(7, 1, "a", 30, 10), first);
    assert_eq!(ledger.lease_of("a"), 30, "granted once");
    // A new request is a new grant.
    assert_eq!(ledger.grant_once(8, 1, "a", 30, 10).amount, 30);
    assert_eq!(ledger.lease_of("a"), 60);

    ledger.give_back_once(9, "a", 1, 20);
    ledger.give_back_once(9, "a", 1, 20);
    assert_eq!(ledger.lease_of("a"), 40, "returned once");

    // A refusal changed nothing, so its retry is weighed afresh.
    assert_eq!(ledger.grant_once(10, 1, "b", 70, 70).amount, 0);
    assert_eq!(ledger.lease_of("b"), 0);
    ledger.give_back_once(11, "a", 1, 40);
    assert_eq!(ledger.grant_once(10, 1, "b", 70, 70).amount, 70);

    // Both survive a hand-over in the snapshot.
    let mut moved = QuotaLedger::from_snapshot(&ledger.snapshot());
    assert_eq!(moved.grant_once(10, 1, "b", 70, 70).amount, 70);
    assert_eq!(moved.lease_of("b"), 70);
    moved.give_back_once(11, "a", 1, 40);
    assert_eq!(moved.lease_of("a"), 0);
    assert_eq!(moved.status(1).available, 30);
}

/// `settlement` numbered: place `seq` of stream `stream`.
fn numbered(id: &str, stream: u64, seq: u64) -> Settlement {
    Settlement {
        stream,
        seq,
        ..settlement(id, 1, 10, 10)
    }
}

#[test]
fn a_repeat_is_refused_by_its_place_however_late_and_a_new_stream_starts_afresh() {
    let mut ledger = QuotaLedger::new(1_000);
    for seq in 1..=3 {
        assert_eq!(
            ledger.settle("a", &numbered(&format!("r{seq}"), 5, seq)),
            Settled::Applied
        );
    }
    // Taken over from a state that carries none of those ids (more than the snapshot's
    // share of later ids came after them): the places still tell a resend.
    let mut state = ledger.snapshot();
    state.current.recent_ids.clear();
    let mut moved = QuotaLedger::from_snapshot(&state);
    assert_eq!(moved.settle("a", &numbered("r2", 5, 2)), Settled::Duplicate);
    assert_eq!(moved.settle("a", &numbered("r3", 5, 3)), Settled::Duplicate);
    assert_eq!(moved.spent(), 30, "nothing counted twice");
    // The resent batch's newer part is new.
    assert_eq!(moved.settle("a", &numbered("r4", 5, 4)), Settled::Applied);
    // Another node's places are its own.
    assert_eq!(moved.settle("b", &numbered("q1", 5, 1)), Settled::Applied);
    // "a" restarted: a later stream begins again at 1.
    assert_eq!(moved.settle("a", &numbered("s1", 9, 1)), Settled::Applied);
    // A late settlement of "a"'s earlier life is told by its id, as unnumbered ones are.
    assert_eq!(moved.settle("a", &numbered("r4", 5, 4)), Settled::Duplicate);
    assert_eq!(moved.settle("a", &numbered("r5", 5, 5)), Settled::Applied);
    assert_eq!(moved.settle("a", &numbered("s1", 9, 1)), Settled::Duplicate);
    assert_eq!(moved.spent(), 70);
}
