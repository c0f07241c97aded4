//! What to count: sources, normalised categories, a half-open UTC time range, and
//! hour-of-day and weekday filters in Stockholm local time; and the matcher that
//! walks the view's time range and applies them.
//!
//! Local hour and weekday need the Stockholm UTC offset of each event. Since the
//! view is sorted by time, [`LocalClock`] keeps the current daylight-saving segment
//! (from one switch to the next, computed by the EU rule: summer time from 01:00
//! UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October,
//! which Sweden has followed since 1996) and recomputes only when an event leaves
//! it, so an event costs an add, a division and a comparison. Times before 1996 and
//! after 2099 go to chrono-tz, cached per UTC hour.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{Offset, TimeZone, Weekday};
use chrono_tz::Europe::Stockholm;
use serde::{Serialize, Serializer};
use trygg_model::{NormCategory, Source, TimePrecision};
use trygg_store::EventView;

/// An error from reading a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// An hour outside 0..=23 (or a range end outside 0..=24).
    #[error("invalid hour {0} (hours are 0-23; a range may end at 24)")]
    Hour(u32),
    /// An hour filter that cannot be read.
    #[error("cannot read hours '{0}' (expected e.g. 8, 7,8,9, 22-04 or 0-24)")]
    HourText(String),
    /// A weekday filter that cannot be read.
    #[error(
        "cannot read weekdays '{0}' (expected e.g. mon-fri, sat,sun, fri-mon, or Swedish mån-fre)"
    )]
    WeekdayText(String),
}

/// Hours of the day (0-23, Stockholm local time) to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HourFilter {
    mask: u32,
}

impl HourFilter {
    /// Exactly these hours (each 0..=23).
    pub fn from_hours(hours: &[u32]) -> Result<HourFilter, SelectionError> {
        let mut mask = 0u32;
        for &h in hours {
            if h > 23 {
                return Err(SelectionError::Hour(h));
            }
            mask |= 1 << h;
        }
        Ok(HourFilter { mask })
    }

    /// The clock-time range `start:00 ≤ t < end:00`, wrapping midnight when
    /// `end < start`: `range(22, 4)` keeps hours 22, 23, 0, 1, 2, 3 and `range(0,
    /// 24)` keeps all. `start == end` keeps nothing.
    pub fn range(start: u32, end: u32) -> Result<HourFilter, SelectionError> {
        if start > 23 {
            return Err(SelectionError::Hour(start));
        }
        if end > 24 {
            return Err(SelectionError::Hour(end));
        }
        let stop = end % 24;
        if start == stop {
            let mask = if start == 0 && end == 24 { FULL_DAY } else { 0 };
            return Ok(HourFilter { mask });
        }
        let mut mask = 0u32;
        let mut h = start;
        while h != stop {
            mask |= 1 << h;
            h = (h + 1) % 24;
        }
        Ok(HourFilter { mask })
    }

    /// Whether hour `hour` (0..=23) is kept.
    #[inline]
    pub fn contains(&self, hour: u32) -> bool {
        hour < 24 && self.mask & (1 << hour) != 0
    }

    /// The kept hours, ascending.
    pub fn hours(&self) -> Vec<u32> {
        (0..24).filter(|&h| self.contains(h)).collect()
    }
}

impl FromStr for HourFilter {
    type Err = SelectionError;

    /// Reads a comma-separated list of hours and ranges: `8`, `7,8,9`, `22-04`
    /// (22:00 to 04:00), `0-24`, `6-9,16-19`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SelectionError::HourText(s.to_owned());
        let num = |t: &str| t.trim().parse::<u32>().map_err(|_| bad());
        let mut mask = 0u32;
        for part in s.split(',') {
            let f = match part.split_once('-') {
                Some((a, b)) => HourFilter::range(num(a)?, num(b)?)?,
                None => HourFilter::from_hours(&[num(part)?])?,
            };
            mask |= f.mask;
        }
        Ok(HourFilter { mask })
    }
}

impl Serialize for HourFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.hours().serialize(serializer)
    }
}

/// Weekdays (Stockholm local time) to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdayFilter {
    /// Bit 0 = Monday … bit 6 = Sunday.
    mask: u8,
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WEEKDAY_NAMES_SV: [&str; 7] = ["mån", "tis", "ons", "tor", "fre", "lör", "sön"];

