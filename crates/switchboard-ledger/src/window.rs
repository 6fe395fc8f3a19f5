//! Windows: when a quota starts over.
//!
//! Time is cut into numbered periods: a quota's spend belongs to the period it was
//! reserved in, and a new period starts from zero. Periods are UTC calendar units, so
//! every node computes the same period from its own clock without talking to anyone
//! (a clock that is off by a few milliseconds only moves the boundary by as much).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::calendar::{MS_PER_DAY, civil_from_days, days_from_civil};

const MS_PER_MINUTE: u64 = 60_000;
const MS_PER_HOUR: u64 = 3_600_000;

/// How long a quota's period lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Rate limits (RPM, TPM).
    Minute,
    Hour,
    /// A UTC day.
    Day,
    /// A UTC calendar month.
    Month,
    /// Never starts over: a lifetime budget.
    Total,
}

impl Window {
    /// The index of the period holding `now_ms`: minutes, hours or days since the
    /// epoch, calendar months since 1970-01, or 0 for [`Window::Total`].
    pub fn period(self, now_ms: u64) -> u64 {
        match self {
            Window::Minute => now_ms / MS_PER_MINUTE,
            Window::Hour => now_ms / MS_PER_HOUR,
            Window::Day => now_ms / MS_PER_DAY,
            Window::Month => {
                let days = i64::try_from(now_ms / MS_PER_DAY).unwrap_or(i64::MAX);
                let (year, month, _) = civil_from_days(days);
                let months = (year - 1970) * 12 + i64::from(month) - 1;
                u64::try_from(months).unwrap_or(0)
            }
            Window::Total => 0,
        }
    }

    /// The first millisecond of `period`.
    pub fn period_start_ms(self, period: u64) -> u64 {
        match self {
            Window::Minute => period.saturating_mul(MS_PER_MINUTE),
            Window::Hour => period.saturating_mul(MS_PER_HOUR),
            Window::Day => period.saturating_mul(MS_PER_DAY),
            Window::Month => month_start_ms(period),
            Window::Total => 0,
        }
    }

    /// The first millisecond after `period`, when the quota starts over; `None` for
    /// [`Window::Total`], which never does. Saturates at `u64::MAX` far past any clock.
    pub fn period_end_ms(self, period: u64) -> Option<u64> {
        match self {
            Window::Total => None,
            _ => Some(self.period_start_ms(period.saturating_add(1))),
        }
    }

    /// Whether the window is a rate limit rather than a budget.
    pub fn is_rate(self) -> bool {
        matches!(self, Window::Minute | Window::Hour)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
            Window::Total => "total",
        }
    }
}

/// Month `index` (months since 1970-01) starts on the first of its month.
fn month_start_ms(index: u64) -> u64 {
    let index = i64::try_from(index).unwrap_or(i64::MAX);
    let year = 1970 + index / 12;
    let month = u32::try_from(index % 12).unwrap_or(0) + 1;
    let days = u64::try_from(days_from_civil(year, month, 1)).unwrap_or(0);
    days.saturating_mul(MS_PER_DAY)
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_2024: u64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

    fn date_ms(year: i64, month: u32, day: u32) -> u64 {
        u64::try_from(days_from_civil(year, month, day)).unwrap() * MS_PER_DAY
    }

    #[test]
    fn fixed_windows_count_units_since_the_epoch() {
        assert_eq!(Window::Minute.period(59_999), 0);
        assert_eq!(Window::Minute.period(60_000), 1);
        assert_eq!(Window::Hour.period(JAN_2024), JAN_2024 / MS_PER_HOUR);
        assert_eq!(Window::Day.period(JAN_2024 - 1), 19_722);
        assert_eq!(Window::Day.period(JAN_2024), 19_723);
        assert_eq!(Window::Total.period(JAN_2024), 0);
        assert_eq!(Window::Total.period_end_ms(0), None);
    }

    #[test]
    fn months_are_counted_from_january_1970() {
        assert_eq!(Window::Month.period(0), 0);
        assert_eq!(Window::Month.period(JAN_2024), 54 * 12);
        assert_eq!(Window::Month.period(JAN_2024 - 1), 54 * 12 - 1);
    }

    #[test]
    fn a_leap_february_ends_on_the_29th() {
        let feb = Window::Month.period(date_ms(2024, 2, 10));
        assert_eq!(Window::Month.period_end_ms(feb), Some(date_ms(2024, 3, 1)));
        assert_eq!(Window::Month.period(date_ms(2024, 2, 29)), feb);
        let feb_2023 = Window::Month.period(date_ms(2023, 2, 10));
        assert_eq!(
            Window::Month.period_end_ms(feb_2023),
            Some(date_ms(2023, 3, 1))
        );
    }

    #[test]
    fn december_ends_at_new_year() {
        let dec = Window::Month.period(date_ms(2023, 12, 31) + MS_PER_DAY - 1);
        assert_eq!(Window::Month.period_end_ms(dec), Some(JAN_2024));
        assert_eq!(Window::Month.period_start_ms(dec), date_ms(2023, 12, 1));
    }
}
