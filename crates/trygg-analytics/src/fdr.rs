//! The Benjamini-Hochberg false-discovery-rate adjustment of a family of p-values.
//!
//! `adjusted[i] = min over ranks r ≥ rank(i) of (m / r) · p_(r)`, capped at 1, the
//! same numbers as R's `p.adjust(p, "BH")` and statsmodels' `fdrcorrection`.
//! Rejecting every hypothesis with `adjusted ≤ q` is exactly the BH step-up
//! procedure at FDR level q, which is also what ArcGIS's "Apply False Discovery
//! Rate (FDR) Correction" does per confidence level (90, 95, 99 %).

/// BH-adjusted p-values, in the input order. Non-finite p-values are treated as 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    let mut order: Vec<usize> = (0..m).collect();
    // Stable sort: equal p-values keep their input order (the result is the same
    // for ties either way, which keeps it deterministic regardless).
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut adjusted = vec![1.0; m];
    let mut running = 1.0f64;
    for (pos, &i) in order.iter().enumerate().rev() {
        let rank = (pos + 1) as f64;
        let value = (clean(p[i]) * m as f64 / rank).min(1.0);
        running = running.min(value);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_r_p_adjust_bh() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5, 0.2), "BH")
        // [1] 0.030 0.060 0.060 0.030 0.500 0.240
        let p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2];
        let want = [0.03, 0.06, 0.06, 0.03, 0.5, 0.24];
        for (a, b) in benjamini_hochberg(&p).iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }

    #[test]
    fn edge_cases() {
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.3]), vec![0.3]);
        assert_eq!(benjamini_hochberg(&[f64::NAN, 0.0]), vec![1.0, 0.0]);
        // Adjusted values never fall below the raw ones and never exceed 1.
        let p: Vec<f64> = (1..=100).map(|i| (i as f64 / 97.0).min(1.0)).collect();
        for (a, raw) in benjamini_hochberg(&p).iter().zip(&p) {
            assert!(*a >= *raw && *a <= 1.0);
        }
    }
}
