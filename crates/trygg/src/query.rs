//! `trygg query`: command-line arguments turned into the query layer's requests
//! ([`trygg_query`]), run on the store's snapshot and written in the chosen
//! encoding. Nothing here decides what a number means.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use trygg_analytics::budget::Budget;
use trygg_query::encode::{self, Format};
use trygg_query::params::{AreaParams, CellParams, DisclosureParams, RangeParams, SelectionParams};
use trygg_query::{
    ChangeRequest, CountsRequest, EmergingRequest, HotspotsRequest, Job, MatrixRequest, Options,
    PolygonRequest, Snapshot, StoreConn, SurveyRequest, TableRequest, TrendRequest,
};

use crate::output::Sink;

/// `trygg query ...`.
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Area statistics: counts, rates per 1,000, change vs previous period and a year earlier.
    Counts(CountsArgs),
    /// Counts of every area in every period of a range (e.g. stadsdel × month of a year).
    Table(TableArgs),
    /// Statistics of a drawn polygon (GeoJSON, WGS 84): counts, change, matrix, series.
    Polygon(PolygonArgs),
    /// Hotspots: Getis-Ord Gi* on a grid, with FDR-corrected classes.
    Hotspots(HotspotsArgs),
    /// Emerging hotspots: Gi* per time slice and a Mann-Kendall trend, ArcGIS's classes.
    Emerging(EmergingArgs),
    /// Survey indicators: weighted shares with 95 % confidence intervals.
    Survey(SurveyArgs),
    /// Hotspot change: Gi* classes in an earlier and a later period, per cell.
    Change(ChangeArgs),
    /// The hour × weekday matrix of a selection (Stockholm time).
    Matrix(MatrixArgs),
    /// A count per day/week/month/quarter/year with an OLS slope and a Mann-Kendall trend.
    Trend(TrendArgs),
}

/// Where and how to write.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The store: a GeoPackage file or a PostgreSQL database (`postgres://…`).
    #[arg(long)]
    pub store: PathBuf,
    /// Output format: csv, excel (Swedish Excel: BOM, ';', decimal comma), json, geojson, xlsx, gpkg or parquet.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only this municipality of the store's `kommun` layer (its code, e.g.
    /// 0184, or name): its events, its areas, its population.
    #[arg(long)]
    pub municipality: Option<String>,
}

/// Which events.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Only these sources (repeatable): police-events, crimes, shootings, fires,
    /// survey. Default: the incident sources (the survey only when named).
    #[arg(long)]
    pub source: Vec<String>,
    /// Only these normalised categories, e.g. violence, robbery (repeatable).
    #[arg(long)]
    pub category: Vec<String>,
    /// Only local hours, e.g. 22-04 or 8,9,10 (Stockholm time; date-only times are left out).
    #[arg(long)]
    pub hours: Option<String>,
    /// Only weekdays, e.g. fri-sun or mån-fre.
    #[arg(long)]
    pub weekdays: Option<String>,
}

impl From<&SelectionArgs> for SelectionParams {
    fn from(a: &SelectionArgs) -> Self {
        SelectionParams {
            source: a.source.clone(),
            category: a.category.clone(),
            hours: a.hours.clone(),
            weekdays: a.weekdays.clone(),
        }
    }
}

/// A range of days (Stockholm days, both included).
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (included whole).
    #[arg(long)]
    pub to: Option<String>,
}

impl From<&RangeArgs> for RangeParams {
    fn from(a: &RangeArgs) -> Self {
        RangeParams {
            from: a.from.clone(),
            to: a.to.clone(),
        }
    }
}

/// Cells: a square grid or H3.
#[derive(Debug, Args)]
pub struct CellArgs {
    /// Square SWEREF 99 TM grid cell size in metres (default 250; 1000 is the other Swedish standard).
    #[arg(long)]
    pub grid: Option<f64>,
    /// Use H3 hexagons of this resolution instead of squares (e.g. 9).
    #[arg(long)]
    pub h3: Option<u8>,
    /// Neighbourhood: "queen" (the cell and its 8 neighbours) or "band:R".
    #[arg(long)]
    pub neighbourhood: Option<String>,
    /// Class cells by the raw analytical p instead of the FDR-adjusted p.
    #[arg(long)]
    pub no_fdr: bool,
}

impl From<&CellArgs> for CellParams {
    fn from(a: &CellArgs) -> Self {
        CellParams {
            grid: a.grid,
            h3: a.h3,
            neighbourhood: a.neighbourhood.clone(),
            no_fdr: a.no_fdr,
        }
    }
}

