//! Emerging hot spot analysis: Gi* per time slice over a series of slices on the
//! same study cells, a Mann-Kendall trend of each cell's Gi* z-scores over time, and
//! ArcGIS Pro's pattern definitions.
//!
//! # Method
//!
//! 1. Point events are counted per (slice, study cell) in one pass.
//! 2. Each slice gets its own Gi* ([`crate::gistar`], binary weights, self included),
//!    and each bin a Gi_Bin class −3..3 from its p-value — FDR-adjusted within the
//!    slice by default, as ArcGIS's Emerging Hot Spot Analysis always does. A bin is a
//!    **significant hot (cold) spot** when its class is ≥ `min_class` (≤ −`min_class`);
//!    the default 1 means ≥ 90 % confidence, ArcGIS's threshold for a hot-spot bin.
//!    Like ArcGIS's default "neighborhood time step" of 1, a bin's neighbourhood also
//!    holds its spatial neighbours (and itself) in the preceding slice
//!    ([`EmergingParams::time_steps`]; 0 makes it a purely spatial Gi* per slice,
//!    which at 250 m and weekly slices is too noisy to find the planted patterns).
//! 3. Each cell's series of Gi* z-scores gets a Mann-Kendall test
//!    ([`crate::mann_kendall`]); the trend is significant when p < `trend_alpha`
//!    (default 0.10, i.e. 90 % confidence like the bins).
//! 4. The pattern follows the definitions in ArcGIS Pro's "How Emerging Hot Spot
//!    Analysis works" (pro.arcgis.com, tool-reference/space-time-pattern-mining/
//!    learnmoreemerging.htm; the cold patterns mirror the hot ones). With n slices,
//!    "90 percent of the time-step intervals" means hot in ≥ 0.9 · n slices:
//!
//! | pattern | rule as implemented |
//! |---|---|
//! | intensifying | hot in ≥ 90 % of slices, hot in the final slice, significant upward trend of z |
//! | persistent | hot in ≥ 90 % of slices (final included), no significant trend |
//! | diminishing | hot in ≥ 90 % of slices, hot in the final slice, significant downward trend |
//! | historical | hot in ≥ 90 % of slices but not in the final slice |
//! | oscillating | hot in the final slice, < 90 % hot, and a significant cold spot in some earlier slice |
//! | new | hot in the final slice and in no earlier slice (never cold either) |
//! | consecutive | one uninterrupted run of ≥ 2 hot slices ending with the final slice, never hot before the run (never cold), < 90 % hot |
//! | sporadic | hot in the final slice, on-again off-again before, < 90 % hot, never cold |
//! | no pattern | none of the above |
//!
//! Precedence where two definitions overlap: the ≥ 90 % patterns first (a
//! location hot in ≥ 90 % of slices but not the final one is historical, whatever
//! its trend); then, for a final hot slice, a cold history makes it oscillating
//! rather than new or consecutive (ArcGIS words new and consecutive only about hot
//! history; oscillating is the one pattern that speaks of both). Sporadic follows
//! ArcGIS Pro 3.x, which requires the final slice to be hot (ArcGIS Pro 2.x's
//! wording "an on-again then off-again hot spot" did not); a location hot now and
//! then but not at the end is "no pattern". For cold patterns, "intensifying" means
//! a significant *downward* trend of z (colder over time).

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;
use trygg_model::time::stockholm_local;
use trygg_store::EventView;

use crate::gistar::{
    classify_cells, gi_star_summed, ClassBasis, ClassCounts, GiStarError, HotspotParams, PSource,
};
use crate::hex::LonLatProjection;
use crate::mann_kendall::{mann_kendall_at, MannKendall};
use crate::par;
use crate::study_area::{
    for_each_point, BinningSummary, CellSystem, Neighbourhood, StudyArea, StudyAreaError,
};