impl WeekdayFilter {
    /// Exactly these days.
    pub fn from_days(days: &[Weekday]) -> WeekdayFilter {
        let mask = days
            .iter()
            .fold(0u8, |m, d| m | 1 << d.num_days_from_monday());
        WeekdayFilter { mask }
    }

    /// The days from `first` to `last` inclusive, wrapping the week's end:
    /// `range(Fri, Mon)` keeps Friday to Monday.
    pub fn range(first: Weekday, last: Weekday) -> WeekdayFilter {
        let mut days = vec![first];
        let mut d = first;
        while d != last {
            d = d.succ();
            days.push(d);
        }
        WeekdayFilter::from_days(&days)
    }

    /// Whether day `weekday` (0 = Monday … 6 = Sunday) is kept.
    #[inline]
    pub fn contains(&self, weekday: u32) -> bool {
        weekday < 7 && self.mask & (1 << weekday) != 0
    }

    /// The kept days, Monday first.
    pub fn days(&self) -> Vec<Weekday> {
        (0..7u8)
            .filter(|&d| self.contains(u32::from(d)))
            .filter_map(|d| Weekday::try_from(d).ok())
            .collect()
    }
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    let t = text.trim().to_lowercase();
    let prefix: String = t.chars().take(3).collect();
    WEEKDAY_NAMES
        .iter()
        .position(|n| *n == prefix)
        .or_else(|| WEEKDAY_NAMES_SV.iter().position(|n| *n == prefix))
        .and_then(|i| u8::try_from(i).ok())
        .and_then(|i| Weekday::try_from(i).ok())
        .filter(|_| t.chars().count() >= 3)
}

impl FromStr for WeekdayFilter {
    type Err = SelectionError;

    /// Reads a comma-separated list of days and ranges in English or Swedish
    /// (three letters or more): `mon-fri`, `sat,sun`, `fri-mon`, `mån-fre`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SelectionError::WeekdayText(s.to_owned());
        let mut mask = 0u8;
        for part in s.split(',') {
            let f = match part.split_once('-') {
                Some((a, b)) => WeekdayFilter::range(
                    parse_weekday(a).ok_or_else(bad)?,
                    parse_weekday(b).ok_or_else(bad)?,
                ),
                None => WeekdayFilter::from_days(&[parse_weekday(part).ok_or_else(bad)?]),
            };
            mask |= f.mask;
        }
        Ok(WeekdayFilter { mask })
    }
}

impl Serialize for WeekdayFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = (0..7usize)
            .filter(|&d| self.mask & (1 << d) != 0)
            .map(|d| WEEKDAY_NAMES[d])
            .collect();
        names.serialize(serializer)
    }
}

