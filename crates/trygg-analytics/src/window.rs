//! Time windows in Stockholm local dates: days, ISO weeks, months, quarters, years
//! and custom ranges; the period before and the same period a year earlier; their
//! UTC bounds; and series of consecutive periods with a cursor that buckets a run of
//! time-sorted events by walking the boundaries.
//!
//! A [`Period`] is a range of whole local days, both ends inclusive. Its UTC bounds
//! are the instants of local midnight at its first day and after its last day, so a
//! day is 23 hours long on the last Sunday of March and 25 on the last Sunday of
//! October, and a period's length in seconds (its exposure) says so.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use trygg_model::time::stockholm_local;
use trygg_store::EventView;

/// The earliest year a period may be built for (keeps labels four digits wide).
pub const MIN_YEAR: i32 = 1000;
/// The latest year a period may be built for.
pub const MAX_YEAR: i32 = 9999;
/// The most periods a [`PeriodSeries`] may hold (a day series of ~270 years).
pub const MAX_PERIODS: usize = 100_000;

/// An error from building or parsing a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A component (month, quarter, week, year) is out of range.
    #[error("invalid {what} {value}")]
    Invalid {
        /// What was invalid ("month", "ISO week", ...).
        what: &'static str,
        /// The offending value.
        value: String,
    },
    /// A custom range whose end precedes its start.
    #[error("period ends ({end}) before it starts ({start})")]
    Reversed {
        /// The first day.
        start: NaiveDate,
        /// The last day.
        end: NaiveDate,
    },
    /// A calendar period was asked of the custom kind.
    #[error("a custom range has no calendar period containing a date; use day, week, month, quarter or year")]
    CustomHasNoCalendar,
    /// A series would be too long.
    #[error("a series of {count} periods exceeds the limit of {MAX_PERIODS}")]
    TooManyPeriods {
        /// The number of periods asked for.
        count: usize,
    },
    /// Text that is no period.
    #[error("cannot read '{0}' as a period (expected 2024-03-05, 2024-W05, 2024-03, 2024-Q1, 2024 or 2024-03-01..2024-03-10)")]
    Parse(String),
    /// Text that is no window kind.
    #[error("unknown window kind '{0}' (expected day, week, month, quarter, year or custom)")]
    Kind(String),
}

/// The kind of a time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// One local day.
    Day,
    /// One ISO 8601 week, Monday to Sunday.
    IsoWeek,
    /// One calendar month.
    Month,
    /// One calendar quarter.
    Quarter,
    /// One calendar year.
    Year,
    /// Any range of whole days.
    Custom,
}

impl WindowKind {
    /// The stable name: `day`, `iso_week`, `month`, `quarter`, `year`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Day => "day",
            WindowKind::IsoWeek => "iso_week",
            WindowKind::Month => "month",
            WindowKind::Quarter => "quarter",
            WindowKind::Year => "year",
            WindowKind::Custom => "custom",
        }
    }
}

impl fmt::Display for WindowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WindowKind {
    type Err = WindowError;

    /// Reads `day`, `week` (or `iso_week`, `iso-week`), `month`, `quarter`, `year`
    /// or `custom`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(WindowKind::Day),
            "week" | "iso_week" | "iso-week" | "isoweek" => Ok(WindowKind::IsoWeek),
            "month" => Ok(WindowKind::Month),
            "quarter" => Ok(WindowKind::Quarter),
            "year" => Ok(WindowKind::Year),
            "custom" => Ok(WindowKind::Custom),
            _ => Err(WindowError::Kind(s.to_owned())),
        }
    }
}

/// A period of whole Stockholm local days, `start` and `end` both inclusive.
///
/// Build it with the constructors, which validate; the fields are public for
/// reading. Arithmetic on a period near chrono's date limits saturates rather than
/// panicking (the constructors keep years within [`MIN_YEAR`]..=[`MAX_YEAR`]).
///
/// ```
/// use trygg_analytics::window::Period;
/// let week: Period = "2020-W53".parse().expect("2020 has 53 ISO weeks");
/// assert_eq!(week.previous().label(), "2020-W52");
/// assert_eq!(week.year_earlier().label(), "2019-W52"); // 2019 has no week 53
/// let march = Period::month(2024, 3).expect("valid");
/// assert_eq!(march.seconds(), 31 * 86_400 - 3600); // clocks go forward on the 31st
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// The window kind, which decides what "previous" and "a year earlier" mean.
    pub kind: WindowKind,
    /// The first day (local date).
    pub start: NaiveDate,
    /// The last day (local date), inclusive.
    pub end: NaiveDate,
}

