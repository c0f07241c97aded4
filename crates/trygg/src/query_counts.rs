//! `trygg query counts` and `trygg query survey`: area statistics and survey
//! indicators per area, as CSV rows, the whole result as JSON, or GeoJSON area
//! polygons carrying the rows.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use trygg_analytics::areas::AreaLayer;
use trygg_analytics::counts::{area_counts, suppress, AreaStat, CountStat, CountsQuery, GroupBy};
use trygg_analytics::matrix::hour_weekday;
use trygg_analytics::selection::Selection;
use trygg_analytics::survey::{
    incident_rates, survey_changes, survey_indicators, survey_vs_incidents, AreaGrouping,
    Indicator, SurveyQuery, SurveyResponse,
};
use trygg_analytics::trend::{trend, TrendQuery};
use trygg_analytics::window::Period;
use trygg_model::{NormCategory, Source};
use trygg_store::{EventFilter, Store, StoreError, StoredArea};

use crate::query::{
    budget, day_range, open, selection, square_ring, study_area, wgs84_ring, write_csv, writer,
    CellArgs, Opened, OutputArgs, Proj, QueryFormat, RangeArgs, SelectionArgs,
};

/// `trygg query counts`.
#[derive(Debug, Args)]
pub struct CountsArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Area layer: stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023, an uploaded
    /// layer, or a SWEREF grid of land cells as grid:SIZE (e.g. grid:250, grid:1000).
    #[arg(long, default_value = "stadsdel")]
    layer: String,
    /// The period: 2024-03-05, 2024-W05, 2024-03, 2024-Q1, 2024 or 2024-01-01..2024-03-31.
    #[arg(long)]
    period: String,
    /// One row per source.
    #[arg(long)]
    by_source: bool,
    /// One row per normalised category.
    #[arg(long)]
    by_category: bool,
    /// Show counts below N as "<N" and leave their rates out (for publishing).
    #[arg(long)]
    suppress: Option<u64>,
}

/// Restricting a matrix or trend to one area.
#[derive(Debug, Args)]
pub struct AreaArgs {
    /// The area's layer (with --area).
    #[arg(long, default_value = "stadsdel")]
    layer: String,
    /// Only events in this area (its code in --layer), e.g. RINKEBY or Järva.
    #[arg(long)]
    area: Option<String>,
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
}

/// `trygg query trend`.
#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    /// Period length: day, week, month, quarter or year.
    #[arg(long, default_value = "month")]
    window: String,
    /// First day of interest.
    #[arg(long)]
    from: chrono::NaiveDate,
    /// Last day of interest.
    #[arg(long)]
    to: chrono::NaiveDate,
    #[command(flatten)]
    area: AreaArgs,
}

/// `trygg query survey`.
#[derive(Debug, Args)]
pub struct SurveyArgs {
    #[command(flatten)]
    out: OutputArgs,
    /// Areas: stadsdel (as answered), or a division of the stadsdelar:
    /// stadsdelsomrade_2020 or stadsdelsomrade_2023.
    #[arg(long, default_value = "stadsdel")]
    layer: String,
    /// Only these rounds (repeatable).
    #[arg(long)]
    round: Vec<String>,
    /// Also the change between two rounds, FROM..TO (e.g. 2023..2026).
    #[arg(long)]
    change: Option<String>,
    /// Also compare a round with incident rates of a period: ROUND:PERIOD (e.g. 2026:2026).
    #[arg(long)]
    vs_incidents: Option<String>,
    /// The attribute holding the answer (the built-in survey mapping's column).
    #[arg(long, default_value = "otrygg_kvall")]
    answer_field: String,
    /// The attribute holding the design weight.
    #[arg(long, default_value = "vikt")]
    weight_field: String,
    /// The attribute holding the round.
    #[arg(long, default_value = "omgang")]
    round_field: String,
}

fn count_cell(n: u64, threshold: Option<u64>) -> Value {
    match threshold {
        Some(t) if n < t => Value::String(suppress(n, t)),
        _ => json!(n),
    }
}

