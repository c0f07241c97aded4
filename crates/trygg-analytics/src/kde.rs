//! Kernel density of point events at the study cells' centres, with the quartic
//! (biweight) kernel
//!
//! K(d) = 3 / (π h²) · (1 − d² / h²)²  for d < h, 0 beyond,
//!
//! where h is the bandwidth in metres. K integrates to 1 over the plane, so the sum
//! over events is a density in events per m²; results are reported in **events per
//! km²** (× 10⁶). This is the kernel of ArcGIS's Kernel Density (Silverman 1986,
//! eq. 4.5) without its population field.
//!
//! Only point events (exact, address, street) are used. Unlike the counts, the
//! density also uses point events that lie in no study cell (in water or just
//! outside the land layer): they are real locations and raise the density of the
//! land cells within h of them; `binning.outside_study_area` says how many there
//! were.
//!
//! Speed: the events are bucketed into a uniform grid of h-sized buckets, so each
//! cell centre visits only the 3 × 3 buckets that can hold events within h.

use std::f64::consts::PI;

use serde::Serialize;
use trygg_store::EventView;

use crate::hex::LonLatProjection;
use crate::par;
use crate::study_area::{for_each_point, BinningSummary, CellSystem, StudyArea, StudyAreaError};

/// Errors of kernel density.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KdeError {
    /// The bandwidth is not a positive, finite number of metres.
    #[error("bandwidth must be a positive number of metres, not {0}")]
    InvalidBandwidth(f64),
    /// Counting events in the study area failed.
    #[error(transparent)]
    StudyArea(#[from] StudyAreaError),
}

/// Parameters of a density surface.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KdeParams {
    /// Kernel radius h, metres.
    pub bandwidth_m: f64,
}

/// Density at one study cell's centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KdeCell {
    /// Cell id.
    pub cell_id: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
    /// Kernel density at the centre, events per km².
    pub events_per_km2: f64,
}

/// A density surface over the study cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KdeResult {
    /// The parameters used.
    pub params: KdeParams,
    /// The kernel ("quartic").
    pub kernel: &'static str,
    /// The unit of the values ("events_per_km2").
    pub unit: &'static str,
    /// The cells' definition.
    pub cell_system: CellSystem,
    /// What happened to the events (`binned` + `outside_study_area` = points used).
    pub binning: BinningSummary,
    /// One entry per study cell, in the study area's order.
    pub cells: Vec<KdeCell>,
}

/// The quartic kernel at squared distance `d2` for bandwidth `h`, per m².
pub fn quartic(d2: f64, h: f64) -> f64 {
    let h2 = h * h;
    if d2 < h2 {
        let u = 1.0 - d2 / h2;
        3.0 / (PI * h2) * u * u
    } else {
        0.0
    }
}

