//! UTC timestamps as RFC 3339 text, for config files, the admin API and reports. Kept
//! here, small and dependency-free, because only whole-second UTC times are ever needed.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `2026-01-31T12:00:00Z` (or with `+00:00`, or a bare date meaning midnight UTC)
/// into unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    // A day the month does not have is refused, not carried into the next month; years
    // are four digits, so nothing overflows.
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month).contains(&day)
    {
        return None;
    }
    let mut secs = 0i64;
    if let Some(t) = time {
        let t = t
            .strip_suffix('Z')
            .or_else(|| t.strip_suffix("+00:00"))
            .unwrap_or(t);
        let t = t.split('.').next()?;
        let mut parts = t.splitn(3, ':');
        let h: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let sec: i64 = parts.next().unwrap_or("0").parse().ok()?;
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        secs = h * 3600 + m * 60 + sec;
    }
    let total = days_from_civil(year, month, day) * 86_400 + secs;
    u64::try_from(total).ok().map(|s| s * 1000)
}

/// Formats unix milliseconds as `2026-01-31T12:00:00Z`.
pub fn format_rfc3339(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_bad_ones_are_refused() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:30:00Z"),
            Some(1_709_209_800_000)
        );
        assert_eq!(parse_rfc3339("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(format_rfc3339(1_709_209_800_000), "2024-02-29T12:30:00Z");
        assert_eq!(
            parse_rfc3339(&format_rfc3339(1_795_404_125_000)),
            Some(1_795_404_125_000)
        );
        assert_eq!(parse_rfc3339("2024-13-01"), None);
        assert_eq!(parse_rfc3339("soon"), None);
    }

    /// A day the month lacks was carried into the next (2027-02-31 read as 2027-03-03),
    /// and a huge year overflowed into some other time.
    #[test]
    fn days_a_month_lacks_and_years_out_of_range_are_refused() {
        for bad in [
            "2027-02-31T00:00:00Z",
            "2027-02-29",
            "2026-04-31",
            "1900-02-29",
            "99999999999-01-01",
            "1969-12-31",
            "10000-01-01",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert!(parse_rfc3339("2028-02-29").is_some());
        assert!(parse_rfc3339("2000-02-29").is_some());
        assert!(parse_rfc3339("9999-12-31T23:59:59Z").is_some());
    }

    #[test]
    fn civil_dates_round_trip_over_four_centuries() {
        for days in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
