//! Reading date-times with a mapping's strftime formats, quickly, and turning
//! Stockholm wall-clock times into instants.
//!
//! The CSV path parses a million rows a second, so the three formats real exports
//! use almost always (`%Y-%m-%d %H:%M`, `%Y-%m-%d %H:%M:%S`, `%Y-%m-%d`) are read by
//! hand; anything the fast path does not accept falls back to chrono with the same
//! format, so the result is always what chrono would give. The UTC offset of a
//! Stockholm local time is cached per calendar day (only the two days a year with a
//! daylight-saving change go through [`stockholm_local`] every time).

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use trygg_model::time::{stockholm_local, stockholm_local_noted, to_stockholm, LocalNote};

/// The formats used when a mapping names none.
pub(crate) const DEFAULT_FORMATS: [&str; 4] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
];

/// How a format is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Exactly `%Y-%m-%d %H:%M` (fast path, chrono fallback).
    YmdHm,
    /// Exactly `%Y-%m-%d %H:%M:%S` (fast path, chrono fallback).
    YmdHms,
    /// Exactly `%Y-%m-%d` (fast path, chrono fallback).
    Ymd,
    /// A local wall-clock time read by chrono; `date_only` formats give 00:00.
    Naive { date_only: bool },
    /// The text carries its own UTC offset (`%z`, `%:z`, `%+`, ...).
    Offset,
    /// Seconds since the Unix epoch (`%s`), which are UTC.
    Utc,
}

/// One validated strftime format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeFormat {
    text: String,
    kind: Kind,
    /// For a wall-clock format: how the rest of a text whose explicit zone
    /// (`Z`, `+02:00`, ` UTC`) was split off is read, i.e. the format without its
    /// own trailing zone literal (`...%SZ`, `... %Z`), if it has one.
    body: Option<Box<TimeFormat>>,
    /// The format ends in a zone literal, so a text without a zone does not match.
    needs_zone: bool,
}

/// A parsed time, before it is placed in Stockholm time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// A Stockholm wall-clock time; `date_only` when the format had no time of day.
    Local {
        /// The wall-clock time (00:00 for date-only formats).
        at: NaiveDateTime,
        /// The format had no time of day.
        date_only: bool,
    },
    /// An instant with an offset given by the text itself.
    Fixed(DateTime<FixedOffset>),
}

impl Stamp {
    /// The calendar year the text named, for range checks.
    pub(crate) fn year(&self) -> i32 {
        match self {
            Stamp::Local { at, .. } => at.year(),
            Stamp::Fixed(t) => t.year(),
        }
    }
}

impl TimeFormat {
    /// Validates a strftime format: it must be well-formed, name a full date, and
    /// be one chrono can both read and write (checked by a round trip, so no format
    /// can fail later while a row is read or shown).
    pub(crate) fn new(text: &str) -> Result<TimeFormat, String> {
        let items: Vec<Item<'_>> = StrftimeItems::new(text).collect();
        if items.iter().any(|item| matches!(item, Item::Error)) {
            return Err(format!("'{text}' is not a valid strftime format"));
        }
        if let Some(rest) = strip_zone_literal(text) {
            let body = TimeFormat::new(rest)?;
            if matches!(body.kind, Kind::Offset | Kind::Utc) {
                return Err(format!("format '{text}' names the time zone twice"));
            }
            return Ok(TimeFormat {
                text: text.to_owned(),
                kind: body.kind,
                body: Some(Box::new(body)),
                needs_zone: true,
            });
        }
        let kind = match text {
            "%Y-%m-%d %H:%M" => Kind::YmdHm,
            "%Y-%m-%d %H:%M:%S" => Kind::YmdHms,
            "%Y-%m-%d" => Kind::Ymd,
            _ => classify(text, &items)?,
        };
        Ok(TimeFormat {
            text: text.to_owned(),
            kind,
            body: None,
            needs_zone: false,
        })
    }

