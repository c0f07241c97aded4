//! The binomial distribution and the exact conditional test for two Poisson counts.
//!
//! Comparing counts `c1` and `c2` observed over exposures `t1` and `t2` (here: the
//! lengths of two periods): under H0 (equal rates) and given their sum, `c1 ~
//! Binomial(c1 + c2, t1 / (t1 + t2))`. The two-sided p-value is
//! [`binom_test_two_sided`], which follows `scipy.stats.binomtest(k, n,
//! p).pvalue` step by step (SciPy ≥ 1.7, `_binomtest.py`): it sums the
//! probabilities of all outcomes no more likely than the observed one, where "no
//! more likely" allows a relative tolerance of 1e-7, finding the cut-off on the far
//! side of the mode by the same binary search SciPy uses.
//!
//! The pmf is Loader's saddle-point expansion (C. Loader, "Fast and accurate
//! computation of binomial probabilities", 2000; R's `dbinom_raw`): the exponent is
//! a sum of small, accurately computed terms (`stirlerr`, `bd0`) instead of a
//! difference of large ln-gamma values, so each probability is relatively accurate
//! to a few ulps for any n, where `lgamma(n+1) - lgamma(k+1) - …` would lose about
//! `log10(n·ln n)` digits. Tails are sums of pmf terms from the cut-off outwards (a
//! recurrence refreshed by a direct evaluation every 16 terms), stopped once the
//! rest is provably below 1e-18 of the sum.

use std::f64::consts::PI;

/// The relative tolerance SciPy uses when comparing probabilities to the observed one.
const RERR: f64 = 1.0 + 1e-7;

/// An error from the binomial test.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BinomialError {
    /// No trials.
    #[error("the binomial test needs at least one trial")]
    NoTrials,
    /// More successes than trials.
    #[error("{k} successes out of {n} trials")]
    TooManySuccesses {
        /// Successes.
        k: u64,
        /// Trials.
        n: u64,
    },
    /// A probability outside [0, 1].
    #[error("probability {0} is not in [0, 1]")]
    Probability(f64),
}

/// `ln(n!) - ((n + 1/2) ln n - n + ln √(2π))` for integers 1..=15 (exact to 25
/// digits, computed with mpmath), index 0 unused.
const STIRLERR: [f64; 16] = [
    0.0,
    0.08106146679532726,
    0.0413406959554093,
    0.02767792568499834,
    0.020790672103765093,
    0.016644691189821193,
    0.013876128823070748,
    0.01189670994589177,
    0.010411265261972096,
    0.009255462182712733,
    0.00833056343336287,
    0.007573675487951841,
    0.00694284010720953,
    0.006408994188004207,
    0.0059513701127588475,
    0.005554733551962801,
];

/// The error of Stirling's formula for ln(n!) at an integer n ≥ 1.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        // Only called with integers 1..=15 here.
        return STIRLERR.get(n as usize).copied().unwrap_or(0.0);
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// The deviance term `x ln(x / np) + np - x`, computed without cancellation when
/// `x` is close to `np`.
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
    }
    x * (x / np).ln() + np - x
}

