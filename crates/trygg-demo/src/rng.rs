//! Small, deterministic sampling helpers over a seeded `Pcg64`: normal and Poisson
//! variates, weighted choice from a cumulative table, and per-purpose RNG streams.
//!
//! Every random draw in the generator goes through a `Pcg64` derived from the user's
//! seed and a fixed purpose label, so adding draws to one source never changes the
//! files of another.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// A generator for one purpose, derived from the run's seed and a label.
pub(crate) fn stream(seed: u64, label: &str) -> Pcg64 {
    // FNV-1a over the label, mixed with the seed by SplitMix64: stable across
    // platforms and Rust versions (unlike `std::hash`).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Pcg64::seed_from_u64(splitmix(seed ^ splitmix(h)))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A standard normal variate (Box-Muller).
pub(crate) fn normal(rng: &mut Pcg64) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson variate with mean `lambda` (exact below 30, normal approximation above).
pub(crate) fn poisson(rng: &mut Pcg64, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u32;
        let mut p: f64 = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        k
    } else {
        let v = lambda + lambda.sqrt() * normal(rng);
        v.round().max(0.0) as u32
    }
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut Pcg64, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A table for drawing indices with given non-negative weights.
#[derive(Debug, Clone)]
pub(crate) struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// Builds the table; all-zero weights give a table that always draws index 0.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += if w.is_finite() && w > 0.0 { w } else { 0.0 };
                total
            })
            .collect();
        Weighted { cumulative }
    }

    /// Draws an index with probability proportional to its weight.
    pub fn draw(&self, rng: &mut Pcg64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return 0;
        }
        let u = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }
}

/// Picks one item of a slice uniformly.
pub(crate) fn pick<'a, T>(rng: &mut Pcg64, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_distinct() {
        let a: u64 = stream(1, "crimes").random();
        let b: u64 = stream(1, "crimes").random();
        let c: u64 = stream(1, "fires").random();
        let d: u64 = stream(2, "crimes").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn poisson_and_normal_have_the_right_moments() {
        let mut rng = stream(7, "test");
        for lambda in [0.5, 4.0, 80.0] {
            let n = 20_000;
            let mean = (0..n)
                .map(|_| f64::from(poisson(&mut rng, lambda)))
                .sum::<f64>()
                / f64::from(n);
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.05,
                "{lambda}: {mean}"
            );
        }
        let xs: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / 20_000.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 20_000.0;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }

    #[test]
    fn weighted_draws_follow_the_weights_and_skip_zeros() {
        let mut rng = stream(3, "w");
        let w = Weighted::new([1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[w.draw(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((ratio - 3.0).abs() < 0.2, "{counts:?}");
    }
}
