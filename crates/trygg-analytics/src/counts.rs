//! Area statistics: counts per area of a layer × period × selection, optionally
//! grouped by source and/or normalised category; population and rate per 1,000
//! residents; change against the previous period and the same period a year
//! earlier with the exact conditional binomial test; and small-count suppression
//! for publishing.
//!
//! One pass over the view's time range does the work: the selection's masks
//! reject events, a [`crate::window::PeriodCursor`] buckets the survivors by
//! walking the period boundaries, and the bound layer assigns the area (a table
//! look-up for stadsdel-based layers). Counts go into a dense
//! `[period][area][group]` array.

use std::collections::HashMap;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use trygg_model::{NormCategory, Precision, Source};
use trygg_store::{EventView, GroupedCount, GroupedQuery, PopulationRow};

use crate::areas::{
    AreaLayer, AreaRef, Assignment, BoundLayer, Coverage, LayerKind, SLOT_MUNICIPALITY,
    SLOT_NO_AREA,
};
use crate::binomial::poisson_rate_test;
use crate::selection::Selection;
use crate::window::{Period, PeriodSeries};

/// The default threshold below which published counts are suppressed.
pub const DEFAULT_SUPPRESSION_THRESHOLD: u64 = 5;

/// How the change tests are done, as reported with every result.
pub const CHANGE_TEST: &str = "exact conditional binomial test of two Poisson counts, two-sided \
(scipy.stats.binomtest(c, c + c_other, t / (t + t_other))); exposures t are period lengths in seconds";

/// Renders a count for publishing: counts below `threshold` become `"<threshold"`
/// (`suppress(3, 5)` is `"<5"`, zero included); a threshold of 0 suppresses
/// nothing. The caller decides when to apply it.
pub fn suppress(count: u64, threshold: u64) -> String {
    if count < threshold {
        format!("<{threshold}")
    } else {
        count.to_string()
    }
}

/// An error from the counts.
#[derive(Debug, thiserror::Error)]
pub enum CountsError {
    /// The selection carries its own UTC range, which would clash with the period
    /// and its comparison periods.
    #[error("the selection has a time range; with a period, leave from/to unset (the period and its comparison periods decide the time)")]
    TimeRangeInSelection,
    /// The counts cannot be made by the store alone (see [`area_counts_from`]):
    /// the request field that makes it so, and why.
    #[error("cannot be counted by the database: {reason}; leave out the push-down to count in the snapshot")]
    NotPushable {
        /// `hours` (or weekdays) or `layer`.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The store failed to count.
    #[error(transparent)]
    Store(#[from] trygg_store::StoreError),
}

/// What to group counts by besides the area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct GroupBy {
    /// One group per source.
    pub source: bool,
    /// One group per normalised category.
    pub category: bool,
}

impl GroupBy {
    /// Number of groups (1 when not grouped).
    pub fn len(&self) -> usize {
        let sources = if self.source { Source::ALL.len() } else { 1 };
        let categories = if self.category {
            NormCategory::ALL.len()
        } else {
            1
        };
        sources * categories
    }

    /// Whether there is only the one all-events group.
    pub fn is_empty(&self) -> bool {
        !self.source && !self.category
    }

    /// The group of an event with this source and category.
    #[inline]
    fn index(&self, source: Source, category: NormCategory) -> usize {
        let s = if self.source {
            usize::from(source.code())
        } else {
            0
        };
        let c = if self.category {
            usize::from(category.code())
        } else {
            0
        };
        s * if self.category {
            NormCategory::ALL.len()
        } else {
            1
        } + c
    }

    /// The key of group `g`.
    pub fn key(&self, g: usize) -> GroupKey {
        let n_cat = if self.category {
            NormCategory::ALL.len()
        } else {
            1
        };
        GroupKey {
            source: self
                .source
                .then(|| Source::ALL.get(g / n_cat).copied())
                .flatten(),
            category: self
                .category
                .then(|| NormCategory::ALL.get(g % n_cat).copied())
                .flatten(),
        }
    }
}

/// A group: a source and/or a category (`None` where not grouped by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupKey {
    /// The source.
    pub source: Option<Source>,
    /// The normalised category.
    pub category: Option<NormCategory>,
}

impl Serialize for GroupKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("GroupKey", 2)?;
        s.serialize_field("source", &self.source.map(Source::as_str))?;
        s.serialize_field("category", &self.category.map(NormCategory::as_str))?;
        s.end()
    }
}

/// Counts of a layer's areas over consecutive periods.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaPeriodTable {
    /// The layer's name.
    pub layer: String,
    /// The selection counted (its time range, if any, is intersected with the periods).
    pub selection: Selection,
    /// The grouping.
    pub group_by: GroupBy,
    /// The periods.
    pub periods: Vec<Period>,
    /// The areas.
    pub areas: Vec<AreaRef>,
    /// Per period, how the matching events fell on the layer.
    pub coverage: Vec<Coverage>,
    /// Stadsdel names on events that the layer does not know.
    pub unknown_stadsdelar: Vec<String>,
    /// Matching events left out of an hour or weekday filter because their time
    /// of day is not known (date-only times, long intervals).
    pub left_out_imprecise_time: u64,
    counts: Vec<u64>,
}

impl AreaPeriodTable {
    /// The count of period `p`, area `a`, group `g` (0 when out of range).
    pub fn count(&self, p: usize, a: usize, g: usize) -> u64 {
        let (na, ng) = (self.areas.len(), self.group_by.len());
        if a >= na || g >= ng {
            return 0;
        }
        self.counts.get((p * na + a) * ng + g).copied().unwrap_or(0)
    }

    /// The count of period `p` and area `a` over all groups.
    pub fn area_total(&self, p: usize, a: usize) -> u64 {
        (0..self.group_by.len()).map(|g| self.count(p, a, g)).sum()
    }

    /// The group keys, in the order of the group index.
    pub fn groups(&self) -> Vec<GroupKey> {
        (0..self.group_by.len())
            .map(|g| self.group_by.key(g))
            .collect()
    }
}

