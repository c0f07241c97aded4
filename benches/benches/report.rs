//! The weekly report (issue 12): `weekly_report_3y` makes the city-wide report
//! of one week over three years of demo data at Stockholm's volumes (scale 1),
//! every file included: the numbers (Gi*, 12-week emerging hotspots, counts
//! against four weeks and a year earlier, matrix, series, survey), JSON, CSV,
//! XLSX, the static map, the HTML, and the PDF printed by headless Chromium.
//! Target: under 5 s. `weekly_numbers_3y` is the query alone.
//!
//! The store is generated and ingested once under `target/bench-data/`. Run
//! with `cargo bench -p trygg-benches --bench report`; numbers are recorded in
//! docs/benchmarks.md.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use trygg_query::charts::Lang;
use trygg_query::{Job, Options, Policy, Snapshot, WeeklyRequest};
use trygg_store::Store;

fn benches(c: &mut Criterion) {
    let path = trygg_benches::demo_store(3, 1.0);
    let mut store = Store::open(&path).expect("open");
    let snap = Snapshot::load(&store).expect("snapshot");
    println!("{} events", snap.view().len());
    let chromium = trygg_report::pdf::find_chromium();
    assert!(
        chromium.is_some(),
        "the benchmark prints the PDF: install chromium"
    );
    let request = WeeklyRequest {
        week: "2024-W20".into(),
        ..WeeklyRequest::default()
    };
    let out = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function("weekly_numbers_3y", |b| {
        b.iter(|| black_box(request.run(&snap, &Options::default()).expect("numbers")));
    });
    group.bench_function("weekly_report_3y", |b| {
        b.iter(|| {
            let report =
                trygg_report::build(&mut store, &snap, &request, &Policy::default(), Lang::Sv)
                    .expect("report");
            let files = trygg_report::write(
                &report,
                &trygg_report::Output {
                    dir: out.path().to_owned(),
                    generated_at: "2024-05-20T06:00:00Z".into(),
                    chromium: chromium.clone(),
                },
            )
            .expect("write");
            black_box(files)
        });
    });
    group.finish();
}

criterion_group!(report, benches);
criterion_main!(report);
