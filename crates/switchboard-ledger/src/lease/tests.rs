use super::*;
use crate::quota::{Metric, Scope};
use crate::window::Window;

const MINUTE: u64 = 60_000;

fn rpm(limit: i64) -> Quota {
    let id = QuotaId::new(Scope::Key("k1".into()), Metric::Requests, Window::Minute);
    Quota::new(id, limit)
}

#[test]
fn a_reservation_without_a_lease_asks_for_a_grant_of_its_shortfall() {
    let mut table = LeaseTable::new();
    let need = table.try_reserve(&rpm(100), 5 * MINUTE, 3).unwrap_err();
    assert_eq!(need.period, 5);
    assert_eq!(need.min, 3);
    assert!(need.want >= 3 && need.want <= 25, "{need:?}");
}

#[test]
fn a_reservation_succeeds_exactly_when_the_free_lease_covers_it() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    assert_eq!(table.try_reserve(&quota, 5 * MINUTE, 10), Ok(5));
    let need = table.try_reserve(&quota, 5 * MINUTE, 1).unwrap_err();
    assert_eq!(need.min, 1);
    let held = table.held(&quota.id, 5 * MINUTE);
    assert_eq!((held.free, held.reserved), (0, 10));
}

#[test]
fn settling_keeps_the_difference_between_reservation_and_cost() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    table.try_reserve(&quota, 5 * MINUTE, 10).unwrap();
    table.settle(&quota.id, 5, 10, 4);
    let held = table.held(&quota.id, 5 * MINUTE);
    assert_eq!((held.free, held.reserved), (6, 0));
}

#[test]
fn a_released_reservation_is_free_again() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    table.try_reserve(&quota, 5 * MINUTE, 7).unwrap();
    table.release(&quota.id, 5, 7);
    let held = table.held(&quota.id, 5 * MINUTE);
    assert_eq!((held.free, held.reserved), (10, 0));
}

#[test]
fn a_lease_of_an_ended_period_is_void() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    table.try_reserve(&quota, 5 * MINUTE, 4).unwrap();
    let need = table.try_reserve(&quota, 6 * MINUTE, 1).unwrap_err();
    assert_eq!((need.period, need.min), (6, 1));
    // The call of period 5 settles against period 5: nothing current changes.
    table.settle(&quota.id, 5, 4, 4);
    let held = table.held(&quota.id, 6 * MINUTE);
    assert_eq!((held.period, held.free, held.reserved), (6, 0, 0));
}

#[test]
fn a_grant_for_an_ended_period_is_void_on_arrival() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 6, 5);
    table.credit(&quota.id, 5, 10);
    assert_eq!(table.held(&quota.id, 6 * MINUTE).free, 5);
}

#[test]
fn an_overrun_is_owed_and_asked_for_on_top_of_the_next_reservation() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    table.try_reserve(&quota, 5 * MINUTE, 10).unwrap();
    table.settle(&quota.id, 5, 10, 13);
    assert_eq!(table.held(&quota.id, 5 * MINUTE).free, -3);
    let need = table.try_reserve(&quota, 5 * MINUTE, 0).unwrap_err();
    assert_eq!(need.min, 3);
    let need = table.try_reserve(&quota, 5 * MINUTE, 2).unwrap_err();
    assert_eq!(need.min, 5);
}

#[test]
fn only_free_lease_of_the_current_period_is_given_back() {
    let mut table = LeaseTable::new();
    let quota = rpm(100);
    table.credit(&quota.id, 5, 10);
    table.try_reserve(&quota, 5 * MINUTE, 4).unwrap();
    assert_eq!(table.take_free(&quota.id, 5 * MINUTE), Some((5, 6)));
    assert_eq!(table.take_free(&quota.id, 5 * MINUTE), None);
    table.release(&quota.id, 5, 4);
    assert_eq!(table.take_free(&quota.id, 6 * MINUTE), None);
}

#[test]
fn a_busy_node_asks_for_more_than_one_reservation() {
    let mut table = LeaseTable::new();
    let quota = rpm(1_000);
    for i in 0..20 {
        table.credit(&quota.id, 5, 1);
        table.try_reserve(&quota, 5 * MINUTE + i, 1).unwrap();
    }
    let need = table.try_reserve(&quota, 5 * MINUTE + 20, 1).unwrap_err();
    assert_eq!(need.min, 1);
    assert_eq!(need.want, 42);
}