impl Serialize for AreaPeriodTable {
    /// As `{layer, selection, group_by, periods, areas, groups, coverage,
    /// unknown_stadsdelar, counts}` with `counts[period][area][group]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (na, ng) = (self.areas.len(), self.group_by.len());
        let nested: Vec<Vec<&[u64]>> = (0..self.periods.len())
            .map(|p| {
                (0..na)
                    .map(|a| {
                        let start = (p * na + a) * ng;
                        self.counts.get(start..start + ng).unwrap_or(&[])
                    })
                    .collect()
            })
            .collect();
        let mut s = serializer.serialize_struct("AreaPeriodTable", 10)?;
        s.serialize_field("layer", &self.layer)?;
        s.serialize_field("selection", &self.selection)?;
        s.serialize_field("group_by", &self.group_by)?;
        s.serialize_field("periods", &self.periods)?;
        s.serialize_field("areas", &self.areas)?;
        s.serialize_field("groups", &self.groups())?;
        s.serialize_field("coverage", &self.coverage)?;
        s.serialize_field("unknown_stadsdelar", &self.unknown_stadsdelar)?;
        s.serialize_field("left_out_imprecise_time", &self.left_out_imprecise_time)?;
        s.serialize_field("counts", &nested)?;
        s.end()
    }
}

/// What counting periods gives: per period × area × group the count, per period
/// the coverage, and the events left out for an unknown time of day.
type PeriodCounts = (Vec<u64>, Vec<Coverage>, u64);

/// The counting kernel: one pass over the events in the series' UTC range.
fn count_into(
    view: &EventView,
    bound: &BoundLayer<'_>,
    series: &PeriodSeries,
    selection: &Selection,
    group_by: GroupBy,
) -> PeriodCounts {
    let na = bound.layer().areas().len();
    let ng = group_by.len();
    let mut counts = vec![0u64; series.len() * na * ng];
    let mut coverage = vec![Coverage::default(); series.len()];
    let mut matcher = selection.matcher();
    if let (Some(masks), Some((code_slots, municipality_slot))) =
        (matcher.masks(), bound.code_slots())
    {
        // The common case (no hour/weekday filter, areas by stadsdel code): each
        // period's events are one index range, counted branch-free.
        let groups = group_table(group_by);
        let bounds = series.bounds();
        for (p, cov) in coverage.iter_mut().enumerate() {
            let range = matcher.clip(view, view.time_range(Some(bounds[p]), Some(bounds[p + 1])));
            let slots = tally(
                view,
                range,
                masks,
                (&code_slots, municipality_slot, na + 2),
                &groups,
                ng,
            );
            counts[p * na * ng..(p + 1) * na * ng].copy_from_slice(&slots[..na * ng]);
            *cov = slot_coverage(&slots, na, ng);
        }
        return (counts, coverage, 0);
    }
    let (from, to) = series.utc_range();
    let range = view.time_range(Some(from), Some(to));
    let mut cursor = series.cursor();
    let grouped = !group_by.is_empty();
    matcher.for_each(view, range, |i| {
        let Some(p) = cursor.locate(view.time(i)) else {
            return;
        };
        let assignment = bound.assign(i);
        if let Some(c) = coverage.get_mut(p) {
            c.record(assignment);
        }
        if let Assignment::Area(a) = assignment {
            let g = if grouped {
                group_by.index(view.source(i), view.category_norm(i))
            } else {
                0
            };
            if let Some(c) = counts.get_mut((p * na + a) * ng + g) {
                *c += 1;
            }
        }
    });
    (counts, coverage, matcher.left_out())
}

/// How the events counted per slot × group fell on the layer (slots `0..na`
/// the areas, then [`SLOT_NO_AREA`] and [`SLOT_MUNICIPALITY`]).
fn slot_coverage(slots: &[u64], na: usize, ng: usize) -> Coverage {
    let slot_total = |slot: usize| (0..ng).map(|g| slots[slot * ng + g]).sum::<u64>();
    let no_area = slot_total(na + SLOT_NO_AREA as usize);
    let municipality = slot_total(na + SLOT_MUNICIPALITY as usize);
    let counted = slots[..na * ng].iter().sum::<u64>();
    Coverage {
        matched: counted + no_area + municipality,
        counted,
        no_area,
        left_out_stadsdel_precision: 0,
        left_out_municipality_precision: municipality,
    }
}

/// The group of each (source code, category code) pair, `code_source * 32 + code_category`.
fn group_table(group_by: GroupBy) -> Vec<u16> {
    let mut table = vec![0u16; 32 * 32];
    for s in Source::ALL {
        for c in NormCategory::ALL {
            table[usize::from(s.code()) * 32 + usize::from(c.code())] =
                u16::try_from(group_by.index(s, c)).unwrap_or(0);
        }
    }
    table
}

/// Counts of `range`'s events per slot × group, over the raw columns: whether an
/// event matches is a bit of the source and category masks, added (0 or 1)
/// rather than branched on. Long ranges are cut between the threads.
fn tally(
    view: &EventView,
    range: std::ops::Range<usize>,
    (source_mask, category_mask): (u32, u32),
    (code_slots, municipality_slot, n_slots): (&[u32], u32, usize),
    groups: &[u16],
    ng: usize,
) -> Vec<u64> {
    let (source, category, precision, stadsdel) = view.code_columns();
    let municipality = Precision::Municipality.code();
    let last = code_slots.len().saturating_sub(1);
    let part = |r: std::ops::Range<usize>| -> Vec<u64> {
        let mut out = vec![0u64; n_slots * ng];
        for i in r {
            let (s, c) = (source[i], category[i]);
            let hit = u64::from((source_mask >> s) & (category_mask >> c) & 1);
            let slot = if precision[i] == municipality {
                municipality_slot
            } else {
                code_slots[usize::from(stadsdel[i]).min(last)]
            };
            let g = groups[(usize::from(s) & 31) * 32 + (usize::from(c) & 31)];
            out[slot as usize * ng + usize::from(g)] += hit;
        }
        out
    };
    let parts = crate::par::map_range(range.len(), 1 << 20, |chunk| {
        vec![part(range.start + chunk.start..range.start + chunk.end)]
    });
    let mut total = vec![0u64; n_slots * ng];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// Counts per area of `layer` × period of `series` × group of the matching events
/// (a time range in `selection` is intersected with the series).
pub fn area_period_counts(
    view: &EventView,
    layer: &AreaLayer,
    series: &PeriodSeries,
    selection: &Selection,
    group_by: GroupBy,
) -> AreaPeriodTable {
    let bound = layer.bind(view);
    let (counts, coverage, left_out) = count_into(view, &bound, series, selection, group_by);
    AreaPeriodTable {
        layer: layer.name().to_owned(),
        selection: selection.clone(),
        group_by,
        periods: series.periods().to_vec(),
        areas: layer.areas().to_vec(),
        coverage,
        unknown_stadsdelar: bound.unknown_stadsdelar().to_vec(),
        left_out_imprecise_time: left_out,
        counts,
    }
}

/// One area's population figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PopulationFigure {
    /// The year the figure refers to (the period's year or the nearest earlier).
    pub year: i32,
    /// Residents.
    pub population: i64,
    /// Whether it was derived (estimated) rather than published.
    pub derived: bool,
}

