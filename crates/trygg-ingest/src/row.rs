//! The one place where "a row of named text values" becomes a [`Candidate`]: the
//! id, times, location, precision and category logic shared by the CSV and GeoJSON
//! parsers, driven by a [`Mapping`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta};
use std::ops::RangeInclusive;

use trygg_model::time::{plausible_years, LocalNote};
use trygg_model::{NormCategory, Precision, TimePrecision};

use crate::candidate::{Candidate, RawLocation};
use crate::mapping::{parse_point_precision, Mapping};
use crate::timefmt::{end_of_day, parse_clock, parse_with, LocalClock, Stamp, TimeFormat};

/// The values of one row, looked up by the mapping's column index.
pub(crate) trait Fields {
    /// The text of column `col` (an index into [`Mapping::columns`]); `""` when
    /// the row has no such value.
    fn value(&self, col: usize) -> &str;
}

/// Why a row was rejected: the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) field: Option<String>,
    pub(crate) reason: String,
}

impl Fail {
    pub(crate) fn new(field: &str, reason: String) -> Fail {
        Fail {
            field: Some(field.to_owned()),
            reason,
        }
    }
}

/// Where the coordinates come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PointInput {
    /// The mapping's x/y columns (CSV).
    Columns,
    /// A GeoJSON geometry: a point, or `None` for a null geometry.
    Geometry(Option<(f64, f64)>),
}

/// Everything in a [`Candidate`] except the row number and the texts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Core {
    pub(crate) source_id: String,
    pub(crate) occurred_at: DateTime<FixedOffset>,
    pub(crate) occurred_to: Option<DateTime<FixedOffset>>,
    pub(crate) reported_at: Option<DateTime<FixedOffset>>,
    pub(crate) category: String,
    pub(crate) category_norm: NormCategory,
    pub(crate) location: RawLocation,
    pub(crate) time_precision: TimePrecision,
    pub(crate) time_note: Option<LocalNote>,
}

impl Core {
    pub(crate) fn into_candidate(self, row: u64, attributes: String, raw: String) -> Candidate {
        Candidate {
            row,
            source_id: self.source_id,
            occurred_at: self.occurred_at,
            occurred_to: self.occurred_to,
            reported_at: self.reported_at,
            category: self.category,
            category_norm: self.category_norm,
            location: self.location,
            time_precision: self.time_precision,
            time_note: self.time_note,
            attributes,
            raw,
        }
    }
}

/// A row's time: start, optional end, and how precisely the time of day is known.
type Interval = (
    DateTime<FixedOffset>,
    Option<DateTime<FixedOffset>>,
    TimePrecision,
);

/// Classifier results are cached per distinct category text up to this many texts.
const NORM_CACHE_LIMIT: usize = 4096;

/// FNV-1a: category texts are short and trusted enough (a cap bounds the cache),
/// and SipHash showed up in profiles of the million-rows-a-second path.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Builds candidates from rows, keeping the caches that make it fast.
pub(crate) struct RowBuilder<'m> {
    mapping: &'m Mapping,
    /// Accept "18,0686" in coordinates (when the delimiter is not a comma).
    decimal_comma: bool,
    clock: LocalClock,
    /// The years an event time may fall in.
    years: RangeInclusive<i32>,
    norms: HashMap<String, NormCategory, BuildHasherDefault<Fnv>>,
    joined: String,
    joined_end: String,
    number: String,
    /// The names of the coordinate fields, shared by every point row.
    column_fields: Arc<(String, String)>,
    geometry_fields: Arc<(String, String)>,
}