/// Points bucketed on a uniform grid, in compressed form.
struct Buckets {
    min_x: f64,
    min_y: f64,
    size: f64,
    nx: usize,
    ny: usize,
    starts: Vec<usize>,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

const MAX_BUCKETS: f64 = 4_000_000.0;

impl Buckets {
    fn new(points: &[(f64, f64)], h: f64) -> Buckets {
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in points {
            min_x = min_x.min(x);
            min_y = min_y.min(y);
            max_x = max_x.max(x);
            max_y = max_y.max(y);
        }
        if points.is_empty() {
            (min_x, min_y, max_x, max_y) = (0.0, 0.0, 0.0, 0.0);
        }
        // Buckets of h, enlarged if a tiny bandwidth over a large extent would make
        // too many (the search then spans more buckets; results are unchanged).
        let area = (max_x - min_x + h) * (max_y - min_y + h);
        let size = h.max((area / MAX_BUCKETS).sqrt());
        let nx = ((max_x - min_x) / size).floor() as usize + 1;
        let ny = ((max_y - min_y) / size).floor() as usize + 1;
        let key = |x: f64, y: f64| {
            let bx = (((x - min_x) / size).floor() as usize).min(nx - 1);
            let by = (((y - min_y) / size).floor() as usize).min(ny - 1);
            by * nx + bx
        };
        let mut starts = vec![0usize; nx * ny + 1];
        for &(x, y) in points {
            starts[key(x, y) + 1] += 1;
        }
        for i in 0..nx * ny {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut xs = vec![0.0; points.len()];
        let mut ys = vec![0.0; points.len()];
        for &(x, y) in points {
            let k = key(x, y);
            xs[fill[k]] = x;
            ys[fill[k]] = y;
            fill[k] += 1;
        }
        Buckets {
            min_x,
            min_y,
            size,
            nx,
            ny,
            starts,
            xs,
            ys,
        }
    }

    /// Σ (1 − d²/h²)² over points within h of (x, y).
    fn sum(&self, x: f64, y: f64, h: f64) -> f64 {
        if self.xs.is_empty() {
            return 0.0;
        }
        let h2 = h * h;
        let lo = |v: f64, min: f64| ((v - h - min) / self.size).floor().max(0.0);
        let hi =
            |v: f64, min: f64, n: usize| ((v + h - min) / self.size).floor().min((n - 1) as f64);
        let (bx0, bx1) = (lo(x, self.min_x), hi(x, self.min_x, self.nx));
        let (by0, by1) = (lo(y, self.min_y), hi(y, self.min_y, self.ny));
        if bx0 > bx1 || by0 > by1 {
            return 0.0;
        }
        let (bx0, bx1, by0, by1) = (bx0 as usize, bx1 as usize, by0 as usize, by1 as usize);
        let mut total = 0.0;
        for by in by0..=by1 {
            let first = self.starts[by * self.nx + bx0];
            let last = self.starts[by * self.nx + bx1 + 1];
            for (&px, &py) in self.xs[first..last].iter().zip(&self.ys[first..last]) {
                let dx = px - x;
                let dy = py - y;
                let d2 = dx * dx + dy * dy;
                if d2 < h2 {
                    let u = 1.0 - d2 / h2;
                    total += u * u;
                }
            }
        }
        total
    }
}

/// Quartic kernel density (events per km²) of `points` at each of `targets`.
pub fn density_at(
    points: &[(f64, f64)],
    targets: &[(f64, f64)],
    bandwidth_m: f64,
) -> Result<Vec<f64>, KdeError> {
    if !(bandwidth_m.is_finite() && bandwidth_m > 0.0) {
        return Err(KdeError::InvalidBandwidth(bandwidth_m));
    }
    let h = bandwidth_m;
    let buckets = Buckets::new(points, h);
    let scale = 3.0 / (PI * h * h) * 1e6;
    Ok(par::map_range(targets.len(), 256, |range| {
        range
            .map(|i| {
                let (x, y) = targets[i];
                buckets.sum(x, y, h) * scale
            })
            .collect()
    }))
}

/// Kernel density of the point events among `events` at the centres of square
/// study cells (hex study areas need [`kde_with`]).
pub fn kde<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    params: &KdeParams,
) -> Result<KdeResult, KdeError>
where
    I: IntoIterator<Item = u32>,
{
    kde_impl(study, view, events, params, None)
}

/// [`kde`] for any study area, with the lon/lat projection hex cells need.
pub fn kde_with<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    params: &KdeParams,
    proj: &dyn LonLatProjection,
) -> Result<KdeResult, KdeError>
where
    I: IntoIterator<Item = u32>,
{
    kde_impl(study, view, events, params, Some(proj))
}

