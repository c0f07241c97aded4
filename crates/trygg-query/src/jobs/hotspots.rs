//! Where things cluster: Gi* hotspots on a grid or H3 (with an optional kernel
//! density), emerging hotspots over time slices, and hotspot change between two
//! periods.
//!
//! Under suppression a cell's count is published by the rule of
//! [`crate::disclosure`] (the cells add up to the binned total), and its Gi* z,
//! p-values and density are left out: they are functions of neighbouring counts
//! from which a small count could be solved for. The hot/cold class, a coarse
//! category of the neighbourhood, stays.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trygg_analytics::change::{hotspot_change, Transition};
use trygg_analytics::emerging::{
    emerging_with, slices_ending, EmergingParams, SliceStep, SliceSummary,
};
use trygg_analytics::gistar::{hotspots, ClassCounts, HotspotParams, PSource};
use trygg_analytics::kde::{kde_with, KdeParams};
use trygg_analytics::selection::Selection;
use trygg_analytics::study_area::{BinnedCounts, BinningSummary, CellSystem, StudyArea};

use crate::disclosure::{publish, suppressed, unless_suppressed, Count, Margin};
use crate::encode::{Cell, Table, Tabular};
use crate::error::{Field, QueryError};
use crate::jobs::{study_area, Job, Options, Proj};
use crate::params::{day, CellParams, Cells, DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::{DataInfo, Snapshot};
use trygg_store::{grid_counts, GridQuery, GroupedQuery, SqlRead};

/// Gi* hotspots over a window.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HotspotsRequest {
    /// The days.
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// The cells.
    #[serde(flatten)]
    pub cells: CellParams,
    /// Conditional permutations for pseudo p-values (0: analytical only).
    pub permutations: u32,
    /// Seed of the permutations (default 1).
    pub seed: Option<u64>,
    /// Also a quartic kernel density with this bandwidth in metres.
    pub kde: Option<f64>,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published hotspot cell.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HotspotCell {
    /// The cell's id.
    pub cell_id: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing.
    pub y: f64,
    /// Events in the cell.
    pub count: Count,
    /// Gi* z (absent under suppression).
    pub gi_z: Option<f64>,
    /// Two-sided p.
    pub p: Option<f64>,
    /// Benjamini-Hochberg adjusted p.
    pub p_fdr: Option<f64>,
    /// Permutation p, when permutations were run.
    pub p_sim: Option<f64>,
    /// −3..=3: cold/hot at 99/95/90 %, 0 not significant.
    pub class: i8,
    /// Events per km² at the cell centre, when a density was asked for.
    pub kde_per_km2: Option<f64>,
}

/// Hotspots as published; the same shape with or without a density.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HotspotsResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: HotspotsRequest,
    /// The selection analysed.
    #[schemars(with = "serde_json::Value")]
    pub selection: Selection,
    /// The Gi* parameters.
    #[schemars(with = "serde_json::Value")]
    pub params: HotspotParams,
    /// Squares or hexagons.
    #[schemars(with = "serde_json::Value")]
    pub cell_system: CellSystem,
    /// What happened to the events (counts under suppression hide nothing: they
    /// are totals over the whole map).
    #[schemars(with = "serde_json::Value")]
    pub binning: BinningSummary,
    /// Events left out of an hour/weekday filter for an unknown time of day.
    pub left_out_imprecise_time: u64,
    /// Cells per class.
    #[schemars(with = "serde_json::Value")]
    pub classes: ClassCounts,
    /// All values equal: Gi* is undefined.
    pub degenerate: bool,
    /// The kernel and bandwidth, when a density was asked for.
    #[schemars(with = "serde_json::Value")]
    pub kde: Option<KdeParams>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// The cells.
    pub cells: Vec<HotspotCell>,
    #[serde(skip)]
    shapes: Option<Vec<Option<Value>>>,
}

/// Publishes cell counts with the binned total as their margin.
fn cell_counts(counts: &[u64], total: u64, threshold: Option<u64>) -> Vec<Count> {
    let mut values = counts.to_vec();
    values.push(total);
    let margin = Margin {
        total: counts.len(),
        parts: (0..counts.len()).collect(),
    };
    let hidden = suppressed(&values, &[margin], threshold);
    let mut published = publish(&values, &hidden, threshold);
    published.pop();
    published
}