impl<'m> RowBuilder<'m> {
    pub(crate) fn new(mapping: &'m Mapping, decimal_comma: bool) -> RowBuilder<'m> {
        let column_fields = match mapping.roles.xy {
            Some((xc, yc)) => (
                mapping.column_name(xc).to_owned(),
                mapping.column_name(yc).to_owned(),
            ),
            None => (String::new(), String::new()),
        };
        RowBuilder {
            mapping,
            decimal_comma,
            clock: LocalClock::default(),
            years: plausible_years(),
            norms: HashMap::default(),
            joined: String::new(),
            joined_end: String::new(),
            number: String::new(),
            column_fields: Arc::new(column_fields),
            geometry_fields: Arc::new(("coordinates[0]".to_owned(), "coordinates[1]".to_owned())),
        }
    }

    /// Reads one row; the first problem found rejects it.
    pub(crate) fn build<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
        point: PointInput,
    ) -> Result<Core, Fail> {
        let source_id = self.source_id(fields)?;
        self.clock.take_note();
        let (occurred_at, occurred_to, time_precision) = self.interval(fields)?;
        let reported_at = self.reported(fields)?;
        let location = self.location(fields, point)?;
        let (category, category_norm) = self.category(fields)?;
        for rule in &self.mapping.numbers {
            rule.check(fields.value(rule.col))
                .map_err(|reason| Fail::new(self.name(rule.col), reason))?;
        }
        Ok(Core {
            source_id,
            occurred_at,
            occurred_to,
            reported_at,
            category,
            category_norm,
            location,
            time_precision,
            time_note: self.clock.take_note(),
        })
    }

