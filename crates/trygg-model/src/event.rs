//! Events, their location precision and assigned areas, and rejected input rows.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::{NormCategory, ParseEnumError, Source};

/// How precisely an event's location is known.
///
/// Only the first three are points that may be drawn or counted in grids; a
/// stadsdel-precision event counts in area statistics, a municipality-precision one
/// only in municipality totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    /// An exact coordinate (GPS or surveyed).
    Exact,
    /// Geocoded from an address.
    Address,
    /// Geocoded to a street or street segment.
    Street,
    /// Known only to lie in a stadsdel; the geometry is the stadsdel's interior point.
    Stadsdel,
    /// Known only to lie in the municipality; the geometry is the given centroid.
    Municipality,
}

impl Precision {
    /// All precisions, finest first (the order of their `u8` codes).
    pub const ALL: [Precision; 5] = [
        Precision::Exact,
        Precision::Address,
        Precision::Street,
        Precision::Stadsdel,
        Precision::Municipality,
    ];

    /// The stable name used in the store, mapping files and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Address => "address",
            Precision::Street => "street",
            Precision::Stadsdel => "stadsdel",
            Precision::Municipality => "municipality",
        }
    }

    /// Whether the geometry is a real location that may be drawn and gridded.
    pub fn is_point(self) -> bool {
        matches!(
            self,
            Precision::Exact | Precision::Address | Precision::Street
        )
    }

    /// A compact code for columnar storage (index into [`Precision::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Precision {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "precision",
                value: s.to_owned(),
                expected: Precision::ALL.map(Precision::as_str).join(", "),
            })
    }
}

/// How precisely an event's time of day is known. Hour-of-day filters and the
/// hour × weekday matrix use only [`TimePrecision::Exact`] times and report how many
/// others they left out: a date-only time is not an event at midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimePrecision {
    /// A clock time, with no interval or one of at most [`TimePrecision::EXACT_SPAN_S`].
    Exact,
    /// A from–to interval longer than that: the time of day is uncertain.
    Interval,
    /// Only a date: the time of day is unknown (stored as local midnight).
    Date,
}

impl TimePrecision {
    /// All time precisions (the order of their `u8` codes).
    pub const ALL: [TimePrecision; 3] = [
        TimePrecision::Exact,
        TimePrecision::Interval,
        TimePrecision::Date,
    ];

    /// The longest interval (seconds) whose start still counts as the time of day.
    pub const EXACT_SPAN_S: i64 = 3_600;

    /// The precision of a time with a clock time (or not) and an optional end.
    pub fn of(
        date_only: bool,
        start: DateTime<FixedOffset>,
        end: Option<DateTime<FixedOffset>>,
    ) -> TimePrecision {
        if date_only {
            TimePrecision::Date
        } else if end.is_some_and(|e| (e - start).num_seconds() > TimePrecision::EXACT_SPAN_S) {
            TimePrecision::Interval
        } else {
            TimePrecision::Exact
        }
    }

    /// The stable name used in the store and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            TimePrecision::Exact => "exact",
            TimePrecision::Interval => "interval",
            TimePrecision::Date => "date",
        }
    }

    /// A compact code for columnar storage (index into [`TimePrecision::ALL`]).
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl FromStr for TimePrecision {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimePrecision::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "time precision",
                value: s.to_owned(),
                expected: TimePrecision::ALL.map(TimePrecision::as_str).join(", "),
            })
    }
}

/// The areas an event was assigned to at ingest.
///
/// Names are shared (`Arc<str>`) because millions of events point at a hundred areas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaAssignment {
    /// The stadsdel (district), e.g. "RINKEBY".
    pub stadsdel: Option<Arc<str>>,
    /// The stadsdelsområde in the 13-area division valid 2020-07-01..2023-06-30.
    pub stadsdelsomrade_2020: Option<Arc<str>>,
    /// The stadsdelsområde in the 11-area division valid from 2023-07-01.
    pub stadsdelsomrade_2023: Option<Arc<str>>,
    /// The point is inside the study extent but in no area (flagged, kept).
    pub outside_areas: bool,
}

