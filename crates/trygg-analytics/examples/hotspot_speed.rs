//! Hand-run timing of the hotspot statistics on synthetic data (no assertions):
//!
//! ```text
//! cargo run --release -p trygg-analytics --example hotspot_speed [events]
//! ```
//!
//! Builds a view of `events` (default 2,000,000) point events over one year on
//! Stockholm's land (background plus 40 Gaussian clusters, seeded), then times the
//! 250 m study area, binning, Gi* (analytical and with 999 permutations), KDE and a
//! 52-week emerging hot spot analysis.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use trygg_analytics::emerging::{emerging, slices_ending, EmergingParams, SliceStep};
use trygg_analytics::gistar::{hotspots, HotspotParams};
use trygg_analytics::grid::SquareGrid;
use trygg_analytics::kde::{kde, KdeParams};
use trygg_analytics::study_area::StudyArea;
use trygg_model::{NormCategory, Precision, Source};
use trygg_spatial::AreaIndex;
use trygg_store::EventViewBuilder;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let areas = trygg_ingest::areas::stockholm_default().expect("shipped areas");
    let land_geoms: Vec<_> = areas.land.iter().map(|f| f.geometry.clone()).collect();
    let land = AreaIndex::new(&land_geoms);
    let b = land.bounds().expect("land");

    let t = Instant::now();
    let mut rng = Pcg64::seed_from_u64(2026);
    let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
    let slices = slices_ending(SliceStep::Week, end, 52).expect("slices");
    let (t0, t1) = (slices[0].from_utc, slices[51].to_utc);
    let clusters: Vec<(f64, f64, f64)> = (0..40)
        .map(|_| loop {
            let x = b.min_x + rng.random::<f64>() * (b.max_x - b.min_x);
            let y = b.min_y + rng.random::<f64>() * (b.max_y - b.min_y);
            if land.locate(x, y).is_some() {
                break (x, y, 100.0 + 300.0 * rng.random::<f64>());
            }
        })
        .collect();
    let mut builder = EventViewBuilder::new((b.min_x.floor(), b.min_y.floor()));
    let mut made = 0;
    while made < n {
        let (x, y) = if rng.random::<f64>() < 0.3 {
            let (cx, cy, r) = clusters[rng.random_range(0..clusters.len())];
            // Box-Muller Gaussian around the cluster centre.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let rad = r * (-2.0 * u1.ln()).sqrt();
            (
                cx + rad * (std::f64::consts::TAU * u2).cos(),
                cy + rad * (std::f64::consts::TAU * u2).sin(),
            )
        } else {
            (
                b.min_x + rng.random::<f64>() * (b.max_x - b.min_x),
                b.min_y + rng.random::<f64>() * (b.max_y - b.min_y),
            )
        };
        if land.locate(x, y).is_none() {
            continue;
        }
        let time = t0 + (rng.random::<f64>() * (t1 - t0) as f64) as i64;
        builder.push(
            time,
            x,
            y,
            Source::Crimes,
            NormCategory::Other,
            Precision::Exact,
            "x",
            None,
        );
        made += 1;
    }
    let view = builder.build();
    println!(
        "synthetic view: {} point events in {:.2} s",
        view.len(),
        t.elapsed().as_secs_f64()
    );
    let all: Vec<u32> = (0..view.len() as u32).collect();

    let t = Instant::now();
    let study =
        StudyArea::square(SquareGrid::new(250.0).expect("grid"), &land).expect("study area");
    println!(
        "study area: {} cells of 250 m in {:.1} ms",
        study.len(),
        ms(t)
    );

    for _ in 0..2 {
        let t = Instant::now();
        let counts = study.bin(&view, all.iter().copied()).expect("bin");
        let binning = ms(t);
        let res = hotspots(&study, &counts, &HotspotParams::default()).expect("gi*");
        println!(
            "Gi* analytical incl. binning: {:.1} ms (binning {binning:.1} ms); {} hot cells",
            ms(t),
            res.classes.hot_90 + res.classes.hot_95 + res.classes.hot_99
        );
        let t = Instant::now();
        let counts = study.bin(&view, all.iter().copied()).expect("bin");
        let params = HotspotParams {
            permutations: 999,
            ..HotspotParams::default()
        };
        let res = hotspots(&study, &counts, &params).expect("gi* perm");
        println!(
            "Gi* with 999 permutations incl. binning: {:.1} ms (p_sim of cell 0: {:?})",
            ms(t),
            res.cells[0].p_sim
        );
    }
    for h in [250.0, 500.0, 1000.0] {
        let t = Instant::now();
        let res = kde(
            &study,
            &view,
            all.iter().copied(),
            &KdeParams { bandwidth_m: h },
        )
        .expect("kde");
        let max = res
            .cells
            .iter()
            .map(|c| c.events_per_km2)
            .fold(0.0, f64::max);
        println!("KDE h = {h} m: {:.1} ms (max {max:.0} events/km²)", ms(t));
    }
    for k in [0, 1] {
        let t = Instant::now();
        let params = EmergingParams {
            time_steps: k,
            ..EmergingParams::default()
        };
        let res = emerging(&study, &view, all.iter().copied(), &slices, &params).expect("emerging");
        let found: Vec<String> = res
            .patterns
            .iter()
            .filter(|p| p.cells > 0)
            .map(|p| format!("{}: {}", p.pattern.label(), p.cells))
            .collect();
        println!(
            "emerging, 52 weekly slices, time_steps {k}: {:.1} ms ({})",
            ms(t),
            found.join(", ")
        );
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
