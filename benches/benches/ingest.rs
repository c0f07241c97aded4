//! Ingest benchmarks on 1M synthetic crime rows (`trygg_benches::crimes_csv`):
//!
//! - `parse_validate_assign`: CSV parsing with the built-in crimes mapping, time and
//!   coordinate validation, extent check and stadsdel assignment, on one core, no
//!   store (target: at least 1M rows/s);
//! - `durable_ingest`: the whole `trygg ingest` path into a fresh store, committed
//!   and fsynced (target: at least 250k rows/s).
//!
//! Run with `./dev bench` (or `cargo bench -p trygg-benches`); numbers are recorded
//! in docs/benchmarks.md.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use trygg_crs::{Crs, Transformer};
use trygg_ingest::candidate::Parsed;
use trygg_ingest::csv_source::CsvRows;
use trygg_ingest::locate::{Locator, Placement};
use trygg_ingest::mapping::Mapping;
use trygg_ingest::pipeline::{ingest, IngestRequest};
use trygg_ingest::setup::open_or_create;
use trygg_model::Source;

const ROWS: u32 = 1_000_000;

fn benches(c: &mut Criterion) {
    let csv = trygg_benches::crimes_csv(ROWS, 42, "c");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open_or_create(&dir.path().join("areas.gpkg"), true).expect("store");
    let locator = Locator::from_store(&mut store).expect("locator");
    let mapping = Mapping::default_for(Source::Crimes).expect("crimes mapping");
    let transformer =
        Transformer::to_store(&Crs::parse(mapping.crs_text()).expect("crs")).expect("transformer");

    let mut group = c.benchmark_group("ingest_1m_crimes");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(ROWS)));
    group.bench_function("parse_validate_assign", |b| {
        b.iter(|| {
            let mut located = 0u64;
            for parsed in CsvRows::new(csv.as_bytes(), &mapping).expect("header") {
                if let Parsed::Event(candidate) = parsed {
                    if let Placement::At(at) =
                        locator.locate(&candidate.location, &transformer, candidate.row)
                    {
                        located += u64::from(at.areas.stadsdel.is_some());
                    }
                }
            }
            black_box(located)
        });
    });

    let file = dir.path().join("crimes.csv");
    std::fs::write(&file, &csv).expect("write csv");
    let template = dir.path().join("template.gpkg");
    drop(open_or_create(&template, true).expect("template store"));
    group.bench_function("durable_ingest", |b| {
        b.iter_batched(
            || {
                // A fresh store with the default areas per iteration (not timed).
                let path = dir.path().join("run.gpkg");
                for suffix in ["", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                std::fs::copy(&template, &path).expect("copy template");
                trygg_store::Store::open(&path).expect("open")
            },
            |mut store| {
                let req = IngestRequest {
                    source: Source::Crimes,
                    files: vec![file.clone()],
                    mapping: None,
                    strict: false,
                    names: Vec::new(),
                };
                let report = ingest(&mut store, &req, &mut |_| {}).expect("ingest");
                assert_eq!(report.accepted, u64::from(ROWS));
                report
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(ingest_benches, benches);
criterion_main!(ingest_benches);
