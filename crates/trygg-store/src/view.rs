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

use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use trygg_model::{NormCategory, Precision, Source};

use crate::error::StoreError;
use crate::geom;
use crate::store::Store;

/// Code of "no area" in [`EventView::stadsdel_code`].
pub const NO_AREA: u16 = u16::MAX;

type TreePoint = GeomWithData<[f32; 2], u32>;

/// One event's columns while the view is loaded, before sorting by time.
#[derive(Debug, Clone, Copy)]
struct Row {
    t: i64,
    x: f32,
    y: f32,
    source: u8,
    norm: u8,
    precision: u8,
    category: u16,
    stadsdel: u16,
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

/// Columnar, time-sorted events with an R-tree over the point events.
#[derive(Debug)]
pub struct EventView {
    origin: (f64, f64),
    x: Vec<f32>,
    y: Vec<f32>,
    t: Vec<i64>,
    source: Vec<u8>,
    category_norm: Vec<u8>,
    precision: Vec<u8>,
    category: Vec<u16>,
    categories: Vec<String>,
    stadsdel: Vec<u16>,
    stadsdelar: Vec<String>,
    tree: RTree<TreePoint>,
}

fn intern(dict: &mut Vec<String>, index: &mut HashMap<String, u16>, value: &str) -> u16 {
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

/// Builds an [`EventView`] from events added in any order; used by
/// [`Store::view`] and by benchmarks and tests that need millions of events without
/// a store on disk.
#[derive(Debug)]
pub struct EventViewBuilder {
    origin: (f64, f64),
    rows: Vec<Row>,
    categories: Vec<String>,
    category_index: HashMap<String, u16>,
    stadsdelar: Vec<String>,
    stadsdel_index: HashMap<String, u16>,
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

    /// Adds one event.
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
        let category = intern(&mut self.categories, &mut self.category_index, category);
        let stadsdel = match stadsdel {
            Some(name) => intern(&mut self.stadsdelar, &mut self.stadsdel_index, name),
            None => NO_AREA,
        };
        self.rows.push(Row {
            t,
            x: (x - self.origin.0) as f32,
            y: (y - self.origin.1) as f32,
            source: source.code(),
            norm: category_norm.code(),
            precision: precision.code(),
            category,
            stadsdel,
        });
    }

    /// Sorts by time (stably: equal times keep insertion order) and builds the view.
    pub fn build(self) -> EventView {
        let mut rows = self.rows;
        rows.sort_by_key(|row| row.t);
        let n = rows.len();
        let mut view = EventView {
            origin: self.origin,
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            t: Vec::with_capacity(n),
            source: Vec::with_capacity(n),
            category_norm: Vec::with_capacity(n),
            precision: Vec::with_capacity(n),
            category: Vec::with_capacity(n),
            categories: self.categories,
            stadsdel: Vec::with_capacity(n),
            stadsdelar: self.stadsdelar,
            tree: RTree::new(),
        };
        let mut points = Vec::new();
        for (i, row) in rows.into_iter().enumerate() {
            view.t.push(row.t);
            view.x.push(row.x);
            view.y.push(row.y);
            view.source.push(row.source);
            view.category_norm.push(row.norm);
            view.precision.push(row.precision);
            view.category.push(row.category);
            view.stadsdel.push(row.stadsdel);
            if Precision::ALL[usize::from(row.precision)].is_point() {
                points.push(TreePoint::new(
                    [row.x, row.y],
                    u32::try_from(i).unwrap_or(u32::MAX),
                ));
            }
        }
        view.tree = RTree::bulk_load(points);
        view
    }
}

impl Store {
    /// Builds the columnar view and R-tree of all stored events.
    pub fn view(&self) -> Result<EventView, StoreError> {
        let corrupt = |rowid: i64, reason: String| StoreError::Corrupt {
            path: self.path.clone(),
            table: "events",
            rowid,
            reason,
        };
        let origin = match self.extent()? {
            Some(e) => (e.min_x.floor(), e.min_y.floor()),
            None => (0.0, 0.0),
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT fid, geom, occurred_utc, source, category_norm, precision, category, stadsdel FROM events",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.sql(e))?;
        let mut builder = EventViewBuilder::new(origin);
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let get = |e| self.sql(e);
            let fid: i64 = r.get(0).map_err(get)?;
            let blob: &[u8] = r
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(get)?;
            let (x, y) = geom::decode_point(blob)
                .ok_or_else(|| corrupt(fid, "geometry is not a point".into()))?;
            let parse = |i: usize| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(get)
            };
            let source = parse(3)?
                .parse::<Source>()
                .map_err(|e| corrupt(fid, e.to_string()))?;
            let norm = parse(4)?
                .parse::<NormCategory>()
                .map_err(|e| corrupt(fid, e.to_string()))?;
            let precision = parse(5)?
                .parse::<Precision>()
                .map_err(|e| corrupt(fid, e.to_string()))?;
            let stadsdel = r
                .get_ref(7)
                .and_then(|v| v.as_str_or_null().map_err(Into::into))
                .map_err(get)?;
            builder.push(
                r.get(2).map_err(get)?,
                x,
                y,
                source,
                norm,
                precision,
                parse(6)?,
                stadsdel,
            );
        }
        Ok(builder.build())
    }
}

impl EventView {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Event `i`'s easting and northing (EPSG:3006).
    pub fn xy(&self, i: usize) -> (f64, f64) {
        (
            f64::from(self.x[i]) + self.origin.0,
            f64::from(self.y[i]) + self.origin.1,
        )
    }

    /// Event `i`'s time (Unix seconds).
    pub fn time(&self, i: usize) -> i64 {
        self.t[i]
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
                    .tree
                    .locate_in_envelope(&envelope)
                    .map(|p| p.data)
                    .filter(|&i| range.contains(&(i as usize)) && matches(i as usize))
                    .collect();
                hits.sort_unstable();
                hits
            }
        }
    }

    /// Approximate heap bytes held per event (columns plus R-tree entries).
    pub fn bytes_per_event(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let columns = self.x.capacity() * 4
            + self.y.capacity() * 4
            + self.t.capacity() * 8
            + self.source.capacity()
            + self.category_norm.capacity()
            + self.precision.capacity()
            + self.category.capacity() * 2
            + self.stadsdel.capacity() * 2;
        // rstar stores leaves in nodes of up to 6 children; count the leaves' size
        // and a node overhead of one pointer-sized slot per entry.
        let tree =
            self.tree.size() * (std::mem::size_of::<TreePoint>() + std::mem::size_of::<usize>());
        (columns + tree) as f64 / self.len() as f64
    }
}