/// Serialises an optional list of sources by their stable names.
pub(crate) fn ser_sources<S: Serializer>(
    v: &Option<Vec<Source>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    v.as_ref()
        .map(|list| list.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        .serialize(serializer)
}

/// Serialises an optional list of categories by their stable names.
pub(crate) fn ser_categories<S: Serializer>(
    v: &Option<Vec<NormCategory>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    v.as_ref()
        .map(|list| list.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .serialize(serializer)
}

/// What to count. Every filter is optional (`None` keeps everything, except that no
/// `sources` means the incident sources, [`Source::INCIDENTS`]: the survey counts
/// only when named); an empty list of sources or categories keeps nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// Only these sources (`None`: the incident sources, survey excluded).
    #[serde(serialize_with = "ser_sources")]
    pub sources: Option<Vec<Source>>,
    /// Only these normalised categories.
    #[serde(serialize_with = "ser_categories")]
    pub categories: Option<Vec<NormCategory>>,
    /// Occurred at or after (Unix seconds, UTC).
    pub from_utc: Option<i64>,
    /// Occurred before (Unix seconds, UTC).
    pub to_utc: Option<i64>,
    /// Only these local hours of the day.
    pub hours: Option<HourFilter>,
    /// Only these local weekdays.
    pub weekdays: Option<WeekdayFilter>,
}

impl Selection {
    /// Everything.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Whether the selection restricts time (a UTC range).
    pub fn has_time_range(&self) -> bool {
        self.from_utc.is_some() || self.to_utc.is_some()
    }

    /// A matcher for this selection (masks precomputed; it owns a [`LocalClock`]).
    pub fn matcher(&self) -> Matcher {
        // No sources named means the incident sources: survey answers and marked
        // places are never counted as incidents unless asked for by name.
        let source_mask = self
            .sources
            .as_deref()
            .unwrap_or(&Source::INCIDENTS)
            .iter()
            .fold(0, |m, s| m | bit(s.code()));
        let category_mask = self.categories.as_ref().map_or(u32::MAX, |list| {
            list.iter().fold(0, |m, c| m | bit(c.code()))
        });
        Matcher {
            source_mask,
            category_mask,
            hours: self.hours.map_or(u32::MAX, |h| h.mask),
            weekdays: self.weekdays.map_or(u32::MAX, |w| u32::from(w.mask)),
            needs_clock: self.hours.is_some_and(|h| h.mask != FULL_DAY)
                || self.weekdays.is_some_and(|w| w.mask != FULL_WEEK),
            from_utc: self.from_utc,
            to_utc: self.to_utc,
            clock: LocalClock::new(),
            left_out: 0,
        }
    }

    /// The sources and categories (`None`: any) of the selection as lists a
    /// store can filter by, when they and the time range are all there is to
    /// it; else the field (`hours`, `weekdays`) that needs each event's local
    /// time.
    pub fn pushable(&self) -> Result<(Vec<Source>, Option<Vec<NormCategory>>), &'static str> {
        let Some((source_mask, category_mask)) = self.matcher().masks() else {
            return Err(if self.hours.is_some() {
                "hours"
            } else {
                "weekdays"
            });
        };
        let has = |mask: u32, code: u8| (mask >> code) & 1 == 1;
        let sources = Source::ALL
            .into_iter()
            .filter(|s| has(source_mask, s.code()))
            .collect();
        let categories = (category_mask != u32::MAX).then(|| {
            NormCategory::ALL
                .into_iter()
                .filter(|c| has(category_mask, c.code()))
                .collect()
        });
        Ok((sources, categories))
    }

    /// The view indices of matching events, ascending.
    pub fn indices(&self, view: &EventView) -> Vec<u32> {
        self.indices_and_left_out(view).0
    }

    /// The view indices of matching events, and how many were left out for an
    /// unknown time of day (see [`Matcher::left_out`]).
    pub fn indices_and_left_out(&self, view: &EventView) -> (Vec<u32>, u64) {
        let mut out = Vec::new();
        let mut matcher = self.matcher();
        matcher.for_each(view, 0..view.len(), |i| {
            out.push(u32::try_from(i).unwrap_or(u32::MAX));
        });
        (out, matcher.left_out())
    }

    /// The number of matching events.
    pub fn count(&self, view: &EventView) -> u64 {
        let mut n = 0u64;
        self.matcher().for_each(view, 0..view.len(), |_| n += 1);
        n
    }
}

const FULL_DAY: u32 = (1 << 24) - 1;
const FULL_WEEK: u8 = (1 << 7) - 1;

/// A code's bit in a 32-bit mask (codes ≥ 32 never match; the model has fewer).
#[inline]
fn bit(code: u8) -> u32 {
    1u32.checked_shl(u32::from(code)).unwrap_or(0)
}

/// A compiled [`Selection`]: bit masks and a local-time cache.
#[derive(Debug, Clone)]
pub struct Matcher {
    source_mask: u32,
    category_mask: u32,
    hours: u32,
    weekdays: u32,
    needs_clock: bool,
    from_utc: Option<i64>,
    to_utc: Option<i64>,
    clock: LocalClock,
    left_out: u64,
}

impl Matcher {
    /// Events that matched everything else but were left out because an hour or
    /// weekday filter applies and their time of day is not known (a date-only time
    /// or a long interval: see [`trygg_model::TimePrecision`]).
    pub fn left_out(&self) -> u64 {
        self.left_out
    }

    /// The source and category bit masks (bit `code` set: included), when they
    /// are all there is to the selection within its time range (no hour or
    /// weekday filter), for loops over raw columns.
    pub(crate) fn masks(&self) -> Option<(u32, u32)> {
        (!self.needs_clock).then_some((self.source_mask, self.category_mask))
    }

