//! Area statistics: counts, rates and change for every area of a layer in one
//! period (`counts`), the area × period table of a range in one request
//! (`table`), and the statistics of a drawn polygon (`polygon`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trygg_analytics::areas::{AreaLayer, Coverage};
use trygg_analytics::counts::{
    area_counts, area_counts_from, area_period_counts, AreaCounts, AreaStat, Change, CountStat,
    CountsError, CountsQuery, GroupBy, GroupKey, CHANGE_TEST,
};
use trygg_analytics::window::{Period, PeriodSeries, WindowKind};
use trygg_model::{NormCategory, Source};
use trygg_store::{GroupedCount, GroupedQuery, StoreError, StoredArea};

use crate::disclosure::{publish, suppressed, unless_suppressed, Count, Margin};
use crate::encode::{Cell, Table, Tabular};
use crate::error::{Field, QueryError};
use crate::jobs::time::{MatrixResult, TrendResult};
use crate::jobs::{area_layer, Job, Options, Proj};
use crate::params::{period, window, AreaParams, DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::{DataInfo, Snapshot};

/// Area statistics of one period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CountsRequest {
    /// The layer (default `stadsdel`; also `municipality` or `grid:SIZE`).
    pub layer: Option<String>,
    /// The period, e.g. `2024-Q1`.
    pub period: String,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// One row per source.
    pub by_source: bool,
    /// One row per normalised category.
    pub by_category: bool,
    /// How many periods before the period the "previous" comparison spans,
    /// 1-52 (default 1; e.g. 4 with a week: the four weeks before, compared by
    /// their weekly rate).
    pub previous_periods: Option<u32>,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published row: an area (or the municipality), maybe one group of it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StatRow {
    /// Area code (`municipality` for the total).
    pub area_code: String,
    /// Area name.
    pub area_name: String,
    /// The group's source, when grouped by source (`None`: all sources).
    pub source: Option<&'static str>,
    /// The group's category, when grouped by category (`None`: all).
    pub category: Option<&'static str>,
    /// The population used for the rate.
    pub population: Option<i64>,
    /// Matching events in the period.
    pub count: Count,
    /// Per 1,000 residents (absent without population or when suppressed).
    pub rate_per_1000: Option<f64>,
    /// The previous period's count.
    pub previous_count: Count,
    /// Count minus previous count.
    pub difference_vs_previous: Option<i64>,
    /// Rate ratio against the previous period.
    pub ratio_vs_previous: Option<f64>,
    /// p of the exact conditional test against the previous period.
    pub p_vs_previous: Option<f64>,
    /// The same period a year earlier: its count.
    pub year_earlier_count: Count,
    /// Count minus the year-earlier count.
    pub difference_vs_year_earlier: Option<i64>,
    /// Rate ratio against a year earlier.
    pub ratio_vs_year_earlier: Option<f64>,
    /// p against a year earlier.
    pub p_vs_year_earlier: Option<f64>,
}

/// Area statistics as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CountsResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: CountsRequest,
    /// The layer.
    pub layer: String,
    /// The period and its comparison periods.
    #[schemars(with = "serde_json::Value")]
    pub period: Period,
    /// The previous period of the same length.
    #[schemars(with = "serde_json::Value")]
    pub previous: Period,
    /// The same period a year earlier.
    #[schemars(with = "serde_json::Value")]
    pub year_earlier: Period,
    /// The population year used.
    pub population_year: i32,
    /// The change test.
    pub test: &'static str,
    /// The suppression threshold applied (`None`: none).
    pub suppression: Option<u64>,
    /// One row per area (and group), then the municipality total.
    pub rows: Vec<StatRow>,
    /// How the matching events fell on the layer (counts; not published when
    /// suppressing, since they are sums of small counts too).
    #[schemars(with = "serde_json::Value")]
    pub coverage: Option<Coverage>,
    /// Events left out of an hour/weekday filter for an unknown time of day.
    pub left_out_imprecise_time: u64,
    /// Stadsdel codes of events the layer does not know.
    pub unknown_stadsdelar: Vec<String>,
    #[serde(skip)]
    shapes: Option<Vec<Option<Value>>>,
}

