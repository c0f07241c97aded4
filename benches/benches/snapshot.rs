//! Snapshot benchmarks at 10M events (issue 8):
//!
//! - `snapshot_open_10m`: `Store::open` + `Snapshot::load` of a 10M-event store
//!   whose view file is current (what every CLI query and a server start pay;
//!   target < 2 s);
//! - `batch_visible_10k`: a 10k-event batch committed, then a live snapshot's
//!   `refresh` until readers see it (target < 200 ms);
//! - `view_file_rebuild_10m`: the fallback, building the view from SQLite rows;
//! - `within_municipality_10m`: the snapshot of one municipality of a `kommun`
//!   layer of two (Stockholm's stadsdelar split at 18.05° E), made from the
//!   loaded snapshot (what the first request of a limited key after each batch
//!   pays; later ones find it made).
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
use trygg_store::{AreaLayer, Store, StoredArea};

/// Two municipalities made of Stockholm's stadsdelar, west and east of 18.05° E
/// (x = 674 000 in SWEREF 99 TM is close to it).
fn two_municipalities() -> Vec<StoredArea> {
    let (stadsdelar, _) = trygg_benches::stockholm_layers();
    let mut west = Vec::new();
    let mut east = Vec::new();
    for a in stadsdelar {
        let ring = &a.geometry.0[0].exterior().0;
        let x = ring.iter().map(|c| c.x).sum::<f64>() / ring.len() as f64;
        if x < 674_000.0 {
            west.extend(a.geometry.0);
        } else {
            east.extend(a.geometry.0);
        }
    }
    [("9901", west), ("9902", east)]
        .into_iter()
        .map(|(code, polygons)| StoredArea {
            code: code.into(),
            name: code.into(),
            properties: "{}".into(),
            geometry: geo_types::MultiPolygon(polygons),
        })
        .collect()
}

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

    // A copy of the store to add a kommun layer and batches to.
    let work = trygg_benches::work_copy(&path, "snapshot-work.gpkg");
    let layer = AreaLayer {
        name: "kommun".into(),
        valid_from: None,
        valid_to: None,
        source_file: None,
    };
    Store::open(&work)
        .expect("open")
        .put_area_layer(&layer, &two_municipalities(), true)
        .expect("kommun layer");
    group.bench_function("within_municipality_10m", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let snap = std::sync::Arc::new(
                    Snapshot::load(&Store::open(&work).expect("open")).expect("load"),
                );
                snap.load_all().expect("areas");
                let started = Instant::now();
                let east = snap.within(Some("9902")).expect("within");
                total += started.elapsed();
                black_box(east.view().len());
            }
            total
        });
    });
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