/// A selection's events per study cell, and the counts as published under a
/// threshold: what the `hotspots` job, the `grid` tiles and the heat tiles all
/// start from, so that none can disagree with another.
#[derive(Debug)]
pub struct CellField {
    /// The cells.
    pub study: std::sync::Arc<StudyArea>,
    /// Events per cell (unpublished) and what happened to the events.
    pub binned: BinnedCounts,
    /// Events left out of an hour/weekday filter for an unknown time of day.
    pub left_out: u64,
    /// The counts per cell as published.
    pub counts: Vec<Count>,
}

impl CellField {
    /// Counts `selection` on the study area of `cells`.
    pub(crate) fn new(
        snap: &Snapshot,
        selection: &Selection,
        cells: &Cells,
        threshold: Option<u64>,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<CellField, QueryError> {
        let proj = Proj::new()?;
        let study = study_area(snap, cells, budget, &proj)?;
        let (binned, left_out) = study
            .bin_selection(snap.view(), selection, &*proj)
            .field("grid")?;
        let raw: Vec<u64> = binned.counts.iter().map(|&c| u64::from(c)).collect();
        let counts = cell_counts(&raw, binned.summary.binned, threshold);
        Ok(CellField {
            study,
            binned,
            left_out,
            counts,
        })
    }
}

impl CellField {
    /// [`CellField::new`] with the counts per cell made by the store itself
    /// (`trygg_store::grid_counts`, pushed down): the same cells, counts and
    /// binning summary, without the events in memory. Square cells and
    /// selections of sources, categories and time only; the others are
    /// refused naming the field.
    pub(crate) fn from_store(
        snap: &Snapshot,
        selection: &Selection,
        cells: &Cells,
        threshold: Option<u64>,
        budget: &trygg_analytics::budget::Budget,
        db: &mut dyn SqlRead,
    ) -> Result<CellField, QueryError> {
        let (sources, categories) = selection.pushable().map_err(|field| {
            not_pushable(
                field,
                "an hour or weekday filter needs each event's local time",
            )
        })?;
        let proj = Proj::new()?;
        let study = study_area(snap, cells, budget, &proj)?;
        let CellSystem::Square { size_m } = study.system() else {
            return Err(not_pushable("h3", "the database counts square cells only"));
        };
        let q = GridQuery {
            events: GroupedQuery {
                from_utc: selection.from_utc.unwrap_or(i64::MIN),
                to_utc: selection.to_utc.unwrap_or(i64::MAX),
                sources,
                categories,
            },
            origin: snap.view().origin(),
            size_m,
        };
        let groups = grid_counts(db, &q)?;
        let binned = study
            .binned_from_grid(&groups)
            .ok_or_else(|| not_pushable("grid", "a grid this fine over this study area"))?;
        let raw: Vec<u64> = binned.counts.iter().map(|&c| u64::from(c)).collect();
        let counts = cell_counts(&raw, binned.summary.binned, threshold);
        Ok(CellField {
            study,
            binned,
            left_out: 0,
            counts,
        })
    }
}

/// What the database cannot count alone, said as for counts.
fn not_pushable(field: &'static str, reason: &'static str) -> QueryError {
    QueryError::invalid(
        field,
        trygg_analytics::counts::CountsError::NotPushable { field, reason },
    )
}

fn cell_shapes(
    proj: &Proj,
    system: CellSystem,
    cells: impl Iterator<Item = (String, f64, f64)>,
) -> Result<Vec<Option<Value>>, QueryError> {
    cells
        .map(|(id, x, y)| proj.cell_geometry(system, &id, x, y).map(Some))
        .collect()
}

impl Job for HotspotsRequest {
    const NAME: &'static str = "hotspots";
    type Valid = (Selection, Cells, Option<u64>);
    type Output = HotspotsResult;

    fn validate(&self) -> Result<Self::Valid, QueryError> {
        if let Some(b) = self.kde {
            if !(b.is_finite() && b > 0.0 && b <= 50_000.0) {
                return Err(QueryError::invalid(
                    "kde",
                    format!("bandwidth {b} is not in (0, 50000] metres"),
                ));
            }
        }
        if self.permutations > trygg_analytics::gistar::MAX_PERMUTATIONS {
            return Err(QueryError::invalid(
                "permutations",
                format!("at most {}", trygg_analytics::gistar::MAX_PERMUTATIONS),
            ));
        }
        Ok((
            self.selection.validate(Some(&self.range))?,
            self.cells.validate()?,
            self.disclosure.threshold()?,
        ))
    }

