//! The Europe/Rome calendar: every date in the rules (daily and annual limits, deadlines,
//! payment days) is an Italian civil date, while instants are stored in UTC. All calendar
//! arithmetic lives here (STYLE habit 9).
//!
//! Day and period bounds are half-open `[start, end)` instants, so a day is 23 or 25 hours
//! long on the daylight saving change days.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const ROME: Tz = chrono_tz::Europe::Rome;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("local time {local} does not exist in europe/rome (daylight saving change)")]
    NonexistentLocalTime { local: NaiveDateTime },
}

impl CalendarError {
    /// Stable code for `ErrorInfo.reason` (AIP-193).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NonexistentLocalTime { .. } => "CALENDAR_NONEXISTENT_LOCAL_TIME",
        }
    }
}

pub fn rome_datetime(instant: DateTime<Utc>) -> DateTime<Tz> {
    instant.with_timezone(&ROME)
}

/// The Italian civil date of an instant.
pub fn rome_date(instant: DateTime<Utc>) -> NaiveDate {
    rome_datetime(instant).date_naive()
}

/// A local Rome time as an instant, refusing the times skipped when clocks go forward and
/// taking the earlier instant for the hour repeated when they go back (the first occurrence is
/// what a person means by "02:30" on that night).
pub fn rome_local_to_utc(local: NaiveDateTime) -> Result<DateTime<Utc>, CalendarError> {
    match ROME.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).with_timezone(&Utc)),
        LocalResult::None => Err(CalendarError::NonexistentLocalTime { local }),
    }
}

/// Like [`rome_local_to_utc`], but a skipped local time moves forward to the first valid
/// instant (the end of the gap).
pub fn rome_local_to_utc_lenient(local: NaiveDateTime) -> DateTime<Utc> {
    if let Ok(t) = rome_local_to_utc(local) {
        return t;
    }
    // Gaps are whole minutes and at most a few hours: scan forward by the minute.
    (1..=24 * 60)
        .filter_map(|m| local.checked_add_signed(chrono::Duration::minutes(m)))
        .find_map(|l| rome_local_to_utc(l).ok())
        .unwrap_or_else(|| local.and_utc())
}

/// The first instant of a Rome day (midnight, or the end of a gap if midnight was skipped).
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    rome_local_to_utc_lenient(date.and_time(NaiveTime::MIN))
}

/// The first instant after a Rome day, i.e. the start of the next day.
pub fn end_of_day_exclusive(date: NaiveDate) -> DateTime<Utc> {
    start_of_day(add_days(date, 1))
}

/// `[1 January year, 1 January year+1)` in Rome.
pub fn year_bounds(year: i32) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        start_of_day(ymd(year, 1, 1)),
        start_of_day(ymd(year.saturating_add(1), 1, 1)),
    )
}

/// `[1st of the month, 1st of the next month)` in Rome; a month outside 1-12 is clamped.
pub fn month_bounds(year: i32, month: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = ymd(year, month.clamp(1, 12), 1);
    (start_of_day(first), start_of_day(first_of_next_month(first)))
}

/// The given day of the month after `date`'s month (e.g. payment on the 15th of the following
/// month), clamped to that month's last day.
pub fn day_of_month_next_month(date: NaiveDate, day: u32) -> NaiveDate {
    let next = first_of_next_month(date);
    let last = days_in_month(next.year(), next.month());
    ymd(next.year(), next.month(), day.clamp(1, last))
}

/// The end of the `n`th day after `date`, as an exclusive instant: the start of day
/// `date + n + 1`. A deadline "within n days" is met by anything strictly before it.
pub fn end_of_nth_day_after(date: NaiveDate, n: u32) -> DateTime<Utc> {
    end_of_day_exclusive(add_days(date, u64::from(n)))
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    let first = ymd(year, month.clamp(1, 12), 1);
    let next = first_of_next_month(first);
    u32::try_from((next - first).num_days()).unwrap_or(31)
}

fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    if date.month() == 12 {
        ymd(date.year().saturating_add(1), 1, 1)
    } else {
        ymd(date.year(), date.month() + 1, 1)
    }
}