/// Population figures of one layer, by area code (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct PopulationTable {
    by_area: HashMap<String, Vec<PopulationFigure>>,
}

impl PopulationTable {
    /// The figures of `layer` among `rows` (rows of other layers are ignored; of
    /// two rows for the same area and year the first is kept).
    pub fn new(rows: &[PopulationRow], layer: &str) -> PopulationTable {
        let mut by_area: HashMap<String, Vec<PopulationFigure>> = HashMap::new();
        for r in rows.iter().filter(|r| r.layer == layer) {
            let list = by_area
                .entry(trygg_model::names::name_key(&r.area_code))
                .or_default();
            if list.iter().all(|f| f.year != r.year) {
                list.push(PopulationFigure {
                    year: r.year,
                    population: r.population,
                    derived: r.derived,
                });
            }
        }
        PopulationTable { by_area }
    }

    /// The figure for `year`, else the nearest earlier year, else `None`.
    pub fn lookup(&self, code: &str, year: i32) -> Option<PopulationFigure> {
        self.by_area
            .get(&trygg_model::names::name_key(code))?
            .iter()
            .filter(|f| f.year <= year)
            .max_by_key(|f| f.year)
            .copied()
    }
}

/// Rate per 1,000 residents: `None` when the population is unknown or not positive.
pub fn rate_per_1000(count: u64, population: Option<PopulationFigure>) -> Option<f64> {
    population
        .filter(|p| p.population > 0)
        .map(|p| count as f64 * 1000.0 / p.population as f64)
}

/// A count compared with the count of another period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// The other period's count.
    pub count: u64,
    /// This period's count minus the other's.
    pub difference: i64,
    /// This count / the other (`None` when the other is 0).
    pub ratio: Option<f64>,
    /// The ratio of the rates per unit of time, (c / t) / (c_other / t_other)
    /// (`None` when the other count is 0); differs from `ratio` when the periods
    /// differ in length.
    pub rate_ratio: Option<f64>,
    /// Two-sided p-value of the exact conditional binomial test (`None` when both
    /// counts are 0).
    pub p_value: Option<f64>,
}

impl Change {
    /// Compares `count` over `seconds` with `other` over `other_seconds`.
    pub fn new(count: u64, seconds: i64, other: u64, other_seconds: i64) -> Change {
        let (t1, t2) = (seconds as f64, other_seconds as f64);
        let ratio = (other > 0).then(|| count as f64 / other as f64);
        Change {
            count: other,
            difference: i64::try_from(count)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(other).unwrap_or(i64::MAX)),
            ratio,
            rate_ratio: ratio.map(|r| r * t2 / t1),
            p_value: poisson_rate_test(count, t1, other, t2),
        }
    }
}

/// A count with its rate and changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountStat {
    /// Matching events in the period.
    pub count: u64,
    /// Per 1,000 residents, for the period (not annualised); `None` when the
    /// population is unknown or 0.
    pub rate_per_1000: Option<f64>,
    /// Against the previous period.
    pub vs_previous: Change,
    /// Against the same period a year earlier.
    pub vs_year_earlier: Change,
}

/// The statistics of one group in one area.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupStat {
    /// The group.
    #[serde(flatten)]
    pub key: GroupKey,
    /// Its count, rate (over the area's population) and changes.
    #[serde(flatten)]
    pub stat: CountStat,
}

/// The statistics of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaStat {
    /// Area code.
    pub code: String,
    /// Area name.
    pub name: String,
    /// The population figure used for rates.
    pub population: Option<PopulationFigure>,
    /// All matching events of the area.
    #[serde(flatten)]
    pub stat: CountStat,
    /// Per group (when grouped): groups with a count in any of the three periods,
    /// in source then category order.
    pub groups: Vec<GroupStat>,
}

/// The lengths of the three periods, the exposures of the change tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exposures {
    /// The period, in seconds.
    pub period_seconds: i64,
    /// The previous period, in seconds.
    pub previous_seconds: i64,
    /// The period a year earlier, in seconds.
    pub year_earlier_seconds: i64,
}

/// What [`area_counts`] counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CountsQuery {
    /// The period (its previous and year-earlier periods are derived from it).
    pub period: Period,
    /// How many periods before it the "previous" comparison spans (0 or 1:
    /// the one period before; 4 with a week: the four weeks before, tested
    /// against their weekly rate by their exposure).
    pub previous_periods: u32,
    /// What to count; must not carry a UTC range.
    pub selection: Selection,
    /// Grouping within areas.
    pub group_by: GroupBy,
}

/// Area statistics for one period, with every parameter that produced them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCounts {
    /// The layer's name.
    pub layer: String,
    /// How the layer assigns events.
    pub layer_kind: LayerKind,
    /// The selection.
    pub selection: Selection,
    /// The grouping.
    pub group_by: GroupBy,
    /// The period.
    pub period: Period,
    /// The previous period.
    pub previous: Period,
    /// The same period a year earlier.
    pub year_earlier: Period,
    /// Period lengths used by the tests.
    pub exposures: Exposures,
    /// The change test used.
    pub test: &'static str,
    /// The year population figures were looked up for.
    pub population_year: i32,
    /// Per area.
    pub areas: Vec<AreaStat>,
    /// Every matching event, whatever its precision or area (rate only if the
    /// population rows hold layer `municipality`, code `municipality`).
    pub municipality: AreaStat,
    /// How the period's matching events fell on the layer.
    pub coverage: Coverage,
    /// Stadsdel names on events that the layer does not know.
    pub unknown_stadsdelar: Vec<String>,
    /// Matching events left out of an hour or weekday filter because their time
    /// of day is not known (date-only times, long intervals).
    pub left_out_imprecise_time: u64,
    /// Stadsdelar a division layer could not map.
    pub unmapped_stadsdelar: Vec<String>,
}

