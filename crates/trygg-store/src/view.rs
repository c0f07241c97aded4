//! The in-memory columnar view of the events, sorted by time, with an R-tree over
//! the events whose location is a real point. Analytics and tiles read this view,
//! never SQLite, so a time-window filter is a binary search and a bounding-box
//! filter an R-tree query.
//!
//! Memory: coordinates are `f32` metres from the view's origin (0.01 m resolution
//! over 100 km), times `i64`, and the categorical columns small dictionary codes,
//! about 25 bytes per event plus the R-tree entry of point events.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use rusqlite::OptionalExtension;
use trygg_model::{NormCategory, Precision, Source, TimePrecision};

use crate::error::StoreError;
use crate::geom;
use crate::store::Store;

/// Code of "no area" in [`EventView::stadsdel_code`].
pub const NO_AREA: u16 = u16::MAX;

type TreePoint = GeomWithData<[f32; 2], u32>;

/// One event's columns while the view is loaded, before sorting by time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) t: i64,
    pub(crate) span: u32,
    pub(crate) time_precision: u8,
    pub(crate) x: f32,
    pub(crate) y: f32,
    pub(crate) source: u8,
    pub(crate) norm: u8,
    pub(crate) precision: u8,
    pub(crate) category: u16,
    pub(crate) stadsdel: u16,
}

/// A filter over the view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewQuery {
    /// Only this source.
    pub source: Option<Source>,
    /// Only these normalised categories.
    pub categories: Option<Vec<NormCategory>>,
    /// Occurred at or after (Unix seconds).
    pub from_utc: Option<i64>,
    /// Occurred before (Unix seconds).
    pub to_utc: Option<i64>,
    /// Only point events (exact, address, street) inside `[min_x, min_y, max_x, max_y]`
    /// (EPSG:3006). Without it, events of every precision match.
    pub bbox: Option<[f64; 4]>,
}

/// Columnar, time-sorted events with an R-tree over the point events. The
/// default is an empty view (a released view's place, see
/// [`EventView::extended`]).
#[derive(Debug, Default)]
pub struct EventView {
    pub(crate) origin: (f64, f64),
    pub(crate) x: Vec<f32>,
    pub(crate) y: Vec<f32>,
    pub(crate) t: Vec<i64>,
    /// Seconds from `t` to the interval's end (0: no interval).
    pub(crate) span: Vec<u32>,
    pub(crate) time_precision: Vec<u8>,
    pub(crate) source: Vec<u8>,
    pub(crate) category_norm: Vec<u8>,
    pub(crate) precision: Vec<u8>,
    pub(crate) category: Vec<u16>,
    pub(crate) categories: Vec<String>,
    pub(crate) stadsdel: Vec<u16>,
    pub(crate) stadsdelar: Vec<String>,
    /// Built on first use (a bounding-box query): counting never needs it, and a
    /// snapshot opens without paying for it.
    pub(crate) tree: OnceLock<RTree<TreePoint>>,
}

pub(crate) fn intern(dict: &mut Vec<String>, index: &mut HashMap<String, u16>, value: &str) -> u16 {
    if let Some(&code) = index.get(value) {
        return code;
    }
    // More than 65,534 distinct values would be a misuse of a category column;
    // they share the last code rather than failing the load.
    let code = u16::try_from(dict.len())
        .unwrap_or(NO_AREA - 1)
        .min(NO_AREA - 1);
    if usize::from(code) == dict.len() {
        dict.push(value.to_owned());
    }
    index.insert(value.to_owned(), code);
    code
}

/// One event's columns, as [`EventViewBuilder::push_event`] takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewEvent<'a> {
    /// When it happened (start), Unix seconds.
    pub t: i64,
    /// The interval's end, Unix seconds, if there is one.
    pub to: Option<i64>,
    /// How precisely the time of day is known.
    pub time_precision: TimePrecision,
    /// Easting, EPSG:3006.
    pub x: f64,
    /// Northing, EPSG:3006.
    pub y: f64,
    /// The source.
    pub source: Source,
    /// The normalised category.
    pub category_norm: NormCategory,
    /// The location's precision.
    pub precision: Precision,
    /// The source's category text.
    pub category: &'a str,
    /// The stadsdel code, if assigned.
    pub stadsdel: Option<&'a str>,
}

