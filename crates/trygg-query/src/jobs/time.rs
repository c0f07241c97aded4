//! When things happen: a series with its trend tests (`trend`), and the hour ×
//! weekday matrix (`matrix`), for everything or one area.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use trygg_analytics::areas::AreaLayer;
use trygg_analytics::mann_kendall::MannKendall;
use trygg_analytics::matrix::{hour_weekday, WEEKDAYS};
use trygg_analytics::selection::Selection;
use trygg_analytics::trend::{trend, Ols, TrendQuery};
use trygg_analytics::window::WindowKind;

use crate::disclosure::{publish, suppressed, Count, Margin};
use crate::encode::{Cell, Table, Tabular};
use crate::error::{Field, QueryError};
use crate::jobs::counts::one_area;
use crate::jobs::{Job, Options};
use crate::params::{window, AreaParams, DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::{DataInfo, Snapshot};

/// A count per period with an OLS slope and a Mann-Kendall trend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrendRequest {
    /// Period length: day, week, month (default), quarter or year.
    pub window: Option<String>,
    /// The days (whole periods covering them are counted).
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// Only one area.
    #[serde(flatten)]
    pub area: AreaParams,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// One period's published count.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SeriesPoint {
    /// The period's label.
    pub period: String,
    /// First day (YYYY-MM-DD).
    pub start: String,
    /// Last day.
    pub end: String,
    /// The count.
    pub count: Count,
}

/// A series as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrendResult {
    /// The data.
    pub data: DataInfo,
    /// The period length.
    #[schemars(with = "serde_json::Value")]
    pub window: WindowKind,
    /// The selection counted.
    #[schemars(with = "serde_json::Value")]
    pub selection: Selection,
    /// `(layer, area code)` when restricted to one area.
    pub area: Option<(String, String)>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// The counts.
    pub series: Vec<SeriesPoint>,
    /// Least-squares slope; absent with fewer than three periods or when a count
    /// is suppressed (the fit would give it back).
    #[schemars(with = "serde_json::Value")]
    pub ols: Option<Ols>,
    /// Mann-Kendall; absent when a count is suppressed.
    #[schemars(with = "serde_json::Value")]
    pub mann_kendall: Option<MannKendall>,
}

/// The first day of the month `n` months before `day`'s month.
pub(crate) fn months_before(day: NaiveDate, n: u32) -> NaiveDate {
    let months = day.year() * 12 + day.month0() as i32 - n as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(day)
}

/// The series of `selection` over `from..=to` in periods of `kind`.
pub(crate) fn series(
    snap: &Snapshot,
    kind: WindowKind,
    from: NaiveDate,
    to: NaiveDate,
    selection: &Selection,
    area: Option<(&AreaLayer, usize)>,
    threshold: Option<u64>,
) -> Result<TrendResult, QueryError> {
    let query = TrendQuery {
        kind,
        from,
        to,
        selection: selection.clone(),
    };
    let t = trend(snap.view(), &query, area).field("window")?;
    let values: Vec<u64> = t.series.iter().map(|p| p.count).collect();
    // No total is shown, so each period stands alone (no margins).
    let hidden = suppressed(&values, &[], threshold);
    let counts = publish(&values, &hidden, threshold);
    let any_hidden = hidden.iter().any(|&h| h);
    Ok(TrendResult {
        data: snap.data().clone(),
        window: t.kind,
        selection: t.selection,
        area: t.area.map(|(layer, a)| (layer, a.code)),
        suppression: threshold,
        series: t
            .series
            .iter()
            .zip(counts)
            .map(|(p, count)| SeriesPoint {
                period: p.period.label(),
                start: p.period.start.to_string(),
                end: p.period.end.to_string(),
                count,
            })
            .collect(),
        ols: if any_hidden { None } else { t.ols },
        mann_kendall: (!any_hidden).then_some(t.mann_kendall),
    })
}

/// A validated series request: (window, from, to, selection, threshold).
pub type ValidTrend = (WindowKind, NaiveDate, NaiveDate, Selection, Option<u64>);

impl Job for TrendRequest {
    const NAME: &'static str = "trend";
    type Valid = ValidTrend;
    type Output = TrendResult;

    fn validate(&self) -> Result<ValidTrend, QueryError> {
        let kind = window(self.window.as_deref())?;
        let (from, to) = self.range.both()?;
        Ok((
            kind,
            from,
            to,
            self.selection.validate(None)?,
            self.disclosure.threshold()?,
        ))
    }