    /// Whether event `i` of `view` matches (time range included).
    #[inline]
    pub fn matches(&mut self, view: &EventView, i: usize) -> bool {
        let t = view.time(i);
        if self.from_utc.is_some_and(|f| t < f) || self.to_utc.is_some_and(|e| t >= e) {
            return false;
        }
        self.matches_in_range(view, i)
    }

    /// Whether event `i` matches, assuming it is inside the time range.
    #[inline]
    fn matches_in_range(&mut self, view: &EventView, i: usize) -> bool {
        if self.source_mask & bit(view.source(i).code()) == 0
            || self.category_mask & bit(view.category_norm(i).code()) == 0
        {
            return false;
        }
        if self.needs_clock {
            if view.time_precision(i) != TimePrecision::Exact {
                self.left_out += 1;
                return false;
            }
            let local = self.clock.local(view.time(i));
            return self.hours & (1 << local.hour) != 0
                && self.weekdays & (1 << local.weekday) != 0;
        }
        true
    }

    /// The part of `range` (view indices) inside the selection's time range.
    pub fn clip(&self, view: &EventView, range: Range<usize>) -> Range<usize> {
        let own = view.time_range(self.from_utc, self.to_utc);
        let start = range.start.max(own.start);
        let end = range.end.min(own.end).min(view.len());
        start..end.max(start)
    }

    /// Calls `f` with each matching index in `range`, ascending; the time filter is
    /// two binary searches, the rest per event.
    pub fn for_each(&mut self, view: &EventView, range: Range<usize>, mut f: impl FnMut(usize)) {
        for i in self.clip(view, range) {
            if self.matches_in_range(view, i) {
                f(i);
            }
        }
    }
}

/// An event's local hour and weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// 0..=23.
    pub hour: u32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u32,
}