/// An event's columns as a backend stores them (the enums as their text codes,
/// the interval's end as RFC 3339), read into a [`ViewEvent`] by one rule for
/// every backend.
#[derive(Debug, Clone, Copy)]
pub struct StoredColumns<'a> {
    /// `occurred_utc`.
    pub t: i64,
    /// Easting, EPSG:3006.
    pub x: f64,
    /// Northing, EPSG:3006.
    pub y: f64,
    /// `source`.
    pub source: &'a str,
    /// `category_norm`.
    pub category_norm: &'a str,
    /// `precision`.
    pub precision: &'a str,
    /// `category`.
    pub category: &'a str,
    /// `stadsdel`.
    pub stadsdel: Option<&'a str>,
    /// `time_precision`.
    pub time_precision: &'a str,
    /// `occurred_to`.
    pub occurred_to: Option<&'a str>,
}

impl<'a> StoredColumns<'a> {
    /// The view's event, or which column cannot be read and why.
    pub fn parse(&self) -> Result<ViewEvent<'a>, String> {
        let to = self
            .occurred_to
            .map(|text| {
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| t.timestamp())
                    .map_err(|e| format!("occurred_to '{text}': {e}"))
            })
            .transpose()?;
        Ok(ViewEvent {
            t: self.t,
            to,
            time_precision: self
                .time_precision
                .parse::<TimePrecision>()
                .map_err(|e| e.to_string())?,
            x: self.x,
            y: self.y,
            source: self.source.parse::<Source>().map_err(|e| e.to_string())?,
            category_norm: self
                .category_norm
                .parse::<NormCategory>()
                .map_err(|e| e.to_string())?,
            precision: self
                .precision
                .parse::<Precision>()
                .map_err(|e| e.to_string())?,
            category: self.category,
            stadsdel: self.stadsdel,
        })
    }
}

/// Builds an [`EventView`] from events added in any order; used by
/// [`Store::view`] and by benchmarks and tests that need millions of events without
/// a store on disk.
#[derive(Debug)]
pub struct EventViewBuilder {
    pub(crate) origin: (f64, f64),
    pub(crate) rows: Vec<Row>,
    pub(crate) categories: Vec<String>,
    pub(crate) category_index: HashMap<String, u16>,
    pub(crate) stadsdelar: Vec<String>,
    pub(crate) stadsdel_index: HashMap<String, u16>,
}

impl EventViewBuilder {
    /// A builder whose coordinates are stored relative to `origin` (EPSG:3006; use
    /// the study extent's lower-left corner so that `f32` keeps centimetres).
    pub fn new(origin: (f64, f64)) -> EventViewBuilder {
        EventViewBuilder {
            origin,
            rows: Vec::new(),
            categories: Vec::new(),
            category_index: HashMap::new(),
            stadsdelar: Vec::new(),
            stadsdel_index: HashMap::new(),
        }
    }

    /// Adds one event with an exact time and no interval.
    #[allow(clippy::too_many_arguments)] // one argument per column, named at every call
    pub fn push(
        &mut self,
        t: i64,
        x: f64,
        y: f64,
        source: Source,
        category_norm: NormCategory,
        precision: Precision,
        category: &str,
        stadsdel: Option<&str>,
    ) {
        self.push_event(&ViewEvent {
            t,
            to: None,
            time_precision: TimePrecision::Exact,
            x,
            y,
            source,
            category_norm,
            precision,
            category,
            stadsdel,
        });
    }