    fn execute(
        &self,
        (kind, from, to, selection, threshold): ValidTrend,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<TrendResult, QueryError> {
        let area = one_area(snap, &self.area, opts)?;
        series(
            snap,
            kind,
            from,
            to,
            &selection,
            area.as_ref().map(|(l, k)| (l, *k)),
            threshold,
        )
    }
}

impl Tabular for TrendResult {
    fn table(&self) -> Table {
        Table {
            columns: vec!["period", "start", "end", "count"],
            rows: self
                .series
                .iter()
                .map(|p| {
                    vec![
                        p.period.as_str().into(),
                        p.start.as_str().into(),
                        p.end.as_str().into(),
                        p.count.into(),
                    ]
                })
                .collect(),
            geometry: None,
        }
    }
}

/// The hour × weekday matrix (Stockholm time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixRequest {
    /// The days.
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// Only one area.
    #[serde(flatten)]
    pub area: AreaParams,
    /// Suppression.
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
}

/// The matrix as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MatrixResult {
    /// The data.
    pub data: DataInfo,
    /// The selection counted.
    #[schemars(with = "serde_json::Value")]
    pub selection: Selection,
    /// `(layer, area code)` when restricted to one area.
    pub area: Option<(String, String)>,
    /// The suppression threshold applied.
    pub suppression: Option<u64>,
    /// Column labels, Monday first.
    pub weekdays: [&'static str; 7],
    /// `counts[hour][weekday]`.
    pub counts: Vec<Vec<Count>>,
    /// Per hour.
    pub by_hour: Vec<Count>,
    /// Per weekday.
    pub by_weekday: Vec<Count>,
    /// All placed events.
    pub total: Count,
    /// Events left out because their time of day is not known (date-only times,
    /// long intervals): a date is not an event at midnight.
    pub left_out_imprecise_time: u64,
}

/// The matrix of `selection`, published under `threshold`: cells, hour and
/// weekday sums and the total are one table with margins both ways.
pub(crate) fn matrix(
    snap: &Snapshot,
    selection: &Selection,
    area: Option<(&AreaLayer, usize)>,
    threshold: Option<u64>,
) -> MatrixResult {
    let m = hour_weekday(snap.view(), selection, area);
    // Cells 0..168 (hour × 7 + day), 168..192 hours, 192..199 weekdays, 199 total.
    let mut values: Vec<u64> = m.counts.iter().flatten().copied().collect();
    values.extend(m.by_hour);
    values.extend(m.by_weekday);
    values.push(m.total);
    let mut margins: Vec<Margin> = (0..24)
        .map(|h| Margin {
            total: 168 + h,
            parts: (0..7).map(|d| h * 7 + d).collect(),
        })
        .collect();
    margins.extend((0..7).map(|d| Margin {
        total: 192 + d,
        parts: (0..24).map(|h| h * 7 + d).collect(),
    }));
    margins.push(Margin {
        total: 199,
        parts: (168..192).collect(),
    });
    margins.push(Margin {
        total: 199,
        parts: (192..199).collect(),
    });
    let hidden = suppressed(&values, &margins, threshold);
    let c = publish(&values, &hidden, threshold);
    MatrixResult {
        data: snap.data().clone(),
        selection: m.selection,
        area: m.area,
        suppression: threshold,
        weekdays: WEEKDAYS,
        counts: c[..168].chunks(7).map(<[Count]>::to_vec).collect(),
        by_hour: c[168..192].to_vec(),
        by_weekday: c[192..199].to_vec(),
        total: c[199],
        left_out_imprecise_time: m.left_out_imprecise_time,
    }
}

impl Job for MatrixRequest {
    const NAME: &'static str = "matrix";
    type Valid = (Selection, Option<u64>);
    type Output = MatrixResult;

    fn validate(&self) -> Result<(Selection, Option<u64>), QueryError> {
        Ok((
            self.selection.validate(Some(&self.range))?,
            self.disclosure.threshold()?,
        ))
    }

    fn execute(
        &self,
        (selection, threshold): (Selection, Option<u64>),
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<MatrixResult, QueryError> {
        let area = one_area(snap, &self.area, opts)?;
        Ok(matrix(
            snap,
            &selection,
            area.as_ref().map(|(l, k)| (l, *k)),
            threshold,
        ))
    }
}

impl Tabular for MatrixResult {
    fn table(&self) -> Table {
        let mut columns = vec!["hour"];
        columns.extend(WEEKDAYS);
        columns.push("total");
        Table {
            columns,
            rows: self
                .counts
                .iter()
                .enumerate()
                .map(|(h, row)| {
                    let mut cells = vec![Cell::Int(h as i64)];
                    cells.extend(row.iter().map(|&c| Cell::Count(c)));
                    cells.push(Cell::Count(self.by_hour[h]));
                    cells
                })
                .collect(),
            geometry: None,
        }
    }
}
