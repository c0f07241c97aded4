//! `trygg query`: the analytics library's results on a store, as CSV, JSON or
//! GeoJSON. The same library calls back the future server; this module only opens
//! the store, turns arguments into the library's parameters, and formats.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value};
use trygg_analytics::budget::Budget;
use trygg_analytics::change::hotspot_change;
use trygg_analytics::emerging::{
    emerging, emerging_with, slices_ending, EmergingParams, SliceStep,
};
use trygg_analytics::gistar::{hotspots, ClassBasis, HotspotParams, PSource};
use trygg_analytics::grid::SquareGrid;
use trygg_analytics::hex::{self, LonLatProjection};
use trygg_analytics::kde::{kde, kde_with, KdeParams};
use trygg_analytics::selection::Selection;
use trygg_analytics::study_area::{land_index, CellSystem, Neighbourhood, StudyArea};
use trygg_analytics::window::day_range_utc;
use trygg_crs::{Crs, Transformer};
use trygg_model::NormCategory;
use trygg_store::{EventView, Store};

use crate::cli::SourceArg;
use crate::output::Sink;

/// `trygg query ...`.
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Area statistics: counts, rates per 1,000, change vs previous period and a year earlier.
    Counts(CountsArgs),
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

/// Which events to use.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Only these sources (repeatable).
    #[arg(long, value_enum)]
    pub source: Vec<SourceArg>,
    /// Only these normalised categories, e.g. violence, robbery (repeatable).
    #[arg(long)]
    pub category: Vec<String>,
    /// Only local hours, e.g. 22-04 or 8,9,10 (Stockholm time).
    #[arg(long)]
    pub hours: Option<String>,
    /// Only weekdays, e.g. fri-sun or mån-fre.
    #[arg(long)]
    pub weekdays: Option<String>,
}

/// A date range (Stockholm days, both included).
#[derive(Debug, Args)]
pub struct RangeArgs {
    /// First day.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (included whole).
    #[arg(long)]
    pub to: Option<NaiveDate>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// One row per cell or area.
    Csv,
    /// The whole result with its parameters.
    Json,
    /// Cells or areas as WGS 84 polygons with their values.
    Geojson,
}

/// Where and how to write.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The store file.
    #[arg(long)]
    pub store: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: QueryFormat,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Cells: a square grid or H3.
#[derive(Debug, Args)]
pub struct CellArgs {
    /// Square SWEREF 99 TM grid cell size in metres (250 and 1000 are the Swedish standard).
    #[arg(long, default_value_t = 250.0, conflicts_with = "h3")]
    pub grid: f64,
    /// Use H3 hexagons of this resolution instead of squares (e.g. 9).
    #[arg(long)]
    pub h3: Option<u8>,
    /// Neighbourhood: "queen" (the cell and its 8 neighbours) or "band:R" (cells
    /// within R cell sizes).
    #[arg(long, default_value = "queen")]
    pub neighbourhood: String,
    /// Class cells by the raw analytical p instead of the FDR-adjusted p.
    #[arg(long)]
    pub no_fdr: bool,
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
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also a quartic kernel density with this bandwidth in metres, as a column
    /// `kde_per_km2` (events per km² at the cell centre).
    #[arg(long)]
    kde: Option<f64>,
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
    before_from: NaiveDate,
    /// Last day of the earlier period.
    #[arg(long)]
    before_to: NaiveDate,
    #[command(flatten)]
    cells: CellArgs,
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
    /// Slice length.
    #[arg(long, value_enum, default_value = "week")]
    slice: SliceArg,
    /// Number of slices.
    #[arg(long, default_value_t = 52)]
    slices: usize,
    /// A day in the last slice (default: the day of the latest event).
    #[arg(long)]
    end: Option<NaiveDate>,
    /// ArcGIS's neighbourhood time step (slices before each slice that count as neighbours).
    #[arg(long, default_value_t = 1)]
    time_steps: u32,
}

/// Slice lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SliceArg {
    /// ISO weeks.
    Week,
    /// Calendar months.
    Month,
}

pub use crate::query_counts::{CountsArgs, MatrixArgs, SurveyArgs, TrendArgs};

/// Runs a query.
pub fn run_query(command: &QueryCommand) -> anyhow::Result<ExitCode> {
    match command {
        QueryCommand::Hotspots(args) => run_hotspots(args),
        QueryCommand::Emerging(args) => run_emerging(args),
        QueryCommand::Counts(args) => crate::query_counts::run_counts(args),
        QueryCommand::Survey(args) => crate::query_counts::run_survey(args),
        QueryCommand::Change(args) => run_change(args),
        QueryCommand::Matrix(args) => crate::query_counts::run_matrix(args),
        QueryCommand::Trend(args) => crate::query_counts::run_trend(args),
    }
}