/// One located, categorised event from any source: the unit the store holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Which source it came from.
    pub source: Source,
    /// The source's own stable identifier; `(source, source_id)` is unique.
    pub source_id: String,
    /// When it happened (start of the interval when only an interval is known),
    /// Europe/Stockholm local time with its offset.
    pub occurred_at: DateTime<FixedOffset>,
    /// End of the interval when the source gives a from-to interval.
    pub occurred_to: Option<DateTime<FixedOffset>>,
    /// How precisely the time of day is known.
    pub time_precision: TimePrecision,
    /// When the source reported or published it, if known.
    pub reported_at: Option<DateTime<FixedOffset>>,
    /// The source's own category text (e.g. a police event type or a crime code).
    pub category: String,
    /// The normalised category shared by all sources.
    pub category_norm: NormCategory,
    /// Easting in EPSG:3006 metres.
    pub x: f64,
    /// Northing in EPSG:3006 metres.
    pub y: f64,
    /// How precisely the location is known.
    pub precision: Precision,
    /// The areas assigned at ingest.
    pub areas: AreaAssignment,
    /// The source's own attributes, verbatim, as a JSON object text.
    pub attributes: String,
}

/// An input row that could not become an event, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The input file's name as given by the user.
    pub file: String,
    /// The row (CSV: line number, header = 1; JSON: 1-based element index);
    /// `None` when the whole file was rejected.
    pub row: Option<u64>,
    /// The field (column or JSON member) at fault, if one is.
    pub field: Option<String>,
    /// A human-readable reason naming the offending value.
    pub reason: String,
    /// The raw text of the row, when there is one.
    pub raw: Option<String>,
}

/// Longest reason kept whole, in characters; longer ones keep their start and end.
pub const MAX_REASON_CHARS: usize = 600;
/// Longest raw row kept whole, in bytes.
pub const MAX_RAW_BYTES: usize = 4096;
/// Longest field name kept whole, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

impl Rejection {
    /// The same rejection with an oversized reason, field or raw text cut to a
    /// readable size, saying how long it was: a 10 MB cell must not be printed or
    /// stored whole once per message.
    pub fn clipped(self) -> Rejection {
        Rejection {
            reason: clip_middle(&self.reason, MAX_REASON_CHARS),
            field: self.field.map(|f| clip_middle(&f, MAX_FIELD_CHARS)),
            raw: self.raw.map(|r| clip_end(r, MAX_RAW_BYTES)),
            ..self
        }
    }
}

/// `text` if at most `max` characters, else its start and end around a note of
/// how many characters were cut.
pub fn clip_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let head = max * 2 / 3;
    let tail = max / 4;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!(
        "{start}… [{} characters cut, {count} in all] …{end}",
        count - head - tail
    )
}

/// `text` if at most `max` bytes, else its first `max` bytes (on a character
/// boundary) and a note of its length.
fn clip_end(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… [cut: {} bytes in all]", &text[..cut], text.len())
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field '{field}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_rejections_are_clipped_with_their_length() {
        let huge = "x".repeat(1_000_000);
        let r = Rejection {
            file: "f.csv".into(),
            row: Some(2),
            field: Some(huge.clone()),
            reason: format!("cannot read '{huge}' as a time; expected %Y-%m-%d"),
            raw: Some(format!("å{huge}")),
        }
        .clipped();
        assert!(
            r.reason.chars().count() < MAX_REASON_CHARS + 80,
            "{}",
            r.reason.len()
        );
        assert!(r.reason.starts_with("cannot read 'xxx"));
        assert!(r.reason.ends_with("expected %Y-%m-%d"), "{}", r.reason);
        assert!(r.reason.contains("1000043 in all"), "{}", r.reason);
        let raw = r.raw.expect("raw kept");
        assert!(raw.len() < MAX_RAW_BYTES + 50);
        assert!(raw.ends_with("[cut: 1000002 bytes in all]"), "{raw}");
        assert!(r.field.expect("field").len() < MAX_FIELD_CHARS + 60);
        let small = Rejection {
            file: "f".into(),
            row: None,
            field: None,
            reason: "short".into(),
            raw: Some("a,b".into()),
        };
        assert_eq!(small.clone().clipped(), small);
    }

    #[test]
    fn precision_names_round_trip_and_only_points_are_points() {
        for p in Precision::ALL {
            assert_eq!(p.as_str().parse::<Precision>(), Ok(p));
        }
        assert!(Precision::Street.is_point());
        assert!(!Precision::Stadsdel.is_point() && !Precision::Municipality.is_point());
    }

    #[test]
    fn rejection_display_names_file_row_and_field() {
        let r = Rejection {
            file: "a.csv".into(),
            row: Some(7),
            field: Some("x".into()),
            reason: "not a number: 'abc'".into(),
            raw: None,
        };
        assert_eq!(
            r.to_string(),
            "a.csv, row 7, field 'x': not a number: 'abc'"
        );
    }
}