/// The stat of a group absent from an area (zero everywhere).
fn zero_stat(counts: &AreaCounts) -> CountStat {
    let e = counts.exposures;
    CountStat {
        count: 0,
        rate_per_1000: None,
        vs_previous: Change::new(0, e.period_seconds, 0, e.previous_seconds),
        vs_year_earlier: Change::new(0, e.period_seconds, 0, e.year_earlier_seconds),
    }
}

/// The cells to publish: per area its total and (when grouped) every group that
/// occurs anywhere (a group omitted only where it is zero would reveal the zero),
/// then the municipality total.
struct Layout {
    /// (area index or None for the municipality, group key or None for the total, stat).
    cells: Vec<(Option<usize>, Option<GroupKey>, CountStat)>,
    margins: Vec<Margin>,
}

fn layout(counts: &AreaCounts) -> Layout {
    let mut keys: Vec<GroupKey> = Vec::new();
    for a in &counts.areas {
        for g in &a.groups {
            if !keys.contains(&g.key) {
                keys.push(g.key);
            }
        }
    }
    let mut cells = Vec::new();
    let mut margins = Vec::new();
    let mut area_totals = Vec::new();
    for (i, a) in counts.areas.iter().enumerate() {
        let total = cells.len();
        area_totals.push(total);
        cells.push((Some(i), None, a.stat));
        if !counts.group_by.is_empty() {
            let parts: Vec<usize> = keys
                .iter()
                .map(|k| {
                    let stat = a
                        .groups
                        .iter()
                        .find(|g| g.key == *k)
                        .map_or_else(|| zero_stat(counts), |g| g.stat);
                    cells.push((Some(i), Some(*k), stat));
                    cells.len() - 1
                })
                .collect();
            margins.push(Margin { total, parts });
        }
    }
    cells.push((None, None, counts.municipality.stat));
    margins.push(Margin {
        total: cells.len() - 1,
        parts: area_totals,
    });
    Layout { cells, margins }
}

/// Publishes the three count columns of a layout under `threshold`.
fn published(layout: &Layout, threshold: Option<u64>) -> [Vec<Count>; 3] {
    let column = |f: fn(&CountStat) -> u64| {
        let values: Vec<u64> = layout.cells.iter().map(|(_, _, s)| f(s)).collect();
        let hidden = suppressed(&values, &layout.margins, threshold);
        publish(&values, &hidden, threshold)
    };
    [
        column(|s| s.count),
        column(|s| s.vs_previous.count),
        column(|s| s.vs_year_earlier.count),
    ]
}

/// A row from a stat and its published counts.
pub(crate) fn stat_row(
    area: &AreaStat,
    key: Option<GroupKey>,
    stat: &CountStat,
    [now, prev, back]: [Count; 3],
) -> StatRow {
    StatRow {
        area_code: area.code.clone(),
        area_name: area.name.clone(),
        source: key.and_then(|k| k.source).map(Source::as_str),
        category: key.and_then(|k| k.category).map(NormCategory::as_str),
        population: area.population.as_ref().map(|p| p.population),
        count: now,
        rate_per_1000: unless_suppressed(stat.rate_per_1000, &[now]),
        previous_count: prev,
        difference_vs_previous: unless_suppressed(Some(stat.vs_previous.difference), &[now, prev]),
        ratio_vs_previous: unless_suppressed(stat.vs_previous.rate_ratio, &[now, prev]),
        p_vs_previous: unless_suppressed(stat.vs_previous.p_value, &[now, prev]),
        year_earlier_count: back,
        difference_vs_year_earlier: unless_suppressed(
            Some(stat.vs_year_earlier.difference),
            &[now, back],
        ),
        ratio_vs_year_earlier: unless_suppressed(stat.vs_year_earlier.rate_ratio, &[now, back]),
        p_vs_year_earlier: unless_suppressed(stat.vs_year_earlier.p_value, &[now, back]),
    }
}