/// `--from`/`--to` as UTC bounds; a reversed range is an error.
pub(crate) fn day_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    day_range_utc(from, to).context("--from/--to")
}

/// The library's selection from the arguments.
pub(crate) fn selection(
    args: &SelectionArgs,
    range: Option<&RangeArgs>,
) -> anyhow::Result<Selection> {
    let categories = args
        .category
        .iter()
        .map(|c| c.parse::<NormCategory>())
        .collect::<Result<Vec<_>, _>>()?;
    let (from_utc, to_utc) = day_range(range.and_then(|r| r.from), range.and_then(|r| r.to))?;
    Ok(Selection {
        sources: (!args.source.is_empty()).then(|| args.source.iter().map(|&s| s.into()).collect()),
        categories: (!categories.is_empty()).then_some(categories),
        from_utc,
        to_utc,
        hours: args.hours.as_deref().map(str::parse).transpose()?,
        weekdays: args.weekdays.as_deref().map(str::parse).transpose()?,
    })
}

/// EPSG:3006 ↔ WGS 84 through PROJ, for H3 cells and GeoJSON output.
pub(crate) struct Proj {
    to_wgs84: Transformer,
    to_store: Transformer,
}

impl Proj {
    pub(crate) fn new() -> anyhow::Result<Proj> {
        Ok(Proj {
            to_wgs84: Transformer::store_to_wgs84()?,
            to_store: Transformer::to_store(&Crs::WGS84)?,
        })
    }
}

impl LonLatProjection for Proj {
    fn to_lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        self.to_wgs84.convert(x, y).ok()
    }

    fn to_xy(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        self.to_store.convert(lon, lat).ok()
    }
}

/// An opened store with what every query needs.
pub(crate) struct Opened {
    pub(crate) store: Store,
    pub(crate) view: EventView,
}

/// Opens the store of a query, after checking that its output is not the store.
pub(crate) fn open(out: &OutputArgs) -> anyhow::Result<Opened> {
    if let Some(path) = &out.out {
        trygg_store::check_output_path(&out.store, path)?;
    }
    let store = Store::open(&out.store)?;
    let view = store.view()?;
    Ok(Opened { store, view })
}

fn neighbourhood(text: &str) -> anyhow::Result<Neighbourhood> {
    match text.split_once(':') {
        None if text == "queen" => Ok(Neighbourhood::Queen),
        Some(("band", r)) => Ok(Neighbourhood::Band {
            radius_cells: r.parse().context("band radius")?,
        }),
        _ => bail!("unknown neighbourhood '{text}': use queen or band:R"),
    }
}

pub(crate) fn study_area(
    opened: &Opened,
    cells: &CellArgs,
    proj: &Proj,
) -> anyhow::Result<StudyArea> {
    let land = opened.store.areas("land")?;
    if land.is_empty() {
        bail!("the store has no 'land' area layer (the study area of grids); load one with `trygg areas load --layer land`");
    }
    let index = land_index(&land);
    let budget = budget()?;
    Ok(match cells.h3 {
        Some(res) => {
            budget.check_cells(StudyArea::h3_candidates(res, &index).unwrap_or(0), "h3")?;
            StudyArea::h3(res, &index, proj)?
        }
        None => {
            let grid = SquareGrid::new(cells.grid)?;
            budget.check_cells(
                StudyArea::square_candidates(grid, &index).unwrap_or(0),
                "grid",
            )?;
            StudyArea::square(grid, &index)?
        }
    })
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

fn run_hotspots(args: &HotspotsArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let proj = Proj::new()?;
    let study = study_area(&opened, &args.cells, &proj)?;
    budget()?.check_permutations(study.len(), args.permutations)?;
    let selection = selection(&args.selection, Some(&args.range))?;
    let events = selection.indices(&opened.view);
    let binned = match args.cells.h3 {
        Some(_) => study.bin_with(&opened.view, events, &proj)?,
        None => study.bin(&opened.view, events)?,
    };
    let params = HotspotParams {
        neighbourhood: neighbourhood(&args.cells.neighbourhood)?,
        permutations: args.permutations,
        seed: args.seed,
        class_basis: if args.cells.no_fdr {
            ClassBasis::Raw
        } else {
            ClassBasis::Fdr
        },
        p_source: if args.permutations > 0 {
            PSource::Permutation
        } else {
            PSource::Analytical
        },
    };
    let result = hotspots(&study, &binned, &params)?;
    let density = match args.kde {
        Some(bandwidth_m) => {
            let events = selection.indices(&opened.view);
            let params = KdeParams { bandwidth_m };
            Some(match args.cells.h3 {
                Some(_) => kde_with(&study, &opened.view, events, &params, &proj)?,
                None => kde(&study, &opened.view, events, &params)?,
            })
        }
        None => None,
    };
    let rows: Vec<Value> = result
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = json!({"cell_id": c.cell_id, "x": c.x, "y": c.y, "count": c.count, "gi_z": c.gi_z,
                                 "p": c.p, "p_fdr": c.p_fdr, "class": c.class, "p_sim": c.p_sim});
            if let Some(d) = &density {
                row["kde_per_km2"] = json!(d.cells.get(i).map(|k| k.events_per_km2));
            }
            row
        })
        .collect();
    let meta = json!({"selection": selection, "params": result.params, "binning": result.binning,
                      "classes": result.classes, "kde": density.as_ref().map(|d| (&d.params, d.kernel, d.unit))});
    let whole = match &density {
        Some(d) => json!({"hotspots": result, "kde": d}),
        None => serde_json::to_value(&result)?,
    };
    write_cells(&args.out, &whole, &rows, &meta, result.cell_system, &proj)
}