/// Errors of emerging hot spot analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmergingError {
    /// Fewer than the slices needed.
    #[error("emerging hot spot analysis needs at least {min} time slices, got {got}")]
    TooFewSlices {
        /// Slices needed.
        min: usize,
        /// Slices given.
        got: usize,
    },
    /// Slices must be non-empty, ascending and non-overlapping.
    #[error("time slice {0} is empty, or overlaps or precedes the one before it")]
    BadSlices(usize),
    /// An invalid parameter.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Counting events failed.
    #[error(transparent)]
    StudyArea(#[from] StudyAreaError),
    /// Gi* failed.
    #[error(transparent)]
    GiStar(#[from] GiStarError),
}

/// Fewest slices accepted (Mann-Kendall needs a series; ArcGIS asks for 10).
pub const MIN_SLICES: usize = 10;

/// Length of a time slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceStep {
    /// ISO weeks, Monday 00:00 to Monday 00:00 Stockholm time.
    Week,
    /// Calendar months, 1st 00:00 to 1st 00:00 Stockholm time.
    Month,
}

/// One time slice: events with `from_utc <= time < to_utc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSlice {
    /// "2026-W47" or "2026-11".
    pub label: String,
    /// Start, Unix seconds (inclusive).
    pub from_utc: i64,
    /// End, Unix seconds (exclusive).
    pub to_utc: i64,
}

fn midnight_utc(day: NaiveDate) -> i64 {
    stockholm_local(day.and_time(chrono::NaiveTime::MIN)).timestamp()
}