    /// The format as written in the mapping.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Reads `s` with this format, or `None` when it does not match. A wall-clock
    /// format given a text that ends in an explicit zone (`Z`, `+02:00`, `UTC`)
    /// reads the rest and takes the instant in that zone: an explicit offset
    /// always wins over the mapping's time zone.
    pub(crate) fn parse(&self, s: &str) -> Option<Stamp> {
        if !matches!(self.kind, Kind::Offset | Kind::Utc) {
            if let Some((rest, offset)) = split_zone(s) {
                return match self.body.as_deref().unwrap_or(self).parse_local(rest)? {
                    Stamp::Local { at, .. } => at
                        .checked_sub_offset(offset)
                        .map(|utc| Stamp::Fixed(DateTime::from_naive_utc_and_offset(utc, offset))),
                    fixed @ Stamp::Fixed(_) => Some(fixed),
                };
            }
            if self.needs_zone {
                return None;
            }
        }
        self.parse_local(s)
    }

    /// Reads `s` as the format says, without looking for a zone suffix.
    fn parse_local(&self, s: &str) -> Option<Stamp> {
        let fast = match self.kind {
            Kind::YmdHm if s.len() == 16 => fast_datetime(s.as_bytes(), false),
            Kind::YmdHms if s.len() == 19 => fast_datetime(s.as_bytes(), true),
            Kind::Ymd if s.len() == 10 => {
                fast_date(s.as_bytes()).and_then(|d| d.and_hms_opt(0, 0, 0))
            }
            _ => None,
        };
        if let Some(at) = fast {
            return Some(Stamp::Local {
                at,
                date_only: self.kind == Kind::Ymd,
            });
        }
        self.parse_slow(s)
    }

    /// Reads a date and a time held in two columns as if they were joined with a
    /// space, but only where the fast path applies (so the answer is the same as
    /// [`TimeFormat::parse`] of the joined text); `None` otherwise.
    pub(crate) fn parse_pair(&self, date: &str, time: &str) -> Option<Stamp> {
        let (date, time) = (date.as_bytes(), time.as_bytes());
        if date.len() != 10 {
            return None;
        }
        let seconds = match (self.kind, time.len()) {
            (Kind::YmdHm, 5) => false,
            (Kind::YmdHms, 8) => true,
            _ => return None,
        };
        if time[2] != b':' || (seconds && time[5] != b':') {
            return None;
        }
        let second = if seconds { digits2(&time[6..8])? } else { 0 };
        let at =
            fast_date(date)?.and_hms_opt(digits2(&time[0..2])?, digits2(&time[3..5])?, second)?;
        Some(Stamp::Local {
            at,
            date_only: false,
        })
    }

    fn parse_slow(&self, s: &str) -> Option<Stamp> {
        match self.kind {
            Kind::YmdHm | Kind::YmdHms | Kind::Naive { date_only: false } => {
                NaiveDateTime::parse_from_str(s, &self.text)
                    .ok()
                    .map(|at| Stamp::Local {
                        at,
                        date_only: false,
                    })
            }
            Kind::Ymd | Kind::Naive { date_only: true } => NaiveDate::parse_from_str(s, &self.text)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|at| Stamp::Local {
                    at,
                    date_only: true,
                }),
            Kind::Offset => DateTime::parse_from_str(s, &self.text)
                .ok()
                .map(Stamp::Fixed),
            Kind::Utc => NaiveDateTime::parse_from_str(s, &self.text)
                .ok()
                .map(|at| Stamp::Fixed(at.and_utc().fixed_offset())),
        }
    }
}