fn class_basis(cells: &CellArgs) -> ClassBasis {
    if cells.no_fdr {
        ClassBasis::Raw
    } else {
        ClassBasis::Fdr
    }
}

fn run_change(args: &ChangeArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let proj = Proj::new()?;
    let study = study_area(&opened, &args.cells, &proj)?;
    let params = HotspotParams {
        neighbourhood: neighbourhood(&args.cells.neighbourhood)?,
        class_basis: class_basis(&args.cells),
        ..HotspotParams::default()
    };
    let map = |range: &RangeArgs| -> anyhow::Result<trygg_analytics::gistar::HotspotResult> {
        let events = selection(&args.selection, Some(range))?.indices(&opened.view);
        let binned = match args.cells.h3 {
            Some(_) => study.bin_with(&opened.view, events, &proj)?,
            None => study.bin(&opened.view, events)?,
        };
        Ok(hotspots(&study, &binned, &params)?)
    };
    let before = map(&RangeArgs {
        from: Some(args.before_from),
        to: Some(args.before_to),
    })?;
    let after = map(&args.range)?;
    let result = hotspot_change(&before, &after)?;
    let rows: Vec<Value> = result
        .cells
        .iter()
        .map(|c| {
            json!({"cell_id": c.cell_id, "x": c.x, "y": c.y, "transition": c.transition,
                   "count_before": c.count_before, "count_after": c.count_after,
                   "class_before": c.class_before, "class_after": c.class_after,
                   "gi_z_before": c.gi_z_before, "gi_z_after": c.gi_z_after})
        })
        .collect();
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    let meta = json!({"params": params,
                      "before": {"from": day(Some(args.before_from)), "to": day(Some(args.before_to))},
                      "after": {"from": day(args.range.from), "to": day(args.range.to)},
                      "transitions": result.transitions});
    write_cells(&args.out, &result, &rows, &meta, after.cell_system, &proj)
}

fn run_emerging(args: &EmergingArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let proj = Proj::new()?;
    let study = study_area(&opened, &args.cells, &proj)?;
    let end = match args.end {
        Some(d) => d,
        None => {
            let Some(last) = opened.view.len().checked_sub(1) else {
                bail!("the store holds no events")
            };
            let t = chrono::DateTime::from_timestamp(opened.view.time(last), 0)
                .context("event time")?;
            trygg_model::time::to_stockholm(t.fixed_offset()).date_naive()
        }
    };
    let step = match args.slice {
        SliceArg::Week => SliceStep::Week,
        SliceArg::Month => SliceStep::Month,
    };
    budget()?.check_cell_slices(study.len(), args.slices)?;
    let slices = slices_ending(step, end, args.slices)?;
    let selection = selection(&args.selection, None)?;
    let events = selection.indices(&opened.view);
    let params = EmergingParams {
        neighbourhood: neighbourhood(&args.cells.neighbourhood)?,
        class_basis: if args.cells.no_fdr {
            ClassBasis::Raw
        } else {
            ClassBasis::Fdr
        },
        time_steps: args.time_steps,
        ..EmergingParams::default()
    };
    let result = match args.cells.h3 {
        Some(_) => emerging_with(&study, &opened.view, events, &slices, &params, &proj)?,
        None => emerging(&study, &opened.view, events, &slices, &params)?,
    };
    let rows: Vec<Value> = result
        .cells
        .iter()
        .map(|c| {
            json!({"cell_id": c.cell_id, "x": c.x, "y": c.y, "pattern": c.pattern.label(), "count": c.count,
                   "hot_slices": c.hot_slices, "cold_slices": c.cold_slices,
                   "last_class": c.classes.last().copied().unwrap_or(0),
                   "trend_z": c.trend.z, "trend_p": c.trend.p})
        })
        .collect();
    let meta = json!({"selection": selection, "params": result.params, "slices": result.slices,
                      "binning": result.binning, "patterns": result.patterns});
    write_cells(&args.out, &result, &rows, &meta, result.cell_system, &proj)
}