    fn execute(
        &self,
        (selection, cells, threshold): Self::Valid,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<HotspotsResult, QueryError> {
        let field = CellField::new(snap, &selection, &cells, threshold, &opts.budget)?;
        self.result_of(selection, &cells, threshold, &field, snap, opts)
    }
}

impl HotspotsRequest {
    /// [`Job::execute`] with the counts per cell made by the store itself
    /// ([`CellField::from_store`]), for a snapshot without the events in
    /// memory; a kernel density estimate (which reads each event) is refused.
    pub fn execute_pushed_down(
        &self,
        (selection, cells, threshold): (Selection, Cells, Option<u64>),
        snap: &Snapshot,
        opts: &Options,
        db: &mut dyn SqlRead,
    ) -> Result<HotspotsResult, QueryError> {
        if self.kde.is_some() {
            return Err(not_pushable(
                "kde",
                "a kernel density estimate reads each event's point",
            ));
        }
        let field = CellField::from_store(snap, &selection, &cells, threshold, &opts.budget, db)?;
        self.result_of(selection, &cells, threshold, &field, snap, opts)
    }

    /// The result of the cell counts `field`, made either way.
    fn result_of(
        &self,
        selection: Selection,
        cells: &Cells,
        threshold: Option<u64>,
        field: &CellField,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<HotspotsResult, QueryError> {
        let params = HotspotParams {
            neighbourhood: cells.neighbourhood,
            permutations: self.permutations,
            seed: self.seed.unwrap_or(1),
            class_basis: cells.class_basis,
            p_source: if self.permutations > 0 {
                PSource::Permutation
            } else {
                PSource::Analytical
            },
        };
        let proj = Proj::new()?;
        let study = &field.study;
        opts.budget
            .check_permutations(study.len(), self.permutations)?;
        let left_out = field.left_out;
        let result = hotspots(study, &field.binned, &params).field("permutations")?;
        let density = self
            .kde
            .map(|bandwidth_m| {
                kde_with(
                    study,
                    snap.view(),
                    selection.indices(snap.view()),
                    &KdeParams { bandwidth_m },
                    &*proj,
                )
                .field("kde")
            })
            .transpose()?;
        let published = &field.counts;
        let hide = threshold.is_some();
        let out: Vec<HotspotCell> = result
            .cells
            .iter()
            .zip(published)
            .enumerate()
            .map(|(i, (c, &count))| HotspotCell {
                cell_id: c.cell_id.clone(),
                x: c.x,
                y: c.y,
                count,
                gi_z: (!hide).then_some(c.gi_z),
                p: (!hide).then_some(c.p),
                p_fdr: (!hide).then_some(c.p_fdr),
                p_sim: if hide { None } else { c.p_sim },
                class: c.class,
                kde_per_km2: if hide {
                    None
                } else {
                    density
                        .as_ref()
                        .and_then(|d| d.cells.get(i))
                        .map(|k| k.events_per_km2)
                },
            })
            .collect();
        let shapes = opts
            .geometry
            .then(|| {
                cell_shapes(
                    &proj,
                    result.cell_system,
                    out.iter().map(|c| (c.cell_id.clone(), c.x, c.y)),
                )
            })
            .transpose()?;
        Ok(HotspotsResult {
            data: snap.data().clone(),
            request: self.clone(),
            selection,
            params: result.params,
            cell_system: result.cell_system,
            binning: result.binning,
            left_out_imprecise_time: left_out,
            classes: result.classes,
            degenerate: result.degenerate,
            kde: density.map(|d| d.params),
            suppression: threshold,
            cells: out,
            shapes,
        })
    }
}

impl Tabular for HotspotsResult {
    fn table(&self) -> Table {
        Table {
            columns: vec![
                "cell_id",
                "x",
                "y",
                "count",
                "gi_z",
                "p",
                "p_fdr",
                "p_sim",
                "class",
                "kde_per_km2",
            ],
            rows: self
                .cells
                .iter()
                .map(|c| {
                    vec![
                        c.cell_id.as_str().into(),
                        Cell::Float(c.x),
                        Cell::Float(c.y),
                        c.count.into(),
                        c.gi_z.into(),
                        c.p.into(),
                        c.p_fdr.into(),
                        c.p_sim.into(),
                        Cell::Int(i64::from(c.class)),
                        c.kde_per_km2.into(),
                    ]
                })
                .collect(),
            geometry: self.shapes.clone(),
        }
    }
}

/// Emerging hotspots over time slices.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmergingRequest {
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// The cells.
    #[serde(flatten)]
    pub cells: CellParams,
    /// `week` (default) or `month`.
    pub slice: Option<String>,
    /// Number of slices (default 52).
    pub slices: Option<usize>,
    /// A day in the last slice (default: the day of the latest event).
    pub end: Option<String>,
    /// ArcGIS's neighbourhood time step (default 1).
    pub time_steps: Option<u32>,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published emerging-hotspot cell.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EmergingCell {
    /// The cell's id.
    pub cell_id: String,
    /// Centre easting.
    pub x: f64,
    /// Centre northing.
    pub y: f64,
    /// ArcGIS's pattern name.
    pub pattern: &'static str,
    /// Events over all slices.
    pub count: Count,
    /// Slices in which it was hot.
    pub hot_slices: u32,
    /// Slices in which it was cold.
    pub cold_slices: u32,
    /// The class in the last slice.
    pub last_class: i8,
    /// Mann-Kendall z of its Gi* z series (absent under suppression).
    pub trend_z: Option<f64>,
    /// And its p.
    pub trend_p: Option<f64>,
}

/// Emerging hotspots as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EmergingResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: EmergingRequest,
    /// The parameters.
    #[schemars(with = "serde_json::Value")]
    pub params: EmergingParams,
    /// Squares or hexagons.
    #[schemars(with = "serde_json::Value")]
    pub cell_system: CellSystem,
    /// Per slice: its events binned and classes.
    #[schemars(with = "serde_json::Value")]
    pub slices: Vec<SliceSummary>,
    /// What happened to the events.
    #[schemars(with = "serde_json::Value")]
    pub binning: BinningSummary,
    /// Cells per pattern.
    pub patterns: Vec<(&'static str, u32)>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// The cells.
    pub cells: Vec<EmergingCell>,
    #[serde(skip)]
    shapes: Option<Vec<Option<Value>>>,
}

/// A validated emerging request.
#[derive(Debug, Clone)]
pub struct ValidEmerging {
    selection: Selection,
    cells: Cells,
    threshold: Option<u64>,
    step: SliceStep,
    slices: usize,
    end: Option<NaiveDate>,
}

impl Job for EmergingRequest {
    const NAME: &'static str = "emerging";
    type Valid = ValidEmerging;
    type Output = EmergingResult;