fn check_year(year: i32) -> Result<(), WindowError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(WindowError::Invalid {
            what: "year",
            value: year.to_string(),
        })
    }
}

fn add_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(d)
}

fn sub_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_sub_days(Days::new(n)).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(d)
}

fn sub_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n)).unwrap_or(d)
}

/// The number of ISO weeks (52 or 53) of an ISO year.
pub fn iso_weeks_in_year(iso_year: i32) -> u32 {
    if NaiveDate::from_isoywd_opt(iso_year, 53, Weekday::Mon).is_some() {
        53
    } else {
        52
    }
}

/// Seconds of the local midnight that starts `date`, as a Unix time.
fn local_midnight_utc(date: NaiveDate) -> i64 {
    // Stockholm's clocks change at 02:00/03:00, so local midnight always exists
    // and is unique.
    stockholm_local(date.and_time(NaiveTime::MIN)).timestamp()
}

/// The instants `[local midnight of from, local midnight after to)` of a range of
/// Stockholm days, both included, either end open: what every `from`/`to` filter
/// means. A range whose end precedes its start is an error, everywhere.
pub fn day_range_utc(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(Option<i64>, Option<i64>), WindowError> {
    if let (Some(start), Some(end)) = (from, to) {
        if end < start {
            return Err(WindowError::Reversed { start, end });
        }
    }
    for d in from.iter().chain(to.iter()) {
        check_year(d.year())?;
    }
    Ok((
        from.map(local_midnight_utc),
        to.map(|d| local_midnight_utc(add_days(d, 1))),
    ))
}

impl Period {
    /// The day `date`.
    pub fn day(date: NaiveDate) -> Period {
        Period {
            kind: WindowKind::Day,
            start: date,
            end: date,
        }
    }

    /// ISO week `week` (1..=52 or 53) of ISO year `iso_year`.
    pub fn iso_week(iso_year: i32, week: u32) -> Result<Period, WindowError> {
        check_year(iso_year)?;
        let start = NaiveDate::from_isoywd_opt(iso_year, week, Weekday::Mon).ok_or_else(|| {
            WindowError::Invalid {
                what: "ISO week",
                value: format!("{iso_year}-W{week:02}"),
            }
        })?;
        Ok(Period {
            kind: WindowKind::IsoWeek,
            start,
            end: add_days(start, 6),
        })
    }

    /// Month `month` (1..=12) of `year`.
    pub fn month(year: i32, month: u32) -> Result<Period, WindowError> {
        check_year(year)?;
        let start =
            NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| WindowError::Invalid {
                what: "month",
                value: month.to_string(),
            })?;
        Ok(Period {
            kind: WindowKind::Month,
            start,
            end: sub_days(add_months(start, 1), 1),
        })
    }

    /// Quarter `quarter` (1..=4) of `year`.
    pub fn quarter(year: i32, quarter: u32) -> Result<Period, WindowError> {
        check_year(year)?;
        if !(1..=4).contains(&quarter) {
            return Err(WindowError::Invalid {
                what: "quarter",
                value: quarter.to_string(),
            });
        }
        let start = NaiveDate::from_ymd_opt(year, 3 * quarter - 2, 1).ok_or_else(|| {
            WindowError::Invalid {
                what: "quarter",
                value: quarter.to_string(),
            }
        })?;
        Ok(Period {
            kind: WindowKind::Quarter,
            start,
            end: sub_days(add_months(start, 3), 1),
        })
    }

    /// The calendar year `year`.
    pub fn year(year: i32) -> Result<Period, WindowError> {
        check_year(year)?;
        let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| WindowError::Invalid {
            what: "year",
            value: year.to_string(),
        })?;
        Ok(Period {
            kind: WindowKind::Year,
            start,
            end: sub_days(add_months(start, 12), 1),
        })
    }

    /// The days `start..=end`.
    pub fn custom(start: NaiveDate, end: NaiveDate) -> Result<Period, WindowError> {
        check_year(start.year())?;
        check_year(end.year())?;
        if end < start {
            return Err(WindowError::Reversed { start, end });
        }
        Ok(Period {
            kind: WindowKind::Custom,
            start,
            end,
        })
    }

    /// The period of `kind` that contains `date` (not for [`WindowKind::Custom`]).
    pub fn containing(kind: WindowKind, date: NaiveDate) -> Result<Period, WindowError> {
        check_year(date.year())?;
        match kind {
            WindowKind::Day => Ok(Period::day(date)),
            WindowKind::IsoWeek => {
                let w = date.iso_week();
                Period::iso_week(w.year(), w.week())
            }
            WindowKind::Month => Period::month(date.year(), date.month()),
            WindowKind::Quarter => Period::quarter(date.year(), (date.month() - 1) / 3 + 1),
            WindowKind::Year => Period::year(date.year()),
            WindowKind::Custom => Err(WindowError::CustomHasNoCalendar),
        }
    }

    /// Number of days, at least 1.
    pub fn days(&self) -> u64 {
        u64::try_from((self.end - self.start).num_days() + 1).unwrap_or(1)
    }

    /// The period of the same kind immediately before: the previous day, ISO week,
    /// month, quarter or year (calendar units, so March's previous period is
    /// February, one of 29 days), or for a custom range the same number of days
    /// ending the day before it starts.
    pub fn previous(&self) -> Period {
        let start = match self.kind {
            WindowKind::Day => sub_days(self.start, 1),
            WindowKind::IsoWeek => sub_days(self.start, 7),
            WindowKind::Month => sub_months(self.start, 1),
            WindowKind::Quarter => sub_months(self.start, 3),
            WindowKind::Year => sub_months(self.start, 12),
            WindowKind::Custom => sub_days(self.start, self.days()),
        };
        Period {
            kind: self.kind,
            start,
            end: sub_days(self.start, 1),
        }
    }

    /// The `n` periods of the same kind immediately before, as one custom
    /// period (`n` = 1: [`Period::previous`]): e.g. the four ISO weeks before a
    /// week, the baseline a weekly report compares with.
    pub fn previous_n(&self, n: u32) -> Period {
        let mut first = self.previous();
        for _ in 1..n {
            first = first.previous();
        }
        if n <= 1 {
            return first;
        }
        Period {
            kind: WindowKind::Custom,
            start: first.start,
            end: sub_days(self.start, 1),
        }
    }

    /// The period of the same kind immediately after.
    pub fn next(&self) -> Period {
        let start = add_days(self.end, 1);
        let end = match self.kind {
            WindowKind::Day => start,
            WindowKind::IsoWeek => add_days(start, 6),
            WindowKind::Month => sub_days(add_months(start, 1), 1),
            WindowKind::Quarter => sub_days(add_months(start, 3), 1),
            WindowKind::Year => sub_days(add_months(start, 12), 1),
            WindowKind::Custom => add_days(self.end, self.days()),
        };
        Period {
            kind: self.kind,
            start,
            end,
        }
    }

    /// The same period a year before: the same ISO week number of the previous ISO
    /// year (week 53 maps to week 52 when the previous ISO year has no week 53), the
    /// same month, quarter or year, and for days and custom ranges the dates minus
    /// one year (29 February becomes 28 February).
    pub fn year_earlier(&self) -> Period {
        match self.kind {
            WindowKind::IsoWeek => {
                let w = self.start.iso_week();
                let year = w.year() - 1;
                let week = w.week().min(iso_weeks_in_year(year));
                match NaiveDate::from_isoywd_opt(year, week, Weekday::Mon) {
                    Some(start) => Period {
                        kind: WindowKind::IsoWeek,
                        start,
                        end: add_days(start, 6),
                    },
                    None => *self,
                }
            }
            WindowKind::Month | WindowKind::Quarter | WindowKind::Year => {
                // The start is the first of a month, so a year earlier is too; the
                // end is recomputed so that February keeps its own length.
                let start = sub_months(self.start, 12);
                let months = match self.kind {
                    WindowKind::Month => 1,
                    WindowKind::Quarter => 3,
                    _ => 12,
                };
                Period {
                    kind: self.kind,
                    start,
                    end: sub_days(add_months(start, months), 1),
                }
            }
            WindowKind::Day | WindowKind::Custom => Period {
                kind: self.kind,
                start: sub_months(self.start, 12),
                end: sub_months(self.end, 12),
            },
        }
    }

    /// The half-open UTC bounds `[from, to)` in Unix seconds: local midnight at the
    /// start of the first day and after the last day.
    pub fn utc_bounds(&self) -> (i64, i64) {
        (
            local_midnight_utc(self.start),
            local_midnight_utc(add_days(self.end, 1)),
        )
    }

    /// Length in seconds (the exposure of the change tests): 86 400 per day, one
    /// hour less or more across a daylight-saving switch.
    pub fn seconds(&self) -> i64 {
        let (from, to) = self.utc_bounds();
        to - from
    }

    /// Whether the local date `date` lies in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// The year population figures are looked up for: the ISO year of an ISO week,
    /// else the calendar year of the first day.
    pub fn population_year(&self) -> i32 {
        match self.kind {
            WindowKind::IsoWeek => self.start.iso_week().year(),
            _ => self.start.year(),
        }
    }

    /// A short label: `2024-03-05`, `2024-W05`, `2024-03`, `2024-Q1`, `2024`, or
    /// `2024-03-01..2024-03-10`; [`Period::from_str`] reads it back.
    pub fn label(&self) -> String {
        match self.kind {
            WindowKind::Day => self.start.format("%Y-%m-%d").to_string(),
            WindowKind::IsoWeek => {
                let w = self.start.iso_week();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            WindowKind::Month => self.start.format("%Y-%m").to_string(),
            WindowKind::Quarter => format!(
                "{:04}-Q{}",
                self.start.year(),
                (self.start.month() - 1) / 3 + 1
            ),
            WindowKind::Year => format!("{:04}", self.start.year()),
            WindowKind::Custom => format!(
                "{}..{}",
                self.start.format("%Y-%m-%d"),
                self.end.format("%Y-%m-%d")
            ),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for Period {
    type Err = WindowError;

    /// Reads a label as written by [`Period::label`]; `2024-W5` and `2024-w05` are
    /// accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || WindowError::Parse(s.to_owned());
        let date = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| bad());
        let number = |t: &str| -> Result<u32, WindowError> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 4 {
                return Err(bad());
            }
            t.parse::<u32>().map_err(|_| bad())
        };
        let year = |t: &str| -> Result<i32, WindowError> {
            if t.len() != 4 {
                return Err(bad());
            }
            number(t).and_then(|y| i32::try_from(y).map_err(|_| bad()))
        };
        if let Some((a, b)) = text.split_once("..") {
            return Period::custom(date(a)?, date(b)?);
        }
        let parts: Vec<&str> = text.split('-').collect();
        match parts.as_slice() {
            [y] => Period::year(year(y)?),
            [y, w] if w.starts_with(['W', 'w']) => Period::iso_week(year(y)?, number(&w[1..])?),
            [y, q] if q.starts_with(['Q', 'q']) => Period::quarter(year(y)?, number(&q[1..])?),
            [y, m] => Period::month(year(y)?, number(m)?),
            [_, _, _] => {
                let d = date(text)?;
                check_year(d.year())?;
                Ok(Period::day(d))
            }
            _ => Err(bad()),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Period", 4)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("label", &self.label())?;
        s.serialize_field("start", &self.start.format("%Y-%m-%d").to_string())?;
        s.serialize_field("end", &self.end.format("%Y-%m-%d").to_string())?;
        s.end()
    }
}

/// Consecutive periods of one kind with their shared UTC boundaries, for bucketing
/// time-sorted events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodSeries {
    periods: Vec<Period>,
    /// `periods.len() + 1` ascending Unix times: period `i` is `[bounds[i], bounds[i + 1])`.
    #[serde(skip)]
    bounds: Vec<i64>,
}