fn add_month(day: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// The last `count` whole slices that end on or before `end` (a date, exclusive:
/// slices end at `end`'s midnight at the latest). Weeks end on the last Monday on or
/// before `end`; months on the last 1st on or before `end`.
pub fn slices_ending(
    step: SliceStep,
    end: NaiveDate,
    count: usize,
) -> Result<Vec<TimeSlice>, EmergingError> {
    if count == 0 || count > 10_000 {
        return Err(EmergingError::InvalidParams(format!(
            "slice count must be 1 to 10000, not {count}"
        )));
    }
    let stop = match step {
        SliceStep::Week => end - Duration::days(i64::from(end.weekday().num_days_from_monday())),
        SliceStep::Month => end.with_day(1).unwrap_or(end),
    };
    let mut starts = Vec::with_capacity(count + 1);
    let mut day = stop;
    starts.push(day);
    for _ in 0..count {
        day = match step {
            SliceStep::Week => day - Duration::days(7),
            SliceStep::Month => {
                let (y, m) = if day.month() == 1 {
                    (day.year() - 1, 12)
                } else {
                    (day.year(), day.month() - 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
                    .ok_or_else(|| EmergingError::InvalidParams("date out of range".into()))?
            }
        };
        starts.push(day);
    }
    starts.reverse();
    Ok(starts
        .windows(2)
        .map(|w| TimeSlice {
            label: match step {
                SliceStep::Week => {
                    let iso = w[0].iso_week();
                    format!("{}-W{:02}", iso.year(), iso.week())
                }
                SliceStep::Month => format!("{}-{:02}", w[0].year(), w[0].month()),
            },
            from_utc: midnight_utc(w[0]),
            to_utc: midnight_utc(w[1]),
        })
        .collect())
}

/// The whole slices inside `[from, to)` (dates, Stockholm midnights): weeks start on
/// the first Monday on or after `from`, months on the first 1st on or after `from`.
pub fn slices_between(
    step: SliceStep,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<TimeSlice>, EmergingError> {
    let first = match step {
        SliceStep::Week => {
            from + Duration::days((7 - i64::from(from.weekday().num_days_from_monday())) % 7)
        }
        SliceStep::Month => {
            if from.day() == 1 {
                from
            } else {
                add_month(from)
                    .ok_or_else(|| EmergingError::InvalidParams("date out of range".into()))?
            }
        }
    };
    let mut count = 0usize;
    let mut day = first;
    loop {
        let next = match step {
            SliceStep::Week => day + Duration::days(7),
            SliceStep::Month => add_month(day)
                .ok_or_else(|| EmergingError::InvalidParams("date out of range".into()))?,
        };
        if next > to {
            break;
        }
        count += 1;
        day = next;
        if count > 10_000 {
            return Err(EmergingError::InvalidParams(
                "more than 10000 slices".into(),
            ));
        }
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    debug_assert!(step != SliceStep::Week || day.weekday() == Weekday::Mon);
    slices_ending(step, day, count)
}

/// A location's emerging hot spot pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// None of the patterns.
    NoPattern,
    /// Hot only in the final slice.
    NewHotSpot,
    /// One run of hot slices at the end.
    ConsecutiveHotSpot,
    /// ≥ 90 % hot, getting hotter.
    IntensifyingHotSpot,
    /// ≥ 90 % hot, no trend.
    PersistentHotSpot,
    /// ≥ 90 % hot, cooling.
    DiminishingHotSpot,
    /// Hot now, on and off before.
    SporadicHotSpot,
    /// Hot now, cold at some time before.
    OscillatingHotSpot,
    /// ≥ 90 % hot, not now.
    HistoricalHotSpot,
    /// Cold only in the final slice.
    NewColdSpot,
    /// One run of cold slices at the end.
    ConsecutiveColdSpot,
    /// ≥ 90 % cold, getting colder.
    IntensifyingColdSpot,
    /// ≥ 90 % cold, no trend.
    PersistentColdSpot,
    /// ≥ 90 % cold, warming.
    DiminishingColdSpot,
    /// Cold now, on and off before.
    SporadicColdSpot,
    /// Cold now, hot at some time before.
    OscillatingColdSpot,
    /// ≥ 90 % cold, not now.
    HistoricalColdSpot,
}

impl Pattern {
    /// All patterns, in a fixed order.
    pub const ALL: [Pattern; 17] = [
        Pattern::NoPattern,
        Pattern::NewHotSpot,
        Pattern::ConsecutiveHotSpot,
        Pattern::IntensifyingHotSpot,
        Pattern::PersistentHotSpot,
        Pattern::DiminishingHotSpot,
        Pattern::SporadicHotSpot,
        Pattern::OscillatingHotSpot,
        Pattern::HistoricalHotSpot,
        Pattern::NewColdSpot,
        Pattern::ConsecutiveColdSpot,
        Pattern::IntensifyingColdSpot,
        Pattern::PersistentColdSpot,
        Pattern::DiminishingColdSpot,
        Pattern::SporadicColdSpot,
        Pattern::OscillatingColdSpot,
        Pattern::HistoricalColdSpot,
    ];

    /// ArcGIS's label, e.g. "Intensifying Hot Spot".
    pub fn label(self) -> &'static str {
        match self {
            Pattern::NoPattern => "No Pattern Detected",
            Pattern::NewHotSpot => "New Hot Spot",
            Pattern::ConsecutiveHotSpot => "Consecutive Hot Spot",
            Pattern::IntensifyingHotSpot => "Intensifying Hot Spot",
            Pattern::PersistentHotSpot => "Persistent Hot Spot",
            Pattern::DiminishingHotSpot => "Diminishing Hot Spot",
            Pattern::SporadicHotSpot => "Sporadic Hot Spot",
            Pattern::OscillatingHotSpot => "Oscillating Hot Spot",
            Pattern::HistoricalHotSpot => "Historical Hot Spot",
            Pattern::NewColdSpot => "New Cold Spot",
            Pattern::ConsecutiveColdSpot => "Consecutive Cold Spot",
            Pattern::IntensifyingColdSpot => "Intensifying Cold Spot",
            Pattern::PersistentColdSpot => "Persistent Cold Spot",
            Pattern::DiminishingColdSpot => "Diminishing Cold Spot",
            Pattern::SporadicColdSpot => "Sporadic Cold Spot",
            Pattern::OscillatingColdSpot => "Oscillating Cold Spot",
            Pattern::HistoricalColdSpot => "Historical Cold Spot",
        }
    }
}

/// A bin's significance in one slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot {
    /// Significant hot spot.
    Hot,
    /// Significant cold spot.
    Cold,
    /// Neither.
    None,
}

/// The pattern of one location from its per-slice significance (oldest first) and
/// the Mann-Kendall test of its Gi* z-scores, the trend being significant when
/// `trend.p < trend_alpha`. See the module documentation for the rules.
pub fn classify(spots: &[Spot], trend: &MannKendall, trend_alpha: f64) -> Pattern {
    let Some(&last) = spots.last() else {
        return Pattern::NoPattern;
    };
    let n = spots.len() as f64;
    let n_hot = spots.iter().filter(|&&s| s == Spot::Hot).count();
    let n_cold = spots.iter().filter(|&&s| s == Spot::Cold).count();
    let up = trend.p < trend_alpha && trend.z > 0.0;
    let down = trend.p < trend_alpha && trend.z < 0.0;
    // "90 percent of the time-step intervals"; the small epsilon keeps 0.9 · n
    // exact when n is a multiple of 10.
    let mostly = |k: usize| k as f64 >= 0.9 * n - 1e-9;
    if mostly(n_hot) {
        return if last != Spot::Hot {
            Pattern::HistoricalHotSpot
        } else if up {
            Pattern::IntensifyingHotSpot
        } else if down {
            Pattern::DiminishingHotSpot
        } else {
            Pattern::PersistentHotSpot
        };
    }
    if mostly(n_cold) {
        return if last != Spot::Cold {
            Pattern::HistoricalColdSpot
        } else if down {
            Pattern::IntensifyingColdSpot
        } else if up {
            Pattern::DiminishingColdSpot
        } else {
            Pattern::PersistentColdSpot
        };
    }
    let (same, other, new, consecutive, oscillating, sporadic) = match last {
        Spot::Hot => (
            Spot::Hot,
            n_cold,
            Pattern::NewHotSpot,
            Pattern::ConsecutiveHotSpot,
            Pattern::OscillatingHotSpot,
            Pattern::SporadicHotSpot,
        ),
        Spot::Cold => (
            Spot::Cold,
            n_hot,
            Pattern::NewColdSpot,
            Pattern::ConsecutiveColdSpot,
            Pattern::OscillatingColdSpot,
            Pattern::SporadicColdSpot,
        ),
        Spot::None => return Pattern::NoPattern,
    };
    if other > 0 {
        return oscillating;
    }
    let total = spots.iter().filter(|&&s| s == same).count();
    let run = spots.iter().rev().take_while(|&&s| s == same).count();
    if total == 1 {
        new
    } else if run == total {
        consecutive
    } else {
        sporadic
    }
}

/// Parameters of an emerging hot spot analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EmergingParams {
    /// Neighbours of each cell in every slice's Gi*.
    pub neighbourhood: Neighbourhood,
    /// Raw or FDR-adjusted (default) p for the per-slice classes.
    pub class_basis: ClassBasis,
    /// Smallest |class| that counts as a significant hot/cold bin (1 = 90 %,
    /// 2 = 95 %, 3 = 99 %).
    pub min_class: u8,
    /// Significance level of the Mann-Kendall trend.
    pub trend_alpha: f64,
    /// ArcGIS's "Neighborhood Time Step": each bin's neighbourhood also holds its
    /// spatial neighbours (and itself) in this many preceding slices, and the
    /// global mean and variance are those of the bins in that time window. The
    /// default 1 is ArcGIS's default; 0 is purely spatial Gi* per slice.
    pub time_steps: u32,
    /// Also return each cell's Gi* z-score per slice.
    pub include_z_series: bool,
}

impl Default for EmergingParams {
    fn default() -> Self {
        EmergingParams {
            neighbourhood: Neighbourhood::Queen,
            class_basis: ClassBasis::Fdr,
            min_class: 1,
            trend_alpha: 0.10,
            time_steps: 1,
            include_z_series: false,
        }
    }
}

/// One cell's emerging hot spot result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergingCell {
    /// Cell id.
    pub cell_id: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
    /// The pattern.
    pub pattern: Pattern,
    /// Point events over all slices.
    pub count: u64,
    /// Slices in which the cell is a significant hot spot.
    pub hot_slices: u32,
    /// Slices in which it is a significant cold spot.
    pub cold_slices: u32,
    /// Gi_Bin class per slice (oldest first).
    pub classes: Vec<i8>,
    /// Mann-Kendall test of the Gi* z-scores.
    pub trend: MannKendall,
    /// Gi* z per slice, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gi_z: Option<Vec<f64>>,
}