/// P(X = k) for X ~ Binomial(n, p) (0 outside 0..=n).
pub fn pmf(k: u64, n: u64, p: f64) -> f64 {
    if k > n || !(0.0..=1.0).contains(&p) {
        return 0.0;
    }
    let q = 1.0 - p;
    if p == 0.0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if q == 0.0 {
        return if k == n { 1.0 } else { 0.0 };
    }
    let (x, nf) = (k as f64, n as f64);
    if k == 0 {
        let lc = if p < 0.1 {
            -bd0(nf, nf * q) - nf * p
        } else {
            nf * (-p).ln_1p()
        };
        return lc.exp();
    }
    if k == n {
        let lc = if q < 0.1 {
            -bd0(nf, nf * p) - nf * q
        } else {
            nf * p.ln()
        };
        return lc.exp();
    }
    let lc = stirlerr(nf) - stirlerr(x) - stirlerr(nf - x) - bd0(x, nf * p) - bd0(nf - x, nf * q);
    let lf = (2.0 * PI).ln() + x.ln() + (-x / nf).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// A mode of Binomial(n, p): `floor((n + 1) p)` clamped to 0..=n. The pmf does
/// not increase from it outward in either direction.
fn mode(n: u64, p: f64) -> u64 {
    let m = ((n as f64 + 1.0) * p).floor();
    if m <= 0.0 {
        0
    } else {
        (m as u64).min(n)
    }
}

/// Σ pmf(j) for j from `from` moving up (or down) to the support's end;
/// `from` must be at or beyond the mode in the direction of travel, so the terms
/// only shrink.
fn tail_sum(from: u64, n: u64, p: f64, up: bool) -> f64 {
    let q = 1.0 - p;
    let mut j = from;
    let mut term = pmf(j, n, p);
    let mut sum = 0.0;
    let mut since_refresh = 0;
    loop {
        sum += term;
        // Ratio of the next term to this one.
        let r = if up {
            if j >= n {
                break;
            }
            (n - j) as f64 / (j + 1) as f64 * (p / q)
        } else {
            if j == 0 {
                break;
            }
            j as f64 / (n - j + 1) as f64 * (q / p)
        };
        // Log-concavity: the ratios keep falling, so the rest is at most a
        // geometric series.
        if r < 1.0 && term * r / (1.0 - r) <= sum * 1e-18 {
            break;
        }
        if term == 0.0 && r <= 1.0 {
            break;
        }
        j = if up { j + 1 } else { j - 1 };
        since_refresh += 1;
        term = if since_refresh == 16 {
            since_refresh = 0;
            pmf(j, n, p)
        } else {
            term * r
        };
    }
    sum
}

/// P(X ≤ k) for X ~ Binomial(n, p); `k` may be negative (then 0).
pub fn cdf(k: i64, n: u64, p: f64) -> f64 {
    let Ok(k) = u64::try_from(k) else {
        return 0.0;
    };
    if k >= n {
        return 1.0;
    }
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    if k <= mode(n, p) {
        tail_sum(k, n, p, false)
    } else {
        1.0 - tail_sum(k + 1, n, p, true)
    }
}

/// P(X > k) for X ~ Binomial(n, p) (SciPy's `binom.sf(k, n, p)`); `k` may be
/// negative (then 1).
pub fn sf(k: i64, n: u64, p: f64) -> f64 {
    let Ok(k) = u64::try_from(k) else {
        return 1.0;
    };
    if k >= n {
        return 0.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    if k + 1 >= mode(n, p) {
        tail_sum(k + 1, n, p, true)
    } else {
        1.0 - tail_sum(k, n, p, false)
    }
}

/// SciPy's `_binary_search_for_binom_tst`: the `i` in `lo..=hi` with `a(i) ≤ d <
/// a(i + 1)` for `a` ascending over the range (may return `lo - 1`).
fn binary_search(a: impl Fn(i64) -> f64, d: f64, mut lo: i64, mut hi: i64) -> i64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let midval = a(mid);
        if midval < d {
            lo = mid + 1;
        } else if midval > d {
            hi = mid - 1;
        } else {
            return mid;
        }
    }
    if a(lo) <= d {
        lo
    } else {
        lo - 1
    }
}

fn pmf_i(x: i64, n: u64, p: f64) -> f64 {
    u64::try_from(x).map_or(0.0, |x| pmf(x, n, p))
}

/// The two-sided p-value of the exact binomial test of `k` successes in `n` trials
/// against success probability `p`, as `scipy.stats.binomtest(k, n, p).pvalue`.
///
/// ```
/// use trygg_analytics::binomial::binom_test_two_sided;
/// // 0 heads in 4 fair tosses: P(0) + P(4) = 2/16.
/// assert_eq!(binom_test_two_sided(0, 4, 0.5), Ok(0.125));
/// ```
pub fn binom_test_two_sided(k: u64, n: u64, p: f64) -> Result<f64, BinomialError> {
    if n == 0 {
        return Err(BinomialError::NoTrials);
    }
    if k > n {
        return Err(BinomialError::TooManySuccesses { k, n });
    }
    if !(0.0..=1.0).contains(&p) {
        return Err(BinomialError::Probability(p));
    }
    let (kf, nf) = (k as f64, n as f64);
    let ni = i64::try_from(n).map_err(|_| BinomialError::TooManySuccesses { k, n })?;
    let ki = i64::try_from(k).map_err(|_| BinomialError::TooManySuccesses { k, n })?;
    let d = pmf(k, n, p);
    let pn = p * nf;
    let pval = if kf == pn {
        1.0
    } else if kf < pn {
        let ix = binary_search(|x| -pmf_i(x, n, p), -d * RERR, pn.ceil() as i64, ni);
        let y = ni - ix + i64::from(d * RERR == pmf_i(ix, n, p));
        cdf(ki, n, p) + sf(ni - y, n, p)
    } else {
        let ix = binary_search(|x| pmf_i(x, n, p), d * RERR, 0, pn.floor() as i64);
        let y = ix + 1;
        cdf(y - 1, n, p) + sf(ki - 1, n, p)
    };
    Ok(pval.min(1.0))
}

