//! The weekly hotspot report's numbers (`weekly`): one ISO week of every
//! incident source, as the other jobs compute them, so the report, the API and
//! the map can never disagree:
//!
//! - per area ([`CountsRequest`]): the week against the four weeks before (by
//!   their weekly rate) and against the same week a year earlier, each with the
//!   exact conditional test; an area *changed significantly* when its
//!   Benjamini-Hochberg adjusted p over the layer's tested areas is below 0.05;
//! - Gi* hotspots of the week ([`HotspotsRequest`]) and the emerging-hotspot
//!   patterns of the weeks up to it ([`EmergingRequest`]), each cell placed in
//!   its area;
//! - the hour × weekday matrix ([`MatrixRequest`]) and the weekly series of
//!   the twelve weeks up to it ([`TrendRequest`]);
//! - the latest survey round of the areas that stand out ([`SurveyRequest`]).
//!
//! Counts are published under the request's threshold; the front ends protect
//! the request as a viewer's, so the report shows what a viewer may read.

use serde::{Deserialize, Serialize};
use trygg_analytics::fdr::benjamini_hochberg;
use trygg_analytics::window::{Period, WindowKind};
use trygg_spatial::AreaIndex;

use super::counts::CountsResult;
use super::hotspots::{EmergingCell, EmergingResult, HotspotCell, HotspotsResult};
use super::survey::{Estimate, SurveyResult};
use super::time::{MatrixResult, TrendResult};
use super::{Job, Options};
use crate::encode::{Table, Tabular};
use crate::error::QueryError;
use crate::params::{AreaParams, CellParams, DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::{DataInfo, Snapshot};
use crate::{
    CountsRequest, EmergingRequest, HotspotsRequest, MatrixRequest, SurveyRequest, TrendRequest,
};

/// The report's week and what it shows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WeeklyRequest {
    /// The ISO week, e.g. `2024-W20`.
    pub week: String,
    /// The area layer of the table (default `stadsdel`).
    pub layer: Option<String>,
    /// Square cell size of the hotspot analyses in metres (default 250).
    pub grid: Option<f64>,
    /// Weeks of the emerging-hotspot analysis, ending with the week (default
    /// 12, at least 4).
    pub weeks: Option<usize>,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// Square cell size of the hotspot analyses, metres, unless asked otherwise.
pub const DEFAULT_GRID: f64 = 250.0;
/// Weeks the "previous" comparison spans.
pub const BASELINE_WEEKS: u32 = 4;
/// The false discovery rate below which an area's change is reported.
pub const FDR: f64 = 0.05;
/// Hot cells listed.
pub const TOP_HOTSPOTS: usize = 10;
/// Weeks of the series.
pub const SERIES_WEEKS: u64 = 12;

/// Which comparison an area's change is against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// The four weeks before, by their weekly rate.
    PreviousWeeks,
    /// The same ISO week a year earlier.
    YearEarlier,
}

/// An area whose change is significant.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AreaChange {
    /// Area code.
    pub area_code: String,
    /// Area name.
    pub area_name: String,
    /// The comparison.
    pub against: Against,
    /// Events in the week.
    pub count: u64,
    /// Events in what it is compared with (four weeks, or the week a year earlier).
    pub compared_count: u64,
    /// Rate ratio (per day) of the week to what it is compared with.
    pub ratio: f64,
    /// p of the exact conditional test.
    pub p: f64,
    /// Benjamini-Hochberg adjusted p over the layer's tested areas.
    pub q: f64,
}

/// A cell placed in its area.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Placed<C> {
    /// The area the cell's centre lies in (code), if any.
    pub area_code: Option<String>,
    /// Its name.
    pub area_name: Option<String>,
    /// The cell.
    #[serde(flatten)]
    pub cell: C,
}

/// The report's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WeeklyResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: WeeklyRequest,
    /// The week's label.
    pub week: String,
    /// Its first day.
    pub from: String,
    /// Its last day.
    pub to: String,
    /// The four weeks compared with, first and last day.
    pub baseline: (String, String),
    /// The same week a year earlier, first and last day.
    pub year_earlier: (String, String),
    /// The area layer.
    pub layer: String,
    /// The hotspot cells' size, metres.
    pub grid_m: f64,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// The false discovery rate of [`WeeklyResult::changed`].
    pub fdr: f64,
    /// Per area: the week against four weeks before and a year earlier.
    pub areas: CountsResult,
    /// The areas that changed significantly, largest rise first.
    pub changed: Vec<AreaChange>,
    /// The week's hotspot analysis: its parameters, class counts and
    /// significant cells (the strongest placed in `top_hotspots`).
    #[schemars(with = "serde_json::Value")]
    pub hotspots: HotspotsResult,
    /// The hottest cells of the week: class first, then count.
    pub top_hotspots: Vec<Placed<HotspotCell>>,
    /// The emerging-hotspot analysis: its parameters, slices, pattern counts
    /// and the cells with a pattern (the hot ones placed in `emerging_cells`).
    #[schemars(with = "serde_json::Value")]
    pub emerging: EmergingResult,
    /// Its hot-spot patterns, new ones first.
    pub emerging_cells: Vec<Placed<EmergingCell>>,
    /// When in the week.
    pub matrix: MatrixResult,
    /// The weekly series up to the week.
    pub series: TrendResult,
    /// The latest survey round of the areas that stand out (changed, or
    /// holding a top hotspot); empty without a survey.
    pub survey: Vec<Estimate>,
    /// The survey round shown.
    pub survey_round: Option<String>,
}

