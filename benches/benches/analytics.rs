//! Analytics benchmarks on 10M synthetic events over five years
//! (`trygg_benches::synthetic_view`), one-year windows of about 2M events:
//!
//! - counts by stadsdel × month for a filtered one-year window (target < 50 ms);
//! - Gi* on the 250 m grid over Stockholm's land (~3,000 cells), binning included
//!   (targets: < 100 ms analytical, < 400 ms with 999 permutations);
//! - emerging hotspots over 52 weekly slices (target < 1 s).
//!
//! Run with `./dev bench` (or `cargo bench -p trygg-benches --bench analytics`);
//! numbers are recorded in docs/benchmarks.md. `TRYGG_BENCH_EVENTS` changes the size.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use trygg_analytics::areas::AreaLayer;
use trygg_analytics::counts::{area_period_counts, GroupBy};
use trygg_analytics::emerging::{emerging, slices_ending, EmergingParams, SliceStep};
use trygg_analytics::gistar::{hotspots, HotspotParams, PSource, DEFAULT_PERMUTATIONS};
use trygg_analytics::grid::SquareGrid;
use trygg_analytics::selection::Selection;
use trygg_analytics::study_area::{land_index, Neighbourhood, StudyArea};
use trygg_analytics::window::{PeriodSeries, WindowKind};
use trygg_model::{NormCategory, Source};

fn benches(c: &mut Criterion) {
    let n = trygg_benches::bench_events() as usize;
    let view = trygg_benches::synthetic_view(n, 20_260_101, 2021, 2025);
    println!(
        "{n} events: {:.1} bytes per event in the view",
        view.bytes_per_event()
    );
    let (stadsdelar, land) = trygg_benches::stockholm_layers();
    let layer = AreaLayer::stadsdel(&stadsdelar);
    let study = StudyArea::square(SquareGrid::new(250.0).expect("grid"), &land_index(&land))
        .expect("study area");
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let day_utc = |d: NaiveDate| {
        trygg_model::time::stockholm_local(d.and_hms_opt(0, 0, 0).expect("midnight")).timestamp()
    };
    let year = Selection {
        from_utc: Some(day_utc(date(2025, 1, 1))),
        to_utc: Some(day_utc(date(2026, 1, 1))),
        ..Selection::all()
    };

    let mut group = c.benchmark_group("analytics_10m");
    group.sample_size(20);
    let months = PeriodSeries::covering(WindowKind::Month, date(2025, 1, 1), date(2025, 12, 31))
        .expect("months");
    let filtered = Selection {
        sources: Some(vec![Source::Crimes, Source::PoliceEvents]),
        categories: Some(vec![
            NormCategory::Violence,
            NormCategory::Robbery,
            NormCategory::Theft,
        ]),
        ..Selection::all()
    };
    group.bench_function("counts_stadsdel_x_month_filtered_1y", |b| {
        b.iter(|| {
            black_box(area_period_counts(
                &view,
                &layer,
                &months,
                &filtered,
                GroupBy::default(),
            ))
        });
    });
    group.bench_function("gistar_250m_1y_analytical", |b| {
        b.iter(|| {
            let binned = study.bin(&view, year.indices(&view)).expect("bin");
            black_box(hotspots(&study, &binned, &HotspotParams::default()).expect("gi*"))
        });
    });
    let permuted = HotspotParams {
        permutations: DEFAULT_PERMUTATIONS,
        p_source: PSource::Permutation,
        ..HotspotParams::default()
    };
    group.bench_function("gistar_250m_1y_999_permutations", |b| {
        b.iter(|| {
            let binned = study.bin(&view, year.indices(&view)).expect("bin");
            black_box(hotspots(&study, &binned, &permuted).expect("gi*"))
        });
    });
    write_esda_input(&study, &study.bin(&view, year.indices(&view)).expect("bin"));
    let slices = slices_ending(SliceStep::Week, date(2025, 12, 28), 52).expect("slices");
    let in_slices = Selection {
        from_utc: Some(slices[0].from_utc),
        to_utc: Some(slices[51].to_utc),
        ..Selection::all()
    };
    group.bench_function("emerging_250m_52_weeks", |b| {
        b.iter(|| {
            black_box(
                emerging(
                    &study,
                    &view,
                    in_slices.indices(&view),
                    &slices,
                    &EmergingParams::default(),
                )
                .expect("emerging"),
            )
        });
    });
    group.finish();
}

/// Writes the one-year 250 m grid (counts and queen neighbours) for
/// `benches/gistar_vs_esda.py`, which times esda on exactly this input.
fn write_esda_input(study: &StudyArea, binned: &trygg_analytics::study_area::BinnedCounts) {
    let neighbours = study
        .neighbours(Neighbourhood::Queen)
        .expect("neighbours")
        .to_lists();
    let ids: Vec<&str> = study.cells().iter().map(|c| c.id.as_str()).collect();
    let input = serde_json::json!({"ids": ids, "y": binned.counts, "neighbours": neighbours});
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("gistar_input.json"), input.to_string()));
    if let Err(e) = written {
        eprintln!("could not write the esda comparison input: {e}");
    }
}

criterion_group!(analytics_benches, benches);
criterion_main!(analytics_benches);