    /// Adds one event.
    pub fn push_event(&mut self, e: &ViewEvent<'_>) {
        let ViewEvent {
            t,
            x,
            y,
            source,
            category_norm,
            precision,
            category,
            stadsdel,
            ..
        } = *e;
        let category = intern(&mut self.categories, &mut self.category_index, category);
        let stadsdel = match stadsdel {
            Some(name) => intern(&mut self.stadsdelar, &mut self.stadsdel_index, name),
            None => NO_AREA,
        };
        let span =
            e.to.map_or(0, |to| u32::try_from((to - t).max(0)).unwrap_or(u32::MAX));
        self.rows.push(Row {
            t,
            span,
            time_precision: e.time_precision.code(),
            x: offset(x, self.origin.0),
            y: offset(y, self.origin.1),
            source: source.code(),
            norm: category_norm.code(),
            precision: precision.code(),
            category,
            stadsdel,
        });
    }

    /// Events added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Sorts by time (stably: equal times keep insertion order) and builds the view.
    pub fn build(self) -> EventView {
        let mut rows = self.rows;
        rows.sort_by_key(|row| row.t);
        let mut view =
            EventView::with_capacity(self.origin, rows.len(), self.categories, self.stadsdelar);
        for row in &rows {
            view.push_row(row);
        }
        view
    }
}

impl Store {
    /// Builds the columnar view and R-tree of all stored events.
    pub fn view(&self) -> Result<EventView, StoreError> {
        let origin = self.view_origin()?;
        Ok(self.view_rows(origin, 0)?.0.build())
    }

    /// The origin a new view's coordinates are stored relative to.
    pub(crate) fn view_origin(&self) -> Result<(f64, f64), StoreError> {
        // Coordinates are f32 metres from the origin: it must lie near the data
        // (within ~100 km keeps centimetres), never at (0, 0) where f32 would
        // keep only half metres at Swedish northings.
        Ok(match self.study_extent()? {
            Some(e) => (e.min_x.floor(), e.min_y.floor()),
            None => self.first_event_xy()?.unwrap_or_default(),
        })
    }

    /// The events with `fid > after_fid` in a builder, and the largest fid read
    /// (`after_fid` when there are none).
    pub(crate) fn view_rows(
        &self,
        origin: (f64, f64),
        after_fid: i64,
    ) -> Result<(EventViewBuilder, i64), StoreError> {
        let corrupt = |rowid: i64, reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            table: "events",
            rowid,
            reason,
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT fid, geom, occurred_utc, source, category_norm, precision, category, stadsdel,
                 time_precision, occurred_to FROM events WHERE fid > ?1 ORDER BY fid",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([after_fid]).map_err(|e| self.sql(e))?;
        let mut builder = EventViewBuilder::new(origin);
        let mut max_fid = after_fid;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let get = |e| self.sql(e);
            let fid: i64 = r.get(0).map_err(get)?;
            max_fid = max_fid.max(fid);
            let blob: &[u8] = r
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(get)?;
            let (x, y) = geom::decode_point(blob)
                .ok_or_else(|| corrupt(fid, "geometry is not a point".into()))?;
            let text = |i: usize| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(get)
            };
            let text_or_null = |i: usize| -> Result<Option<&str>, StoreError> {
                r.get_ref(i)
                    .and_then(|v| v.as_str_or_null().map_err(Into::into))
                    .map_err(get)
            };
            let event = StoredColumns {
                t: r.get(2).map_err(get)?,
                x,
                y,
                source: text(3)?,
                category_norm: text(4)?,
                precision: text(5)?,
                category: text(6)?,
                stadsdel: text_or_null(7)?,
                time_precision: text(8)?,
                occurred_to: text_or_null(9)?,
            }
            .parse()
            .map_err(|reason| corrupt(fid, reason))?;
            builder.push_event(&event);
        }
        Ok((builder, max_fid))
    }
}

impl Store {
    /// The first stored event's point, floored to whole metres.
    fn first_event_xy(&self) -> Result<Option<(f64, f64)>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT geom FROM events ORDER BY fid LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(blob
            .as_deref()
            .and_then(geom::decode_point)
            .map(|(x, y)| (x.floor(), y.floor())))
    }
}