/// Per-slice facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceSummary {
    /// The slice.
    pub slice: TimeSlice,
    /// Point events counted in study cells.
    pub binned: u64,
    /// Cells per class in this slice.
    pub classes: ClassCounts,
    /// All counts equal (no Gi*; all class 0).
    pub degenerate: bool,
}

/// Cells per pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternCount {
    /// The pattern.
    pub pattern: Pattern,
    /// Cells with it.
    pub cells: u32,
}

/// An emerging hot spot analysis with everything needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergingResult {
    /// The parameters used.
    pub params: EmergingParams,
    /// The cells' definition.
    pub cell_system: CellSystem,
    /// The slices, oldest first, with their summaries.
    pub slices: Vec<SliceSummary>,
    /// What happened to the events (events outside every slice count as neither
    /// binned nor outside; see `outside_slices`).
    pub binning: BinningSummary,
    /// Point events before the first or after the last slice.
    pub outside_slices: u64,
    /// Cells per pattern (every pattern listed, in [`Pattern::ALL`] order).
    pub patterns: Vec<PatternCount>,
    /// One entry per study cell, in the study area's order.
    pub cells: Vec<EmergingCell>,
}

/// Emerging hot spot analysis of `events` over square study cells (hex cells need
/// [`emerging_with`]). `slices` must be ascending and non-overlapping (see
/// [`slices_ending`]).
pub fn emerging<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    slices: &[TimeSlice],
    params: &EmergingParams,
) -> Result<EmergingResult, EmergingError>
where
    I: IntoIterator<Item = u32>,
{
    emerging_impl(study, view, events, slices, params, None)
}