/// Works out how a general format is read, by formatting a sample time with it and
/// reading the text back (so every accepted format is known to round-trip).
fn classify(text: &str, items: &[Item<'_>]) -> Result<Kind, String> {
    let has_offset = items.iter().any(|item| {
        matches!(
            item,
            Item::Fixed(
                Fixed::TimezoneOffset
                    | Fixed::TimezoneOffsetColon
                    | Fixed::TimezoneOffsetDoubleColon
                    | Fixed::TimezoneOffsetTripleColon
                    | Fixed::TimezoneOffsetColonZ
                    | Fixed::TimezoneOffsetZ
                    | Fixed::RFC2822
                    | Fixed::RFC3339
            )
        )
    }) || text.contains("%#z");
    let is_timestamp = items
        .iter()
        .any(|item| matches!(item, Item::Numeric(Numeric::Timestamp, _)));
    let sample_naive = NaiveDate::from_ymd_opt(2024, 7, 15)
        .and_then(|d| d.and_hms_opt(13, 45, 30))
        .ok_or_else(|| "internal: bad sample date".to_owned())?;
    let no_date = || format!("format '{text}' does not name a full date (year, month and day)");
    if has_offset {
        let offset =
            FixedOffset::east_opt(7200).ok_or_else(|| "internal: bad offset".to_owned())?;
        let sample = sample_naive.and_utc().with_timezone(&offset);
        let shown = shown(sample.format_with_items(items.iter()), text)?;
        return match DateTime::parse_from_str(&shown, text) {
            Ok(_) => Ok(Kind::Offset),
            Err(_) => Err(no_date()),
        };
    }
    let shown = shown(sample_naive.format_with_items(items.iter()), text)?;
    if NaiveDateTime::parse_from_str(&shown, text).is_ok() {
        Ok(if is_timestamp {
            Kind::Utc
        } else {
            Kind::Naive { date_only: false }
        })
    } else if NaiveDate::parse_from_str(&shown, text).is_ok() {
        Ok(Kind::Naive { date_only: true })
    } else {
        Err(no_date())
    }
}

/// The format without a trailing zone literal (`Z`, `%Z`, ` UTC`), if it ends in one.
fn strip_zone_literal(text: &str) -> Option<&str> {
    for suffix in ["%Z", "Z", "UTC", "GMT"] {
        if let Some(rest) = text.strip_suffix(suffix) {
            // "%%Z" is a literal "%Z"... and "%Z" is chrono's zone name.
            if suffix == "Z" && rest.ends_with('%') {
                continue;
            }
            return Some(rest.trim_end());
        }
    }
    None
}

/// Splits an explicit zone off the end of a time text: `Z`, `UTC`, `GMT`, `CET`,
/// `CEST` (Stockholm's winter and summer zones) or a numeric offset `+HH:MM`,
/// `+HHMM`, `+HH` after a clock time. `None` when the text names no zone, e.g.
/// "2024-07-05 21:30" or a date "2024-07-05" (whose "-05" is a day, not an offset).
fn split_zone(s: &str) -> Option<(&str, FixedOffset)> {
    let s = s.trim_end();
    let b = s.as_bytes();
    let last = *b.last()?;
    if last.is_ascii_alphabetic() {
        let named: [(&str, i32); 5] = [
            ("UTC", 0),
            ("GMT", 0),
            ("CEST", 7200),
            ("CET", 3600),
            ("Z", 0),
        ];
        for (name, seconds) in named {
            let n = name.len();
            if s.len() <= n || !s.is_char_boundary(s.len() - n) {
                continue;
            }
            let (rest, zone) = s.split_at(s.len() - n);
            let rest = rest.trim_end();
            // The zone must follow a clock time (a ':' and a last digit).
            if zone.eq_ignore_ascii_case(name)
                && rest.contains(':')
                && rest.ends_with(|c: char| c.is_ascii_digit())
            {
                return Some((rest, FixedOffset::east_opt(seconds)?));
            }
        }
        return None;
    }
    if !last.is_ascii_digit() {
        return None;
    }
    // Numeric offsets: [+-]HH:MM, [+-]HHMM, [+-]HH, right after a clock time.
    for (len, colon) in [(6, true), (5, false), (3, false)] {
        if b.len() <= len {
            continue;
        }
        let start = b.len() - len;
        let sign = match b[start] {
            b'+' => 1,
            b'-' => -1,
            _ => continue,
        };
        let digits = &b[start + 1..];
        let (hh, mm) = match (colon, digits) {
            (true, [h1, h2, b':', m1, m2]) => ([*h1, *h2], [*m1, *m2]),
            (false, [h1, h2, m1, m2]) => ([*h1, *h2], [*m1, *m2]),
            (false, [h1, h2]) => ([*h1, *h2], [b'0', b'0']),
            _ => continue,
        };
        let (Some(h), Some(m)) = (digits2(&hh), digits2(&mm)) else {
            continue;
        };
        let rest = s[..start].trim_end();
        // After a clock time: the text before the sign has a ':' and ends in a digit.
        if h > 14 || m > 59 || !rest.contains(':') || !rest.ends_with(|c: char| c.is_ascii_digit())
        {
            continue;
        }
        let seconds = i32::try_from(h * 3600 + m * 60).ok()? * sign;
        return Some((rest, FixedOffset::east_opt(seconds)?));
    }
    None
}

/// A sample time written with a format; an error (not chrono's panic in
/// `to_string`) when chrono cannot write something the format asks for.
fn shown(formatted: impl std::fmt::Display, text: &str) -> Result<String, String> {
    use std::fmt::Write;
    let mut out = String::new();
    write!(out, "{formatted}").map_err(|_| {
        format!("format '{text}' cannot be used: it asks for something a time without a zone does not have (use %z or %:z for an offset)")
    })?;
    Ok(out)
}

/// Parses `s` with the first format that accepts it.
pub(crate) fn parse_with(formats: &[TimeFormat], s: &str) -> Option<Stamp> {
    formats.iter().find_map(|format| format.parse(s))
}

#[inline]
fn digits2(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

#[inline]
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits2(&b[0..2])? * 100 + digits2(&b[2..4])?;
    let year = i32::try_from(year).ok()?;
    NaiveDate::from_ymd_opt(year, digits2(&b[5..7])?, digits2(&b[8..10])?)
}

#[inline]
fn fast_datetime(b: &[u8], seconds: bool) -> Option<NaiveDateTime> {
    if b.len() < if seconds { 19 } else { 16 } {
        return None;
    }
    let date = fast_date(b)?;
    if b[10] != b' ' || b[13] != b':' {
        return None;
    }
    let second = if seconds {
        if b[16] != b':' {
            return None;
        }
        digits2(&b[17..19])?
    } else {
        0
    };
    date.and_hms_opt(digits2(&b[11..13])?, digits2(&b[14..16])?, second)
}

/// Reads a bare clock time `H:MM`, `HH:MM`, `HH:MM:SS` or `HH.MM`.
pub(crate) fn parse_clock(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let (h, rest) = s.split_once([':', '.'])?;
    let (m, sec) = match rest.split_once(':') {
        Some((m, sec)) => (m, sec),
        None => (rest, "0"),
    };
    let all_digits =
        |t: &str| !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(h) && m.len() == 2 && all_digits(m) && all_digits(sec)) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?)
}