/// The published rows of area statistics.
pub(crate) fn rows(counts: &AreaCounts, threshold: Option<u64>) -> Vec<StatRow> {
    let layout = layout(counts);
    let [now, prev, back] = published(&layout, threshold);
    layout
        .cells
        .iter()
        .enumerate()
        .map(|(i, (area, key, stat))| {
            let a = area.map_or(&counts.municipality, |k| &counts.areas[k]);
            stat_row(a, *key, stat, [now[i], prev[i], back[i]])
        })
        .collect()
}

/// Validated counts request.
#[derive(Debug, Clone)]
pub struct ValidCounts {
    layer: String,
    query: CountsQuery,
    threshold: Option<u64>,
}

impl Job for CountsRequest {
    const NAME: &'static str = "counts";
    type Valid = ValidCounts;
    type Output = CountsResult;

    fn validate(&self) -> Result<ValidCounts, QueryError> {
        Ok(ValidCounts {
            layer: self.layer.clone().unwrap_or_else(|| "stadsdel".into()),
            query: CountsQuery {
                period: period("period", &self.period)?,
                previous_periods: match self.previous_periods {
                    None => 1,
                    Some(n @ 1..=52) => n,
                    Some(n) => {
                        return Err(QueryError::invalid(
                            "previous_periods",
                            format!("{n} is not 1..=52"),
                        ))
                    }
                },
                selection: self.selection.validate(None)?,
                group_by: GroupBy {
                    source: self.by_source,
                    category: self.by_category,
                },
            },
            threshold: self.disclosure.threshold()?,
        })
    }

    fn execute(
        &self,
        v: ValidCounts,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<CountsResult, QueryError> {
        let (layer, areas) = area_layer(snap, &v.layer, "layer", &opts.budget)?;
        let counts =
            area_counts(snap.view(), &layer, snap.population(), &v.query).field("period")?;
        self.result(v, counts, snap, opts, &areas)
    }
}

impl CountsRequest {
    /// [`Job::execute`] with the counting pushed down into the store
    /// (`grouped`: the GeoPackage store's or PostgreSQL's `grouped_counts`),
    /// the snapshot giving only the areas and population: the same result
    /// without the events in memory, for the requests the store can count
    /// (`trygg_analytics::counts::area_counts_from`; the others are refused,
    /// naming why, as a bad `layer` or selection).
    pub fn execute_pushed_down(
        &self,
        v: ValidCounts,
        snap: &Snapshot,
        opts: &Options,
        grouped: &mut dyn FnMut(&GroupedQuery) -> Result<Vec<GroupedCount>, StoreError>,
    ) -> Result<CountsResult, QueryError> {
        let (layer, areas) = area_layer(snap, &v.layer, "layer", &opts.budget)?;
        let counts = match area_counts_from(&layer, snap.population(), &v.query, grouped) {
            Ok(counts) => counts,
            Err(CountsError::Store(e)) => return Err(QueryError::Store(e)),
            Err(e @ CountsError::NotPushable { field, .. }) => {
                return Err(QueryError::invalid(field, e))
            }
            Err(e) => return Err(QueryError::invalid("period", e)),
        };
        self.result(v, counts, snap, opts, &areas)
    }