/// Area statistics of `layer` for `query.period`: counts, population and rates,
/// and change against the previous period and a year earlier.
///
/// ```
/// use trygg_analytics::areas::AreaLayer;
/// use trygg_analytics::counts::{area_counts, CountsQuery, GroupBy};
/// use trygg_analytics::selection::Selection;
/// use trygg_analytics::window::Period;
/// use trygg_model::{NormCategory, Precision, Source};
/// use trygg_store::{EventViewBuilder, StoredArea};
///
/// let period = Period::month(2024, 5).expect("valid");
/// let (from, _) = period.utc_bounds();
/// let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
/// for k in 0..3 {
///     b.push(from + k * 3600, 670_000.0, 6_580_000.0, Source::Crimes, NormCategory::Theft,
///            Precision::Stadsdel, "Stöld", Some("RINKEBY"));
/// }
/// let view = b.build();
/// let rinkeby = StoredArea { code: "RINKEBY".into(), name: "Rinkeby".into(),
///     properties: "{}".into(), geometry: geo_types::MultiPolygon(vec![]) };
/// let layer = AreaLayer::stadsdel(&[rinkeby]);
/// let query = CountsQuery { period, previous_periods: 1, selection: Selection::all(), group_by: GroupBy::default() };
/// let stats = area_counts(&view, &layer, &[], &query).expect("no time range in selection");
/// assert_eq!(stats.areas[0].stat.count, 3);
/// assert_eq!(stats.areas[0].stat.vs_previous.count, 0);
/// assert_eq!(stats.areas[0].stat.rate_per_1000, None); // no population given
/// ```
pub fn area_counts(
    view: &EventView,
    layer: &AreaLayer,
    population: &[PopulationRow],
    query: &CountsQuery,
) -> Result<AreaCounts, CountsError> {
    if query.selection.has_time_range() {
        return Err(CountsError::TimeRangeInSelection);
    }
    let bound = layer.bind(view);
    let mut count = |p: Period| {
        Ok(count_into(
            view,
            &bound,
            &PeriodSeries::single(p),
            &query.selection,
            query.group_by,
        ))
    };
    let mut counts = assemble(layer, population, query, &mut count)?;
    counts.unknown_stadsdelar = bound.unknown_stadsdelar().to_vec();
    Ok(counts)
}

/// [`area_counts`] from counts the store groups itself (`grouped`: the
/// GeoPackage store's or PostgreSQL's `grouped_counts`), for stores larger than
/// a replica's memory: the store groups the raw columns (precision class,
/// stadsdel, source, category) of each period's matching events, and the areas,
/// coverage, rates and tests are made from them here by the same rules as from
/// the view, so the results are the same (tested on both backends).
///
/// Only what the columns decide can be pushed down: stadsdel, division and
/// municipality layers, selections of sources and categories. A polygon or grid
/// layer (placed by the point) or an hour or weekday filter (the local time of
/// each event) is [`CountsError::NotPushable`]. `unknown_stadsdelar` lists the
/// unknown names among the counted events (the view lists those of all).
pub fn area_counts_from(
    layer: &AreaLayer,
    population: &[PopulationRow],
    query: &CountsQuery,
    grouped: &mut dyn FnMut(&GroupedQuery) -> Result<Vec<GroupedCount>, trygg_store::StoreError>,
) -> Result<AreaCounts, CountsError> {
    if query.selection.has_time_range() {
        return Err(CountsError::TimeRangeInSelection);
    }
    let (sources, categories) =
        query
            .selection
            .pushable()
            .map_err(|field| CountsError::NotPushable {
                field,
                reason: "an hour or weekday filter needs each event's local time",
            })?;
    let mut unknown = Vec::new();
    if layer.slot_of(false, None, &mut unknown).is_none() {
        return Err(CountsError::NotPushable {
            field: "layer",
            reason: "a polygon or grid layer places each event by its point",
        });
    }
    let (na, ng) = (layer.areas().len(), query.group_by.len());
    let mut count = |p: Period| -> Result<PeriodCounts, CountsError> {
        let (from_utc, to_utc) = p.utc_bounds();
        let rows = grouped(&GroupedQuery {
            from_utc,
            to_utc,
            sources: sources.clone(),
            categories: categories.clone(),
        })?;
        let mut slots = vec![0u64; (na + 2) * ng];
        for row in rows {
            let slot = layer
                .slot_of(
                    row.municipality_precision,
                    row.stadsdel.as_deref(),
                    &mut unknown,
                )
                .unwrap_or(na as u32 + SLOT_NO_AREA) as usize;
            let g = query.group_by.index(row.source, row.category);
            if let Some(c) = slots.get_mut(slot * ng + g) {
                *c += row.count;
            }
        }
        let coverage = slot_coverage(&slots, na, ng);
        slots.truncate(na * ng);
        Ok((slots, vec![coverage], 0))
    };
    let mut counts = assemble(layer, population, query, &mut count)?;
    counts.unknown_stadsdelar = unknown;
    Ok(counts)
}