/// Dates at the edge of chrono's range (±262 000 years) saturate instead of panicking.
fn add_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX)
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn spring_forward_day_has_23_hours() {
        let day = d(2026, 3, 29);
        assert_eq!(start_of_day(day), utc("2026-03-28T23:00:00Z"));
        assert_eq!(end_of_day_exclusive(day), utc("2026-03-29T22:00:00Z"));
        assert_eq!((end_of_day_exclusive(day) - start_of_day(day)).num_hours(), 23);
        assert_eq!(rome_date(utc("2026-03-28T22:59:59Z")), d(2026, 3, 28));
        assert_eq!(rome_date(utc("2026-03-28T23:00:00Z")), day);
        assert_eq!(rome_date(utc("2026-03-29T21:59:59Z")), day);
        assert_eq!(rome_date(utc("2026-03-29T22:00:00Z")), d(2026, 3, 30));
    }

    #[test]
    fn fall_back_day_has_25_hours() {
        let day = d(2026, 10, 25);
        assert_eq!(start_of_day(day), utc("2026-10-24T22:00:00Z"));
        assert_eq!(end_of_day_exclusive(day), utc("2026-10-25T23:00:00Z"));
        assert_eq!((end_of_day_exclusive(day) - start_of_day(day)).num_hours(), 25);
        assert_eq!(rome_date(utc("2026-10-25T22:59:59Z")), day);
        assert_eq!(rome_date(utc("2026-10-25T23:00:00Z")), d(2026, 10, 26));
    }

    #[test]
    fn nonexistent_local_times_are_refused() {
        let gap = local("2026-03-29 02:30");
        let err = rome_local_to_utc(gap).unwrap_err();
        assert_eq!(err, CalendarError::NonexistentLocalTime { local: gap });
        assert_eq!(err.reason(), "CALENDAR_NONEXISTENT_LOCAL_TIME");
        assert_eq!(
            rome_local_to_utc(local("2026-03-29 01:59")).unwrap(),
            utc("2026-03-29T00:59:00Z")
        );
        assert_eq!(
            rome_local_to_utc(local("2026-03-29 03:00")).unwrap(),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(rome_local_to_utc_lenient(gap), utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn ambiguous_local_times_take_the_earlier_instant() {
        assert_eq!(
            rome_local_to_utc(local("2026-10-25 02:30")).unwrap(),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            rome_local_to_utc(local("2026-10-25 03:00")).unwrap(),
            utc("2026-10-25T02:00:00Z")
        );
    }

    #[test]
    fn new_year_boundary() {
        assert_eq!(rome_date(utc("2025-12-31T22:59:59Z")), d(2025, 12, 31));
        assert_eq!(rome_date(utc("2025-12-31T23:00:00Z")), d(2026, 1, 1));
        assert_eq!(
            year_bounds(2026),
            (utc("2025-12-31T23:00:00Z"), utc("2026-12-31T23:00:00Z"))
        );
        assert_eq!(end_of_day_exclusive(d(2025, 12, 31)), utc("2025-12-31T23:00:00Z"));
        assert_eq!(
            rome_datetime(utc("2025-12-31T23:00:00Z")).to_rfc3339(),
            "2026-01-01T00:00:00+01:00"
        );
    }

    #[test]
    fn month_bounds_follow_dst() {
        assert_eq!(
            month_bounds(2026, 3),
            (utc("2026-02-28T23:00:00Z"), utc("2026-03-31T22:00:00Z"))
        );
        assert_eq!(
            month_bounds(2026, 12),
            (utc("2026-11-30T23:00:00Z"), utc("2026-12-31T23:00:00Z"))
        );
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(2026, 12), 31);
    }

    #[test]
    fn next_month_days() {
        assert_eq!(day_of_month_next_month(d(2026, 1, 31), 15), d(2026, 2, 15));
        assert_eq!(day_of_month_next_month(d(2026, 12, 10), 3), d(2027, 1, 3));
        assert_eq!(day_of_month_next_month(d(2026, 1, 10), 31), d(2026, 2, 28));
        assert_eq!(day_of_month_next_month(d(2026, 3, 1), 31), d(2026, 4, 30));
    }

    #[test]
    fn end_of_nth_day_after_is_exclusive() {
        assert_eq!(
            end_of_nth_day_after(d(2026, 3, 27), 2),
            utc("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            end_of_nth_day_after(d(2026, 12, 31), 0),
            utc("2026-12-31T23:00:00Z")
        );
        assert_eq!(
            end_of_nth_day_after(d(2026, 12, 30), 3),
            utc("2027-01-02T23:00:00Z")
        );
    }
}