/// Emerging patterns listed, in the order shown (hot spots only).
pub const EMERGING_ORDER: [&str; 8] = [
    "New Hot Spot",
    "Consecutive Hot Spot",
    "Intensifying Hot Spot",
    "Persistent Hot Spot",
    "Sporadic Hot Spot",
    "Oscillating Hot Spot",
    "Diminishing Hot Spot",
    "Historical Hot Spot",
];

/// A validated weekly request.
#[derive(Debug, Clone)]
pub struct ValidWeekly {
    week: Period,
    weeks: usize,
    grid: f64,
}

impl WeeklyRequest {
    fn days(p: &Period) -> (String, String) {
        (p.start.to_string(), p.end.to_string())
    }

    fn range(p: &Period) -> RangeParams {
        RangeParams {
            from: Some(p.start.to_string()),
            to: Some(p.end.to_string()),
        }
    }

    fn cells(grid: f64) -> CellParams {
        CellParams {
            grid: Some(grid),
            ..CellParams::default()
        }
    }
}

impl Job for WeeklyRequest {
    const NAME: &'static str = "weekly";
    type Valid = ValidWeekly;
    type Output = WeeklyResult;

    fn validate(&self) -> Result<ValidWeekly, QueryError> {
        let week = crate::params::period("week", &self.week)?;
        if week.kind != WindowKind::IsoWeek {
            return Err(QueryError::invalid(
                "week",
                format!("'{}' is not an ISO week (YYYY-Www)", self.week),
            ));
        }
        let weeks = self.weeks.unwrap_or(12);
        if !(4..=104).contains(&weeks) {
            return Err(QueryError::invalid(
                "weeks",
                format!("{weeks} is not 4..=104"),
            ));
        }
        let grid = self.grid.unwrap_or(DEFAULT_GRID);
        self.disclosure.threshold()?;
        Ok(ValidWeekly { week, weeks, grid })
    }