/// Writes cell rows: CSV of the rows, the whole result as JSON, or GeoJSON cell
/// polygons whose properties are the rows.
fn write_cells<R: Serialize>(
    out: &OutputArgs,
    result: &R,
    rows: &[Value],
    meta: &Value,
    system: CellSystem,
    proj: &Proj,
) -> anyhow::Result<ExitCode> {
    let mut w = writer(out)?;
    match out.format {
        QueryFormat::Json => serde_json::to_writer_pretty(&mut w, result)?,
        QueryFormat::Csv => write_csv(&mut w, rows)?,
        QueryFormat::Geojson => {
            let features: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let ring = cell_ring(row, system, proj)?;
                    Ok(json!({"type": "Feature", "id": row["cell_id"],
                              "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": row}))
                })
                .collect::<anyhow::Result<_>>()?;
            let fc = json!({"type": "FeatureCollection", "trygg": meta, "features": features});
            serde_json::to_writer(&mut w, &fc)?;
        }
    }
    if out.format != QueryFormat::Csv {
        writeln!(w)?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// A cell's outline in WGS 84 (closed ring).
fn cell_ring(row: &Value, system: CellSystem, proj: &Proj) -> anyhow::Result<Vec<[f64; 2]>> {
    let id = row["cell_id"].as_str().unwrap_or_default();
    match system {
        CellSystem::Square { size_m } => {
            let (x, y) = (
                row["x"].as_f64().unwrap_or_default(),
                row["y"].as_f64().unwrap_or_default(),
            );
            wgs84_ring(proj, square_ring(x, y, size_m))
        }
        CellSystem::H3 { .. } => {
            let mut ring: Vec<[f64; 2]> = hex::boundary(id)
                .context("H3 cell id")?
                .into_iter()
                .map(|(lon, lat)| [lon, lat])
                .collect();
            if let Some(&first) = ring.first() {
                ring.push(first);
            }
            Ok(ring)
        }
    }
}

/// The closed outline (EPSG:3006) of the square of side `size` centred on (x, y).
pub(crate) fn square_ring(x: f64, y: f64, size: f64) -> Vec<(f64, f64)> {
    let h = size / 2.0;
    [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
        .iter()
        .map(|(dx, dy)| (x + dx, y + dy))
        .collect()
}

/// EPSG:3006 vertices as WGS 84 `[lon, lat]` pairs for GeoJSON.
pub(crate) fn wgs84_ring(
    proj: &Proj,
    ring: impl IntoIterator<Item = (f64, f64)>,
) -> anyhow::Result<Vec<[f64; 2]>> {
    ring.into_iter()
        .map(|(x, y)| {
            proj.to_lon_lat(x, y)
                .map(|(lon, lat)| [lon, lat])
                .context("a vertex outside WGS 84")
        })
        .collect()
}

/// The output of a query: checked before the store is opened (see [`open`]).
pub(crate) fn writer(out: &OutputArgs) -> anyhow::Result<Sink> {
    Sink::open(out.out.as_deref(), &out.store)
}

/// CSV of JSON rows (objects with the same keys in the same order); nulls are empty.
pub(crate) fn write_csv(w: &mut dyn Write, rows: &[Value]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let Some(first) = rows.first().and_then(Value::as_object) else {
        return Ok(());
    };
    csv.write_record(first.keys())?;
    for row in rows {
        let Some(obj) = row.as_object() else { continue };
        csv.write_record(obj.values().map(|v| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))?;
    }
    csv.flush()?;
    Ok(())
}
