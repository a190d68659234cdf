//! Market hours: whether a moment lies inside an instrument class's trading session, on the
//! exchange's own clock (IANA time zone, so DST changes move the session in UTC).
use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::compliance::{MarketHours, Session};

/// The session that applies to an instrument, with its class name; `None`: not checked.
pub fn session_of<'a>(hours: &'a MarketHours, instrument: &str) -> Option<(&'a str, &'a Session)> {
    let class = hours.instruments.get(instrument).or(hours.default_class.as_ref())?;
    hours.classes.get(class).map(|s| (class.as_str(), s))
}

/// Whether `t` is inside the session: `open <= local time < close` on a listed weekday that is
/// not a holiday, or for a weekly session between `open_day open` and `close_day close`. An
/// unknown time zone (refused by config validation) counts as open: never a false issue.
pub fn is_open(session: &Session, t: DateTime<Utc>) -> bool {
    let Ok(tz) = session.time_zone.parse::<Tz>() else { return true };
    let local = t.with_timezone(&tz);
    let time = local.time();
    match (session.open_day, session.close_day) {
        (Some(open_day), Some(close_day)) => {
            let minute = |day: Weekday, time: NaiveTime| i64::from(day.num_days_from_sunday()) * 1440 + i64::from(time.hour() * 60 + time.minute());
            let now = minute(local.weekday(), time) * 60 + i64::from(time.second());
            let open = minute(open_day, session.open) * 60;
            let close = minute(close_day, session.close) * 60;
            if open <= close { now >= open && now < close } else { now >= open || now < close }
        }
        _ => {
            session.days.contains(&local.weekday()) && !session.holidays.contains(&local.date_naive()) && time >= session.open && time < session.close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn us_equities_follow_new_york_across_both_dst_changes() {
        let s = Session::us_equity();
        // Winter (EST, UTC-5): 09:30 = 14:30Z.
        assert!(!is_open(&s, t("2024-03-08T14:29:59Z")));
        assert!(is_open(&s, t("2024-03-08T14:30:00Z")));
        assert!(is_open(&s, t("2024-03-08T20:59:59Z")));
        assert!(!is_open(&s, t("2024-03-08T21:00:00Z")), "16:00 itself is closed");
        // DST began Sunday 2024-03-10: Monday 09:30 EDT = 13:30Z.
        assert!(is_open(&s, t("2024-03-11T13:30:00Z")));
        assert!(!is_open(&s, t("2024-03-11T13:29:59Z")));
        assert!(!is_open(&s, t("2024-03-11T20:00:00Z")), "16:00 EDT");
        // DST ended Sunday 2024-11-03: Monday 09:30 EST = 14:30Z again.
        assert!(!is_open(&s, t("2024-11-04T14:29:00Z")));
        assert!(is_open(&s, t("2024-11-04T14:30:00Z")));
        // A weekend and a holiday (Thanksgiving 2024-11-28).
        assert!(!is_open(&s, t("2024-11-09T15:00:00Z")));
        assert!(!is_open(&s, t("2024-11-28T15:00:00Z")));
        assert!(is_open(&s, t("2024-11-29T15:00:00Z")));
    }

    #[test]
    fn fx_runs_from_sunday_to_friday_five_pm_new_york() {
        let s = Session::fx();
        // Sunday 2024-01-07 17:00 EST = 22:00Z.
        assert!(!is_open(&s, t("2024-01-07T21:59:59Z")));
        assert!(is_open(&s, t("2024-01-07T22:00:00Z")));
        assert!(is_open(&s, t("2024-01-10T03:00:00Z")));
        // Friday 2024-01-12 17:00 EST = 22:00Z.
        assert!(is_open(&s, t("2024-01-12T21:59:59Z")));
        assert!(!is_open(&s, t("2024-01-12T22:00:00Z")));
        assert!(!is_open(&s, t("2024-01-13T12:00:00Z")), "Saturday");
        // Summer (EDT): Sunday 17:00 = 21:00Z.
        assert!(is_open(&s, t("2024-07-07T21:00:00Z")));
        assert!(!is_open(&s, t("2024-07-07T20:59:00Z")));
    }
}
