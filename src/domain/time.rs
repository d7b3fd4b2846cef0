//! Times are stored as Unix seconds and shown in UTC, identically on the server and in the
//! browser (a local time zone would make the two renderings differ).

/// "2026-11-24 15:41 UTC"
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// "2026-11-24T15:41:07Z" (RFC 3339), as machines read a time.
pub fn format_rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// "2 min 5 s"
pub fn format_duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// "24 Nov 2026"
pub fn format_date(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{d} {} {y}", MONTHS[(m - 1) as usize])
}

/// "2026-11-24", as a date input shows it.
pub fn format_date_input(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The start (00:00 UTC) of a "YYYY-MM-DD" date, if it is one.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400;
    // 31 February and friends do not come back as themselves.
    (civil_from_days(secs / 86_400) == (y, m, d)).then_some(secs)
}

/// The calendar month (UTC) an instant falls in, counted from year 0: equal for two instants
/// of the same month, one apart for consecutive months.
pub fn month_of(secs: i64) -> i64 {
    let (y, m, _) = civil_from_days(secs.div_euclid(86_400));
    y * 12 + i64::from(m) - 1
}

/// The same instant `months` calendar months later, on the same day of the month or the
/// month's last day when it has fewer ("31 Jan" + 1 is "28 Feb").
pub fn add_months(secs: i64, months: u32) -> i64 {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let index = y * 12 + i64::from(m) - 1 + i64::from(months);
    let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    let last = (28..=31)
        .rev()
        .find(|&day| civil_from_days(days_from_civil(y, m, day)) == (y, m, day))
        .unwrap_or(28);
    days_from_civil(y, m, d.min(last)) * 86_400 + secs.rem_euclid(86_400)
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_added_on_the_calendar() {
        let day = |t: &str| parse_date(t).unwrap();
        assert_eq!(add_months(day("2026-01-31"), 1), day("2026-02-28"));
        assert_eq!(add_months(day("2028-01-31"), 1), day("2028-02-29"));
        assert_eq!(
            add_months(day("2026-03-03") + 3_600, 12),
            day("2027-03-03") + 3_600
        );
        assert_eq!(add_months(day("2026-11-15"), 2), day("2027-01-15"));
        assert_eq!(month_of(day("2026-12-31")) + 1, month_of(day("2027-01-01")));
        assert_eq!(
            month_of(day("2026-12-01")),
            month_of(day("2026-12-31") + 86_399)
        );
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_date(1_795_996_800), "30 Nov 2026");
        assert_eq!(parse_date("2026-11-30"), Some(1_795_996_800));
        assert_eq!(format_date_input(1_795_996_800), "2026-11-30");
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(parse_date("30/11/2026"), None);
    }
}
