//! The Mann-Kendall trend test, exactly as pymannkendall's `original_test` (after
//! Hamed & Rao's presentation of Mann 1945 / Kendall 1975): the score S, its
//! variance with the tie correction, the continuity-corrected z, a two-sided
//! normal p-value and Kendall's tau-a = S / (n(n−1)/2).
//!
//! Used by emerging hot spot analysis (trend of a cell's Gi* z-scores over time) and
//! by the area trend statistics.

use serde::Serialize;

use crate::normal;

/// Direction of a Mann-Kendall trend at the chosen significance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendDirection {
    /// Significant upward trend (z > 0, p < alpha).
    Increasing,
    /// Significant downward trend (z < 0, p < alpha).
    Decreasing,
    /// No significant trend.
    NoTrend,
}

/// The result of a Mann-Kendall test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannKendall {
    /// Number of finite values tested (non-finite values are skipped, as
    /// pymannkendall drops NaN).
    pub n: usize,
    /// S = Σ_{i<j} sign(x_j − x_i).
    pub s: i64,
    /// Var(S) = [n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)] / 18 over tie groups of size t.
    pub var_s: f64,
    /// (S − sign(S)) / √Var(S); 0 when S = 0.
    pub z: f64,
    /// Two-sided p-value of z under the standard normal.
    pub p: f64,
    /// Kendall's tau-a: S / (n(n−1)/2); 0 for fewer than two values.
    pub tau: f64,
    /// Significance level used for `trend`.
    pub alpha: f64,
    /// The trend's direction at `alpha`.
    pub trend: TrendDirection,
}

/// Mann-Kendall test at alpha = 0.05 (pymannkendall's default).
pub fn mann_kendall(series: &[f64]) -> MannKendall {
    mann_kendall_at(series, 0.05)
}

/// Mann-Kendall test with the trend direction judged at `alpha`.
///
/// Non-finite values are skipped. With fewer than three values the test has no
/// power: S may be ±1 but z is 0 and p is 1.
pub fn mann_kendall_at(series: &[f64], alpha: f64) -> MannKendall {
    let x: Vec<f64> = series.iter().copied().filter(|v| v.is_finite()).collect();
    let n = x.len();
    let mut s: i64 = 0;
    for (k, &xk) in x.iter().enumerate() {
        for &xj in &x[k + 1..] {
            if xj > xk {
                s += 1;
            } else if xj < xk {
                s -= 1;
            }
        }
    }
    let nf = n as f64;
    let mut sorted = x;
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let sf = s as f64;
    let z = if s == 0 || var_s <= 0.0 {
        0.0
    } else if s > 0 {
        (sf - 1.0) / var_s.sqrt()
    } else {
        (sf + 1.0) / var_s.sqrt()
    };
    let p = normal::two_sided_p(z);
    let tau = if n < 2 {
        0.0
    } else {
        sf / (0.5 * nf * (nf - 1.0))
    };
    let trend = if p < alpha && z > 0.0 {
        TrendDirection::Increasing
    } else if p < alpha && z < 0.0 {
        TrendDirection::Decreasing
    } else {
        TrendDirection::NoTrend
    };
    MannKendall {
        n,
        s,
        var_s,
        z,
        p,
        tau,
        alpha,
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increasing_series_without_ties() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let r = mann_kendall(&x);
        assert_eq!(r.s, 45);
        assert!((r.var_s - 125.0).abs() < 1e-12); // 10·9·25/18
        assert!((r.z - 44.0 / 125f64.sqrt()).abs() < 1e-12);
        assert!((r.tau - 1.0).abs() < 1e-12);
        assert_eq!(r.trend, TrendDirection::Increasing);
    }

    #[test]
    fn ties_reduce_the_variance() {
        // Tie groups: {1,1} and {3,3,3}.
        let x = [1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 0.0];
        let r = mann_kendall(&x);
        let expected_var = (7.0 * 6.0 * 19.0 - (2.0 * 1.0 * 9.0) - (3.0 * 2.0 * 11.0)) / 18.0;
        assert!((r.var_s - expected_var).abs() < 1e-12);
        // pairs: computed by hand
        let mut s = 0i64;
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                s += (x[j] - x[i]).signum() as i64 * i64::from(x[j] != x[i]);
            }
        }
        assert_eq!(r.s, s);
    }

    #[test]
    fn constant_and_short_series_have_no_trend() {
        let r = mann_kendall(&[2.0; 8]);
        assert_eq!((r.s, r.z, r.p), (0, 0.0, 1.0));
        assert_eq!(r.trend, TrendDirection::NoTrend);
        let r = mann_kendall(&[]);
        assert_eq!((r.n, r.s, r.tau, r.p), (0, 0, 0.0, 1.0));
        let r = mann_kendall(&[1.0, f64::NAN, 2.0]);
        assert_eq!((r.n, r.s, r.z, r.p), (2, 1, 0.0, 1.0));
    }

    #[test]
    fn decreasing_series() {
        let x = [5.0, 4.0, 4.5, 3.0, 2.0, 2.5, 1.0, 0.0];
        let r = mann_kendall(&x);
        assert!(r.s < 0 && r.z < 0.0);
        assert_eq!(r.trend, TrendDirection::Decreasing);
        assert!((r.p - normal::two_sided_p(r.z)).abs() < 1e-15);
    }
}