/// Publishing protection.
#[derive(Debug, Args)]
pub struct SuppressArgs {
    /// Show counts below N as "<N", leave out what is derived from them, and
    /// suppress complementary counts so none can be recovered by subtraction.
    #[arg(long)]
    pub suppress: Option<u64>,
}

impl From<&SuppressArgs> for DisclosureParams {
    fn from(a: &SuppressArgs) -> Self {
        DisclosureParams {
            suppress: a.suppress,
        }
    }
}

/// Restricting a series or matrix to one area.
#[derive(Debug, Args)]
pub struct AreaArgs {
    /// The area's layer (with --area; default stadsdel).
    #[arg(long)]
    pub layer: Option<String>,
    /// Only events in this area (its code or name in --layer), e.g. RINKEBY or Järva.
    #[arg(long)]
    pub area: Option<String>,
}

impl From<&AreaArgs> for AreaParams {
    fn from(a: &AreaArgs) -> Self {
        AreaParams {
            layer: a.layer.clone(),
            area: a.area.clone(),
        }
    }
}

/// `trygg query counts`.
#[derive(Debug, Args)]
pub struct CountsArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Area layer: stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023, municipality,
    /// an uploaded layer, or a SWEREF grid of land cells as grid:SIZE.
    #[arg(long)]
    layer: Option<String>,
    /// The period: 2024-03-05, 2024-W05, 2024-03, 2024-Q1, 2024 or 2024-01-01..2024-03-31.
    #[arg(long)]
    period: String,
    /// One row per source.
    #[arg(long)]
    by_source: bool,
    /// One row per normalised category.
    #[arg(long)]
    by_category: bool,
    /// Compare with this many periods before (default 1; e.g. 4 with a week:
    /// the four weeks before, by their weekly rate).
    #[arg(long)]
    previous_periods: Option<u32>,
    #[command(flatten)]
    suppress: SuppressArgs,
    /// Count in the store (PostgreSQL aggregates; the events are not loaded)
    /// instead of the in-memory snapshot: the same result, for stadsdel,
    /// division and municipality layers without an hour or weekday filter.
    #[arg(long)]
    push_down: bool,
}

/// `trygg query table`.
#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    range: RangeArgs,
    /// Area layer (as for counts).
    #[arg(long)]
    layer: Option<String>,
    /// Period length: day, week, month (default), quarter or year.
    #[arg(long)]
    window: Option<String>,
    /// Per source.
    #[arg(long)]
    by_source: bool,
    /// Per normalised category.
    #[arg(long)]
    by_category: bool,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query polygon`.
#[derive(Debug, Args)]
pub struct PolygonArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// A GeoJSON file holding a Polygon or MultiPolygon (a geometry, a Feature or
    /// a FeatureCollection's first feature), WGS 84.
    #[arg(long)]
    polygon: PathBuf,
    /// The period (as for counts).
    #[arg(long)]
    period: String,
    /// The series' period length (default month, 12 months up to the period's end).
    #[arg(long)]
    window: Option<String>,
    /// One row per normalised category besides the total.
    #[arg(long)]
    by_category: bool,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query hotspots`.
#[derive(Debug, Args)]
pub struct HotspotsArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    cells: CellArgs,
    /// Conditional permutations for pseudo p-values (0 = analytical only; 999 is usual).
    #[arg(long, default_value_t = 0)]
    permutations: u32,
    /// Seed of the permutations.
    #[arg(long)]
    seed: Option<u64>,
    /// Also a quartic kernel density with this bandwidth in metres (`kde_per_km2`).
    #[arg(long)]
    kde: Option<f64>,
    #[command(flatten)]
    suppress: SuppressArgs,
    /// Count the events per cell in the store (PostgreSQL aggregates; the
    /// events are not loaded) instead of the in-memory snapshot: the same
    /// result, for square cells without an hour or weekday filter or --kde.
    #[arg(long)]
    push_down: bool,
}

