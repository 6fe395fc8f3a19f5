//! Period boundaries, for every instant from 1970 to 9999.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use switchboard_ledger::Window;

/// 9999-12-31T23:59:59.999Z.
const YEAR_9999_END_MS: u64 = 253_402_300_799_999;

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::Minute),
        Just(Window::Hour),
        Just(Window::Day),
        Just(Window::Month),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn every_instant_lies_inside_its_period(w in window(), t in 0..YEAR_9999_END_MS) {
        let period = w.period(t);
        prop_assert!(w.period_start_ms(period) <= t);
        prop_assert!(w.period_end_ms(period).unwrap() > t);
    }

    #[test]
    fn the_end_of_a_period_is_the_start_of_the_next(w in window(), t in 0..YEAR_9999_END_MS) {
        let period = w.period(t);
        let end = w.period_end_ms(period).unwrap();
        prop_assert_eq!(w.period(end), period + 1);
        prop_assert_eq!(w.period(end - 1), period);
    }

    #[test]
    fn a_month_lasts_28_to_31_days(t in 0..YEAR_9999_END_MS) {
        let period = Window::Month.period(t);
        let length = Window::Month.period_end_ms(period).unwrap()
            - Window::Month.period_start_ms(period);
        let days = length / 86_400_000;
        prop_assert!((28..=31).contains(&days), "{} days", days);
        prop_assert_eq!(length % 86_400_000, 0);
    }

    #[test]
    fn a_lifetime_window_never_ends(t in any::<u64>()) {
        prop_assert_eq!(Window::Total.period(t), 0);
        prop_assert_eq!(Window::Total.period_end_ms(0), None);
    }
}