    /// The mapping, borrowed for `'m` rather than for as long as `self` is.
    fn mapping_ref(&self) -> &'m Mapping {
        self.mapping
    }

    fn name(&self, col: usize) -> &'m str {
        self.mapping.column_name(col)
    }

    fn source_id<F: Fields + ?Sized>(&self, fields: &F) -> Result<String, Fail> {
        if let [col] = self.mapping.roles.id[..] {
            let id = fields.value(col).trim();
            if id.is_empty() {
                return Err(Fail::new(self.name(col), "id is empty".into()));
            }
            return Ok(id.to_owned());
        }
        let mut id = String::new();
        for (i, &col) in self.mapping.roles.id.iter().enumerate() {
            let part = fields.value(col).trim();
            if part.is_empty() {
                return Err(Fail::new(self.name(col), "id is empty".into()));
            }
            if i > 0 {
                id.push(':');
            }
            id.push_str(part);
        }
        Ok(id)
    }

    fn interval<F: Fields + ?Sized>(&mut self, fields: &F) -> Result<Interval, Fail> {
        let spec = &self.mapping_ref().time;
        // Fast path: a [date, time] column pair read without joining the texts.
        let pair = match spec.interval_separator {
            None => pair_stamp(fields, &spec.start, &spec.formats),
            Some(_) => None,
        };
        let (start_stamp, inline_end) = match pair {
            Some(stamp) => (stamp, None),
            None => {
                let mut buf = std::mem::take(&mut self.joined);
                let text = time_text(fields, &spec.start, &mut buf);
                let result = self
                    .start_from_text(text)
                    .map(|(stamp, end)| (stamp, end.map(str::to_owned)));
                self.joined = buf;
                result?
            }
        };
        self.check_year(start_stamp, "", &spec.start_field)?;
        let start = self.clock.resolve(start_stamp);
        let (end_field, end) = match inline_end {
            Some(to) => (
                spec.start_field.as_str(),
                self.end_from_text(&to, start_stamp, &spec.start_field, 1)?,
            ),
            None if spec.end.is_empty() => (spec.end_field.as_str(), None),
            None => (
                spec.end_field.as_str(),
                self.end_from_columns(fields, start_stamp)?,
            ),
        };
        if let Some(end) = end {
            if end < start {
                return Err(Fail::new(
                    end_field,
                    format!(
                        "interval end {} is before its start {}",
                        end.to_rfc3339(),
                        start.to_rfc3339()
                    ),
                ));
            }
        }
        let date_only = matches!(
            start_stamp,
            Stamp::Local {
                date_only: true,
                ..
            }
        );
        Ok((start, end, TimePrecision::of(date_only, start, end)))
    }

    /// Reads the start from its text, splitting off an inline interval end.
    fn start_from_text<'t>(&self, text: &'t str) -> Result<(Stamp, Option<&'t str>), Fail> {
        let spec = &self.mapping.time;
        if text.is_empty() {
            return Err(Fail::new(&spec.start_field, "time is empty".into()));
        }
        let (start_text, inline_end) = match spec.interval_separator.as_deref() {
            Some(sep) => match text.split_once(sep) {
                Some((from, to)) => (from.trim(), Some(to.trim())),
                None => (text, None),
            },
            None => (text, None),
        };
        let stamp = self.stamp(
            start_text,
            &spec.formats,
            &spec.start_field,
            spec.start.len(),
        )?;
        Ok((stamp, inline_end))
    }

    fn end_from_columns<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
        start: Stamp,
    ) -> Result<Option<DateTime<FixedOffset>>, Fail> {
        let spec = &self.mapping_ref().time;
        if let Some(stamp) = pair_stamp(fields, &spec.end, &spec.formats) {
            self.check_year(stamp, "", &spec.end_field)?;
            return Ok(Some(self.clock.resolve(stamp)));
        }
        let mut buf = std::mem::take(&mut self.joined_end);
        let text = time_text(fields, &spec.end, &mut buf);
        let end = self.end_from_text(text, start, &spec.end_field, spec.end.len());
        self.joined_end = buf;
        end
    }

    /// Reads an interval end: a full time, a date (meaning the end of that day) or
    /// a bare clock time on the start's date (the next day if earlier than the start).
    fn end_from_text(
        &mut self,
        text: &str,
        start: Stamp,
        field: &str,
        columns: usize,
    ) -> Result<Option<DateTime<FixedOffset>>, Fail> {
        let spec = &self.mapping_ref().time;
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(stamp) = parse_with(&spec.formats, text) {
            self.check_year(stamp, text, field)?;
            let stamp = match stamp {
                Stamp::Local {
                    at,
                    date_only: true,
                } => Stamp::Local {
                    at: end_of_day(at),
                    date_only: false,
                },
                other => other,
            };
            return Ok(Some(self.clock.resolve(stamp)));
        }
        if let (Some(clock), Stamp::Local { at, .. }) = (parse_clock(text), start) {
            let mut end = NaiveDateTime::new(at.date(), clock);
            if end < at {
                end = end.checked_add_signed(TimeDelta::days(1)).unwrap_or(end);
            }
            return Ok(Some(self.clock.local(end)));
        }
        Err(time_fail(text, &spec.formats, field, columns))
    }

    fn stamp(
        &self,
        text: &str,
        formats: &[TimeFormat],
        field: &str,
        columns: usize,
    ) -> Result<Stamp, Fail> {
        let stamp =
            parse_with(formats, text).ok_or_else(|| time_fail(text, formats, field, columns))?;
        self.check_year(stamp, text, field)?;
        Ok(stamp)
    }

    /// Rejects a time whose year is outside the plausible years.
    fn check_year(&self, stamp: Stamp, text: &str, field: &str) -> Result<(), Fail> {
        let years = &self.years;
        if years.contains(&stamp.year()) {
            return Ok(());
        }
        let shown = match stamp {
            Stamp::Local { at, .. } => at.to_string(),
            Stamp::Fixed(t) => t.to_rfc3339(),
        };
        let text = if text.is_empty() {
            shown.as_str()
        } else {
            text
        };
        Err(Fail::new(
            field,
            format!(
                "time '{text}' is outside the plausible years {}-{}",
                years.start(),
                years.end()
            ),
        ))
    }

    fn reported<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
    ) -> Result<Option<DateTime<FixedOffset>>, Fail> {
        let spec = &self.mapping_ref().time;
        if spec.reported.is_empty() {
            return Ok(None);
        }
        if let Some(stamp) = pair_stamp(fields, &spec.reported, &spec.reported_formats) {
            self.check_year(stamp, "", &spec.reported_field)?;
            return Ok(Some(self.clock.resolve(stamp)));
        }
        let mut buf = std::mem::take(&mut self.joined);
        let text = time_text(fields, &spec.reported, &mut buf);
        let result = if text.is_empty() {
            Ok(None)
        } else {
            self.stamp(
                text,
                &spec.reported_formats,
                &spec.reported_field,
                spec.reported.len(),
            )
            .map(|stamp| Some(self.clock.resolve(stamp)))
        };
        self.joined = buf;
        result
    }

    fn location<F: Fields + ?Sized>(
        &mut self,
        fields: &F,
        point: PointInput,
    ) -> Result<RawLocation, Fail> {
        let mapping = self.mapping_ref();
        let roles = &mapping.roles;
        let area = |fields: &F| {
            roles.area.and_then(|col| {
                let name = fields.value(col).trim();
                (!name.is_empty()).then(|| RawLocation::Area {
                    name: name.to_owned(),
                    field: mapping.column_name(col).to_owned(),
                })
            })
        };
        match point {
            PointInput::Geometry(Some((x, y))) => {
                let precision = self.precision(fields)?;
                Ok(RawLocation::Point {
                    x,
                    y,
                    precision,
                    fields: Arc::clone(&self.geometry_fields),
                })
            }
            PointInput::Geometry(None) => area(fields).ok_or_else(|| {
                Fail::new(
                    "geometry",
                    "geometry is null and the row names no area".into(),
                )
            }),
            PointInput::Columns => {
                let Some((xc, yc)) = roles.xy else {
                    let col = roles.area.unwrap_or_default();
                    return area(fields)
                        .ok_or_else(|| Fail::new(self.name(col), "area is empty".into()));
                };
                let (xv, yv) = (fields.value(xc).trim(), fields.value(yc).trim());
                if xv.is_empty() && yv.is_empty() {
                    return area(fields)
                        .ok_or_else(|| Fail::new(self.name(xc), "coordinate is empty".into()));
                }
                let x = self.coordinate(xv, xc)?;
                let y = self.coordinate(yv, yc)?;
                let precision = self.precision(fields)?;
                Ok(RawLocation::Point {
                    x,
                    y,
                    precision,
                    fields: Arc::clone(&self.column_fields),
                })
            }
        }
    }

    fn coordinate(&mut self, text: &str, col: usize) -> Result<f64, Fail> {
        if text.is_empty() {
            return Err(Fail::new(self.name(col), "coordinate is empty".into()));
        }
        if let Some(value) = fast_decimal(text.as_bytes()) {
            return Ok(value);
        }
        let value = if self.decimal_comma && text.contains(',') {
            self.number.clear();
            self.number
                .extend(text.chars().map(|c| if c == ',' { '.' } else { c }));
            self.number.parse::<f64>()
        } else {
            text.parse::<f64>()
        };
        match value {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(Fail::new(
                self.name(col),
                format!("coordinate '{text}' is not a finite number"),
            )),
            Err(_) => Err(Fail::new(
                self.name(col),
                format!("coordinate '{text}' is not a number"),
            )),
        }
    }

    fn precision<F: Fields + ?Sized>(&self, fields: &F) -> Result<Precision, Fail> {
        let Some(col) = self.mapping.roles.precision else {
            return Ok(self.mapping.default_precision);
        };
        let text = fields.value(col).trim();
        if text.is_empty() {
            return Ok(self.mapping.default_precision);
        }
        match text {
            "exact" => Ok(Precision::Exact),
            "address" => Ok(Precision::Address),
            "street" => Ok(Precision::Street),
            _ => parse_point_precision(text).map_err(|reason| Fail::new(self.name(col), reason)),
        }
    }

    fn category<F: Fields + ?Sized>(&mut self, fields: &F) -> Result<(String, NormCategory), Fail> {
        let m = self.mapping;
        let from_column = m
            .roles
            .category
            .map(|col| fields.value(col).trim())
            .filter(|c| !c.is_empty());
        let category = match (from_column, m.default_category.as_deref()) {
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => {
                let col = m.roles.category.unwrap_or_default();
                return Err(Fail::new(self.name(col), "category is empty".into()));
            }
        };
        let norm = if let Some(norm) = m.categories.get(category) {
            *norm
        } else if let Some(norm) = m.default_norm {
            norm
        } else if let Some(norm) = self.norms.get(category) {
            *norm
        } else {
            let norm = NormCategory::classify(category);
            if self.norms.len() < NORM_CACHE_LIMIT {
                self.norms.insert(category.to_owned(), norm);
            }
            norm
        };
        Ok((category.to_owned(), norm))
    }
}