/// `trygg query change`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// The later period (its first and last day).
    #[command(flatten)]
    range: RangeArgs,
    /// First day of the earlier period.
    #[arg(long)]
    before_from: String,
    /// Last day of the earlier period.
    #[arg(long)]
    before_to: String,
    #[command(flatten)]
    cells: CellArgs,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query emerging`.
#[derive(Debug, Args)]
pub struct EmergingArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    cells: CellArgs,
    /// Slice length: week (default) or month.
    #[arg(long)]
    slice: Option<String>,
    /// Number of slices (default 52).
    #[arg(long)]
    slices: Option<usize>,
    /// A day in the last slice (default: the day of the latest event).
    #[arg(long)]
    end: Option<String>,
    /// ArcGIS's neighbourhood time step (default 1).
    #[arg(long)]
    time_steps: Option<u32>,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query survey`.
#[derive(Debug, Args)]
pub struct SurveyArgs {
    #[command(flatten)]
    out: OutputArgs,
    /// Areas: stadsdel (as answered), or stadsdelsomrade_2020 / stadsdelsomrade_2023.
    #[arg(long)]
    layer: Option<String>,
    /// Only these rounds (repeatable).
    #[arg(long)]
    round: Vec<String>,
    /// Also the change between two rounds, FROM..TO (e.g. 2023..2026).
    #[arg(long)]
    change: Option<String>,
    /// Also compare a round with incident rates of a period: ROUND:PERIOD (e.g. 2026:2026).
    #[arg(long)]
    vs_incidents: Option<String>,
    /// The attribute holding the answer (default otrygg_kvall).
    #[arg(long)]
    answer_field: Option<String>,
    /// The attribute holding the design weight (default vikt).
    #[arg(long)]
    weight_field: Option<String>,
    /// The attribute holding the round (default omgang).
    #[arg(long)]
    round_field: Option<String>,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    area: AreaArgs,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// `trygg query trend`.
#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Period length: day, week, month (default), quarter or year.
    #[arg(long)]
    window: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    area: AreaArgs,
    #[command(flatten)]
    suppress: SuppressArgs,
}

