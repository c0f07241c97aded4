//! Trend lines: counts per period (day, ISO week, month, quarter, year) over a
//! range, zero periods included, with an ordinary least-squares slope and its
//! p-value (as `scipy.stats.linregress`) and a Mann-Kendall test (as
//! pymannkendall's `original_test`, from [`crate::mann_kendall`]).

use chrono::NaiveDate;
use serde::Serialize;
use trygg_store::EventView;

use crate::areas::{AreaLayer, AreaRef};
use crate::counts::{area_period_counts, GroupBy};
use crate::mann_kendall::{mann_kendall, MannKendall};
use crate::selection::Selection;
use crate::student_t;
use crate::window::{Period, PeriodSeries, WindowError, WindowKind};

/// An error from a trend query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrendError {
    /// The periods could not be built.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The area index is not in the layer.
    #[error("layer '{layer}' has no area number {index}")]
    NoSuchArea {
        /// The layer.
        layer: String,
        /// The index asked for.
        index: usize,
    },
}

/// What to trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendQuery {
    /// The period length (not [`WindowKind::Custom`]).
    pub kind: WindowKind,
    /// First local day of interest; the series starts with the period containing it.
    pub from: NaiveDate,
    /// Last local day of interest; the series ends with the period containing it.
    pub to: NaiveDate,
    /// What to count (a time range in it is intersected with the series).
    pub selection: Selection,
}

/// One period's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodCount {
    /// The period.
    pub period: Period,
    /// Matching events in it.
    pub count: u64,
}

/// An ordinary least-squares line through `(i, y_i)`, `i = 0, 1, …`, with the
/// quantities `scipy.stats.linregress(range(n), y)` reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ols {
    /// Change per period.
    pub slope: f64,
    /// Fitted value of the first period.
    pub intercept: f64,
    /// Pearson's r between period index and count (0 when the counts are constant).
    pub r: f64,
    /// Standard error of the slope.
    pub slope_stderr: f64,
    /// Degrees of freedom, n − 2.
    pub df: usize,
    /// Two-sided p-value of the slope (t-test, H0: slope = 0).
    pub p_value: f64,
}