    fn validate(&self) -> Result<ValidEmerging, QueryError> {
        let step = match self.slice.as_deref().unwrap_or("week") {
            "week" => SliceStep::Week,
            "month" => SliceStep::Month,
            other => {
                return Err(QueryError::invalid(
                    "slice",
                    format!("'{other}' is not week or month"),
                ))
            }
        };
        let slices = self.slices.unwrap_or(52);
        if !(10..=10_000).contains(&slices) {
            return Err(QueryError::invalid(
                "slices",
                format!("{slices} is not 10..=10000"),
            ));
        }
        Ok(ValidEmerging {
            selection: self.selection.validate(None)?,
            cells: self.cells.validate()?,
            threshold: self.disclosure.threshold()?,
            step,
            slices,
            end: self.end.as_deref().map(|e| day("end", e)).transpose()?,
        })
    }

    fn execute(
        &self,
        v: ValidEmerging,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<EmergingResult, QueryError> {
        let ValidEmerging {
            selection,
            cells,
            threshold,
            step,
            slices: n,
            end,
        } = v;
        let proj = Proj::new()?;
        let study = study_area(snap, &cells, &opts.budget, &proj)?;
        opts.budget.check_cell_slices(study.len(), n)?;
        let end = match end {
            Some(d) => d,
            None => latest_day(snap)?,
        };
        let slices = slices_ending(step, end, n).field("slices")?;
        let params = EmergingParams {
            neighbourhood: cells.neighbourhood,
            class_basis: cells.class_basis,
            time_steps: self.time_steps.unwrap_or(1),
            ..EmergingParams::default()
        };
        let events = selection.indices(snap.view());
        let r =
            emerging_with(&study, snap.view(), events, &slices, &params, &*proj).field("slices")?;
        let counts: Vec<u64> = r.cells.iter().map(|c| c.count).collect();
        let published = cell_counts(&counts, r.binning.binned, threshold);
        let hide = threshold.is_some();
        let out: Vec<EmergingCell> = r
            .cells
            .iter()
            .zip(published)
            .map(|(c, count)| EmergingCell {
                cell_id: c.cell_id.clone(),
                x: c.x,
                y: c.y,
                pattern: c.pattern.label(),
                count,
                hot_slices: c.hot_slices,
                cold_slices: c.cold_slices,
                last_class: c.classes.last().copied().unwrap_or(0),
                trend_z: unless_suppressed(Some(c.trend.z), &[count]).filter(|_| !hide),
                trend_p: unless_suppressed(Some(c.trend.p), &[count]).filter(|_| !hide),
            })
            .collect();
        let shapes = opts
            .geometry
            .then(|| {
                cell_shapes(
                    &proj,
                    r.cell_system,
                    out.iter().map(|c| (c.cell_id.clone(), c.x, c.y)),
                )
            })
            .transpose()?;
        Ok(EmergingResult {
            data: snap.data().clone(),
            request: self.clone(),
            params: r.params,
            cell_system: r.cell_system,
            slices: r.slices,
            binning: r.binning,
            patterns: r
                .patterns
                .iter()
                .map(|p| (p.pattern.label(), p.cells))
                .collect(),
            suppression: threshold,
            cells: out,
            shapes,
        })
    }
}

/// The Stockholm day of the latest event.
fn latest_day(snap: &Snapshot) -> Result<NaiveDate, QueryError> {
    let view = snap.view();
    let last = view
        .len()
        .checked_sub(1)
        .ok_or_else(|| QueryError::not_found("end", "the store holds no events"))?;
    let t = chrono::DateTime::from_timestamp(view.time(last), 0)
        .ok_or_else(|| QueryError::invalid("end", "the latest event's time is out of range"))?;
    Ok(trygg_model::time::to_stockholm(t.fixed_offset()).date_naive())
}

impl Tabular for EmergingResult {
    fn table(&self) -> Table {
        Table {
            columns: vec![
                "cell_id",
                "x",
                "y",
                "pattern",
                "count",
                "hot_slices",
                "cold_slices",
                "last_class",
                "trend_z",
                "trend_p",
            ],
            rows: self
                .cells
                .iter()
                .map(|c| {
                    vec![
                        c.cell_id.as_str().into(),
                        Cell::Float(c.x),
                        Cell::Float(c.y),
                        c.pattern.into(),
                        c.count.into(),
                        Cell::Int(i64::from(c.hot_slices)),
                        Cell::Int(i64::from(c.cold_slices)),
                        Cell::Int(i64::from(c.last_class)),
                        c.trend_z.into(),
                        c.trend_p.into(),
                    ]
                })
                .collect(),
            geometry: self.shapes.clone(),
        }
    }
}

/// Hotspot change between an earlier and a later period.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeRequest {
    /// The later period.
    #[serde(flatten)]
    pub range: RangeParams,
    /// First day of the earlier period.
    pub before_from: Option<String>,
    /// Last day of the earlier period.
    pub before_to: Option<String>,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// The cells.
    #[serde(flatten)]
    pub cells: CellParams,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One published change cell.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChangeCell {
    /// The cell's id.
    pub cell_id: String,
    /// Centre easting.
    pub x: f64,
    /// Centre northing.
    pub y: f64,
    /// The transition.
    #[schemars(with = "serde_json::Value")]
    pub transition: Transition,
    /// Events before.
    pub count_before: Count,
    /// Events after.
    pub count_after: Count,
    /// Class before.
    pub class_before: i8,
    /// Class after.
    pub class_after: i8,
    /// Gi* z before (absent under suppression).
    pub gi_z_before: Option<f64>,
    /// Gi* z after.
    pub gi_z_after: Option<f64>,
}

/// Hotspot change as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChangeResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: ChangeRequest,
    /// The Gi* parameters.
    #[schemars(with = "serde_json::Value")]
    pub params: HotspotParams,
    /// Classes before.
    #[schemars(with = "serde_json::Value")]
    pub before: ClassCounts,
    /// Classes after.
    #[schemars(with = "serde_json::Value")]
    pub after: ClassCounts,
    /// Cells per transition.
    #[schemars(with = "serde_json::Value")]
    pub transitions: std::collections::BTreeMap<Transition, u32>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// The cells.
    pub cells: Vec<ChangeCell>,
    #[serde(skip)]
    shapes: Option<Vec<Option<Value>>>,
}

impl Job for ChangeRequest {
    const NAME: &'static str = "change";
    type Valid = (Selection, Selection, Cells, Option<u64>);
    type Output = ChangeResult;