fn kde_impl<I>(
    study: &StudyArea,
    view: &EventView,
    events: I,
    params: &KdeParams,
    proj: Option<&dyn LonLatProjection>,
) -> Result<KdeResult, KdeError>
where
    I: IntoIterator<Item = u32>,
{
    if !(params.bandwidth_m.is_finite() && params.bandwidth_m > 0.0) {
        return Err(KdeError::InvalidBandwidth(params.bandwidth_m));
    }
    let locator = study.locator(proj)?;
    let mut summary = BinningSummary::default();
    let mut points = Vec::new();
    for_each_point(view, events, &mut summary, |_, x, y, s| {
        if locator.locate(x, y)?.is_some() {
            s.binned += 1;
        } else {
            s.outside_study_area += 1;
        }
        points.push((x, y));
        Ok(())
    })?;
    let targets: Vec<(f64, f64)> = study.cells().iter().map(|c| (c.x, c.y)).collect();
    let density = density_at(&points, &targets, params.bandwidth_m)?;
    let cells = study
        .cells()
        .iter()
        .zip(density)
        .map(|(c, d)| KdeCell {
            cell_id: c.id.clone(),
            x: c.x,
            y: c.y,
            events_per_km2: d,
        })
        .collect();
    Ok(KdeResult {
        params: *params,
        kernel: "quartic",
        unit: "events_per_km2",
        cell_system: study.system(),
        binning: summary,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    fn direct(points: &[(f64, f64)], targets: &[(f64, f64)], h: f64) -> Vec<f64> {
        targets
            .iter()
            .map(|&(x, y)| {
                points
                    .iter()
                    .map(|&(px, py)| quartic((px - x).powi(2) + (py - y).powi(2), h))
                    .sum::<f64>()
                    * 1e6
            })
            .collect()
    }

    #[test]
    fn kernel_integrates_to_one() {
        // Midpoint rule over the disc of radius h.
        let h = 300.0;
        let step = 1.0;
        let mut total = 0.0;
        let n = (h / step) as i64;
        for i in -n..n {
            for j in -n..n {
                let x = (i as f64 + 0.5) * step;
                let y = (j as f64 + 0.5) * step;
                total += quartic(x * x + y * y, h) * step * step;
            }
        }
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        assert_eq!(quartic(h * h, h), 0.0);
        assert!((quartic(0.0, h) - 3.0 / (PI * h * h)).abs() < 1e-18);
    }

    #[test]
    fn fast_equals_direct_sum() {
        let mut rng = Pcg64::seed_from_u64(42);
        let mut points = Vec::new();
        // Clusters plus background over 10 km × 10 km.
        for _ in 0..3000 {
            points.push((
                670_000.0 + rng.random::<f64>() * 10_000.0,
                6_575_000.0 + rng.random::<f64>() * 10_000.0,
            ));
        }
        for &(cx, cy) in &[(673_000.0, 6_578_000.0), (677_500.0, 6_581_000.0)] {
            for _ in 0..2000 {
                points.push((
                    cx + rng.random::<f64>() * 400.0 - 200.0,
                    cy + rng.random::<f64>() * 400.0 - 200.0,
                ));
            }
        }
        let targets: Vec<(f64, f64)> = (0..40)
            .flat_map(|r| {
                (0..40).map(move |c| (669_125.0 + c as f64 * 300.0, 6_574_125.0 + r as f64 * 300.0))
            })
            .collect();
        for h in [150.0, 500.0, 1234.5, 20_000.0] {
            let fast = density_at(&points, &targets, h).unwrap();
            let slow = direct(&points, &targets, h);
            for (f, s) in fast.iter().zip(&slow) {
                if *s == 0.0 {
                    assert_eq!(*f, 0.0);
                } else {
                    assert!(((f - s) / s).abs() < 1e-9, "h {h}: {f} vs {s}");
                }
            }
        }
        // A tiny bandwidth forces enlarged buckets; still exact.
        let fast = density_at(&points, &targets, 2.0).unwrap();
        let slow = direct(&points, &targets, 2.0);
        assert_eq!(fast.len(), slow.len());
        for (f, s) in fast.iter().zip(&slow) {
            assert!((f - s).abs() <= 1e-9 * s.abs());
        }
        assert_eq!(
            density_at(&[], &targets, 100.0).unwrap(),
            vec![0.0; targets.len()]
        );
        assert!(density_at(&points, &targets, 0.0).is_err());
        assert!(density_at(&points, &targets, f64::NAN).is_err());
    }
}