impl PeriodSeries {
    /// The whole periods of `kind` that overlap the local days `from..=to` (so the
    /// first and last period may reach beyond them; counts per period stay
    /// comparable). Not for [`WindowKind::Custom`].
    pub fn covering(
        kind: WindowKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<PeriodSeries, WindowError> {
        if to < from {
            return Err(WindowError::Reversed {
                start: from,
                end: to,
            });
        }
        let first = Period::containing(kind, from)?;
        let last = Period::containing(kind, to)?;
        // A cheap upper bound on the count before walking, so that a day series over
        // millennia fails fast instead of allocating.
        let estimate = usize::try_from((to - from).num_days()).unwrap_or(usize::MAX)
            / match kind {
                WindowKind::Day | WindowKind::Custom => 1,
                WindowKind::IsoWeek => 7,
                WindowKind::Month => 28,
                WindowKind::Quarter => 89,
                WindowKind::Year => 365,
            };
        if estimate > MAX_PERIODS {
            return Err(WindowError::TooManyPeriods { count: estimate });
        }
        let mut periods = vec![first];
        let mut current = first;
        while current.end < last.end {
            current = current.next();
            periods.push(current);
        }
        PeriodSeries::consecutive(periods)
    }

    /// One period.
    pub fn single(period: Period) -> PeriodSeries {
        let (from, to) = period.utc_bounds();
        PeriodSeries {
            periods: vec![period],
            bounds: vec![from, to],
        }
    }

    /// A series of periods where each starts the day after the previous ends.
    pub fn consecutive(periods: Vec<Period>) -> Result<PeriodSeries, WindowError> {
        if periods.len() > MAX_PERIODS {
            return Err(WindowError::TooManyPeriods {
                count: periods.len(),
            });
        }
        let mut bounds = Vec::with_capacity(periods.len() + 1);
        for (i, p) in periods.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).and_then(|j| periods.get(j)) {
                if add_days(prev.end, 1) != p.start {
                    return Err(WindowError::Invalid {
                        what: "series (periods are not consecutive)",
                        value: format!("{prev} then {p}"),
                    });
                }
            }
            bounds.push(local_midnight_utc(p.start));
        }
        if let Some(last) = periods.last() {
            bounds.push(local_midnight_utc(add_days(last.end, 1)));
        }
        Ok(PeriodSeries { periods, bounds })
    }

    /// The periods, in time order.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Number of periods.
    pub fn len(&self) -> usize {
        self.periods.len()
    }

    /// Whether the series has no periods.
    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// The `len() + 1` UTC boundaries: period `i` is `[bounds[i], bounds[i + 1])`.
    pub fn bounds(&self) -> &[i64] {
        &self.bounds
    }

    /// The half-open UTC range the whole series covers (`(0, 0)` when empty).
    pub fn utc_range(&self) -> (i64, i64) {
        match (self.bounds.first(), self.bounds.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        }
    }

    /// The index of the period containing the Unix time `t` (binary search).
    pub fn period_of(&self, t: i64) -> Option<usize> {
        let (from, to) = self.utc_range();
        if t < from || t >= to {
            return None;
        }
        Some(self.bounds.partition_point(|&b| b <= t) - 1)
    }

    /// Each period's range of view indices: one binary search per boundary, none
    /// per event.
    pub fn view_ranges(&self, view: &EventView) -> Vec<Range<usize>> {
        let cuts: Vec<usize> = self
            .bounds
            .iter()
            .map(|&b| view.time_range(Some(b), None).start)
            .collect();
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }

    /// A cursor that buckets times given in ascending order.
    pub fn cursor(&self) -> PeriodCursor<'_> {
        PeriodCursor {
            bounds: &self.bounds,
            at: 0,
        }
    }
}