    /// The result of counts made either way.
    fn result(
        &self,
        v: ValidCounts,
        counts: AreaCounts,
        snap: &Snapshot,
        opts: &Options,
        areas: &[StoredArea],
    ) -> Result<CountsResult, QueryError> {
        let rows = rows(&counts, v.threshold);
        let shapes = if opts.geometry {
            Some(row_shapes(&rows, areas)?)
        } else {
            None
        };
        Ok(CountsResult {
            data: snap.data().clone(),
            request: self.clone(),
            layer: counts.layer.clone(),
            period: counts.period,
            previous: counts.previous,
            year_earlier: counts.year_earlier,
            population_year: counts.population_year,
            test: CHANGE_TEST,
            suppression: v.threshold,
            rows,
            coverage: v.threshold.is_none().then_some(counts.coverage),
            left_out_imprecise_time: counts.left_out_imprecise_time,
            unknown_stadsdelar: counts.unknown_stadsdelar,
            shapes,
        })
    }
}

/// Each row's area geometry (none for the municipality row).
fn row_shapes(rows: &[StatRow], areas: &[StoredArea]) -> Result<Vec<Option<Value>>, QueryError> {
    let proj = Proj::new()?;
    let mut cache: std::collections::HashMap<&str, Value> = std::collections::HashMap::new();
    rows.iter()
        .map(|r| {
            let Some(area) = areas.iter().find(|a| a.code == r.area_code) else {
                return Ok(None);
            };
            if let Some(g) = cache.get(area.code.as_str()) {
                return Ok(Some(g.clone()));
            }
            let g = proj.area_geometry(area)?;
            cache.insert(area.code.as_str(), g.clone());
            Ok(Some(g))
        })
        .collect()
}

const STAT_COLUMNS: [&str; 16] = [
    "area_code",
    "area_name",
    "period",
    "source",
    "category",
    "population",
    "count",
    "rate_per_1000",
    "previous_count",
    "difference_vs_previous",
    "ratio_vs_previous",
    "p_vs_previous",
    "year_earlier_count",
    "difference_vs_year_earlier",
    "ratio_vs_year_earlier",
    "p_vs_year_earlier",
];

fn stat_cells(r: &StatRow, period: &str) -> Vec<Cell> {
    vec![
        r.area_code.as_str().into(),
        r.area_name.as_str().into(),
        period.into(),
        r.source.into(),
        r.category.into(),
        r.population.map_or(Cell::Empty, Cell::Int),
        r.count.into(),
        r.rate_per_1000.into(),
        r.previous_count.into(),
        r.difference_vs_previous.map_or(Cell::Empty, Cell::Int),
        r.ratio_vs_previous.into(),
        r.p_vs_previous.into(),
        r.year_earlier_count.into(),
        r.difference_vs_year_earlier.map_or(Cell::Empty, Cell::Int),
        r.ratio_vs_year_earlier.into(),
        r.p_vs_year_earlier.into(),
    ]
}

impl Tabular for CountsResult {
    fn table(&self) -> Table {
        let label = self.period.label();
        Table {
            columns: STAT_COLUMNS.to_vec(),
            rows: self.rows.iter().map(|r| stat_cells(r, &label)).collect(),
            geometry: self.shapes.clone(),
        }
    }
}

/// The area × period table: counts of every area of a layer in every period of
/// a range, in one request (e.g. every stadsdel × month of a year).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TableRequest {
    /// The layer (default `stadsdel`).
    pub layer: Option<String>,
    /// Period length: day, week, month (default), quarter or year.
    pub window: Option<String>,
    /// The days whose periods are counted.
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// One column set per source.
    pub by_source: bool,
    /// One per normalised category.
    pub by_category: bool,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published cell of the table.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TableRow {
    /// Area code (`municipality` for the total of each period).
    pub area_code: String,
    /// Area name.
    pub area_name: String,
    /// The period's label.
    pub period: String,
    /// The group's source, when grouped.
    pub source: Option<&'static str>,
    /// The group's category, when grouped.
    pub category: Option<&'static str>,
    /// The count.
    pub count: Count,
}

/// The area × period table as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TableResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: TableRequest,
    /// The layer.
    pub layer: String,
    /// The periods, in order.
    #[schemars(with = "serde_json::Value")]
    pub periods: Vec<Period>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// Per period: each area (and group), then the municipality total.
    pub rows: Vec<TableRow>,
    /// Events left out of an hour/weekday filter for an unknown time of day.
    pub left_out_imprecise_time: u64,
}