impl EventView {
    /// An empty view with room for `n` events and the given dictionaries.
    pub(crate) fn with_capacity(
        origin: (f64, f64),
        n: usize,
        categories: Vec<String>,
        stadsdelar: Vec<String>,
    ) -> EventView {
        EventView {
            origin,
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            t: Vec::with_capacity(n),
            span: Vec::with_capacity(n),
            time_precision: Vec::with_capacity(n),
            source: Vec::with_capacity(n),
            category_norm: Vec::with_capacity(n),
            precision: Vec::with_capacity(n),
            category: Vec::with_capacity(n),
            categories,
            stadsdel: Vec::with_capacity(n),
            stadsdelar,
            tree: OnceLock::new(),
        }
    }

    /// Appends one row's columns (the caller keeps the time order).
    pub(crate) fn push_row(&mut self, row: &Row) {
        self.t.push(row.t);
        self.span.push(row.span);
        self.time_precision.push(row.time_precision);
        self.x.push(row.x);
        self.y.push(row.y);
        self.source.push(row.source);
        self.category_norm.push(row.norm);
        self.precision.push(row.precision);
        self.category.push(row.category);
        self.stadsdel.push(row.stadsdel);
    }

    /// The events at `indices` (ascending view indices), with this view's
    /// origin and dictionaries, so that every kept event's columns, codes and
    /// stored coordinates are bit for bit what they are here.
    pub fn subset(&self, indices: &[u32]) -> EventView {
        let mut out = EventView::with_capacity(
            self.origin,
            indices.len(),
            self.categories.clone(),
            self.stadsdelar.clone(),
        );
        for &i in indices {
            let i = i as usize;
            out.push_row(&Row {
                t: self.t[i],
                span: self.span[i],
                time_precision: self.time_precision[i],
                x: self.x[i],
                y: self.y[i],
                source: self.source[i],
                norm: self.category_norm[i],
                precision: self.precision[i],
                category: self.category[i],
                stadsdel: self.stadsdel[i],
            });
        }
        out
    }