fn stat_row(
    area: &AreaStat,
    stat: &CountStat,
    period: &str,
    key: (Option<Source>, Option<NormCategory>),
    threshold: Option<u64>,
) -> Value {
    let hidden = threshold.is_some_and(|t| stat.count < t);
    json!({
        "area_code": area.code,
        "area_name": area.name,
        "period": period,
        "source": key.0.map(Source::as_str),
        "category": key.1.map(NormCategory::as_str),
        "population": area.population.as_ref().map(|p| p.population),
        "count": count_cell(stat.count, threshold),
        "rate_per_1000": if hidden { None } else { stat.rate_per_1000 },
        "previous_count": count_cell(stat.vs_previous.count, threshold),
        "ratio_vs_previous": if hidden { None } else { stat.vs_previous.rate_ratio },
        "p_vs_previous": if hidden { None } else { stat.vs_previous.p_value },
        "year_earlier_count": count_cell(stat.vs_year_earlier.count, threshold),
        "ratio_vs_year_earlier": if hidden { None } else { stat.vs_year_earlier.rate_ratio },
        "p_vs_year_earlier": if hidden { None } else { stat.vs_year_earlier.p_value },
    })
}

/// Runs `trygg query counts`.
pub fn run_counts(args: &CountsArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let areas = layer_areas(&opened, &args.layer)?;
    let layer = layer(&opened.store, &args.layer, &areas)?;
    let period: Period = args.period.parse()?;
    let query = CountsQuery {
        period,
        selection: selection(&args.selection, None)?,
        group_by: GroupBy {
            source: args.by_source,
            category: args.by_category,
        },
    };
    let population = opened.store.population(&args.layer)?;
    let result = area_counts(&opened.view, &layer, &population, &query)?;
    let label = result.period.label();
    let mut rows = Vec::new();
    for area in result
        .areas
        .iter()
        .chain(std::iter::once(&result.municipality))
    {
        if area.groups.is_empty() {
            rows.push(stat_row(
                area,
                &area.stat,
                &label,
                (None, None),
                args.suppress,
            ));
        }
        for g in &area.groups {
            rows.push(stat_row(
                area,
                &g.stat,
                &label,
                (g.key.source, g.key.category),
                args.suppress,
            ));
        }
    }
    let mut w = writer(&args.out)?;
    match args.out.format {
        QueryFormat::Json => serde_json::to_writer_pretty(&mut w, &result)?,
        QueryFormat::Csv => write_csv(&mut w, &rows)?,
        QueryFormat::Geojson => {
            let shapes = area_shapes(&areas)?;
            let features: Vec<Value> = rows
                .iter()
                .filter_map(|row| {
                    let code = row["area_code"].as_str()?;
                    let geometry = shapes
                        .iter()
                        .find(|(c, _)| c == code)
                        .map(|(_, g)| g.clone())?;
                    Some(json!({"type": "Feature", "geometry": geometry, "properties": row}))
                })
                .collect();
            let meta = json!({"layer": result.layer, "period": result.period, "previous": result.previous,
                              "year_earlier": result.year_earlier, "selection": result.selection,
                              "test": result.test, "coverage": result.coverage});
            serde_json::to_writer(
                &mut w,
                &json!({"type": "FeatureCollection", "trygg": meta, "features": features}),
            )?;
        }
    }
    if args.out.format != QueryFormat::Csv {
        writeln!(w)?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The areas of a layer: the store's, or for `grid:SIZE` the land cells of a
/// SWEREF grid as squares (so grid cells get the same statistics as areas; only
/// point-precision events count in them, as in every polygon layer).
fn layer_areas(opened: &Opened, name: &str) -> anyhow::Result<Vec<StoredArea>> {
    let Some(size) = name.strip_prefix("grid:") else {
        return Ok(opened.store.areas(name)?);
    };
    let size: f64 = size
        .parse()
        .with_context(|| format!("grid size in '{name}'"))?;
    // A grid used as areas costs a polygon per cell: bounded before any is made.
    let land = trygg_analytics::study_area::land_index(&opened.store.areas("land")?);
    let grid = trygg_analytics::grid::SquareGrid::new(size)?;
    let candidates = trygg_analytics::study_area::StudyArea::square_candidates(grid, &land);
    budget()?.check_areas(candidates.unwrap_or(0), "layer")?;
    let cells = CellArgs {
        grid: size,
        h3: None,
        neighbourhood: "queen".into(),
        no_fdr: false,
    };
    let study = study_area(opened, &cells, &Proj::new()?)?;
    Ok(study
        .cells()
        .iter()
        .map(|c| {
            let ring = square_ring(c.x, c.y, size);
            StoredArea {
                code: c.id.clone(),
                name: c.id.clone(),
                properties: "{}".into(),
                geometry: geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                    ring.into(),
                    vec![],
                )]),
            }
        })
        .collect())
}