/// A validated table request.
#[derive(Debug, Clone)]
pub struct ValidTable {
    series: PeriodSeries,
    selection: trygg_analytics::selection::Selection,
    threshold: Option<u64>,
}

impl Job for TableRequest {
    const NAME: &'static str = "table";
    type Valid = ValidTable;
    type Output = TableResult;

    fn validate(&self) -> Result<ValidTable, QueryError> {
        let kind = window(self.window.as_deref())?;
        let (from, to) = self.range.both()?;
        Ok(ValidTable {
            series: PeriodSeries::covering(kind, from, to).field("window")?,
            selection: self.selection.validate(None)?,
            threshold: self.disclosure.threshold()?,
        })
    }

    fn execute(
        &self,
        v: ValidTable,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<TableResult, QueryError> {
        let ValidTable {
            series,
            selection,
            threshold,
        } = v;
        let group_by = GroupBy {
            source: self.by_source,
            category: self.by_category,
        };
        let layer_name = self.layer.clone().unwrap_or_else(|| "stadsdel".into());
        let (layer, _) = area_layer(snap, &layer_name, "layer", &opts.budget)?;
        opts.budget
            .check_cell_slices(layer.areas().len() * group_by.len(), series.len())?;
        let t = area_period_counts(snap.view(), &layer, &series, &selection, group_by);
        let groups = t.groups();
        let grouped = !group_by.is_empty();
        // Cells: per period, per area its total (and groups), then the period's
        // municipality total (matched events, a margin over the area totals).
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut margins = Vec::new();
        for (p, period) in t.periods.iter().enumerate() {
            let mut totals = Vec::new();
            for a in 0..t.areas.len() {
                let total = values.len();
                totals.push(total);
                values.push(t.area_total(p, a));
                keys.push((Some(a), None, period.label()));
                if grouped {
                    let parts = groups
                        .iter()
                        .enumerate()
                        .map(|(g, key)| {
                            values.push(t.count(p, a, g));
                            keys.push((Some(a), Some(*key), period.label()));
                            values.len() - 1
                        })
                        .collect();
                    margins.push(Margin { total, parts });
                }
            }
            values.push(t.coverage.get(p).map_or(0, |c| c.matched));
            keys.push((None, None, period.label()));
            margins.push(Margin {
                total: values.len() - 1,
                parts: totals,
            });
        }
        let hidden = suppressed(&values, &margins, threshold);
        let counts = publish(&values, &hidden, threshold);
        let label = snap
            .data()
            .municipality
            .clone()
            .unwrap_or_else(|| "municipality".into());
        let rows = keys
            .into_iter()
            .zip(counts)
            .map(|((a, key, period), count)| {
                let (code, name) = match a {
                    Some(a) => (t.areas[a].code.clone(), t.areas[a].name.clone()),
                    None => ("municipality".to_owned(), label.clone()),
                };
                TableRow {
                    area_code: code,
                    area_name: name,
                    period,
                    source: key.and_then(|k: GroupKey| k.source).map(Source::as_str),
                    category: key
                        .and_then(|k: GroupKey| k.category)
                        .map(NormCategory::as_str),
                    count,
                }
            })
            .collect();
        Ok(TableResult {
            data: snap.data().clone(),
            request: self.clone(),
            layer: t.layer.clone(),
            periods: t.periods.clone(),
            suppression: threshold,
            rows,
            left_out_imprecise_time: t.left_out_imprecise_time,
        })
    }
}

impl Tabular for TableResult {
    fn table(&self) -> Table {
        Table {
            columns: vec![
                "area_code",
                "area_name",
                "period",
                "source",
                "category",
                "count",
            ],
            rows: self
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.area_code.as_str().into(),
                        r.area_name.as_str().into(),
                        r.period.as_str().into(),
                        r.source.into(),
                        r.category.into(),
                        r.count.into(),
                    ]
                })
                .collect(),
            geometry: None,
        }
    }
}