    fn validate(&self) -> Result<Self::Valid, QueryError> {
        let after_sel = self.selection.validate(Some(&self.range))?;
        let before_range = RangeParams {
            from: self.before_from.clone(),
            to: self.before_to.clone(),
        };
        let before_sel = self
            .selection
            .validate(Some(&before_range))
            .map_err(|e| match e {
                QueryError::Invalid { field, message } if field == "from" || field == "to" => {
                    QueryError::Invalid {
                        field: format!("before_{field}"),
                        message,
                    }
                }
                other => other,
            })?;
        if before_range.from.is_none() || before_range.to.is_none() {
            return Err(QueryError::invalid(
                "before_from",
                "the earlier period needs before_from and before_to",
            ));
        }
        Ok((
            after_sel,
            before_sel,
            self.cells.validate()?,
            self.disclosure.threshold()?,
        ))
    }

    fn execute(
        &self,
        (after_sel, before_sel, cells, threshold): Self::Valid,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<ChangeResult, QueryError> {
        let params = HotspotParams {
            neighbourhood: cells.neighbourhood,
            class_basis: cells.class_basis,
            ..HotspotParams::default()
        };
        let proj = Proj::new()?;
        let study = study_area(snap, &cells, &opts.budget, &proj)?;
        let map = |sel: &Selection| {
            let (binned, _) = study
                .bin_selection(snap.view(), sel, &*proj)
                .field("grid")?;
            hotspots(&study, &binned, &params).field("grid")
        };
        let before = map(&before_sel)?;
        let after = map(&after_sel)?;
        let r = hotspot_change(&before, &after).field("grid")?;
        let b: Vec<u64> = r.cells.iter().map(|c| u64::from(c.count_before)).collect();
        let a: Vec<u64> = r.cells.iter().map(|c| u64::from(c.count_after)).collect();
        let pb = cell_counts(&b, before.binning.binned, threshold);
        let pa = cell_counts(&a, after.binning.binned, threshold);
        let hide = threshold.is_some();
        let out: Vec<ChangeCell> = r
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| ChangeCell {
                cell_id: c.cell_id.clone(),
                x: c.x,
                y: c.y,
                transition: c.transition,
                count_before: pb[i],
                count_after: pa[i],
                class_before: c.class_before,
                class_after: c.class_after,
                gi_z_before: (!hide).then_some(c.gi_z_before),
                gi_z_after: (!hide).then_some(c.gi_z_after),
            })
            .collect();
        let shapes = opts
            .geometry
            .then(|| {
                cell_shapes(
                    &proj,
                    after.cell_system,
                    out.iter().map(|c| (c.cell_id.clone(), c.x, c.y)),
                )
            })
            .transpose()?;
        Ok(ChangeResult {
            data: snap.data().clone(),
            request: self.clone(),
            params,
            before: r.before,
            after: r.after,
            transitions: r.transitions,
            suppression: threshold,
            cells: out,
            shapes,
        })
    }
}

impl Tabular for ChangeResult {
    fn table(&self) -> Table {
        Table {
            columns: vec![
                "cell_id",
                "x",
                "y",
                "transition",
                "count_before",
                "count_after",
                "class_before",
                "class_after",
                "gi_z_before",
                "gi_z_after",
            ],
            rows: self
                .cells
                .iter()
                .map(|c| {
                    vec![
                        c.cell_id.as_str().into(),
                        Cell::Float(c.x),
                        Cell::Float(c.y),
                        Cell::Text(
                            serde_json::to_value(c.transition)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                        ),
                        c.count_before.into(),
                        c.count_after.into(),
                        Cell::Int(i64::from(c.class_before)),
                        Cell::Int(i64::from(c.class_after)),
                        c.gi_z_before.into(),
                        c.gi_z_after.into(),
                    ]
                })
                .collect(),
            geometry: self.shapes.clone(),
        }
    }
}
