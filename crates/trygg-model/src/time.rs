//! Europe/Stockholm local time: turning local wall-clock times into instants with
//! their UTC offset, with the daylight-saving gaps and overlaps resolved explicitly.

use chrono::{DateTime, Datelike, FixedOffset, LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Stockholm;

/// Swedish month names, January first, as the police events API writes them in
/// event names ("17 januari 23.39, ...").
pub const SWEDISH_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A Stockholm wall-clock time that does not name exactly one instant, and how it
/// was read (see [`stockholm_local`]). Ingest counts these per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalNote {
    /// In the spring-forward gap (02:00-03:00 on the last Sunday of March does
    /// not exist): read as winter time, +01:00.
    Gap,
    /// In the repeated autumn hour (02:00-03:00 on the last Sunday of October
    /// happens twice): read as the first, summer time, +02:00.
    Repeated,
}

impl LocalNote {
    /// The note as the ingest report shows it.
    pub fn describe(self) -> &'static str {
        match self {
            LocalNote::Gap => {
                "local time in the spring daylight-saving gap (does not exist): read as winter time +01:00"
            }
            LocalNote::Repeated => {
                "local time in the repeated autumn hour (happens twice): read as the first, summer time +02:00"
            }
        }
    }
}

/// Converts a Stockholm wall-clock time to an instant with its offset.
///
/// In the autumn overlap (02:00-03:00 occurs twice) the earlier instant (summer
/// time, +02:00) is chosen; in the spring gap (02:00-03:00 does not exist) the
/// time is read as winter time (+01:00), i.e. moved forward by the gap, as clocks do.
pub fn stockholm_local(naive: NaiveDateTime) -> DateTime<FixedOffset> {
    stockholm_local_noted(naive).0
}

/// [`stockholm_local`], also saying whether the time was in a gap or the repeat.
pub fn stockholm_local_noted(naive: NaiveDateTime) -> (DateTime<FixedOffset>, Option<LocalNote>) {
    match Stockholm.from_local_datetime(&naive) {
        LocalResult::Single(t) => (t.fixed_offset(), None),
        LocalResult::Ambiguous(earlier, _) => (earlier.fixed_offset(), Some(LocalNote::Repeated)),
        LocalResult::None => {
            let winter = FixedOffset::east_opt(3600).expect("+01:00 is a valid offset");
            // A naive time plus a fixed offset always names exactly one instant.
            match winter.from_local_datetime(&naive) {
                LocalResult::Single(t) => (
                    t.with_timezone(&Stockholm).fixed_offset(),
                    Some(LocalNote::Gap),
                ),
                _ => unreachable!("fixed offsets have no gaps or overlaps"),
            }
        }
    }
}

/// The earliest year an event may have: older dates are typing errors (a year
/// "0024" or "1024"), not data; Swedish crime statistics begin in the 1970s.
pub const MIN_PLAUSIBLE_YEAR: i32 = 1970;

/// The years an event time may fall in: from [`MIN_PLAUSIBLE_YEAR`] to next year
/// (events are not reported from the future; a year's slack covers time zones
/// and pre-dated records at a year's end).
pub fn plausible_years() -> std::ops::RangeInclusive<i32> {
    MIN_PLAUSIBLE_YEAR..=chrono::Utc::now().year() + 1
}

/// The same instant shown in Stockholm local time with its offset.
pub fn to_stockholm(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t.with_timezone(&Stockholm).fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .expect("valid test date")
    }

    #[test]
    fn winter_summer_gap_and_overlap() {
        assert_eq!(
            stockholm_local(at(2024, 1, 17, 23, 39)).to_rfc3339(),
            "2024-01-17T23:39:00+01:00"
        );
        assert_eq!(
            stockholm_local(at(2024, 7, 1, 12, 0)).to_rfc3339(),
            "2024-07-01T12:00:00+02:00"
        );
        // 2024-03-31 02:30 does not exist; read as +01:00 it is 03:30 summer time.
        assert_eq!(
            stockholm_local(at(2024, 3, 31, 2, 30)).to_rfc3339(),
            "2024-03-31T03:30:00+02:00"
        );
        // 2024-10-27 02:30 happens twice; the first (summer time) is chosen.
        assert_eq!(
            stockholm_local(at(2024, 10, 27, 2, 30)).to_rfc3339(),
            "2024-10-27T02:30:00+02:00"
        );
    }

    #[test]
    fn gaps_and_repeats_are_noted() {
        assert_eq!(
            stockholm_local_noted(at(2024, 3, 31, 2, 30)).1,
            Some(LocalNote::Gap)
        );
        assert_eq!(
            stockholm_local_noted(at(2024, 10, 27, 2, 30)).1,
            Some(LocalNote::Repeated)
        );
        assert_eq!(stockholm_local_noted(at(2024, 10, 27, 3, 0)).1, None);
        assert_eq!(stockholm_local_noted(at(2024, 3, 31, 3, 0)).1, None);
    }

    #[test]
    fn to_stockholm_keeps_the_instant() {
        let utc = DateTime::parse_from_rfc3339("2024-06-01T10:00:00Z").expect("valid");
        let local = to_stockholm(utc);
        assert_eq!(local, utc);
        assert_eq!(local.to_rfc3339(), "2024-06-01T12:00:00+02:00");
    }
}