/// Buckets ascending times into a [`PeriodSeries`] by walking its boundaries: each
/// call costs a comparison or two, not a search. Times that go backwards are still
/// answered correctly (by a binary search).
#[derive(Debug, Clone)]
pub struct PeriodCursor<'a> {
    bounds: &'a [i64],
    at: usize,
}

impl PeriodCursor<'_> {
    /// The index of the period containing `t`, or `None` outside the series.
    #[inline]
    pub fn locate(&mut self, t: i64) -> Option<usize> {
        let n = self.bounds.len().checked_sub(1)?;
        let first = *self.bounds.first()?;
        if t < first || t >= *self.bounds.last()? {
            return None;
        }
        if self.at >= n || t < self.bounds[self.at] {
            self.at = self.bounds.partition_point(|&b| b <= t) - 1;
            return Some(self.at);
        }
        while t >= self.bounds[self.at + 1] {
            self.at += 1;
        }
        Some(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_a_reversed_day_range_is_an_error() {
        let (a, b) = (d(2024, 5, 1), d(2024, 4, 1));
        assert_eq!(
            day_range_utc(Some(a), Some(b)),
            Err(WindowError::Reversed { start: a, end: b })
        );
        let (from, to) = day_range_utc(Some(b), Some(b)).expect("one day");
        assert_eq!(to.zip(from).map(|(t, f)| t - f), Some(86_400));
        assert_eq!(day_range_utc(None, None), Ok((None, None)));
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn calendar_periods_have_the_right_days() {
        let feb = Period::month(2024, 2).expect("valid");
        assert_eq!(
            (feb.start, feb.end, feb.days()),
            (d(2024, 2, 1), d(2024, 2, 29), 29)
        );
        let q4 = Period::quarter(2023, 4).expect("valid");
        assert_eq!((q4.start, q4.end), (d(2023, 10, 1), d(2023, 12, 31)));
        let y = Period::year(2024).expect("valid");
        assert_eq!(y.days(), 366);
        assert!(Period::month(2024, 13).is_err());
        assert!(Period::quarter(2024, 0).is_err());
        assert!(Period::custom(d(2024, 3, 2), d(2024, 3, 1)).is_err());
        assert_eq!(
            Period::containing(WindowKind::Quarter, d(2024, 8, 15)),
            Period::quarter(2024, 3)
        );
        assert!(Period::containing(WindowKind::Custom, d(2024, 8, 15)).is_err());
    }

    #[test]
    fn iso_week_53_and_year_boundaries() {
        // 2020 has 53 ISO weeks; week 53 runs 2020-12-28..2021-01-03.
        assert_eq!(iso_weeks_in_year(2020), 53);
        assert_eq!(iso_weeks_in_year(2021), 52);
        let w53 = Period::iso_week(2020, 53).expect("2020 has week 53");
        assert_eq!((w53.start, w53.end), (d(2020, 12, 28), d(2021, 1, 3)));
        assert!(Period::iso_week(2021, 53).is_err());
        assert_eq!(w53.label(), "2020-W53");
        assert_eq!(w53.population_year(), 2020);
        // A year earlier: 2019 has no week 53, so its last week, 52.
        let back = w53.year_earlier();
        assert_eq!(back.label(), "2019-W52");
        assert_eq!((back.start, back.end), (d(2019, 12, 23), d(2019, 12, 29)));
        // The week after W53 is 2021-W01, whose year-earlier week 2020-W01 starts
        // on a Monday in 2019.
        assert_eq!(w53.next().label(), "2021-W01");
        let w1 = Period::iso_week(2021, 1).expect("valid");
        assert_eq!(w1.previous(), w53);
        let w1_2020 = w1.year_earlier();
        assert_eq!(w1_2020.label(), "2020-W01");
        assert_eq!(w1_2020.start, d(2019, 12, 30));
        // Date 2021-01-02 lies in 2020-W53.
        assert_eq!(
            Period::containing(WindowKind::IsoWeek, d(2021, 1, 2)),
            Ok(w53)
        );
        // 2026 has a week 53 again; 2025 has none, so it maps to 2025-W52.
        assert_eq!(iso_weeks_in_year(2026), 53);
        assert_eq!(
            Period::iso_week(2026, 53)
                .expect("valid")
                .year_earlier()
                .label(),
            "2025-W52"
        );
        // An ordinary week keeps its number.
        assert_eq!(
            Period::iso_week(2021, 10)
                .expect("valid")
                .year_earlier()
                .label(),
            "2020-W10"
        );
    }

    #[test]
    fn previous_and_year_earlier() {
        let mar = Period::month(2024, 3).expect("valid");
        assert_eq!(mar.previous(), Period::month(2024, 2).expect("valid"));
        assert_eq!(mar.year_earlier(), Period::month(2023, 3).expect("valid"));
        let feb = Period::month(2024, 2).expect("valid");
        let feb23 = feb.year_earlier();
        assert_eq!((feb23.start, feb23.end), (d(2023, 2, 1), d(2023, 2, 28)));
        let jan = Period::month(2024, 1).expect("valid");
        assert_eq!(jan.previous(), Period::month(2023, 12).expect("valid"));
        let q1 = Period::quarter(2024, 1).expect("valid");
        assert_eq!(q1.previous(), Period::quarter(2023, 4).expect("valid"));
        assert_eq!(q1.year_earlier(), Period::quarter(2023, 1).expect("valid"));
        assert_eq!(
            Period::year(2024).expect("valid").previous(),
            Period::year(2023).expect("valid")
        );
        let leap = Period::day(d(2024, 2, 29));
        assert_eq!(leap.year_earlier(), Period::day(d(2023, 2, 28)));
        assert_eq!(leap.previous(), Period::day(d(2024, 2, 28)));
        let custom = Period::custom(d(2024, 3, 1), d(2024, 3, 10)).expect("valid");
        let prev = custom.previous();
        assert_eq!((prev.start, prev.end), (d(2024, 2, 20), d(2024, 2, 29)));
        assert_eq!(prev.days(), custom.days());
        let y = custom.year_earlier();
        assert_eq!((y.start, y.end), (d(2023, 3, 1), d(2023, 3, 10)));
        assert_eq!(custom.next().start, d(2024, 3, 11));
        assert_eq!(custom.next().days(), 10);
        for p in [mar, feb, jan, q1, leap, custom] {
            assert_eq!(p.next().previous(), p, "{p}");
        }
    }

    #[test]
    fn utc_bounds_follow_daylight_saving() {
        // 2024-03-31: clocks go 02:00 → 03:00, a 23-hour day.
        let spring = Period::day(d(2024, 3, 31));
        let (from, to) = spring.utc_bounds();
        assert_eq!(from, 1_711_839_600); // 2024-03-30T23:00:00Z
        assert_eq!(to - from, 23 * 3600);
        // 2024-10-27: 03:00 → 02:00, a 25-hour day.
        let autumn = Period::day(d(2024, 10, 27));
        assert_eq!(autumn.seconds(), 25 * 3600);
        assert_eq!(autumn.utc_bounds().0, 1_729_980_000); // 2024-10-26T22:00:00Z
                                                          // A summer month starts at 22:00 UTC the evening before.
        let july = Period::month(2024, 7).expect("valid");
        assert_eq!(july.utc_bounds().0, 1_719_784_800); // 2024-06-30T22:00:00Z
                                                        // March 2024 is 31 days minus one hour.
        assert_eq!(
            Period::month(2024, 3).expect("valid").seconds(),
            31 * 86_400 - 3600
        );
        assert_eq!(Period::year(2024).expect("valid").seconds(), 366 * 86_400);
    }

    #[test]
    fn labels_round_trip() {
        for text in [
            "2024-03-05",
            "2020-W53",
            "2024-03",
            "2024-Q1",
            "2024",
            "2024-03-01..2024-03-10",
        ] {
            let p: Period = text.parse().expect(text);
            assert_eq!(p.label(), text);
        }
        assert_eq!(
            "2024-w5".parse::<Period>().map(|p| p.label()),
            Ok("2024-W05".to_owned())
        );
        for bad in [
            "",
            "2024-13",
            "2021-W53",
            "24-03",
            "2024-Q5",
            "x",
            "2024-03-32",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
        assert_eq!("week".parse::<WindowKind>(), Ok(WindowKind::IsoWeek));
        let json =
            serde_json::to_string(&Period::quarter(2024, 2).expect("valid")).expect("serialises");
        assert_eq!(
            json,
            r#"{"kind":"quarter","label":"2024-Q2","start":"2024-04-01","end":"2024-06-30"}"#
        );
    }

    #[test]
    fn series_cover_whole_periods_and_bucket_by_walking() {
        let s = PeriodSeries::covering(WindowKind::Month, d(2023, 11, 15), d(2024, 2, 3))
            .expect("valid");
        let labels: Vec<String> = s.periods().iter().map(Period::label).collect();
        assert_eq!(labels, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(s.bounds().len(), 5);
        let weeks = PeriodSeries::covering(WindowKind::IsoWeek, d(2020, 12, 20), d(2021, 1, 5))
            .expect("valid");
        let labels: Vec<String> = weeks.periods().iter().map(Period::label).collect();
        assert_eq!(labels, ["2020-W51", "2020-W52", "2020-W53", "2021-W01"]);
        // Bucketing ascending times by cursor agrees with binary search.
        let (from, to) = s.utc_range();
        let mut cursor = s.cursor();
        let mut t = from - 5000;
        while t < to + 5000 {
            assert_eq!(cursor.locate(t), s.period_of(t), "t = {t}");
            t += 3001;
        }
        // And after going backwards.
        assert_eq!(cursor.locate(from), Some(0));
        assert_eq!(cursor.locate(to - 1), Some(3));
        assert_eq!(cursor.locate(to), None);
        assert!(PeriodSeries::covering(WindowKind::Day, d(1000, 1, 1), d(9000, 1, 1)).is_err());
        let gap = vec![
            Period::month(2024, 1).expect("valid"),
            Period::month(2024, 3).expect("valid"),
        ];
        assert!(PeriodSeries::consecutive(gap).is_err());
    }
}