/// Statistics of a drawn area: its count, change, hour × weekday matrix and
/// series. Only point-precision events count in it (as in every polygon layer);
/// rates are absent (no population is known for a drawn area).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolygonRequest {
    /// A GeoJSON Polygon or MultiPolygon in WGS 84 (lon, lat).
    pub geometry: Value,
    /// The period, e.g. `2024-Q1`.
    pub period: String,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// The series' period length (default month) over the 12 months (or periods)
    /// up to the period's end.
    pub window: Option<String>,
    /// One row per normalised category besides the total.
    pub by_category: bool,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// A drawn area's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PolygonResult {
    /// The data.
    pub data: DataInfo,
    /// The period's statistics (one row: the drawn area).
    pub stats: CountsResult,
    /// When in the week, over the period.
    pub matrix: MatrixResult,
    /// The series up to the period's end.
    pub series: TrendResult,
}

/// The layer name and area code of a drawn polygon in its results.
pub const DRAWN: &str = "drawn";

/// The most vertices a drawn polygon may have.
pub const MAX_POLYGON_VERTICES: usize = 10_000;

fn drawn_area(geometry: &Value, proj: &Proj) -> Result<StoredArea, QueryError> {
    let bad = |m: &str| QueryError::invalid("geometry", m);
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let coords = geometry
        .get("coordinates")
        .ok_or_else(|| bad("a GeoJSON Polygon or MultiPolygon with coordinates"))?;
    let polygons: Vec<&Value> = match kind {
        "Polygon" => vec![coords],
        "MultiPolygon" => coords
            .as_array()
            .ok_or_else(|| bad("MultiPolygon coordinates must be an array"))?
            .iter()
            .collect(),
        other => {
            return Err(bad(&format!(
                "type '{other}' is not Polygon or MultiPolygon"
            )))
        }
    };
    let mut vertices = 0usize;
    let mut out = Vec::new();
    for polygon in polygons {
        let rings = polygon
            .as_array()
            .ok_or_else(|| bad("a polygon must be an array of rings"))?;
        let mut converted = Vec::new();
        for ring in rings {
            let points = ring
                .as_array()
                .ok_or_else(|| bad("a ring must be an array of points"))?;
            vertices += points.len();
            if vertices > MAX_POLYGON_VERTICES {
                return Err(bad(&format!("more than {MAX_POLYGON_VERTICES} vertices")));
            }
            if points.len() < 4 {
                return Err(bad("a ring needs at least 4 points (closed)"));
            }
            let ring: Vec<(f64, f64)> = points
                .iter()
                .map(|p| {
                    let lon = p.get(0).and_then(Value::as_f64);
                    let lat = p.get(1).and_then(Value::as_f64);
                    match (lon, lat) {
                        (Some(lon), Some(lat))
                            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
                        {
                            proj.xy(lon, lat)
                        }
                        _ => Err(bad("a point must be [lon, lat] in degrees")),
                    }
                })
                .collect::<Result<_, _>>()?;
            converted.push(geo_types::LineString::from(ring));
        }
        let mut rings = converted.into_iter();
        let exterior = rings
            .next()
            .ok_or_else(|| bad("a polygon needs an outer ring"))?;
        out.push(geo_types::Polygon::new(exterior, rings.collect()));
    }
    if out.is_empty() {
        return Err(bad("no polygon"));
    }
    Ok(StoredArea {
        code: DRAWN.into(),
        name: "drawn area".into(),
        properties: "{}".into(),
        geometry: geo_types::MultiPolygon(out),
    })
}