/// [`emerging`] for any study area, with the lon/lat projection hex cells need.
pub fn emerging_with<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    slices: &[TimeSlice],
    params: &EmergingParams,
    proj: &dyn LonLatProjection,
) -> Result<EmergingResult, EmergingError>
where
    I: IntoIterator<Item = u32>,
{
    emerging_impl(study, view, events, slices, params, Some(proj))
}

fn emerging_impl<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    slices: &[TimeSlice],
    params: &EmergingParams,
    proj: Option<&dyn LonLatProjection>,
) -> Result<EmergingResult, EmergingError>
where
    I: IntoIterator<Item = u32>,
{
    if slices.len() < MIN_SLICES {
        return Err(EmergingError::TooFewSlices {
            min: MIN_SLICES,
            got: slices.len(),
        });
    }
    for (i, s) in slices.iter().enumerate() {
        if s.from_utc >= s.to_utc || (i > 0 && s.from_utc < slices[i - 1].to_utc) {
            return Err(EmergingError::BadSlices(i));
        }
    }
    if !(1..=3).contains(&params.min_class) {
        return Err(EmergingError::InvalidParams(format!(
            "min_class must be 1-3, not {}",
            params.min_class
        )));
    }
    if !(params.trend_alpha > 0.0 && params.trend_alpha < 1.0) {
        return Err(EmergingError::InvalidParams(format!(
            "trend_alpha must be in (0, 1), not {}",
            params.trend_alpha
        )));
    }
    if params.time_steps as usize >= slices.len() {
        return Err(EmergingError::InvalidParams(format!(
            "time_steps ({}) must be below the number of slices ({})",
            params.time_steps,
            slices.len()
        )));
    }
    let n_cells = study.len();
    let n_slices = slices.len();
    let nb = study.neighbours(params.neighbourhood)?;

    // 1. Counts per slice and cell, one pass over the events.
    let locator = study.locator(proj)?;
    let mut counts = vec![0u32; n_slices * n_cells];
    let mut binned = vec![0u64; n_slices];
    let mut summary = BinningSummary::default();
    let mut outside_slices = 0u64;
    let first = slices[0].from_utc;
    let last = slices[n_slices - 1].to_utc;
    // Event times come from the view; find each one's slice by binary search.
    let event_slice = |t: i64| -> Option<usize> {
        if t < first || t >= last {
            return None;
        }
        let k = slices.partition_point(|s| s.to_utc <= t);
        (k < n_slices && slices[k].from_utc <= t).then_some(k)
    };
    for_each_point(view, events, &mut summary, |i, x, y, summary| {
        let Some(s) = event_slice(view.time(i)) else {
            outside_slices += 1;
            return Ok(());
        };
        match locator.locate(x, y)? {
            Some(c) => {
                counts[s * n_cells + c as usize] += 1;
                binned[s] += 1;
                summary.binned += 1;
            }
            None => summary.outside_study_area += 1,
        }
        Ok(())
    })?;

    // 2. Gi* per slice (slices in parallel).
    let hs = HotspotParams {
        neighbourhood: params.neighbourhood,
        permutations: 0,
        seed: 0,
        class_basis: params.class_basis,
        p_source: PSource::Analytical,
    };
    let k = params.time_steps as usize;
    let per_slice: Vec<(Vec<f64>, Vec<i8>, bool)> = par::map_range(n_slices, 2, |range| {
        range
            .map(|s| {
                // The slice and up to `time_steps` slices before it.
                let first = s.saturating_sub(k);
                let mut summed = vec![0.0f64; n_cells];
                let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
                for t in first..=s {
                    for (acc, &c) in summed
                        .iter_mut()
                        .zip(&counts[t * n_cells..(t + 1) * n_cells])
                    {
                        let v = f64::from(c);
                        *acc += v;
                        sum += v;
                        sum_sq += v * v;
                    }
                }
                let stats = gi_star_summed(&summed, &nb, s - first + 1, sum, sum_sq);
                let c = classify_cells(stats, None, &hs);
                (
                    c.stats.values.iter().map(|v| v.z).collect(),
                    c.classes,
                    c.stats.degenerate,
                )
            })
            .collect()
    });
    let mut z = vec![0.0f64; n_slices * n_cells];
    let mut classes = vec![0i8; n_slices * n_cells];
    let mut slice_summaries = Vec::with_capacity(n_slices);
    for (s, (zs, cls, degenerate)) in per_slice.into_iter().enumerate() {
        z[s * n_cells..(s + 1) * n_cells].copy_from_slice(&zs);
        classes[s * n_cells..(s + 1) * n_cells].copy_from_slice(&cls);
        slice_summaries.push(SliceSummary {
            slice: slices[s].clone(),
            binned: binned[s],
            classes: ClassCounts::of(cls.iter().copied()),
            degenerate,
        });
    }

    // 3-4. Trend and pattern per cell (cells in parallel).
    let min_class = params.min_class as i8;
    let cells: Vec<EmergingCell> = par::map_range(n_cells, 256, |range| {
        range
            .map(|c| {
                let zs: Vec<f64> = (0..n_slices).map(|s| z[s * n_cells + c]).collect();
                let cls: Vec<i8> = (0..n_slices).map(|s| classes[s * n_cells + c]).collect();
                let spots: Vec<Spot> = cls
                    .iter()
                    .map(|&k| {
                        if k >= min_class {
                            Spot::Hot
                        } else if k <= -min_class {
                            Spot::Cold
                        } else {
                            Spot::None
                        }
                    })
                    .collect();
                let trend = mann_kendall_at(&zs, params.trend_alpha);
                let cell = &study.cells()[c];
                EmergingCell {
                    cell_id: cell.id.clone(),
                    x: cell.x,
                    y: cell.y,
                    pattern: classify(&spots, &trend, params.trend_alpha),
                    count: (0..n_slices)
                        .map(|s| u64::from(counts[s * n_cells + c]))
                        .sum(),
                    hot_slices: spots.iter().filter(|&&s| s == Spot::Hot).count() as u32,
                    cold_slices: spots.iter().filter(|&&s| s == Spot::Cold).count() as u32,
                    classes: cls,
                    trend,
                    gi_z: params.include_z_series.then_some(zs),
                }
            })
            .collect()
    });
    let patterns = Pattern::ALL
        .iter()
        .map(|&p| PatternCount {
            pattern: p,
            cells: cells.iter().filter(|c| c.pattern == p).count() as u32,
        })
        .collect();
    Ok(EmergingResult {
        params: *params,
        cell_system: study.system(),
        slices: slice_summaries,
        binning: summary,
        outside_slices,
        patterns,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mann_kendall::mann_kendall_at;
    use Spot::{Cold as C, Hot as H, None as N};

    fn mk(z: &[f64]) -> MannKendall {
        mann_kendall_at(z, 0.10)
    }

    fn flat(n: usize) -> MannKendall {
        mk(&vec![1.0; n])
    }

    fn rising(n: usize) -> MannKendall {
        mk(&(0..n).map(|i| i as f64).collect::<Vec<_>>())
    }

    fn falling(n: usize) -> MannKendall {
        mk(&(0..n).map(|i| -(i as f64)).collect::<Vec<_>>())
    }

    fn classify10(s: [Spot; 10], t: &MannKendall) -> Pattern {
        classify(&s, t, 0.10)
    }

    #[test]
    fn new_hot_and_cold() {
        assert_eq!(
            classify10([N, N, N, N, N, N, N, N, N, H], &flat(10)),
            Pattern::NewHotSpot
        );
        assert_eq!(
            classify10([N, N, N, N, N, N, N, N, N, C], &flat(10)),
            Pattern::NewColdSpot
        );
    }

    #[test]
    fn consecutive_needs_one_final_run_of_two_or_more() {
        assert_eq!(
            classify10([N, N, N, N, N, N, N, H, H, H], &rising(10)),
            Pattern::ConsecutiveHotSpot
        );
        assert_eq!(
            classify10([N, N, N, N, N, N, N, N, C, C], &flat(10)),
            Pattern::ConsecutiveColdSpot
        );
        // 8 of 10 hot at the end: still < 90 %, still consecutive.
        assert_eq!(
            classify10([N, N, H, H, H, H, H, H, H, H], &rising(10)),
            Pattern::ConsecutiveHotSpot
        );
        // A hot slice before the run: sporadic, not consecutive.
        assert_eq!(
            classify10([N, H, N, N, N, N, N, H, H, H], &flat(10)),
            Pattern::SporadicHotSpot
        );
    }

    #[test]
    fn ninety_percent_patterns_use_the_trend() {
        let hot9 = [N, H, H, H, H, H, H, H, H, H];
        assert_eq!(classify10(hot9, &rising(10)), Pattern::IntensifyingHotSpot);
        assert_eq!(classify10(hot9, &flat(10)), Pattern::PersistentHotSpot);
        assert_eq!(classify10(hot9, &falling(10)), Pattern::DiminishingHotSpot);
        let cold9 = [C, C, C, C, C, C, N, C, C, C];
        assert_eq!(
            classify10(cold9, &falling(10)),
            Pattern::IntensifyingColdSpot
        );
        assert_eq!(classify10(cold9, &flat(10)), Pattern::PersistentColdSpot);
        assert_eq!(classify10(cold9, &rising(10)), Pattern::DiminishingColdSpot);
        // An insignificant trend is no trend.
        let weak = mk(&[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 0.6]);
        assert!(weak.p >= 0.10);
        assert_eq!(classify10(hot9, &weak), Pattern::PersistentHotSpot);
    }

    #[test]
    fn historical_is_mostly_hot_but_not_now() {
        assert_eq!(
            classify10([H, H, H, H, H, H, H, H, H, N], &falling(10)),
            Pattern::HistoricalHotSpot
        );
        assert_eq!(
            classify10([C, C, C, C, C, C, C, C, C, N], &flat(10)),
            Pattern::HistoricalColdSpot
        );
        // 20 slices: 18 hot (90 %) then two not hot.
        let mut s = vec![H; 18];
        s.extend([N, N]);
        assert_eq!(classify(&s, &flat(20), 0.10), Pattern::HistoricalHotSpot);
        // 17 of 20 (85 %): not historical, and not hot now: no pattern.
        s[0] = N;
        assert_eq!(classify(&s, &flat(20), 0.10), Pattern::NoPattern);
    }

    #[test]
    fn sporadic_and_oscillating() {
        assert_eq!(
            classify10([H, N, H, N, N, H, N, N, N, H], &flat(10)),
            Pattern::SporadicHotSpot
        );
        assert_eq!(
            classify10([C, N, C, N, N, C, N, N, N, C], &flat(10)),
            Pattern::SporadicColdSpot
        );
        assert_eq!(
            classify10([C, N, N, N, N, H, N, N, N, H], &flat(10)),
            Pattern::OscillatingHotSpot
        );
        assert_eq!(
            classify10([H, N, N, N, N, N, N, N, C, C], &flat(10)),
            Pattern::OscillatingColdSpot
        );
        // A cold history outranks new.
        assert_eq!(
            classify10([C, N, N, N, N, N, N, N, N, H], &flat(10)),
            Pattern::OscillatingHotSpot
        );
        // Hot on and off but not in the final slice: no pattern (ArcGIS Pro 3.x).
        assert_eq!(
            classify10([H, N, H, N, N, H, N, N, H, N], &flat(10)),
            Pattern::NoPattern
        );
    }

    #[test]
    fn nothing_is_no_pattern() {
        assert_eq!(classify10([N; 10], &flat(10)), Pattern::NoPattern);
        assert_eq!(classify(&[], &flat(0), 0.10), Pattern::NoPattern);
    }

    #[test]
    fn slices_are_whole_weeks_and_months_in_stockholm_time() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(); // a Wednesday
        let weeks = slices_ending(SliceStep::Week, end, 52).unwrap();
        assert_eq!(weeks.len(), 52);
        assert_eq!(weeks[51].label, "2026-W47");
        // Monday 2026-11-23 00:00 CET = 2026-11-22T23:00Z.
        assert_eq!(weeks[51].to_utc, 1_795_388_400);
        assert!(weeks.windows(2).all(|w| w[0].to_utc == w[1].from_utc));
        // A week across the DST change lasts 7 days ± 1 hour.
        assert!(weeks
            .iter()
            .all(|w| (w.to_utc - w.from_utc - 604_800).abs() <= 3600));
        let months = slices_ending(SliceStep::Month, end, 12).unwrap();
        assert_eq!(months[11].label, "2026-10");
        assert_eq!(months[0].label, "2025-11");
        let between = slices_between(
            SliceStep::Week,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            end,
        )
        .unwrap();
        assert_eq!(between[0].label, "2026-W02");
        assert_eq!(between.last().unwrap().label, "2026-W47");
        let m = slices_between(
            SliceStep::Month,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            end,
        )
        .unwrap();
        assert_eq!(m.len(), 10);
        assert!(slices_ending(SliceStep::Week, end, 0).is_err());
    }
}