    /// The point (EPSG:3006) the stored coordinates are relative to.
    pub fn origin(&self) -> (f64, f64) {
        self.origin
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Event `i`'s easting and northing (EPSG:3006).
    #[inline]
    pub fn xy(&self, i: usize) -> (f64, f64) {
        (
            from_offset(self.x[i], self.origin.0),
            from_offset(self.y[i], self.origin.1),
        )
    }

    /// Event `i`'s time (Unix seconds).
    pub fn time(&self, i: usize) -> i64 {
        self.t[i]
    }

    /// Event `i`'s interval end (Unix seconds), if it has one.
    pub fn time_to(&self, i: usize) -> Option<i64> {
        match self.span[i] {
            0 => None,
            span => Some(self.t[i] + i64::from(span)),
        }
    }

    /// How precisely event `i`'s time of day is known.
    pub fn time_precision(&self, i: usize) -> TimePrecision {
        TimePrecision::ALL[usize::from(self.time_precision[i])]
    }

    /// Event `i`'s source.
    pub fn source(&self, i: usize) -> Source {
        Source::ALL[usize::from(self.source[i])]
    }

    /// Event `i`'s normalised category.
    pub fn category_norm(&self, i: usize) -> NormCategory {
        NormCategory::ALL[usize::from(self.category_norm[i])]
    }

    /// Event `i`'s precision.
    pub fn precision(&self, i: usize) -> Precision {
        Precision::ALL[usize::from(self.precision[i])]
    }

    /// Event `i`'s source category text.
    pub fn category(&self, i: usize) -> &str {
        &self.categories[usize::from(self.category[i])]
    }

    /// The raw code columns (source, normalised category and precision codes,
    /// stadsdel codes), for tight counting loops.
    pub fn code_columns(&self) -> (&[u8], &[u8], &[u8], &[u16]) {
        (
            &self.source,
            &self.category_norm,
            &self.precision,
            &self.stadsdel,
        )
    }

    /// Event `i`'s category code (index into [`EventView::category_names`]).
    pub fn category_code(&self, i: usize) -> u16 {
        self.category[i]
    }

    /// The source category texts the codes index.
    pub fn category_names(&self) -> &[String] {
        &self.categories
    }

    /// Event `i`'s stadsdel code (index into [`EventView::stadsdel_names`]) or [`NO_AREA`].
    pub fn stadsdel_code(&self, i: usize) -> u16 {
        self.stadsdel[i]
    }

    /// The stadsdel names the codes index.
    pub fn stadsdel_names(&self) -> &[String] {
        &self.stadsdelar
    }

    /// The index range of events with `from <= time < to`.
    pub fn time_range(&self, from_utc: Option<i64>, to_utc: Option<i64>) -> Range<usize> {
        let start = from_utc.map_or(0, |f| self.t.partition_point(|&t| t < f));
        let end = to_utc.map_or(self.t.len(), |e| self.t.partition_point(|&t| t < e));
        start..end.max(start)
    }

    /// The indexes of matching events, ascending (time order).
    pub fn query(&self, q: &ViewQuery) -> Vec<u32> {
        let range = self.time_range(q.from_utc, q.to_utc);
        let matches = |i: usize| {
            q.source.is_none_or(|s| self.source[i] == s.code())
                && q.categories
                    .as_ref()
                    .is_none_or(|cs| cs.iter().any(|c| c.code() == self.category_norm[i]))
        };
        let to_u32 = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        match q.bbox {
            None => range.filter(|&i| matches(i)).map(to_u32).collect(),
            Some([min_x, min_y, max_x, max_y]) => {
                let (ox, oy) = self.origin;
                let envelope = AABB::from_corners(
                    [(min_x - ox) as f32, (min_y - oy) as f32],
                    [(max_x - ox) as f32, (max_y - oy) as f32],
                );
                let mut hits: Vec<u32> = self
                    .tree()
                    .locate_in_envelope(&envelope)
                    .map(|p| p.data)
                    .filter(|&i| range.contains(&(i as usize)) && matches(i as usize))
                    .collect();
                hits.sort_unstable();
                hits
            }
        }
    }

    /// The R-tree over the point events, built on first use.
    fn tree(&self) -> &RTree<TreePoint> {
        self.tree.get_or_init(|| {
            let points = (0..self.len())
                .filter(|&i| self.precision(i).is_point())
                .map(|i| {
                    TreePoint::new([self.x[i], self.y[i]], u32::try_from(i).unwrap_or(u32::MAX))
                })
                .collect();
            RTree::bulk_load(points)
        })
    }

    /// Approximate heap bytes held per event (the R-tree counted as if built) (columns plus R-tree entries).
    pub fn bytes_per_event(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let columns = self.x.capacity() * 4
            + self.y.capacity() * 4
            + self.t.capacity() * 8
            + self.span.capacity() * 4
            + self.time_precision.capacity()
            + self.source.capacity()
            + self.category_norm.capacity()
            + self.precision.capacity()
            + self.category.capacity() * 2
            + self.stadsdel.capacity() * 2;
        // rstar stores leaves in nodes of up to 6 children; count the leaves' size
        // and a node overhead of one pointer-sized slot per entry.
        let points = self
            .precision
            .iter()
            .filter(|&&p| Precision::ALL[usize::from(p)].is_point())
            .count();
        let tree = points * (std::mem::size_of::<TreePoint>() + std::mem::size_of::<usize>());
        (columns + tree) as f64 / self.len() as f64
    }
}

/// A coordinate as the view stores it: `f32` metres from the origin's.
#[inline]
fn offset(coordinate: f64, origin: f64) -> f32 {
    (coordinate - origin) as f32
}

/// A stored offset read back as a coordinate.
#[inline]
fn from_offset(offset: f32, origin: f64) -> f64 {
    f64::from(offset) + origin
}

/// A coordinate as a view with this origin holds it (stored, then read back):
/// what a store that computes with coordinates itself must use to agree with
/// the view (`trygg_cell` in SQL).
pub fn quantized(coordinate: f64, origin: f64) -> f64 {
    from_offset(offset(coordinate, origin), origin)
}