fn layer(store: &Store, name: &str, areas: &[StoredArea]) -> anyhow::Result<AreaLayer> {
    if areas.is_empty() && name != "municipality" {
        let known: Vec<String> = store.area_layers()?.into_iter().map(|l| l.name).collect();
        bail!(
            "no area layer '{name}' in the store (it has: {}; or use grid:SIZE)",
            known.join(", ")
        );
    }
    Ok(AreaLayer::from_store(
        name,
        areas,
        &store.areas("stadsdel")?,
    )?)
}

/// Each area as (code, GeoJSON geometry in WGS 84).
fn area_shapes(areas: &[StoredArea]) -> anyhow::Result<Vec<(String, Value)>> {
    let proj = Proj::new()?;
    let ring = |ls: &geo_types::LineString<f64>| wgs84_ring(&proj, ls.0.iter().map(|c| (c.x, c.y)));
    areas
        .iter()
        .map(|a| {
            let polygons = a
                .geometry
                .0
                .iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(ring)
                        .collect()
                })
                .collect::<anyhow::Result<Vec<Vec<_>>>>()?;
            Ok((
                a.code.clone(),
                json!({"type": "MultiPolygon", "coordinates": polygons}),
            ))
        })
        .collect()
}

/// The layer and the index of `--area` in it, when an area is asked for.
fn one_area(opened: &Opened, args: &AreaArgs) -> anyhow::Result<Option<(AreaLayer, usize)>> {
    let Some(code) = &args.area else {
        return Ok(None);
    };
    let areas = layer_areas(opened, &args.layer)?;
    let layer = layer(&opened.store, &args.layer, &areas)?;
    let index = layer
        .find(code)
        .with_context(|| format!("no area '{code}' in layer '{}'", args.layer))?;
    Ok(Some((layer, index)))
}

/// Runs `trygg query matrix`.
pub fn run_matrix(args: &MatrixArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let area = one_area(&opened, &args.area)?;
    let selection = selection(&args.selection, Some(&args.range))?;
    let m = hour_weekday(
        &opened.view,
        &selection,
        area.as_ref().map(|(l, i)| (l, *i)),
    );
    let rows: Vec<Value> = (0..24)
        .map(|h| {
            let mut row = serde_json::Map::new();
            row.insert("hour".into(), json!(h));
            for (d, name) in m.weekdays.iter().enumerate() {
                row.insert((*name).into(), json!(m.counts[h][d]));
            }
            row.insert("total".into(), json!(m.by_hour[h]));
            Value::Object(row)
        })
        .collect();
    write_table(&args.out, &m, &rows)
}

/// Runs `trygg query trend`.
pub fn run_trend(args: &TrendArgs) -> anyhow::Result<ExitCode> {
    day_range(Some(args.from), Some(args.to))?;
    let opened = open(&args.out)?;
    let area = one_area(&opened, &args.area)?;
    let query = TrendQuery {
        kind: args.window.parse()?,
        from: args.from,
        to: args.to,
        selection: selection(&args.selection, None)?,
    };
    let t = trend(&opened.view, &query, area.as_ref().map(|(l, i)| (l, *i)))?;
    let rows: Vec<Value> = t
        .series
        .iter()
        .map(|p| json!({"period": p.period.label(), "count": p.count}))
        .collect();
    write_table(&args.out, &t, &rows)
}