/// Number of day slots in the offset cache (a power of two; about 11 years).
const SLOTS: usize = 4096;
/// Marks a day with a daylight-saving change, whose offset depends on the hour.
const IRREGULAR: i32 = i32::MIN;
/// Marks an empty slot (no real date has this key).
const EMPTY_KEY: i32 = i32::MIN;

/// Places Stockholm wall-clock times in time, caching each day's UTC offset.
#[derive(Debug, Clone)]
pub(crate) struct LocalClock {
    /// Direct-mapped cache: (date key, offset in seconds or IRREGULAR).
    slots: Vec<(i32, i32)>,
    /// The last date looked up and its offset: rows often repeat a date.
    last: Option<(NaiveDate, i32)>,
    /// The first gap or repeat met since [`LocalClock::take_note`].
    note: Option<LocalNote>,
}

impl Default for LocalClock {
    fn default() -> Self {
        LocalClock {
            slots: vec![(EMPTY_KEY, 0); SLOTS],
            last: None,
            note: None,
        }
    }
}

impl LocalClock {
    /// The instant of a Stockholm wall-clock time, as [`stockholm_local`] gives it.
    pub(crate) fn local(&mut self, naive: NaiveDateTime) -> DateTime<FixedOffset> {
        let date = naive.date();
        let seconds = match self.last {
            Some((last, seconds)) if last == date => seconds,
            _ => self.day_seconds(date),
        };
        if seconds == IRREGULAR {
            let (t, note) = stockholm_local_noted(naive);
            self.note = self.note.or(note);
            return t;
        }
        match FixedOffset::east_opt(seconds)
            .and_then(|offset| Some((offset, naive.checked_sub_offset(offset)?)))
        {
            Some((offset, utc)) => DateTime::from_naive_utc_and_offset(utc, offset),
            None => stockholm_local(naive),
        }
    }