/// A validated polygon request.
#[derive(Debug, Clone)]
pub struct ValidPolygon {
    period: Period,
    selection: trygg_analytics::selection::Selection,
    threshold: Option<u64>,
    window: WindowKind,
    area: StoredArea,
}

impl Job for PolygonRequest {
    const NAME: &'static str = "polygon";
    type Valid = ValidPolygon;
    type Output = PolygonResult;

    fn validate(&self) -> Result<ValidPolygon, QueryError> {
        Ok(ValidPolygon {
            period: period("period", &self.period)?,
            selection: self.selection.validate(None)?,
            threshold: self.disclosure.threshold()?,
            window: window(self.window.as_deref())?,
            area: drawn_area(&self.geometry, &*Proj::new()?)?,
        })
    }

    fn execute(
        &self,
        v: ValidPolygon,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<PolygonResult, QueryError> {
        let proj = Proj::new()?;
        let ValidPolygon {
            period: period_value,
            selection,
            threshold,
            window,
            area,
        } = v;
        let layer = AreaLayer::polygons(DRAWN, std::slice::from_ref(&area));
        let query = CountsQuery {
            period: period_value,
            previous_periods: 1,
            selection: selection.clone(),
            group_by: GroupBy {
                source: false,
                category: self.by_category,
            },
        };
        let counts = area_counts(snap.view(), &layer, &[], &query).field("period")?;
        let shapes = opts
            .geometry
            .then(|| proj.area_geometry(&area).map(|g| vec![Some(g), None]))
            .transpose()?;
        let stats = CountsResult {
            data: snap.data().clone(),
            request: CountsRequest {
                layer: Some(DRAWN.into()),
                period: self.period.clone(),
                selection: self.selection.clone(),
                by_category: self.by_category,
                disclosure: self.disclosure,
                ..CountsRequest::default()
            },
            layer: DRAWN.into(),
            period: counts.period,
            previous: counts.previous,
            year_earlier: counts.year_earlier,
            population_year: counts.population_year,
            test: CHANGE_TEST,
            suppression: threshold,
            rows: rows(&counts, threshold),
            coverage: threshold.is_none().then_some(counts.coverage),
            left_out_imprecise_time: counts.left_out_imprecise_time,
            unknown_stadsdelar: Vec::new(),
            shapes,
        };
        let (from_day, to_day) = (period_value.start, period_value.end);
        let series_from = match window {
            WindowKind::Month => crate::jobs::time::months_before(to_day, 11),
            _ => from_day,
        };
        let matrix = crate::jobs::time::matrix(
            snap,
            &selection_in(&selection, period_value),
            Some((&layer, 0)),
            threshold,
        );
        let series = crate::jobs::time::series(
            snap,
            window,
            series_from,
            to_day,
            &selection,
            Some((&layer, 0)),
            threshold,
        )?;
        Ok(PolygonResult {
            data: snap.data().clone(),
            stats,
            matrix,
            series,
        })
    }
}

/// `selection` within the days of `period`.
fn selection_in(
    selection: &trygg_analytics::selection::Selection,
    period: Period,
) -> trygg_analytics::selection::Selection {
    let (from, to) = period.utc_bounds();
    trygg_analytics::selection::Selection {
        from_utc: Some(from),
        to_utc: Some(to),
        ..selection.clone()
    }
}

impl Tabular for PolygonResult {
    fn table(&self) -> Table {
        self.stats.table()
    }
}

/// Reads `area` of `AreaParams` for series and matrices.
pub(crate) fn one_area(
    snap: &Snapshot,
    params: &AreaParams,
    opts: &Options,
) -> Result<Option<(AreaLayer, usize)>, QueryError> {
    let Some(code) = &params.area else {
        return Ok(None);
    };
    let name = params.layer.clone().unwrap_or_else(|| "stadsdel".into());
    let (layer, _) = area_layer(snap, &name, "layer", &opts.budget)?;
    let index = crate::jobs::find_area(&layer, code, "area")?;
    Ok(Some((layer, index)))
}