/// The statistics of `query.period` from `count`, which counts one period:
/// per area × group, its coverage, and the events left out for their time.
fn assemble(
    layer: &AreaLayer,
    population: &[PopulationRow],
    query: &CountsQuery,
    count: &mut dyn FnMut(Period) -> Result<PeriodCounts, CountsError>,
) -> Result<AreaCounts, CountsError> {
    let period = query.period;
    let (previous, year_earlier) = (
        period.previous_n(query.previous_periods),
        period.year_earlier(),
    );
    let exposures = Exposures {
        period_seconds: period.seconds(),
        previous_seconds: previous.seconds(),
        year_earlier_seconds: year_earlier.seconds(),
    };
    let group_by = query.group_by;
    // Each is a one-period series, so its coverage is the first (only) entry.
    let first = |c: Vec<Coverage>| c.first().copied().unwrap_or_default();
    let (now, coverage, left_out) = count(period)?;
    let (prev, prev_coverage, _) = count(previous)?;
    let (back, back_coverage, _) = count(year_earlier)?;
    let (coverage, prev_coverage, back_coverage) =
        (first(coverage), first(prev_coverage), first(back_coverage));
    let ng = group_by.len();
    let population_year = period.population_year();
    let table = PopulationTable::new(population, layer.name());

    let stat = |c: u64, c_prev: u64, c_back: u64, pop: Option<PopulationFigure>| CountStat {
        count: c,
        rate_per_1000: rate_per_1000(c, pop),
        vs_previous: Change::new(
            c,
            exposures.period_seconds,
            c_prev,
            exposures.previous_seconds,
        ),
        vs_year_earlier: Change::new(
            c,
            exposures.period_seconds,
            c_back,
            exposures.year_earlier_seconds,
        ),
    };
    let at = |v: &[u64], a: usize, g: usize| v.get(a * ng + g).copied().unwrap_or(0);
    let total = |v: &[u64], a: usize| (0..ng).map(|g| at(v, a, g)).sum::<u64>();

    let areas = layer
        .areas()
        .iter()
        .enumerate()
        .map(|(a, area)| {
            let pop = table.lookup(&area.code, population_year);
            let groups = if group_by.is_empty() {
                Vec::new()
            } else {
                (0..ng)
                    .filter(|&g| at(&now, a, g) + at(&prev, a, g) + at(&back, a, g) > 0)
                    .map(|g| GroupStat {
                        key: group_by.key(g),
                        stat: stat(at(&now, a, g), at(&prev, a, g), at(&back, a, g), pop),
                    })
                    .collect()
            };
            AreaStat {
                code: area.code.clone(),
                name: area.name.clone(),
                population: pop,
                stat: stat(total(&now, a), total(&prev, a), total(&back, a), pop),
                groups,
            }
        })
        .collect();

    let municipality_pop = PopulationTable::new(population, crate::areas::MUNICIPALITY_LAYER)
        .lookup(crate::areas::MUNICIPALITY_LAYER, population_year);
    let municipality = AreaStat {
        code: crate::areas::MUNICIPALITY_LAYER.to_owned(),
        name: "municipality total".to_owned(),
        population: municipality_pop,
        stat: stat(
            coverage.matched,
            prev_coverage.matched,
            back_coverage.matched,
            municipality_pop,
        ),
        groups: Vec::new(),
    };

    Ok(AreaCounts {
        layer: layer.name().to_owned(),
        layer_kind: layer.kind(),
        selection: query.selection.clone(),
        group_by,
        period,
        previous,
        year_earlier,
        exposures,
        test: CHANGE_TEST,
        population_year,
        areas,
        municipality,
        coverage,
        left_out_imprecise_time: left_out,
        unknown_stadsdelar: Vec::new(),
        unmapped_stadsdelar: layer.unmapped_stadsdelar().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::areas::tests::{division_areas, stadsdelar};
    use crate::window::WindowKind;
    use chrono::NaiveDate;
    use geo_types::polygon;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;
    use trygg_model::Precision;
    use trygg_store::{EventViewBuilder, StoredArea};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    /// Random events over 2022-2024 in the four test stadsdelar (and outside),
    /// of every precision.
    fn view(n: usize, seed: u64) -> EventView {
        let mut rng = Pcg64::seed_from_u64(seed);
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        let from = 1_640_995_200; // 2022-01-01T00:00Z
        let names = ["A", "B", "C", "D"];
        for _ in 0..n {
            let t = rng.random_range(from - 86_400..from + 3 * 365 * 86_400);
            let precision = Precision::ALL[rng.random_range(0..5)];
            let (x, y) = (
                rng.random_range(669_500.0..672_200.0),
                rng.random_range(6_579_500.0..6_582_200.0),
            );
            let inside =
                (670_000.0..672_000.0).contains(&x) && (6_580_000.0..6_582_000.0).contains(&y);
            let stadsdel = match precision {
                Precision::Municipality => None,
                Precision::Stadsdel => Some(names[rng.random_range(0..4)]),
                _ if inside => {
                    let col = usize::from(x >= 671_000.0);
                    let row = usize::from(y >= 6_581_000.0);
                    Some(names[row * 2 + col])
                }
                _ => None,
            };
            b.push(
                t,
                x,
                y,
                Source::ALL[rng.random_range(0..4)],
                NormCategory::ALL[rng.random_range(0..4)],
                precision,
                "x",
                stadsdel,
            );
        }
        b.build()
    }

    /// The area a brute-force reading of the rules gives event `i`.
    fn brute_area(view: &EventView, layer: &str, i: usize) -> Option<usize> {
        let p = view.precision(i);
        let code = view.stadsdel_code(i);
        let name = view
            .stadsdel_names()
            .get(usize::from(code))
            .map(String::as_str);
        match layer {
            "stadsdel" if p != Precision::Municipality => {
                name.and_then(|n| ["A", "B", "C", "D"].iter().position(|c| *c == n))
            }
            "stadsdelsomrade_2023" if p != Precision::Municipality => match name {
                Some("A" | "B") => Some(0),
                Some("C" | "D") => Some(1),
                _ => None,
            },
            "upload" if p.is_point() => {
                let (x, y) = view.xy(i);
                // Upload: the western half, x in [670 000, 671 000], y in [6 580 000, 6 582 000].
                ((670_000.0..=671_000.0).contains(&x) && (6_580_000.0..=6_582_000.0).contains(&y))
                    .then_some(0)
            }
            _ => None,
        }
    }

    fn layers() -> Vec<AreaLayer> {
        let sd = stadsdelar();
        let upload = vec![StoredArea {
            code: "west".into(),
            name: "West".into(),
            properties: "{}".into(),
            geometry: geo_types::MultiPolygon(vec![polygon![
                (x: 670_000.0, y: 6_580_000.0),
                (x: 671_000.0, y: 6_580_000.0),
                (x: 671_000.0, y: 6_582_000.0),
                (x: 670_000.0, y: 6_582_000.0),
                (x: 670_000.0, y: 6_580_000.0),
            ]]),
        }];
        vec![
            AreaLayer::stadsdel(&sd),
            AreaLayer::division("stadsdelsomrade_2023", &sd, &division_areas()).expect("valid"),
            AreaLayer::polygons("upload", &upload),
        ]
    }

    #[test]
    fn table_counts_agree_with_brute_force() {
        let view = view(30_000, 1);
        // With an hour filter (the per-event path) and without (the branch-free
        // tally over raw columns): both must give the rules' counts.
        for hours in [Some("18-06"), None] {
            table_counts_agree(&view, hours);
        }
    }

    fn table_counts_agree(view: &EventView, hours: Option<&str>) {
        let selection = Selection {
            sources: Some(vec![Source::PoliceEvents, Source::Crimes, Source::Fires]),
            categories: Some(vec![
                NormCategory::ALL[0],
                NormCategory::ALL[2],
                NormCategory::ALL[3],
            ]),
            hours: hours.map(|h| h.parse().expect("valid")),
            ..Selection::default()
        };
        let series = PeriodSeries::covering(WindowKind::Month, d(2022, 2, 1), d(2023, 11, 30))
            .expect("valid");
        let group_by = GroupBy {
            source: true,
            category: true,
        };
        for layer in layers() {
            let table = area_period_counts(view, &layer, &series, &selection, group_by);
            let mut expected = vec![0u64; series.len() * layer.areas().len() * group_by.len()];
            let mut matched = vec![0u64; series.len()];
            let mut counted = vec![0u64; series.len()];
            let selected = selection.indices(view);
            for &i in &selected {
                let i = i as usize;
                let Some(p) = series.period_of(view.time(i)) else {
                    continue;
                };
                matched[p] += 1;
                if let Some(a) = brute_area(view, layer.name(), i) {
                    counted[p] += 1;
                    let g = usize::from(view.source(i).code()) * NormCategory::ALL.len()
                        + usize::from(view.category_norm(i).code());
                    expected[(p * layer.areas().len() + a) * group_by.len() + g] += 1;
                }
            }
            let mut nonzero = 0;
            for p in 0..series.len() {
                assert_eq!(table.coverage[p].matched, matched[p], "{hours:?}");
                assert_eq!(table.coverage[p].counted, counted[p], "{hours:?}");
                for a in 0..layer.areas().len() {
                    for g in 0..group_by.len() {
                        let e = expected[(p * layer.areas().len() + a) * group_by.len() + g];
                        assert_eq!(table.count(p, a, g), e, "{} p{p} a{a} g{g}", layer.name());
                        nonzero += usize::from(e > 0);
                    }
                }
            }
            assert!(nonzero > 100, "{}: {nonzero}", layer.name());
            let keys = table.groups();
            assert_eq!(
                keys[NormCategory::ALL.len() + 2].source,
                Some(Source::Crimes)
            );
            assert_eq!(
                keys[NormCategory::ALL.len() + 2].category,
                Some(NormCategory::ALL[2])
            );
        }
    }

    #[test]
    fn precision_rules_hold_in_totals() {
        let view = view(20_000, 2);
        let series = PeriodSeries::covering(WindowKind::Year, d(2022, 1, 1), d(2024, 12, 31))
            .expect("valid");
        let all = Selection::all();
        let mut n_muni = 0u64;
        let mut n_sd_precision = 0u64;
        let mut n_in_series = 0u64;
        for i in 0..view.len() {
            if series.period_of(view.time(i)).is_some() {
                n_in_series += 1;
                match view.precision(i) {
                    Precision::Municipality => n_muni += 1,
                    Precision::Stadsdel => n_sd_precision += 1,
                    _ => {}
                }
            }
        }
        let [stadsdel, division, upload] = <[AreaLayer; 3]>::try_from(layers()).expect("three");
        let sd = area_period_counts(&view, &stadsdel, &series, &all, GroupBy::default());
        let up = area_period_counts(&view, &upload, &series, &all, GroupBy::default());
        let total =
            |t: &AreaPeriodTable, f: fn(&Coverage) -> u64| t.coverage.iter().map(f).sum::<u64>();
        // Municipality precision: never in an area, always in the total.
        assert_eq!(total(&sd, |c| c.matched), n_in_series);
        assert_eq!(total(&sd, |c| c.left_out_municipality_precision), n_muni);
        assert_eq!(total(&up, |c| c.left_out_municipality_precision), n_muni);
        // Stadsdel precision: counted by stadsdel, left out of uploads.
        assert_eq!(total(&sd, |c| c.left_out_stadsdel_precision), 0);
        assert_eq!(
            total(&up, |c| c.left_out_stadsdel_precision),
            n_sd_precision
        );
        let sum_areas: u64 = (0..series.len())
            .flat_map(|p| (0..4).map(move |a| (p, a)))
            .map(|(p, a)| sd.area_total(p, a))
            .sum();
        assert_eq!(sum_areas, total(&sd, |c| c.counted));
        // The division's areas add up to the stadsdelar's.
        let dv = area_period_counts(&view, &division, &series, &all, GroupBy::default());
        for p in 0..series.len() {
            assert_eq!(
                dv.area_total(p, 0),
                sd.area_total(p, 0) + sd.area_total(p, 1)
            );
            assert_eq!(
                dv.area_total(p, 1),
                sd.area_total(p, 2) + sd.area_total(p, 3)
            );
        }
        let json = serde_json::to_value(&sd).expect("serialises");
        assert_eq!(json["counts"][0][0][0], sd.count(0, 0, 0));
        assert_eq!(json["periods"][1]["label"], "2023");
    }

    #[test]
    fn area_counts_with_population_and_changes() {
        let view = view(40_000, 3);
        let [stadsdel, _, _] = <[AreaLayer; 3]>::try_from(layers()).expect("three");
        let pop = |code: &str, year: i32, population: i64| PopulationRow {
            layer: "stadsdel".into(),
            area_code: code.into(),
            year,
            population,
            derived: false,
            source: None,
        };
        let population = vec![
            pop("A", 2022, 10_000),
            pop("A", 2023, 12_000),
            pop("A", 2025, 99_999),
            pop("b", 2024, 5_000), // only later than the period: no figure
            pop("C", 2020, 0),     // zero: rate absent
            PopulationRow {
                layer: "other".into(),
                ..pop("D", 2023, 1)
            },
        ];
        let query = CountsQuery {
            period: Period::month(2023, 3).expect("valid"),
            previous_periods: 1,
            selection: Selection {
                categories: Some(vec![NormCategory::ALL[0], NormCategory::ALL[1]]),
                ..Selection::default()
            },
            group_by: GroupBy {
                source: true,
                category: false,
            },
        };
        let r = area_counts(&view, &stadsdel, &population, &query).expect("valid");
        assert_eq!(r.previous.label(), "2023-02");
        assert_eq!(r.year_earlier.label(), "2022-03");
        assert_eq!(r.exposures.period_seconds, 31 * 86_400 - 3600);
        assert_eq!(r.exposures.previous_seconds, 28 * 86_400);
        assert_eq!(r.population_year, 2023);

        // Brute force per area for the three periods.
        let brute = |p: Period, a: usize| -> u64 {
            let (from, to) = p.utc_bounds();
            (0..view.len())
                .filter(|&i| (from..to).contains(&view.time(i)))
                .filter(|&i| view.category_norm(i).code() < 2)
                .filter(|&i| brute_area(&view, "stadsdel", i) == Some(a))
                .count() as u64
        };
        for (a, area) in r.areas.iter().enumerate() {
            let c = brute(r.period, a);
            assert_eq!(area.stat.count, c);
            assert_eq!(area.stat.vs_previous.count, brute(r.previous, a));
            assert_eq!(area.stat.vs_year_earlier.count, brute(r.year_earlier, a));
            let group_sum: u64 = area.groups.iter().map(|g| g.stat.count).sum();
            assert_eq!(group_sum, c);
            let ch = area.stat.vs_previous;
            assert_eq!(
                ch.p_value,
                poisson_rate_test(
                    c,
                    (31 * 86_400 - 3600) as f64,
                    ch.count,
                    (28 * 86_400) as f64
                )
            );
        }
        let a = &r.areas[0];
        assert_eq!(
            a.population.map(|p| (p.year, p.population)),
            Some((2023, 12_000))
        );
        let expected_rate = a.stat.count as f64 * 1000.0 / 12_000.0;
        assert_eq!(a.stat.rate_per_1000, Some(expected_rate));
        assert_eq!(r.areas[1].population, None);
        assert_eq!(r.areas[1].stat.rate_per_1000, None);
        assert_eq!(r.areas[2].population.map(|p| p.population), Some(0));
        assert_eq!(r.areas[2].stat.rate_per_1000, None);
        assert_eq!(r.areas[3].population, None);
        // The municipality total counts every matching event of the period.
        let (from, to) = r.period.utc_bounds();
        let all = (0..view.len())
            .filter(|&i| (from..to).contains(&view.time(i)) && view.category_norm(i).code() < 2)
            .count() as u64;
        assert_eq!(r.municipality.stat.count, all);
        assert!(r.areas.iter().map(|a| a.stat.count).sum::<u64>() < all);

        // A selection with its own time range is refused.
        let mut bad = query.clone();
        bad.selection.from_utc = Some(0);
        assert!(matches!(
            area_counts(&view, &stadsdel, &population, &bad),
            Err(CountsError::TimeRangeInSelection)
        ));
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["areas"][0]["population"]["population"], 12_000);
        assert!(json["areas"][1]["rate_per_1000"].is_null());
        assert_eq!(
            json["areas"][0]["groups"][0]["category"],
            serde_json::Value::Null
        );
        assert!(json["areas"][0]["groups"][0]["source"].is_string());
    }

    #[test]
    fn counts_from_groups_the_store_made_equal_the_views() {
        // Events on four stadsdelar, a name no layer knows, no stadsdel, and
        // municipality precision; every source and category; three years.
        let names = ["A", "Stadsdel B", "c", "D", "Okänd"];
        let start = Period::year(2022).expect("valid").utc_bounds().0;
        let end = Period::year(2024).expect("valid").utc_bounds().1;
        let mut rng = Pcg64::seed_from_u64(13);
        let mut raw: Vec<(i64, bool, Option<&str>, Source, NormCategory)> = Vec::new();
        let mut b = EventViewBuilder::new((650_000.0, 6_560_000.0));
        for _ in 0..20_000 {
            let precision = [
                Precision::Municipality,
                Precision::Stadsdel,
                Precision::Exact,
            ][rng.random_range(0..3)];
            let stadsdel = match rng.random_range(0..7) {
                6 => None,
                _ if precision == Precision::Municipality => None,
                k => Some(names[k % names.len()]),
            };
            let t = rng.random_range(start..end);
            let source = Source::ALL[rng.random_range(0..Source::ALL.len())];
            let category = NormCategory::ALL[rng.random_range(0..NormCategory::ALL.len())];
            b.push(
                t,
                670_500.0,
                6_580_500.0,
                source,
                category,
                precision,
                "x",
                stadsdel,
            );
            raw.push((
                t,
                precision == Precision::Municipality,
                stadsdel,
                source,
                category,
            ));
        }
        let view = b.build();
        // The store's side, written out plainly: filter, then group the columns.
        let mut grouped = |q: &GroupedQuery| -> Result<Vec<GroupedCount>, trygg_store::StoreError> {
            let mut groups: std::collections::BTreeMap<_, u64> = std::collections::BTreeMap::new();
            for &(t, m, s, source, category) in &raw {
                let wanted = t >= q.from_utc
                    && t < q.to_utc
                    && q.sources.contains(&source)
                    && q.categories.as_ref().is_none_or(|c| c.contains(&category));
                if wanted {
                    *groups
                        .entry((m, s.map(str::to_owned), source, category))
                        .or_default() += 1;
                }
            }
            Ok(groups
                .into_iter()
                .map(|((m, s, source, category), count)| GroupedCount {
                    municipality_precision: m,
                    stadsdel: s,
                    source,
                    category,
                    count,
                })
                .collect())
        };
        let areas = stadsdelar();
        let layers = [
            AreaLayer::stadsdel(&areas),
            AreaLayer::division("stadsdelsomrade_2023", &areas, &division_areas())
                .expect("division"),
            AreaLayer::municipality("municipality"),
        ];
        let selections = [
            Selection::default(),
            Selection {
                sources: Some(vec![Source::Crimes, Source::Survey]),
                categories: Some(NormCategory::ALL[2..9].to_vec()),
                ..Selection::default()
            },
        ];
        let periods = [
            Period::year(2023).expect("valid"),
            Period::month(2024, 2).expect("valid"),
            "2023-W10".parse().expect("valid"),
        ];
        let mut compared = 0;
        for layer in &layers {
            for selection in &selections {
                for period in periods {
                    for (source, category) in [(false, false), (true, false), (false, true)] {
                        let query = CountsQuery {
                            period,
                            previous_periods: if source { 4 } else { 1 },
                            selection: selection.clone(),
                            group_by: GroupBy { source, category },
                        };
                        let mut from_view = area_counts(&view, layer, &[], &query).expect("view");
                        let mut pushed =
                            area_counts_from(layer, &[], &query, &mut grouped).expect("pushed");
                        assert!(pushed.coverage.matched > 0);
                        // The view names the unknown names of all its events, the
                        // store those of the counted ones.
                        assert!(pushed
                            .unknown_stadsdelar
                            .iter()
                            .all(|u| from_view.unknown_stadsdelar.contains(u)));
                        from_view.unknown_stadsdelar.clear();
                        pushed.unknown_stadsdelar.clear();
                        assert_eq!(
                            pushed,
                            from_view,
                            "{} {period:?} {selection:?}",
                            layer.name()
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 54);
        // What the columns alone cannot decide is refused, naming the field.
        let night = CountsQuery {
            period: periods[0],
            previous_periods: 1,
            selection: Selection {
                hours: Some("22-04".parse().expect("valid")),
                ..Selection::default()
            },
            group_by: GroupBy::default(),
        };
        let mut refused = |layer: &AreaLayer, query: &CountsQuery| match area_counts_from(
            layer,
            &[],
            query,
            &mut grouped,
        ) {
            Err(CountsError::NotPushable { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(refused(&layers[0], &night), "hours");
        let polygons = AreaLayer::polygons("drawn", &areas);
        let plain = CountsQuery {
            selection: Selection::default(),
            ..night.clone()
        };
        assert_eq!(refused(&polygons, &plain), "layer");
    }

    /// Counts by stadsdel × month for a filtered one-year window, checked against
    /// a brute-force loop, and timed. Runs on 200 000 events by default; for the
    /// measurement by hand:
    /// `TRYGG_MEASURE_EVENTS=10000000 cargo test -p trygg-analytics --release
    /// measure_stadsdel_by_month -- --nocapture`.
    #[test]
    fn measure_stadsdel_by_month() {
        let n: usize = std::env::var("TRYGG_MEASURE_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let names: Vec<String> = (0..117).map(|k| format!("STADSDEL {k:03}")).collect();
        let categories: Vec<String> = (0..40).map(|k| format!("kategori {k}")).collect();
        let start = Period::year(2020).expect("valid").utc_bounds().0;
        let end = Period::year(2024).expect("valid").utc_bounds().1;
        let built = std::time::Instant::now();
        let mut rng = Pcg64::seed_from_u64(2024);
        let mut b = EventViewBuilder::new((650_000.0, 6_560_000.0));
        for _ in 0..n {
            let precision = match rng.random_range(0..10) {
                0 => Precision::Municipality,
                1 | 2 => Precision::Stadsdel,
                k => Precision::ALL[k % 3],
            };
            let stadsdel = (precision != Precision::Municipality)
                .then(|| names[rng.random_range(0..names.len())].as_str());
            b.push(
                rng.random_range(start..end),
                rng.random_range(660_000.0..690_000.0),
                rng.random_range(6_570_000.0..6_600_000.0),
                Source::ALL[rng.random_range(0..4)],
                NormCategory::ALL[rng.random_range(0..NormCategory::ALL.len())],
                precision,
                &categories[rng.random_range(0..categories.len())],
                stadsdel,
            );
        }
        let view = b.build();
        let build_ms = built.elapsed().as_secs_f64() * 1e3;
        let areas: Vec<StoredArea> = names
            .iter()
            .map(|name| StoredArea {
                code: name.clone(),
                name: name.clone(),
                properties: "{}".into(),
                geometry: geo_types::MultiPolygon(vec![]),
            })
            .collect();
        let layer = AreaLayer::stadsdel(&areas);
        let series = PeriodSeries::covering(WindowKind::Month, d(2023, 1, 1), d(2023, 12, 31))
            .expect("valid");
        let selection = Selection {
            sources: Some(vec![Source::PoliceEvents, Source::Crimes]),
            categories: Some(NormCategory::ALL[..6].to_vec()),
            ..Selection::default()
        };
        let time = |f: &mut dyn FnMut()| {
            let mut runs: Vec<f64> = (0..7)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            runs[runs.len() / 2]
        };
        let mut table = None;
        let counts_ms = time(&mut || {
            table = Some(area_period_counts(
                &view,
                &layer,
                &series,
                &selection,
                GroupBy::default(),
            ));
        });
        let table = table.expect("ran");
        let night = Selection {
            hours: Some("22-06".parse().expect("valid")),
            weekdays: Some("fri-sun".parse().expect("valid")),
            ..selection.clone()
        };
        let night_ms = time(&mut || {
            std::hint::black_box(area_period_counts(
                &view,
                &layer,
                &series,
                &night,
                GroupBy::default(),
            ));
        });
        let grouped_ms = time(&mut || {
            let g = GroupBy {
                source: true,
                category: true,
            };
            std::hint::black_box(area_period_counts(&view, &layer, &series, &selection, g));
        });
        let query = CountsQuery {
            period: Period::month(2023, 6).expect("valid"),
            previous_periods: 1,
            selection: selection.clone(),
            group_by: GroupBy::default(),
        };
        let stats_ms = time(&mut || {
            std::hint::black_box(area_counts(&view, &layer, &[], &query).expect("valid"));
        });

        // Brute force: every event, every rule spelled out.
        let mut expected = vec![0u64; series.len() * names.len()];
        for i in 0..view.len() {
            let (Some(p), true) = (
                series.period_of(view.time(i)),
                matches!(view.source(i), Source::PoliceEvents | Source::Crimes),
            ) else {
                continue;
            };
            if view.category_norm(i).code() >= 6 || view.precision(i) == Precision::Municipality {
                continue;
            }
            let code = view.stadsdel_code(i);
            let name = &view.stadsdel_names()[usize::from(code)];
            let a = names
                .iter()
                .position(|n| n == name)
                .expect("known stadsdel");
            expected[p * names.len() + a] += 1;
        }
        let got: Vec<u64> = (0..series.len())
            .flat_map(|p| (0..names.len()).map(move |a| (p, a)))
            .map(|(p, a)| table.count(p, a, 0))
            .collect();
        assert_eq!(got, expected);
        assert!(expected.iter().sum::<u64>() > n as u64 / 100);
        println!(
            "events {n}: build {build_ms:.0} ms, {:.1} bytes/event; stadsdel x month over 2023 \
             (sources+categories filter): {counts_ms:.2} ms; with 22-06 fri-sun: {night_ms:.2} ms; \
             grouped by source x category: {grouped_ms:.2} ms; area_counts (3 periods): {stats_ms:.2} ms",
            view.bytes_per_event()
        );
    }

    #[test]
    fn change_and_suppression() {
        let c = Change::new(20, 86_400, 10, 2 * 86_400);
        assert_eq!(c.difference, 10);
        assert_eq!(c.ratio, Some(2.0));
        assert_eq!(c.rate_ratio, Some(4.0));
        assert_eq!(Change::new(3, 1, 0, 1).ratio, None);
        assert_eq!(Change::new(0, 1, 0, 1).p_value, None);
        assert_eq!(suppress(4, DEFAULT_SUPPRESSION_THRESHOLD), "<5");
        assert_eq!(suppress(0, 5), "<5");
        assert_eq!(suppress(5, 5), "5");
        assert_eq!(suppress(0, 0), "0");
        assert_eq!(suppress(2, 3), "<3");
    }
}