/// Exact powers of ten up to 10^15, all exactly representable as `f64`.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Reads a plain decimal such as `674032.5` or `-17.92` with at most 15 digits.
///
/// The digits form an integer below 2^53 and the divisor is an exact power of
/// ten, so one correctly rounded division gives exactly what `str::parse` gives
/// (Clinger's fast path); anything else returns `None` for the general parser.
fn fast_decimal(bytes: &[u8]) -> Option<f64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut decimals: Option<usize> = None;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
                if let Some(d) = decimals.as_mut() {
                    *d += 1;
                }
            }
            b'.' if decimals.is_none() => decimals = Some(0),
            _ => return None,
        }
    }
    let decimals = decimals.unwrap_or(0);
    if count == 0 || count > 15 {
        return None;
    }
    // `mantissa` < 10^15 < 2^53: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let value = mantissa as f64 / *POW10.get(decimals)?;
    Some(if negative { -value } else { value })
}

/// The text of a time held in `cols`: one column's trimmed value as it is, or
/// several joined into `buf`.
fn time_text<'f, F: Fields + ?Sized>(
    fields: &'f F,
    cols: &[usize],
    buf: &'f mut String,
) -> &'f str {
    if let [col] = cols {
        return fields.value(*col).trim();
    }
    join_into(buf, fields, cols);
    buf.as_str()
}