/// CSV of the rows or the whole result as JSON; no map for these.
fn write_table<R: serde::Serialize>(
    out: &OutputArgs,
    result: &R,
    rows: &[Value],
) -> anyhow::Result<ExitCode> {
    let mut w = writer(out)?;
    match out.format {
        QueryFormat::Csv => write_csv(&mut w, rows)?,
        QueryFormat::Json => {
            serde_json::to_writer_pretty(&mut w, result)?;
            writeln!(w)?;
        }
        QueryFormat::Geojson => bail!("this result has no geometry: use --format csv or json"),
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// Survey responses from the store's survey events (respondent rows: those of
/// category `survey_response`).
fn responses(store: &Store, args: &SurveyArgs) -> anyhow::Result<(Vec<SurveyResponse>, u64)> {
    let mut out = Vec::new();
    let mut unreadable = 0u64;
    let filter = EventFilter {
        source: Some(Source::Survey),
        ..EventFilter::default()
    };
    store.for_each_event(&filter, |e| -> Result<(), StoreError> {
        if e.category_norm != NormCategory::SurveyResponse.as_str() {
            return Ok(());
        }
        let attrs: Value = serde_json::from_str(&e.attributes).unwrap_or(Value::Null);
        let text = |key: &str| {
            attrs
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        // Ingest validates weights; a store from before that rule (or a mapping
        // without it) may still hold bad ones, which count as unreadable.
        let weight = text(&args.weight_field)
            .and_then(trygg_model::parse_decimal)
            .filter(|w| *w >= 0.0);
        match (text(&args.round_field), e.stadsdel.as_deref(), weight) {
            (Some(round), Some(area), Some(weight)) => out.push(SurveyResponse {
                round: round.to_owned(),
                area: area.to_owned(),
                weight,
                answer: text(&args.answer_field).unwrap_or_default().to_owned(),
                age_group: text("aldersgrupp").map(str::to_owned),
                gender: text("kon").map(str::to_owned),
            }),
            _ => unreadable += 1,
        }
        Ok(())
    })?;
    Ok((out, unreadable))
}

/// Runs `trygg query survey`.
pub fn run_survey(args: &SurveyArgs) -> anyhow::Result<ExitCode> {
    let opened = open(&args.out)?;
    let (responses, unreadable) = responses(&opened.store, args)?;
    if responses.is_empty() {
        bail!(
            "the store holds no survey responses with {}, {} and {}",
            args.round_field,
            args.weight_field,
            args.answer_field
        );
    }
    let grouping = match args.layer.as_str() {
        "stadsdel" => AreaGrouping::AsGiven,
        division => AreaGrouping::division(&opened.store.areas("stadsdel")?, division)?,
    };
    let query = SurveyQuery {
        indicator: Indicator::unsafe_evening(),
        grouping,
        rounds: (!args.round.is_empty()).then(|| args.round.clone()),
        age_groups: None,
        genders: None,
    };
    let indicators = survey_indicators(&responses, &query)?;
    let changes = match &args.change {
        Some(c) => {
            let (from, to) = c
                .split_once("..")
                .context("--change wants FROM..TO, e.g. 2023..2026")?;
            Some(survey_changes(&indicators, from, to))
        }
        None => None,
    };
    let comparison = match &args.vs_incidents {
        Some(spec) => {
            let (round, period) = spec
                .split_once(':')
                .context("--vs-incidents wants ROUND:PERIOD, e.g. 2026:2026")?;
            let areas = layer_areas(&opened, &args.layer)?;
            let layer = layer(&opened.store, &args.layer, &areas)?;
            let population = opened.store.population(&args.layer)?;
            let counts = area_counts(
                &opened.view,
                &layer,
                &population,
                &CountsQuery {
                    period: period.parse()?,
                    selection: Selection::all(),
                    group_by: GroupBy::default(),
                },
            )?;
            Some(survey_vs_incidents(
                &indicators,
                round,
                &incident_rates(&counts),
            ))
        }
        None => None,
    };
    let mut w = writer(&args.out)?;
    match args.out.format {
        QueryFormat::Json => {
            let all = json!({"indicators": indicators, "changes": changes, "vs_incidents": comparison,
                             "responses_without_round_area_or_weight": unreadable});
            serde_json::to_writer_pretty(&mut w, &all)?;
        }
        QueryFormat::Csv => {
            let rows: Vec<Value> = indicators
                .estimates
                .iter()
                .chain(&indicators.totals)
                .map(|e| {
                    json!({"round": e.round, "area": e.area, "n": e.n, "n_eff": e.n_eff, "deff": e.deff,
                           "share": e.share, "ci_low": e.ci_low, "ci_high": e.ci_high})
                })
                .collect();
            write_csv(&mut w, &rows)?;
        }
        QueryFormat::Geojson => {
            bail!("survey results are per area and round: use --format csv or json")
        }
    }
    if args.out.format != QueryFormat::Csv {
        writeln!(w)?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}
