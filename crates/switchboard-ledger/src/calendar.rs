//! Proleptic Gregorian calendar arithmetic on day numbers, for month windows.
//!
//! Monthly budgets reset at UTC calendar month boundaries, so a month period needs the
//! civil date of a day and the day of a civil date. These are Howard Hinnant's
//! `days_from_civil` / `civil_from_days` algorithms: exact for every date, leap years
//! included, with no table and no dependency.

/// Milliseconds in a UTC day (no leap seconds: Unix time has none).
pub const MS_PER_DAY: u64 = 86_400_000;

/// The day-number conversions live in `switchboard_core::time`, shared with the
/// timestamp parsing of config files and the admin API.
pub use switchboard_core::time::{civil_from_days, days_from_civil};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_map_to_their_day_numbers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn february_has_29_days_only_in_leap_years() {
        let feb_len = |y| days_from_civil(y, 3, 1) - days_from_civil(y, 2, 1);
        assert_eq!(feb_len(2023), 28);
        assert_eq!(feb_len(2024), 29);
        assert_eq!(feb_len(1900), 28);
        assert_eq!(feb_len(2000), 29);
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = days_from_civil(1970, 1, 1);
        let mut previous = civil_from_days(start - 1);
        for days in start..start + 146_097 {
            let date = civil_from_days(days);
            assert_eq!(days_from_civil(date.0, date.1, date.2), days);
            assert!(date > previous, "{date:?} after {previous:?}");
            previous = date;
        }
    }
}