/// The first year from which Sweden follows the EU rule (switch back on the last
/// Sunday of October; before 1996 it was the last Sunday of September).
const EU_RULE_FROM: i64 = 1996;
/// The last year the rule is applied: chrono-tz's compiled table (which
/// `trygg_model::time` and the window bounds use) ends with 2099 and keeps winter
/// time after it; later times go to chrono-tz too, so both always agree.
const EU_RULE_TO: i64 = 2099;
/// 1900-01-01T00:00:00Z: before it (until 1893) Stockholm's offset was local mean
/// time, changed at an odd second, so no caching.
const HOURLY_FROM: i64 = -2_208_988_800;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian year of a day number.
fn year_of_days(z: i64) -> i64 {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// Unix time of 01:00 UTC on the last Sunday of `month` (3 or 10) of `year`.
fn last_sunday_0100_utc(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // Weekday with Monday = 0: 1970-01-01 was a Thursday (3).
    let weekday = (last + 3).rem_euclid(7);
    let sunday = last - (weekday + 1) % 7;
    sunday * 86_400 + 3600
}

/// Stockholm's UTC offset at `t` from the time-zone database.
fn tz_offset(t: i64) -> i64 {
    chrono::DateTime::from_timestamp(t, 0).map_or(3600, |dt| {
        i64::from(
            Stockholm
                .offset_from_utc_datetime(&dt.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    })
}

/// Stockholm local hour and weekday of ascending Unix times, with the current
/// UTC-offset segment cached (see the module docs). Exact at the switches: the
/// segment bounds are the switch instants themselves.
#[derive(Debug, Clone)]
pub struct LocalClock {
    start: i64,
    end: i64,
    offset: i64,
}

impl Default for LocalClock {
    fn default() -> Self {
        LocalClock::new()
    }
}

impl LocalClock {
    /// A clock with an empty cache.
    pub fn new() -> LocalClock {
        LocalClock {
            start: 0,
            end: 0,
            offset: 0,
        }
    }

    /// Stockholm's UTC offset in seconds at Unix time `t`.
    #[inline]
    pub fn offset(&mut self, t: i64) -> i64 {
        if t < self.start || t >= self.end {
            self.refill(t);
        }
        self.offset
    }

    /// The local hour and weekday at Unix time `t`.
    #[inline]
    pub fn local(&mut self, t: i64) -> LocalTime {
        let local = t.saturating_add(self.offset(t));
        let secs = local.rem_euclid(86_400);
        let day = local.div_euclid(86_400);
        LocalTime {
            hour: u32::try_from(secs / 3600).unwrap_or(0),
            weekday: u32::try_from((day + 3).rem_euclid(7)).unwrap_or(0),
        }
    }

    fn refill(&mut self, t: i64) {
        let year = year_of_days(t.div_euclid(86_400));
        if (EU_RULE_FROM..=EU_RULE_TO).contains(&year) {
            let summer_from = last_sunday_0100_utc(year, 3);
            let summer_to = last_sunday_0100_utc(year, 10);
            let year_start = days_from_civil(year, 1, 1) * 86_400;
            let next_year = days_from_civil(year + 1, 1, 1) * 86_400;
            (self.start, self.end, self.offset) = if t < summer_from {
                (year_start, summer_from, 3600)
            } else if t < summer_to {
                (summer_from, summer_to, 7200)
            } else {
                (summer_to, next_year, 3600)
            };
        } else if t >= HOURLY_FROM {
            // Since 1900 every switch has been on a whole UTC hour.
            let hour = t.div_euclid(3600) * 3600;
            (self.start, self.end, self.offset) = (hour, hour + 3600, tz_offset(t));
        } else {
            (self.start, self.end, self.offset) = (t, t.saturating_add(1), tz_offset(t));
        }
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = usize::try_from(self.weekday)
            .ok()
            .and_then(|d| WEEKDAY_NAMES.get(d))
            .unwrap_or(&"?");
        write!(f, "{day} {:02}h", self.hour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike, Timelike};
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;
    use trygg_model::Precision;
    use trygg_store::EventViewBuilder;

    fn reference(t: i64) -> LocalTime {
        let local = DateTime::from_timestamp(t, 0)
            .expect("in range")
            .with_timezone(&Stockholm);
        LocalTime {
            hour: local.hour(),
            weekday: local.weekday().num_days_from_monday(),
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for (y, m, d, days) in [(1970, 1, 1, 0), (2000, 3, 1, 11_017), (1969, 12, 31, -1)] {
            assert_eq!(days_from_civil(y, m, d), days);
            assert_eq!(year_of_days(days), y);
        }
        // The switch instants of 2024.
        assert_eq!(last_sunday_0100_utc(2024, 3), 1_711_846_800); // 2024-03-31T01:00Z
        assert_eq!(last_sunday_0100_utc(2024, 10), 1_729_990_800); // 2024-10-27T01:00Z
    }

    #[test]
    fn local_time_is_exact_at_the_switches() {
        let mut clock = LocalClock::new();
        for year in [1980, 1995, 1996, 2000, 2019, 2024, 2025, 2038, 2099, 2100] {
            for month in [3, 10] {
                let switch = last_sunday_0100_utc(year, month);
                for dt in [-3601, -3600, -1, 0, 1, 3599, 3600] {
                    let t = switch + dt;
                    assert_eq!(clock.local(t), reference(t), "{year}-{month} {dt:+}");
                    assert_eq!(clock.offset(t), tz_offset(t));
                }
            }
        }
        // 2024-03-31T00:59:59Z is 01:59:59 winter time; a second later it is 03:00.
        let switch = last_sunday_0100_utc(2024, 3);
        assert_eq!(clock.local(switch - 1).hour, 1);
        assert_eq!(clock.local(switch).hour, 3);
        // 2024-10-27T00:59:59Z is 02:59:59 summer time; a second later 02:00 again.
        let back = last_sunday_0100_utc(2024, 10);
        assert_eq!(clock.local(back - 1).hour, 2);
        assert_eq!(clock.local(back).hour, 2);
        assert_eq!(clock.local(back - 3601).hour, 1);
    }

    #[test]
    fn local_time_agrees_with_chrono_tz_at_random_times() {
        let mut rng = Pcg64::seed_from_u64(11);
        let mut times: Vec<i64> = (0..200_000)
            .map(|_| rng.random_range(-2_500_000_000i64..4_200_000_000))
            .collect();
        // Ascending (as from the view) and shuffled (cache misses) both.
        let mut clock = LocalClock::new();
        for &t in &times {
            assert_eq!(clock.local(t), reference(t), "t = {t}");
        }
        times.sort_unstable();
        for &t in &times {
            assert_eq!(clock.local(t), reference(t), "t = {t}");
        }
    }

    #[test]
    fn hour_and_weekday_filters_parse() {
        let night: HourFilter = "22-04".parse().expect("valid");
        assert_eq!(night.hours(), [0, 1, 2, 3, 22, 23]);
        assert_eq!(
            "0-24".parse::<HourFilter>().map(|h| h.hours().len()),
            Ok(24)
        );
        assert_eq!(
            "6-9,17".parse::<HourFilter>().map(|h| h.hours()),
            Ok(vec![6, 7, 8, 17])
        );
        assert_eq!(HourFilter::range(5, 5).map(|h| h.hours()), Ok(vec![]));
        assert!("24".parse::<HourFilter>().is_err());
        assert!("a-b".parse::<HourFilter>().is_err());
        let weekend: WeekdayFilter = "fri-mon".parse().expect("valid");
        assert_eq!(
            weekend.days(),
            [Weekday::Mon, Weekday::Fri, Weekday::Sat, Weekday::Sun]
        );
        assert_eq!(
            "mån-fre".parse::<WeekdayFilter>(),
            "mon-fri".parse::<WeekdayFilter>()
        );
        assert!("xyz".parse::<WeekdayFilter>().is_err());
        assert!("mo".parse::<WeekdayFilter>().is_err());
        let json = serde_json::to_string(&Selection {
            sources: Some(vec![Source::Crimes]),
            hours: Some(night),
            weekdays: Some(weekend),
            ..Selection::default()
        })
        .expect("serialises");
        assert_eq!(
            json,
            r#"{"sources":["crimes"],"categories":null,"from_utc":null,"to_utc":null,"hours":[0,1,2,3,22,23],"weekdays":["mon","fri","sat","sun"]}"#
        );
    }

    #[test]
    fn matcher_agrees_with_brute_force() {
        let mut rng = Pcg64::seed_from_u64(5);
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        let from = 1_640_995_200; // 2022-01-01
        for _ in 0..20_000 {
            let t = rng.random_range(from..from + 3 * 365 * 86_400);
            b.push(
                t,
                670_000.0,
                6_580_000.0,
                Source::ALL[rng.random_range(0..5)],
                NormCategory::ALL[rng.random_range(0..NormCategory::ALL.len())],
                Precision::Exact,
                "x",
                None,
            );
        }
        let view = b.build();
        let sel = Selection {
            sources: Some(vec![Source::Crimes, Source::PoliceEvents]),
            categories: Some(vec![NormCategory::Violence, NormCategory::Theft]),
            from_utc: Some(from + 100 * 86_400),
            to_utc: Some(from + 800 * 86_400),
            hours: Some("22-04".parse().expect("valid")),
            weekdays: Some("fri-sun".parse().expect("valid")),
        };
        let brute: Vec<u32> = (0..view.len())
            .filter(|&i| {
                let t = view.time(i);
                let local = reference(t);
                (from + 100 * 86_400..from + 800 * 86_400).contains(&t)
                    && matches!(view.source(i), Source::Crimes | Source::PoliceEvents)
                    && matches!(
                        view.category_norm(i),
                        NormCategory::Violence | NormCategory::Theft
                    )
                    && (local.hour >= 22 || local.hour < 4)
                    && local.weekday >= 4
            })
            .map(|i| i as u32)
            .collect();
        assert!(brute.len() > 50, "the test needs matches: {}", brute.len());
        assert_eq!(sel.indices(&view), brute);
        assert_eq!(sel.count(&view), brute.len() as u64);
        let mut m = sel.matcher();
        let one_by_one: Vec<u32> = (0..view.len())
            .filter(|&i| m.matches(&view, i))
            .map(|i| i as u32)
            .collect();
        assert_eq!(one_by_one, brute);
        // An empty source list keeps nothing; no filters keep everything.
        let none = Selection {
            sources: Some(vec![]),
            ..Selection::default()
        };
        assert_eq!(none.count(&view), 0);
        // No filters keep every incident, and no survey row.
        let incidents = (0..view.len())
            .filter(|&i| view.source(i) != Source::Survey)
            .count() as u64;
        assert!(incidents < view.len() as u64);
        assert_eq!(Selection::all().count(&view), incidents);
        let survey = Selection {
            sources: Some(vec![Source::Survey]),
            ..Selection::default()
        };
        assert_eq!(survey.count(&view), view.len() as u64 - incidents);
    }
}