/// The two-sided p-value of the exact conditional test that counts `c1` over
/// exposure `t1` and `c2` over exposure `t2` come from equal Poisson rates:
/// `binomtest(c1, c1 + c2, t1 / (t1 + t2))`. `None` when there is nothing to test
/// (both counts 0) or an exposure is not a positive finite number.
///
/// ```
/// use trygg_analytics::binomial::poisson_rate_test;
/// // 30 events this week against 12 last week: a significant rise.
/// let p = poisson_rate_test(30, 7.0, 12, 7.0).expect("counts to test");
/// assert!(p < 0.01);
/// ```
pub fn poisson_rate_test(c1: u64, t1: f64, c2: u64, t2: f64) -> Option<f64> {
    if !(t1.is_finite() && t2.is_finite() && t1 > 0.0 && t2 > 0.0) {
        return None;
    }
    let n = c1.checked_add(c2)?;
    binom_test_two_sided(c1, n, t1 / (t1 + t2)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || ((a - b) / b).abs() <= rel
    }

    fn binomial_coefficient(n: u32, k: u32) -> u128 {
        let k = k.min(n - k);
        let mut c: u128 = 1;
        for i in 0..k {
            // Exact at every step: c · (n − i) is divisible by (i + 1).
            c = c * u128::from(n - i) / u128::from(i + 1);
        }
        c
    }

    /// The two-sided p-value by SciPy's definition, in exact integer arithmetic:
    /// with p = a / (a + b), P(X = j) = C(n, j) a^j b^(n−j) / (a + b)^n, so every
    /// comparison is between integers. Returns `None` where SciPy's relative
    /// tolerance (1e-7) could make a difference, so that the reference is exact.
    fn exact_p(k: u32, n: u32, a: u32, b: u32) -> Option<f64> {
        let w: Vec<u128> = (0..=n)
            .map(|j| binomial_coefficient(n, j) * u128::from(a).pow(j) * u128::from(b).pow(n - j))
            .collect();
        let total = u128::from(a + b).pow(n);
        let observed = w[k as usize];
        let mut sum: u128 = 0;
        for &wj in &w {
            if wj <= observed {
                sum += wj;
            } else if (wj - observed) as f64 <= observed as f64 * 2e-7 {
                return None;
            }
        }
        Some(sum as f64 / total as f64)
    }

    #[test]
    fn pmf_is_exact_for_small_n() {
        // p = 1/3: P(X = j) = C(n, j) 2^(n−j) / 3^n.
        for n in [1u32, 2, 5, 17, 40, 80] {
            let total = 3u128.pow(n) as f64;
            for j in 0..=n {
                let exact = (binomial_coefficient(n, j) * 2u128.pow(n - j)) as f64 / total;
                let ours = pmf(u64::from(j), u64::from(n), 1.0 / 3.0);
                assert!(close(ours, exact, 5e-14), "n={n} j={j}: {ours} vs {exact}");
            }
        }
        assert_eq!(pmf(3, 2, 0.5), 0.0);
        assert_eq!(pmf(0, 5, 0.0), 1.0);
        assert_eq!(pmf(5, 5, 1.0), 1.0);
    }

    #[test]
    fn p_values_agree_with_exact_enumeration() {
        // Exposures a : b as the change tests use them (31 vs 30 days, 31 vs 28, equal
        // weeks, 365 vs 366 days would overflow u128 at these n: keep (a+b)^n < 2^127).
        let cases: &[(u32, u32, u32)] = &[
            (1, 1, 100),
            (31, 30, 21),
            (31, 28, 21),
            (1, 2, 80),
            (2, 3, 54),
            (7, 3, 38),
        ];
        let mut checked = 0;
        for &(a, b, max_n) in cases {
            for n in 1..=max_n {
                for k in 0..=n {
                    let p = f64::from(a) / f64::from(a + b);
                    let Some(exact) = exact_p(k, n, a, b) else {
                        continue;
                    };
                    let ours =
                        binom_test_two_sided(u64::from(k), u64::from(n), p).expect("valid input");
                    let exact = exact.min(1.0);
                    assert!(
                        close(ours, exact, 1e-12),
                        "k={k} n={n} p={a}/{}: {ours} vs {exact}",
                        a + b
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 5000, "{checked}");
    }

    #[test]
    fn p_values_agree_with_high_precision_references() {
        // Computed independently with mpmath at 50 digits by SciPy's rule (sum of
        // all pmf ≤ pmf(k)·(1 + 1e-7)), with p = t1 / (t1 + t2) as in binomtest.
        let t_mar = f64::from(31 * 86_400 - 3600); // March 2024, spring switch
        let t_feb = f64::from(29 * 86_400); // February 2024
        let cases: &[(u64, u64, f64, f64)] = &[
            // k, n, p, p-value
            (3, 15, 0.1, 0.18406106910639103),
            (120, 200, 31.0 / 61.0, 0.010729905516785602),
            (80, 200, 31.0 / 61.0, 0.0023100593286939663),
            (5000, 9000, 0.5, 5.581401567013917e-26),
            (0, 40, 0.5, 1.8189894035458565e-12),
            (17, 20, 0.3, 5.426947467863097e-07),
            (40_000, 100_000, 0.41, 1.224950901029232e-10),
            (1234, 2300, t_mar / (t_mar + t_feb), 0.05491623104067937),
            (151_000, 300_000, 0.5, 0.0002625769434114314),
            (150_000, 300_000, 0.5, 1.0),
            (2, 3, 0.5, 1.0),
        ];
        for &(k, n, p, expected) in cases {
            let ours = binom_test_two_sided(k, n, p).expect("valid input");
            assert!(
                close(ours, expected, 1e-12),
                "k={k} n={n} p={p}: {ours} vs {expected}"
            );
        }
    }

    #[test]
    fn tails_agree_with_direct_sums() {
        let mut rng = Pcg64::seed_from_u64(3);
        for _ in 0..300 {
            let n: u64 = rng.random_range(1..3000);
            let p: f64 = rng.random_range(0.01..0.99);
            let k: i64 = rng.random_range(-1..=(n as i64));
            let direct_lower: f64 = (0..=k.max(-1)).map(|j| pmf(j as u64, n, p)).sum();
            let direct_upper: f64 = ((k + 1).max(0)..=n as i64)
                .map(|j| pmf(j as u64, n, p))
                .sum();
            let (c, s) = (cdf(k, n, p), sf(k, n, p));
            // Absolute agreement, and relative in the small tail.
            assert!((c - direct_lower).abs() < 1e-13, "cdf {k} {n} {p}");
            assert!((s - direct_upper).abs() < 1e-13, "sf {k} {n} {p}");
            if direct_lower < 0.5 {
                assert!(
                    close(c, direct_lower, 1e-12),
                    "cdf {k} {n} {p}: {c} vs {direct_lower}"
                );
            }
            if direct_upper < 0.5 {
                assert!(
                    close(s, direct_upper, 1e-12),
                    "sf {k} {n} {p}: {s} vs {direct_upper}"
                );
            }
        }
    }

    #[test]
    fn poisson_rate_test_edges() {
        assert_eq!(poisson_rate_test(0, 1.0, 0, 1.0), None);
        assert_eq!(poisson_rate_test(3, 0.0, 1, 1.0), None);
        assert_eq!(poisson_rate_test(3, f64::NAN, 1, 1.0), None);
        // Equal counts over equal exposures: p = 1.
        assert_eq!(poisson_rate_test(7, 1.0, 7, 1.0), Some(1.0));
        // Symmetry: swapping the periods gives the same p-value for equal exposures.
        let a = poisson_rate_test(12, 86_400.0, 30, 86_400.0);
        let b = poisson_rate_test(30, 86_400.0, 12, 86_400.0);
        assert_eq!(a, b);
        assert!(a.is_some_and(|p| p > 0.0 && p < 0.01));
        assert!(binom_test_two_sided(3, 2, 0.5).is_err());
        assert!(binom_test_two_sided(0, 0, 0.5).is_err());
        assert!(binom_test_two_sided(1, 2, 1.5).is_err());
    }
}