    /// The gap or repeated hour met since the last call, if any (see
    /// [`stockholm_local`] for how such times are read).
    pub(crate) fn take_note(&mut self) -> Option<LocalNote> {
        self.note.take()
    }

    /// The offset of a day (IRREGULAR on days the clocks change), from the cache.
    fn day_seconds(&mut self, date: NaiveDate) -> i32 {
        // Year and ordinal are bit fields of chrono's date: much cheaper than a day
        // number. The key is unique per date; the slot index keeps consecutive
        // days in consecutive slots.
        let (year, ordinal) = (date.year(), date.ordinal());
        let ordinal = i32::try_from(ordinal).unwrap_or_default();
        let key = year.wrapping_shl(9) | ordinal;
        let index = usize::try_from(
            year.wrapping_mul(367)
                .wrapping_add(ordinal)
                .rem_euclid(SLOTS as i32),
        )
        .unwrap_or(0);
        let seconds = match self.slots.get_mut(index) {
            Some(slot) if slot.0 == key => slot.1,
            Some(slot) => {
                *slot = (key, day_offset(date));
                slot.1
            }
            None => day_offset(date),
        };
        self.last = Some((date, seconds));
        seconds
    }

    /// The instant of a parsed time in Stockholm local time.
    pub(crate) fn resolve(&mut self, stamp: Stamp) -> DateTime<FixedOffset> {
        match stamp {
            Stamp::Local { at, .. } => self.local(at),
            Stamp::Fixed(t) => to_stockholm(t),
        }
    }
}

/// The offset (seconds east of UTC) that holds all day, or IRREGULAR on the days
/// the clocks change (the offset at 00:00 and at 23:59:59 differ).
fn day_offset(date: NaiveDate) -> i32 {
    let (Some(first), Some(last)) = (date.and_hms_opt(0, 0, 0), date.and_hms_opt(23, 59, 59))
    else {
        return IRREGULAR;
    };
    let first = stockholm_local(first).offset().local_minus_utc();
    let last = stockholm_local(last).offset().local_minus_utc();
    if first == last {
        first
    } else {
        IRREGULAR
    }
}