/// Reads a `[date, time]` column pair with the first format's fast path, without
/// joining the two texts; `None` sends the caller to the general path.
fn pair_stamp<F: Fields + ?Sized>(
    fields: &F,
    cols: &[usize],
    formats: &[TimeFormat],
) -> Option<Stamp> {
    let [date, time] = cols else {
        return None;
    };
    formats
        .first()?
        .parse_pair(fields.value(*date).trim(), fields.value(*time).trim())
}

/// Joins the non-empty, trimmed values of `cols` with one space.
fn join_into<F: Fields + ?Sized>(out: &mut String, fields: &F, cols: &[usize]) {
    out.clear();
    for &col in cols {
        let value = fields.value(col).trim();
        if value.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(value);
    }
}

fn time_fail(text: &str, formats: &[TimeFormat], field: &str, columns: usize) -> Fail {
    let formats = formats
        .iter()
        .map(TimeFormat::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let joined = if columns > 1 {
        " (the columns' values joined with a space)"
    } else {
        ""
    };
    Fail::new(
        field,
        format!("cannot read '{text}'{joined} as a time; expected one of the formats {formats}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row given as (column name, value) pairs.
    struct Named<'a> {
        mapping: &'a Mapping,
        values: &'a [(&'a str, &'a str)],
    }

    impl Fields for Named<'_> {
        fn value(&self, col: usize) -> &str {
            let name = self.mapping.column_name(col);
            self.values
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| v)
        }
    }

    fn crimes() -> Mapping {
        Mapping::default_for(trygg_model::Source::Crimes).expect("built in")
    }

    fn build(mapping: &Mapping, values: &[(&str, &str)]) -> Result<Core, Fail> {
        RowBuilder::new(mapping, false).build(&Named { mapping, values }, PointInput::Columns)
    }

    const ROW: [(&str, &str); 11] = [
        ("anmalan_id", "K123"),
        ("brottskategori", "Misshandel"),
        ("fran_datum", "2024-03-30"),
        ("fran_tid", "22:15"),
        ("till_datum", "2024-03-31"),
        ("till_tid", "02:30"),
        ("anmald_datum", "2024-04-01"),
        ("precision", ""),
        ("omrade", "Södermalm"),
        ("x", "674032"),
        ("y", "6580821.5"),
    ];

    fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        ROW.iter()
            .map(|(n, v)| {
                (
                    *n,
                    changes
                        .iter()
                        .find(|(c, _)| c == n)
                        .map_or(*v, |(_, nv)| *nv),
                )
            })
            .collect()
    }

    #[test]
    fn builds_a_full_crime_row_across_the_spring_gap() {
        let core = build(&crimes(), &ROW).expect("valid row");
        assert_eq!(core.source_id, "K123");
        assert_eq!(core.occurred_at.to_rfc3339(), "2024-03-30T22:15:00+01:00");
        // 02:30 on 31 March does not exist; read as winter time it is 03:30 summer time.
        assert_eq!(
            core.occurred_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T03:30:00+02:00")
        );
        assert_eq!(
            core.reported_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-04-01T00:00:00+02:00")
        );
        assert_eq!(core.category, "Misshandel");
        assert_eq!(core.category_norm, NormCategory::Violence);
        assert_eq!(
            core.location,
            RawLocation::Point {
                x: 674032.0,
                y: 6580821.5,
                precision: Precision::Exact,
                fields: Arc::new(("x".into(), "y".into()))
            }
        );
    }

    #[test]
    fn empty_coordinates_fall_back_to_the_area() {
        let core = build(&crimes(), &with(&[("x", ""), ("y", " ")])).expect("valid row");
        assert_eq!(
            core.location,
            RawLocation::Area {
                name: "Södermalm".into(),
                field: "omrade".into()
            }
        );
        let fail = build(&crimes(), &with(&[("x", ""), ("y", ""), ("omrade", "")]))
            .expect_err("no location");
        assert_eq!(fail, Fail::new("x", "coordinate is empty".into()));
        let fail = build(&crimes(), &with(&[("y", "")])).expect_err("half a point");
        assert_eq!(fail, Fail::new("y", "coordinate is empty".into()));
    }

    #[test]
    fn bad_values_name_their_field() {
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
        );
        let cases: [Case; 7] = [
            (&[("anmalan_id", " ")], "anmalan_id", "id is empty"),
            (
                &[("x", "NaN")],
                "x",
                "coordinate 'NaN' is not a finite number",
            ),
            (
                &[("y", "65808,21")],
                "y",
                "coordinate '65808,21' is not a number",
            ),
            (
                &[("precision", "roughly")],
                "precision",
                "precision 'roughly' is not one of exact, address, street",
            ),
            (
                &[("fran_datum", "2024-02-30")],
                "fran_datum+fran_tid",
                "cannot read '2024-02-30 22:15'",
            ),
            (
                &[("till_datum", "2024-03-29")],
                "till_datum+till_tid",
                "is before its start",
            ),
            (
                &[("fran_datum", ""), ("fran_tid", "")],
                "fran_datum+fran_tid",
                "time is empty",
            ),
        ];
        for (changes, field, needle) in cases {
            let fail = build(&crimes(), &with(changes)).expect_err("invalid");
            assert_eq!(fail.field.as_deref(), Some(field), "{changes:?}: {fail:?}");
            assert!(fail.reason.contains(needle), "{changes:?}: {}", fail.reason);
        }
        let fail = build(&crimes(), &with(&[("fran_datum", "2024-02-30")])).expect_err("invalid");
        assert!(
            fail.reason.contains("%Y-%m-%d %H:%M, %Y-%m-%d"),
            "{}",
            fail.reason
        );
    }

    #[test]
    fn date_only_and_clock_only_ends() {
        let core = build(&crimes(), &with(&[("fran_tid", ""), ("till_tid", "")])).expect("valid");
        assert_eq!(core.occurred_at.to_rfc3339(), "2024-03-30T00:00:00+01:00");
        assert_eq!(
            core.occurred_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T23:59:59+02:00")
        );
        // Only a clock time: the next morning, since it is earlier than the start.
        let core = build(
            &crimes(),
            &with(&[("till_datum", ""), ("till_tid", "01:10")]),
        )
        .expect("valid");
        assert_eq!(
            core.occurred_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T01:10:00+01:00")
        );
        let core = build(&crimes(), &with(&[("till_datum", ""), ("till_tid", "")])).expect("valid");
        assert_eq!(core.occurred_to, None);
    }

    #[test]
    fn categories_table_then_default_then_classifier() {
        let text = Mapping::builtin_toml("crimes")
            .expect("built in")
            .to_owned()
            + "\n[categories]\n\"Misshandel\" = \"disorder\"\n";
        let mapping = Mapping::from_toml(&text, "t").expect("valid");
        assert_eq!(
            build(&mapping, &ROW).expect("valid").category_norm,
            NormCategory::Disorder
        );
        let core = build(&mapping, &with(&[("brottskategori", "Stöld")])).expect("valid");
        assert_eq!(core.category_norm, NormCategory::Theft);
        let fail = build(&mapping, &with(&[("brottskategori", "")])).expect_err("no category");
        assert_eq!(fail.field.as_deref(), Some("brottskategori"));
    }

    proptest::proptest! {
        #[test]
        fn fast_decimal_agrees_with_the_standard_parser(
            int in 0u64..10_000_000, frac in 0u64..100_000_000, decimals in 0usize..9, negative: bool,
        ) {
            let sign = if negative { "-" } else { "" };
            let text = if decimals == 0 {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{:0width$}", frac % 10u64.pow(decimals as u32), width = decimals)
            };
            let expected: f64 = text.parse().expect("valid number");
            proptest::prop_assert_eq!(fast_decimal(text.as_bytes()), Some(expected), "{}", text);
        }
    }

    #[test]
    fn fast_decimal_declines_what_it_cannot_read_exactly() {
        for text in [
            "",
            "-",
            ".",
            "1e5",
            "1.2.3",
            "+1",
            "NaN",
            "1234567890123456",
            "12,5",
            " 1",
        ] {
            assert_eq!(fast_decimal(text.as_bytes()), None, "{text}");
        }
        assert_eq!(fast_decimal(b"5."), Some(5.0));
        assert_eq!(fast_decimal(b".5"), Some(0.5));
    }

    #[test]
    fn interval_separator_splits_the_start_column() {
        let mapping = Mapping::from_toml(
            "[columns]\nid = \"id\"\narea = \"a\"\ncategory = \"k\"\n[time]\nstart = \"t\"\ninterval_separator = \" - \"\nformats = [\"%Y-%m-%d %H:%M\"]\n",
            "t",
        )
        .expect("valid");
        let values = [
            ("id", "1"),
            ("a", "Rinkeby"),
            ("k", "Rån"),
            ("t", "2024-01-05 22:00 - 2024-01-06 01:30"),
        ];
        let core = build(&mapping, &values).expect("valid");
        assert_eq!(core.occurred_at.to_rfc3339(), "2024-01-05T22:00:00+01:00");
        assert_eq!(
            core.occurred_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-01-06T01:30:00+01:00")
        );
        let values = [
            ("id", "1"),
            ("a", "Rinkeby"),
            ("k", "Rån"),
            ("t", "2024-01-05 22:00 - 23:45"),
        ];
        let core = build(&mapping, &values).expect("valid");
        assert_eq!(
            core.occurred_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-01-05T23:45:00+01:00")
        );
        let values = [
            ("id", "1"),
            ("a", ""),
            ("k", "Rån"),
            ("t", "2024-01-05 22:00"),
        ];
        assert_eq!(
            build(&mapping, &values).expect_err("no area"),
            Fail::new("a", "area is empty".into())
        );
    }
}