/// Least squares of `y` on its index, as `scipy.stats.linregress` computes it
/// (including its `TINY = 1e-20` guard when r = ±1). `None` with fewer than three
/// values or any non-finite value.
pub fn ols(y: &[f64]) -> Option<Ols> {
    let n = y.len();
    if n < 3 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let xmean = (nf - 1.0) / 2.0;
    let ymean = y.iter().sum::<f64>() / nf;
    let (mut ssxm, mut ssym, mut ssxym) = (0.0, 0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let dx = i as f64 - xmean;
        let dy = v - ymean;
        ssxm += dx * dx;
        ssym += dy * dy;
        ssxym += dx * dy;
    }
    // linregress uses the biased (1/n) moments; the 1/n cancels in every ratio
    // below except none, so they are kept as sums.
    let r = if ssxm == 0.0 || ssym == 0.0 {
        0.0
    } else {
        (ssxym / (ssxm * ssym).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = ssxym / ssxm;
    let df = n - 2;
    let dff = df as f64;
    const TINY: f64 = 1e-20;
    let t = r * (dff / ((1.0 - r + TINY) * (1.0 + r + TINY))).sqrt();
    Some(Ols {
        slope,
        intercept: ymean - slope * xmean,
        r,
        slope_stderr: ((1.0 - r * r) * ssym / ssxm / dff).sqrt(),
        df,
        p_value: student_t::two_sided_p(t, dff),
    })
}

/// A series of counts with its trend tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The period length.
    pub kind: WindowKind,
    /// The selection counted.
    pub selection: Selection,
    /// The layer and area the count was restricted to, if any.
    pub area: Option<(String, AreaRef)>,
    /// One count per period, zeros included.
    pub series: Vec<PeriodCount>,
    /// Least-squares slope (counts per period) and its p-value; `None` with fewer
    /// than three periods.
    pub ols: Option<Ols>,
    /// Mann-Kendall test of the counts.
    pub mann_kendall: MannKendall,
}

/// Counts per period over `query`'s range, within area `area` (index into the
/// layer's areas) of `layer` when given (by its precision rules), else every
/// matching event; with OLS and Mann-Kendall trend tests.
pub fn trend(
    view: &EventView,
    query: &TrendQuery,
    area: Option<(&AreaLayer, usize)>,
) -> Result<Trend, TrendError> {
    let series = PeriodSeries::covering(query.kind, query.from, query.to)?;
    let counts: Vec<u64> = match area {
        Some((layer, k)) => {
            if k >= layer.areas().len() {
                return Err(TrendError::NoSuchArea {
                    layer: layer.name().to_owned(),
                    index: k,
                });
            }
            let table =
                area_period_counts(view, layer, &series, &query.selection, GroupBy::default());
            (0..series.len()).map(|p| table.count(p, k, 0)).collect()
        }
        None => {
            let total = AreaLayer::municipality("all");
            let table =
                area_period_counts(view, &total, &series, &query.selection, GroupBy::default());
            (0..series.len()).map(|p| table.count(p, 0, 0)).collect()
        }
    };
    let y: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    Ok(Trend {
        kind: query.kind,
        selection: query.selection.clone(),
        area: area.and_then(|(layer, k)| {
            layer
                .areas()
                .get(k)
                .map(|a| (layer.name().to_owned(), a.clone()))
        }),
        series: series
            .periods()
            .iter()
            .zip(&counts)
            .map(|(&period, &count)| PeriodCount { period, count })
            .collect(),
        ols: ols(&y),
        mann_kendall: mann_kendall(&y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trygg_model::{NormCategory, Precision, Source};
    use trygg_store::EventViewBuilder;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || ((a - b) / b).abs() <= rel
    }

    #[test]
    fn ols_matches_hand_computed_values() {
        // y = 1, 3, 2, 5, 4 on x = 0..4: x̄ = 2, ȳ = 3, Sxx = 10, Sxy = 8, Syy = 10.
        let r = ols(&[1.0, 3.0, 2.0, 5.0, 4.0]).expect("five values");
        assert!(close(r.slope, 0.8, 1e-15));
        assert!(close(r.intercept, 1.4, 1e-15));
        assert!(close(r.r, 0.8, 1e-15));
        // stderr = sqrt((1 − 0.64) · 10 / 10 / 3) = sqrt(0.12).
        assert!(close(r.slope_stderr, 0.12f64.sqrt(), 1e-14));
        // t = 0.8 · sqrt(3 / 0.36) = 2.3094010767585; p from mpmath (40 digits).
        assert!(
            close(r.p_value, 0.10408803866182786, 1e-12),
            "{}",
            r.p_value
        );
        let flat = ols(&[2.0, 2.0, 2.0, 2.0]).expect("four values");
        assert_eq!((flat.slope, flat.r, flat.p_value), (0.0, 0.0, 1.0));
        let line = ols(&[1.0, 2.0, 3.0]).expect("three values");
        assert!(line.p_value < 1e-9);
        assert!(ols(&[1.0, 2.0]).is_none());
        assert!(ols(&[1.0, f64::NAN, 2.0]).is_none());
    }

    #[test]
    fn series_include_empty_periods() {
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        // Events in January (3), March (1) and April (5) 2024, none in February.
        let jan = Period::month(2024, 1).expect("valid").utc_bounds().0;
        let mar = Period::month(2024, 3).expect("valid").utc_bounds().0;
        let apr = Period::month(2024, 4).expect("valid").utc_bounds().0;
        let times = [
            jan + 10,
            jan + 20,
            jan + 30,
            mar,
            apr,
            apr + 1,
            apr + 2,
            apr + 3,
            apr + 4,
        ];
        for (i, &t) in times.iter().enumerate() {
            let precision = if i == 0 {
                Precision::Municipality
            } else {
                Precision::Exact
            };
            b.push(
                t,
                670_500.0,
                6_580_500.0,
                Source::Crimes,
                NormCategory::Theft,
                precision,
                "x",
                (i > 0).then_some("A"),
            );
        }
        let view = b.build();
        let query = TrendQuery {
            kind: WindowKind::Month,
            from: chrono::NaiveDate::from_ymd_opt(2024, 1, 15).expect("valid"),
            to: chrono::NaiveDate::from_ymd_opt(2024, 5, 2).expect("valid"),
            selection: Selection::all(),
        };
        let t = trend(&view, &query, None).expect("valid");
        let counts: Vec<u64> = t.series.iter().map(|p| p.count).collect();
        assert_eq!(counts, [3, 0, 1, 5, 0]);
        assert_eq!(t.series[1].period.label(), "2024-02");
        assert_eq!(t.mann_kendall.n, 5);
        let y = [3.0, 0.0, 1.0, 5.0, 0.0];
        assert_eq!(t.ols, ols(&y));
        // Within stadsdel A the municipality-precision event is not counted.
        let layer = AreaLayer::stadsdel(&crate::areas::tests::stadsdelar());
        let in_a = trend(&view, &query, Some((&layer, 0))).expect("valid");
        let counts: Vec<u64> = in_a.series.iter().map(|p| p.count).collect();
        assert_eq!(counts, [2, 0, 1, 5, 0]);
        assert!(matches!(
            trend(&view, &query, Some((&layer, 9))),
            Err(TrendError::NoSuchArea { .. })
        ));
    }
}