/// The last second of a date-only time's day (used for interval ends).
pub(crate) fn end_of_day(at: NaiveDateTime) -> NaiveDateTime {
    at.with_hour(23)
        .and_then(|t| t.with_minute(59))
        .and_then(|t| t.with_second(59))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn fmt(text: &str) -> TimeFormat {
        TimeFormat::new(text).expect("valid format")
    }

    #[test]
    fn rejects_bad_formats_and_formats_without_a_date() {
        assert!(TimeFormat::new("%Y-%m-%d %Q").is_err());
        assert!(TimeFormat::new("%H:%M").is_err());
        assert!(TimeFormat::new("%Y-%m").is_err());
        assert!(TimeFormat::new("%d/%m/%Y").is_ok());
    }

    #[test]
    fn reads_common_and_general_formats() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("valid");
        assert_eq!(
            fmt("%Y-%m-%d %H:%M").parse("2024-01-05 07:04"),
            Some(Stamp::Local {
                at: at("2024-01-05 07:04:00"),
                date_only: false
            })
        );
        // Not zero padded: the fast path declines, chrono accepts.
        assert_eq!(
            fmt("%Y-%m-%d %H:%M").parse("2024-01-05 7:04"),
            Some(Stamp::Local {
                at: at("2024-01-05 07:04:00"),
                date_only: false
            })
        );
        assert_eq!(
            fmt("%Y-%m-%d").parse("2024-02-29"),
            Some(Stamp::Local {
                at: at("2024-02-29 00:00:00"),
                date_only: true
            })
        );
        assert_eq!(fmt("%Y-%m-%d").parse("2023-02-29"), None);
        assert_eq!(
            fmt("%d/%m/%Y").parse("05/01/2024"),
            Some(Stamp::Local {
                at: at("2024-01-05 00:00:00"),
                date_only: true
            })
        );
        let fixed = fmt("%Y-%m-%dT%H:%M:%S%:z").parse("2024-01-05T07:04:00+00:00");
        assert!(
            matches!(fixed, Some(Stamp::Fixed(t)) if t.to_rfc3339() == "2024-01-05T07:04:00+00:00")
        );
        assert_eq!(fmt("%Y-%m-%d %H:%M:%S").parse("2024-01-05 24:00:00"), None);
    }

    proptest! {
        /// Reading a column pair equals reading the joined text.
        #[test]
        fn pair_equals_joined(date in "[0-9]{4}-[0-9]{2}-[0-9]{2}|2024-0[1-9]-[12][0-9]", time in "[0-9]{2}:[0-9]{2}(:[0-9]{2})?|[0-2][0-9]:[0-5][0-9]") {
            for format in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"] {
                let format = fmt(format);
                if let Some(stamp) = format.parse_pair(&date, &time) {
                    prop_assert_eq!(Some(stamp), format.parse(&format!("{date} {time}")));
                }
            }
        }
    }

    #[test]
    fn clock_times() {
        assert_eq!(parse_clock("7:05"), NaiveTime::from_hms_opt(7, 5, 0));
        assert_eq!(parse_clock("23.39"), NaiveTime::from_hms_opt(23, 39, 0));
        assert_eq!(parse_clock("23:39:10"), NaiveTime::from_hms_opt(23, 39, 10));
        assert_eq!(parse_clock("2024-01-01"), None);
        assert_eq!(parse_clock("25:00"), None);
    }

    proptest! {
        /// The fast path and the cached offsets agree with chrono and `stockholm_local`.
        #[test]
        fn fast_path_and_clock_agree_with_chrono(
            days in 0i64..(365 * 40), minute_of_day in 0u32..1440, second in 0u32..60, with_seconds: bool,
        ) {
            let date = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid") + TimeDelta::days(days);
            let naive = date.and_hms_opt(minute_of_day / 60, minute_of_day % 60, if with_seconds { second } else { 0 }).expect("valid");
            let (format, text) = if with_seconds {
                ("%Y-%m-%d %H:%M:%S", naive.format("%Y-%m-%d %H:%M:%S").to_string())
            } else {
                ("%Y-%m-%d %H:%M", naive.format("%Y-%m-%d %H:%M").to_string())
            };
            let stamp = fmt(format).parse(&text);
            prop_assert_eq!(stamp, Some(Stamp::Local { at: naive, date_only: false }));
            let mut clock = LocalClock::default();
            // Twice: once filling the cache, once from it.
            prop_assert_eq!(clock.local(naive), stockholm_local(naive));
            prop_assert_eq!(clock.local(naive), stockholm_local(naive));
        }
    }

    fn instant(stamp: Option<Stamp>) -> Option<String> {
        match stamp {
            Some(Stamp::Fixed(t)) => Some(t.with_timezone(&chrono::Utc).to_rfc3339()),
            _ => None,
        }
    }

    #[test]
    fn regression_an_explicit_offset_or_z_wins_over_the_mapping_zone() {
        // Was stored as 21:30+02:00 (19:30Z), two hours off.
        let iso = fmt("%Y-%m-%dT%H:%M:%S");
        assert_eq!(
            instant(iso.parse("2024-07-05T21:30:00Z")).as_deref(),
            Some("2024-07-05T21:30:00+00:00")
        );
        assert_eq!(
            instant(iso.parse("2024-07-05T21:30:00+01:00")).as_deref(),
            Some("2024-07-05T20:30:00+00:00")
        );
        assert_eq!(
            instant(iso.parse("2024-07-05T21:30:00-0300")).as_deref(),
            Some("2024-07-06T00:30:00+00:00")
        );
        // A literal Z in the format is an offset, not decoration.
        let zulu = fmt("%Y-%m-%dT%H:%M:%SZ");
        assert_eq!(
            instant(zulu.parse("2024-07-05T21:30:00Z")).as_deref(),
            Some("2024-07-05T21:30:00+00:00")
        );
        assert_eq!(zulu.parse("2024-07-05T21:30:00"), None);
        let named = fmt("%Y-%m-%d %H:%M %Z");
        assert_eq!(
            instant(named.parse("2024-07-05 21:30 CEST")).as_deref(),
            Some("2024-07-05T19:30:00+00:00")
        );
        assert_eq!(
            instant(named.parse("2024-01-05 21:30 UTC")).as_deref(),
            Some("2024-01-05T21:30:00+00:00")
        );
        assert_eq!(named.parse("2024-01-05 21:30 PST"), None);
        let fast = fmt("%Y-%m-%d %H:%M");
        assert_eq!(
            instant(fast.parse("2024-07-05 21:30 +01:00")).as_deref(),
            Some("2024-07-05T20:30:00+00:00")
        );
        // Texts without a zone stay wall-clock times; a date's "-05" is no offset.
        assert!(matches!(
            fast.parse("2024-07-05 21:30"),
            Some(Stamp::Local { .. })
        ));
        assert!(matches!(
            fmt("%Y-%m-%d").parse("2024-07-05"),
            Some(Stamp::Local {
                date_only: true,
                ..
            })
        ));
        assert!(matches!(
            fmt("%d-%m-%Y %H:%M").parse("05-07-2024 21:30"),
            Some(Stamp::Local { .. })
        ));
    }

    proptest! {
        /// Every format built from chrono's specifiers is either refused with a
        /// message or accepted and then reads its own output: none panics (a `%Z`
        /// format used to panic while the mapping was read).
        #[test]
        fn regression_no_format_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "%Y", "%C", "%y", "%m", "%b", "%B", "%h", "%d", "%e", "%a", "%A", "%w", "%u", "%U", "%W",
                "%G", "%g", "%V", "%j", "%D", "%x", "%F", "%v", "%H", "%k", "%I", "%l", "%P", "%p", "%M",
                "%S", "%f", "%.f", "%.3f", "%3f", "%R", "%T", "%X", "%r", "%Z", "%z", "%:z", "%#z", "%c",
                "%+", "%s", "%t", "%n", "%%", "-", " ", "T", "Z", ":", "UTC", "%Q", "%", "%-d", "%_m",
            ]), 0..8)) {
            let text = parts.concat();
            if let Ok(format) = TimeFormat::new(&text) {
                let _ = format.parse("2024-07-15 13:45:30");
                let _ = format.parse(&text);
            }
        }
    }

    #[test]
    fn clock_notes_gaps_and_repeats() {
        let mut clock = LocalClock::default();
        let at = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").expect("valid");
        clock.local(at("2024-03-31 02:30"));
        assert_eq!(clock.take_note(), Some(LocalNote::Gap));
        assert_eq!(clock.take_note(), None);
        clock.local(at("2024-10-27 02:30"));
        assert_eq!(clock.take_note(), Some(LocalNote::Repeated));
        clock.local(at("2024-10-27 04:30"));
        clock.local(at("2024-07-01 02:30"));
        assert_eq!(clock.take_note(), None);
    }

    #[test]
    fn clock_handles_daylight_saving_days() {
        let mut clock = LocalClock::default();
        for text in [
            "2024-03-31 01:59",
            "2024-03-31 02:30",
            "2024-03-31 03:00",
            "2024-10-27 02:30",
            "2024-10-27 03:30",
        ] {
            let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("valid");
            assert_eq!(clock.local(naive), stockholm_local(naive), "{text}");
        }
    }
}