    fn execute(
        &self,
        v: ValidWeekly,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<WeeklyResult, QueryError> {
        let layer = self.layer.clone().unwrap_or_else(|| "stadsdel".into());
        let disclosure = self.disclosure;
        let areas = CountsRequest {
            layer: Some(layer.clone()),
            period: self.week.clone(),
            previous_periods: Some(BASELINE_WEEKS),
            disclosure,
            ..CountsRequest::default()
        }
        .run(snap, opts)?;
        let changed = changed(&areas);
        let mut hotspots = HotspotsRequest {
            range: Self::range(&v.week),
            cells: Self::cells(v.grid),
            disclosure,
            ..HotspotsRequest::default()
        }
        .run(snap, opts)?;
        let mut emerging = EmergingRequest {
            cells: Self::cells(v.grid),
            slice: Some("week".into()),
            slices: Some(v.weeks),
            end: Some(v.week.end.to_string()),
            disclosure,
            ..EmergingRequest::default()
        }
        .run(snap, opts)?;
        let matrix = MatrixRequest {
            range: Self::range(&v.week),
            disclosure,
            ..MatrixRequest::default()
        }
        .run(snap, opts)?;
        let first = v.week.start - chrono::Days::new(7 * (SERIES_WEEKS - 1));
        let series = TrendRequest {
            window: Some("week".into()),
            range: RangeParams {
                from: Some(first.to_string()),
                to: Some(v.week.end.to_string()),
            },
            selection: SelectionParams::default(),
            area: AreaParams::default(),
            disclosure,
        }
        .run(snap, opts)?;

        // Cells placed in the layer's areas.
        let data = snap.layer(&layer, "layer")?;
        let index = AreaIndex::new(
            &data
                .areas
                .iter()
                .map(|a| a.geometry.clone())
                .collect::<Vec<_>>(),
        );
        let place = |x: f64, y: f64| {
            index.locate(x, y).map(|i| {
                let a = &data.areas[i];
                (a.code.clone(), a.name.clone())
            })
        };
        let mut hot: Vec<&HotspotCell> = hotspots.cells.iter().filter(|c| c.class > 0).collect();
        hot.sort_by(|a, b| {
            b.class
                .cmp(&a.class)
                .then(b.count.value().cmp(&a.count.value()))
                .then(a.cell_id.cmp(&b.cell_id))
        });
        let top_hotspots = hot
            .into_iter()
            .take(TOP_HOTSPOTS)
            .map(|c| placed(place(c.x, c.y), c.clone()))
            .collect::<Vec<_>>();
        let rank = |p: &str| EMERGING_ORDER.iter().position(|o| *o == p);
        let mut emerging_cells: Vec<&EmergingCell> = emerging
            .cells
            .iter()
            .filter(|c| rank(c.pattern).is_some())
            .collect();
        emerging_cells.sort_by(|a, b| {
            rank(a.pattern)
                .cmp(&rank(b.pattern))
                .then(b.count.value().cmp(&a.count.value()))
                .then(a.cell_id.cmp(&b.cell_id))
        });
        let emerging_cells: Vec<Placed<EmergingCell>> = emerging_cells
            .into_iter()
            .map(|c| placed(place(c.x, c.y), c.clone()))
            .collect();
        // The results keep their significant cells only (their class and
        // pattern counts still cover every cell): a city's 250 m cells would
        // otherwise make the report's JSON megabytes of cells that show nothing.
        hotspots.cells.retain(|c| c.class != 0);
        emerging
            .cells
            .retain(|c| c.pattern != trygg_analytics::emerging::Pattern::NoPattern.label());

        // The survey's latest round for the areas that stand out.
        let mut standout: Vec<(String, String)> = changed
            .iter()
            .map(|c| (c.area_code.clone(), c.area_name.clone()))
            .chain(
                top_hotspots
                    .iter()
                    .filter_map(|c| c.area_code.clone().zip(c.area_name.clone())),
            )
            .collect();
        standout.sort();
        standout.dedup();
        let survey = SurveyRequest {
            layer: Some(layer.clone()),
            disclosure,
            ..SurveyRequest::default()
        };
        let (survey, survey_round) = match survey.run(snap, opts) {
            Ok(s) => latest_for(&s, &standout),
            // A store without survey answers, or a layer the survey is not
            // grouped by: the report has no survey context.
            Err(_) => (Vec::new(), None),
        };

        Ok(WeeklyResult {
            data: snap.data().clone(),
            request: self.clone(),
            week: v.week.label(),
            from: v.week.start.to_string(),
            to: v.week.end.to_string(),
            baseline: Self::days(&v.week.previous_n(BASELINE_WEEKS)),
            year_earlier: Self::days(&v.week.year_earlier()),
            layer,
            grid_m: v.grid,
            suppression: disclosure.suppress,
            fdr: FDR,
            areas,
            changed,
            hotspots,
            top_hotspots,
            emerging,
            emerging_cells,
            matrix,
            series,
            survey,
            survey_round,
        })
    }
}

fn placed<C>(area: Option<(String, String)>, cell: C) -> Placed<C> {
    let (area_code, area_name) = area.unzip();
    Placed {
        area_code,
        area_name,
        cell,
    }
}

/// The areas whose change against each comparison has a BH-adjusted p below
/// [`FDR`] (over the areas with a published p), largest ratio first.
fn changed(r: &CountsResult) -> Vec<AreaChange> {
    let rows: Vec<_> = r
        .rows
        .iter()
        .filter(|row| {
            row.source.is_none()
                && row.category.is_none()
                && row.area_code != trygg_analytics::areas::MUNICIPALITY_LAYER
        })
        .collect();
    let mut out = Vec::new();
    for against in [Against::PreviousWeeks, Against::YearEarlier] {
        let tested: Vec<_> = rows
            .iter()
            .filter_map(|row| {
                let (compared, ratio, p) = match against {
                    Against::PreviousWeeks => {
                        (row.previous_count, row.ratio_vs_previous, row.p_vs_previous)
                    }
                    Against::YearEarlier => (
                        row.year_earlier_count,
                        row.ratio_vs_year_earlier,
                        row.p_vs_year_earlier,
                    ),
                };
                Some((row, row.count.value()?, compared.value()?, ratio?, p?))
            })
            .collect();
        let q = benjamini_hochberg(&tested.iter().map(|t| t.4).collect::<Vec<_>>());
        for ((row, count, compared_count, ratio, p), q) in tested.into_iter().zip(q) {
            if q < FDR {
                out.push(AreaChange {
                    area_code: row.area_code.clone(),
                    area_name: row.area_name.clone(),
                    against,
                    count,
                    compared_count,
                    ratio,
                    p,
                    q,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.ratio
            .total_cmp(&a.ratio)
            .then(a.area_code.cmp(&b.area_code))
            .then((a.against as u8).cmp(&(b.against as u8)))
    });
    out
}

/// The latest round's estimates of `areas` (by code or name).
fn latest_for(s: &SurveyResult, areas: &[(String, String)]) -> (Vec<Estimate>, Option<String>) {
    let Some(round) = s.estimates.iter().map(|e| e.round.clone()).max() else {
        return (Vec::new(), None);
    };
    let shown = s
        .estimates
        .iter()
        .filter(|e| e.round == round && areas.iter().any(|(c, n)| e.area == *c || e.area == *n))
        .cloned()
        .collect();
    (shown, Some(round))
}

impl Tabular for WeeklyResult {
    fn table(&self) -> Table {
        self.areas.table()
    }
}
