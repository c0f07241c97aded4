//! Snapshot benchmarks at 10M events (issue 8):
//!
//! - `snapshot_open_10m`: `Store::open` + `Snapshot::load` of a 10M-event store
//!   whose view file is current (what every CLI query and a server start pay;
//!   target < 2 s);
//! - `batch_visible_10k`: a 10k-event batch committed, then a live snapshot's
//!   `refresh` until readers see it (target < 200 ms);
//! - `view_file_rebuild_10m`: the fallback, building the view from SQLite rows.
//!
//! The store (10 × 1M synthetic crime rows through the normal ingest) is built
//! once under `target/bench-data/` and reused. Run with
//! `cargo bench -p trygg-benches --bench snapshot`; `TRYGG_BENCH_EVENTS` changes
//! the size. Numbers are recorded in docs/benchmarks.md.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use trygg_query::{LiveSnapshot, Snapshot};
use trygg_store::Store;

fn benches(c: &mut Criterion) {
    let n = trygg_benches::bench_events();
    let path = trygg_benches::bench_store(n);
    // Make the view file current.
    let first = Snapshot::load(&Store::open(&path).expect("open")).expect("load");
    println!(
        "{} events, view {:.1} bytes/event, from {:?}",
        first.view().len(),
        first.view().bytes_per_event(),
        first.view_source()
    );
    drop(first);

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("snapshot_open_10m", |b| {
        b.iter(|| {
            let store = Store::open(&path).expect("open");
            black_box(Snapshot::load(&store).expect("load").view().len())
        });
    });
    group.bench_function("view_file_rebuild_10m", |b| {
        b.iter(|| {
            black_box(
                Store::open(&path)
                    .expect("open")
                    .view()
                    .expect("view")
                    .len(),
            )
        });
    });

    // A copy of the store to add batches to.
    let work = trygg_benches::work_copy(&path, "snapshot-work.gpkg");
    let live = LiveSnapshot::open(&work).expect("live");
    let mut store = Store::open(&work).expect("open");
    let batch = work.with_file_name("batch.csv");
    let mut k = 0u64;
    group.bench_function("batch_visible_10k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                std::fs::write(
                    &batch,
                    trygg_benches::crimes_csv(10_000, 1_000 + k, &format!("k{k}-")),
                )
                .expect("write");
                trygg_benches::ingest_crimes(&mut store, &batch);
                // From the commit to readers seeing it.
                let started = Instant::now();
                assert!(live.refresh().expect("refresh"));
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
    drop(live);
    trygg_benches::remove_work_copy(&work);
}

criterion_group!(snapshot, benches);
criterion_main!(snapshot);