/// Runs a query.
pub fn run_query(command: &QueryCommand) -> anyhow::Result<ExitCode> {
    match command {
        QueryCommand::Counts(a) => {
            let request = CountsRequest {
                layer: a.layer.clone(),
                period: a.period.clone(),
                selection: (&a.selection).into(),
                by_source: a.by_source,
                by_category: a.by_category,
                previous_periods: a.previous_periods,
                disclosure: (&a.suppress).into(),
            };
            if a.push_down {
                answer_pushed_down(&a.out, &request, |v, snap, opts, store| {
                    request.execute_pushed_down(v, snap, opts, &mut |q| store.grouped_counts(q))
                })
            } else {
                answer(&a.out, &request)
            }
        }
        QueryCommand::Table(a) => answer(
            &a.out,
            &TableRequest {
                layer: a.layer.clone(),
                window: a.window.clone(),
                range: (&a.range).into(),
                selection: (&a.selection).into(),
                by_source: a.by_source,
                by_category: a.by_category,
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Polygon(a) => answer(
            &a.out,
            &PolygonRequest {
                geometry: read_polygon(&a.polygon)?,
                period: a.period.clone(),
                selection: (&a.selection).into(),
                window: a.window.clone(),
                by_category: a.by_category,
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Hotspots(a) => {
            let request = HotspotsRequest {
                range: (&a.range).into(),
                selection: (&a.selection).into(),
                cells: (&a.cells).into(),
                permutations: a.permutations,
                seed: a.seed,
                kde: a.kde,
                disclosure: (&a.suppress).into(),
            };
            if a.push_down {
                answer_pushed_down(&a.out, &request, |v, snap, opts, store| {
                    request.execute_pushed_down(v, snap, opts, store.sql())
                })
            } else {
                answer(&a.out, &request)
            }
        }
        QueryCommand::Emerging(a) => answer(
            &a.out,
            &EmergingRequest {
                selection: (&a.selection).into(),
                cells: (&a.cells).into(),
                slice: a.slice.clone(),
                slices: a.slices,
                end: a.end.clone(),
                time_steps: a.time_steps,
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Survey(a) => answer(
            &a.out,
            &SurveyRequest {
                layer: a.layer.clone(),
                round: a.round.clone(),
                change: a.change.clone(),
                vs_incidents: a.vs_incidents.clone(),
                answer_field: a.answer_field.clone(),
                weight_field: a.weight_field.clone(),
                round_field: a.round_field.clone(),
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Change(a) => answer(
            &a.out,
            &ChangeRequest {
                range: (&a.range).into(),
                before_from: Some(a.before_from.clone()),
                before_to: Some(a.before_to.clone()),
                selection: (&a.selection).into(),
                cells: (&a.cells).into(),
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Matrix(a) => answer(
            &a.out,
            &MatrixRequest {
                range: (&a.range).into(),
                selection: (&a.selection).into(),
                area: (&a.area).into(),
                disclosure: (&a.suppress).into(),
            },
        ),
        QueryCommand::Trend(a) => answer(
            &a.out,
            &TrendRequest {
                window: a.window.clone(),
                range: (&a.range).into(),
                selection: (&a.selection).into(),
                area: (&a.area).into(),
                disclosure: (&a.suppress).into(),
            },
        ),
    }
}

/// The geometry of a GeoJSON file: a geometry, a Feature's, or the first feature's.
fn read_polygon(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    Ok(
        match value.get("type").and_then(serde_json::Value::as_str) {
            Some("Feature") => value["geometry"].clone(),
            Some("FeatureCollection") => value["features"][0]["geometry"].clone(),
            _ => value,
        },
    )
}

/// Validates the request, then (only then) opens the output and the store, runs
/// the request on the store's snapshot and writes the result.
fn answer<J: Job>(out: &OutputArgs, job: &J) -> anyhow::Result<ExitCode> {
    let valid = job.validate()?;
    respond(out, J::NAME, |options| {
        // A GeoPackage file or a PostgreSQL database: one snapshot either way.
        let snapshot =
            std::sync::Arc::new(Snapshot::open(&out.store)?).within(out.municipality.as_deref())?;
        let result = job.execute(valid, &snapshot, options)?;
        Ok((result, snapshot.data().clone()))
    })
}

/// [`answer`] for what the store counts itself (`--push-down`): `run` gets a
/// snapshot without the events (over PostgreSQL) and the store's connection.
fn answer_pushed_down<J: Job>(
    out: &OutputArgs,
    job: &J,
    run: impl FnOnce(
        J::Valid,
        &Snapshot,
        &Options,
        &mut StoreConn,
    ) -> Result<J::Output, trygg_query::QueryError>,
) -> anyhow::Result<ExitCode> {
    let valid = job.validate()?;
    if out.municipality.is_some() {
        return Err(trygg_query::QueryError::invalid(
            trygg_query::snapshot::SCOPE_FIELD,
            "a query limited to a municipality is answered from the snapshot: drop --push-down",
        )
        .into());
    }
    respond(out, J::NAME, |options| {
        let (snapshot, mut store) = Snapshot::open_pushed_down(&out.store)?;
        let result = run(valid, &snapshot, options, &mut store)?;
        Ok((result, snapshot.data().clone()))
    })
}

/// Opens the output, then writes what `run` answers under the request budget.
fn respond<R: serde::Serialize + trygg_query::encode::Tabular>(
    out: &OutputArgs,
    title: &str,
    run: impl FnOnce(&Options) -> anyhow::Result<(R, trygg_query::DataInfo)>,
) -> anyhow::Result<ExitCode> {
    let format: Format = out.format.parse()?;
    let options = Options {
        budget: budget()?,
        geometry: format.wants_geometry(),
    };
    let mut sink = Sink::open(out.out.as_deref(), &out.store)?;
    let (result, data) = run(&options)?;
    encode::write(&mut sink, format, title, &result, &data)?;
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The resource budget of one request: the defaults, or what the environment
/// variables `TRYGG_MAX_CELLS`, `TRYGG_MAX_CELL_SLICES`, `TRYGG_MAX_PERMUTATION_CELLS`
/// and `TRYGG_MAX_AREAS` say (see docs/analytics.md).
pub(crate) fn budget() -> anyhow::Result<Budget> {
    let mut budget = Budget::default();
    for (name, field) in [
        ("TRYGG_MAX_CELLS", &mut budget.max_cells),
        ("TRYGG_MAX_CELL_SLICES", &mut budget.max_cell_slices),
        (
            "TRYGG_MAX_PERMUTATION_CELLS",
            &mut budget.max_permutation_cells,
        ),
        ("TRYGG_MAX_AREAS", &mut budget.max_areas),
    ] {
        if let Ok(text) = std::env::var(name) {
            *field = text
                .trim()
                .parse()
                .with_context(|| format!("{name}: '{text}' is not a whole number"))?;
        }
    }
    Ok(budget)
}

/// `--from`/`--to` of a non-query command as UTC bounds, by the query layer's rule.
pub(crate) fn day_range(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    trygg_analytics::window::day_range_utc(from, to).context("--from/--to")
}
