//! HTTP service benchmarks at 10M events (issue 9), through the real router
//! in-process (`tower::ServiceExt::oneshot`, no socket: what the server adds over
//! the query layer, without the kernel's loopback):
//!
//! - `api_counts_10m`: `GET /api/v1/query/counts?period=2024&layer=stadsdel&source=crimes`
//!   as a viewer (suppressed JSON; target < 20 ms median);
//! - `api_counts_cached_10m`: the same answered from the answer cache (a question
//!   asked again at the same data version);
//! - `api_counts_table_10m`: the stadsdel × month table of a year in one request;
//! - `tile_{grid,hotspots}_z{10..15}_10m`: tiles over central Stockholm cut from
//!   a cell field already made, and `tile_{grid,hotspots}_first_z12_10m` the
//!   first tile of new filters (the field made too); `tile_heat_z{10,12,14}_10m`
//!   and `tile_basemap_z12`;
//! - `api_start_10m`: what `trygg serve` does before it listens (store open,
//!   snapshot, layers);
//! - `api_upload_visible_10k`: `POST /api/v1/admin/ingest` of a 10k-row crimes
//!   CSV until its answer, after which every reader sees the batch.
//!
//! The store is the snapshot benchmark's (`target/bench-data/`). Run with
//! `cargo bench -p trygg-benches --bench api`; the loopback load test is
//! `benches/load.sh`. Numbers are recorded in docs/benchmarks.md.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use tower::ServiceExt;
use trygg_query::Role;
use trygg_server::config::{key_hash, ApiKey, Config};
use trygg_server::{router, AppState};

const ADMIN: &str = "bench-admin";

/// The tile of zoom `z` holding a WGS 84 point.
fn tile_at(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

/// The benchmark's configuration: no answer cache, so every request is computed
/// (`api_counts_cached_10m` measures the cache on its own).
fn config(store: &std::path::Path) -> Config {
    Config {
        limits: trygg_server::config::Limits {
            answer_cache_bytes: 0,
            ..trygg_server::config::Limits::default()
        },
        store: Some(store.to_owned()),
        anonymous_role: Some(Role::Viewer),
        keys: vec![ApiKey {
            name: "bench".into(),
            role: Role::Admin,
            sha256: key_hash(ADMIN),
            municipality: None,
        }],
        ..Config::default()
    }
}

async fn get(app: axum::Router, uri: &str) -> usize {
    let r = app
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK, "{uri}");
    r.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .len()
}

fn benches(c: &mut Criterion) {
    let n = trygg_benches::bench_events();
    let path = trygg_benches::bench_store(n);
    let work = trygg_benches::work_copy(&path, "api-work.gpkg");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("api");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("api_start_10m", |b| {
        b.iter(|| black_box(AppState::open(&work, config(&work)).expect("state")));
    });
    let state = AppState::open(&work, config(&work)).expect("state");
    let app = router(state.clone());
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("api_counts_10m", |b| {
        b.iter(|| {
            runtime.block_on(get(
                app.clone(),
                "/api/v1/query/counts?period=2024&layer=stadsdel&source=crimes",
            ))
        });
    });
    let cached = {
        let mut c = config(&work);
        c.limits.answer_cache_bytes = 64 << 20;
        router(AppState::open(&work, c).expect("state"))
    };
    group.bench_function("api_counts_cached_10m", |b| {
        b.iter(|| {
            runtime.block_on(get(
                cached.clone(),
                "/api/v1/query/counts?period=2024&layer=stadsdel&source=crimes",
            ))
        });
    });
    drop(cached);
    // Tiles (the answer cache is off here, so every tile is encoded again) over
    // central Stockholm, a year of crimes, at zooms 10-15. A tile is cut from
    // the whole map's cell field of its filters, made once per snapshot and
    // filters: `tile_*_z*` measure tiles of a field already made (the other
    // tiles of a map view), `tile_*_first_*` the first tile of new filters
    // (each iteration asks a different end day, so its field is made anew).
    let filters = "from=2024-01-01&to=2024-12-31&source=crimes";
    for layer in ["grid", "hotspots"] {
        for z in 10u8..=15 {
            let (x, y) = tile_at(z, 18.0686, 59.3293);
            let uri = format!("/tiles/{layer}/{z}/{x}/{y}.mvt?{filters}");
            group.bench_function(format!("tile_{layer}_z{z}_10m"), |b| {
                b.iter(|| runtime.block_on(get(app.clone(), &uri)));
            });
        }
        let (x, y) = tile_at(12, 18.0686, 59.3293);
        // Windows of about eleven months (Jan 1-28 to Dec 1-28): each
        // iteration's filters are new, its work about a year's.
        let mut k = 0u32;
        group.bench_function(format!("tile_{layer}_first_z12_10m"), |b| {
            b.iter(|| {
                k += 1;
                let (from, to) = (1 + k % 28, 1 + (k / 28) % 28);
                runtime.block_on(get(
                    app.clone(),
                    &format!(
                        "/tiles/{layer}/12/{x}/{y}.mvt?from=2024-01-{from:02}&to=2024-12-{to:02}&source=crimes"
                    ),
                ))
            });
        });
    }
    for z in [10u8, 12, 14] {
        let (x, y) = tile_at(z, 18.0686, 59.3293);
        let uri = format!("/tiles/heat/{z}/{x}/{y}.png?{filters}");
        group.bench_function(format!("tile_heat_z{z}_10m"), |b| {
            b.iter(|| runtime.block_on(get(app.clone(), &uri)));
        });
    }
    let (x, y) = tile_at(12, 18.0686, 59.3293);
    let uri = format!("/tiles/basemap/12/{x}/{y}.mvt");
    group.bench_function("tile_basemap_z12", |b| {
        b.iter(|| runtime.block_on(get(app.clone(), &uri)));
    });
    group.bench_function("api_counts_table_10m", |b| {
        b.iter(|| {
            runtime.block_on(get(
                app.clone(),
                "/api/v1/query/table?from=2024-01-01&to=2024-12-31&window=month&layer=stadsdel&source=crimes",
            ))
        });
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let boundary = "bench-boundary";
    let mut k = 0u64;
    group.bench_function("api_upload_visible_10k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let csv = trygg_benches::crimes_csv(10_000, 9_000 + k, &format!("u{k}-"));
                let mut body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncrimes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u{k}.csv\"\r\n\r\n"
                )
                .into_bytes();
                body.extend(csv.into_bytes());
                body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
                let before = state.live.current().view().len();
                let request = Request::post("/api/v1/admin/ingest")
                    .header("authorization", format!("Bearer {ADMIN}"))
                    .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                    .body(Body::from(body))
                    .expect("request");
                let started = Instant::now();
                let r = runtime
                    .block_on(app.clone().oneshot(request))
                    .expect("answer");
                total += started.elapsed();
                assert_eq!(r.status(), StatusCode::OK);
                assert_eq!(state.live.current().view().len(), before + 10_000);
            }
            total
        });
    });
    group.finish();
    drop(app);
    drop(state);
    trygg_benches::remove_work_copy(&work);
}

criterion_group!(api, benches);
criterion_main!(api);
