//! The Mapbox Vector Tile encoders side by side (issue 10): `fast-mvt` (through
//! `trygg-tiles`, what Trygg serves with) and the `mvt` crate, on the same
//! features: a grid tile (3,000 squares with id, count and size) and an events
//! tile (10,000 points with five text properties). Both encodings are written
//! to `target/bench-data/mvt-{fast,mvt}-{squares,points}.mvt`, and
//! `benches/mvt_compare.py` decodes them with mapbox-vector-tile and checks that
//! they hold the same features.
//!
//! `cargo bench -p trygg-benches --bench mvt`; numbers in docs/benchmarks.md.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use trygg_tiles::{Layer, Shape, Value};

struct Square {
    x: i32,
    y: i32,
    id: String,
    count: i64,
}

struct Point {
    x: i32,
    y: i32,
    texts: [String; 5],
}

fn fixtures() -> (Vec<Square>, Vec<Point>) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(10);
    let squares = (0..3_000)
        .map(|k| Square {
            x: (k % 60) * 64,
            y: (k / 60) * 64 + rng.random_range(0..8),
            id: format!("250m_{}_{}", 674_000 + k * 250, 6_580_000 + k),
            count: rng.random_range(1..500),
        })
        .collect();
    let sources = ["crimes", "police-events", "fires", "shootings"];
    let categories = [
        "violence",
        "robbery",
        "theft",
        "vandalism",
        "drugs",
        "other",
    ];
    let points = (0..10_000)
        .map(|k| Point {
            x: rng.random_range(0..4096),
            y: rng.random_range(0..4096),
            texts: [
                sources[k % 4].to_owned(),
                categories[k % 6].to_owned(),
                format!("Misshandel {}", k % 40),
                ["exact", "address", "street"][k % 3].to_owned(),
                format!("2024-03-{:02}T{:02}:00:00Z", 1 + k % 28, k % 24),
            ],
        })
        .collect();
    (squares, points)
}

const POINT_KEYS: [&str; 5] = [
    "source",
    "category_norm",
    "category",
    "precision",
    "occurred_at",
];

fn fast_squares(squares: &[Square]) -> Vec<u8> {
    let mut layer = Layer::new("grid").expect("layer");
    for s in squares {
        let (x, y) = (f64::from(s.x), f64::from(s.y));
        let ring = vec![
            (x, y),
            (x + 60.0, y),
            (x + 60.0, y + 60.0),
            (x, y + 60.0),
            (x, y),
        ];
        layer
            .add(
                &Shape::Polygons(vec![vec![ring]]),
                &[
                    ("cell_id", Value::Text(s.id.clone())),
                    ("count", Value::Int(s.count)),
                    ("cell_m", Value::Float(250.0)),
                ],
            )
            .expect("feature");
    }
    layer.encode()
}

fn fast_points(points: &[Point]) -> Vec<u8> {
    let mut layer = Layer::new("events").expect("layer");
    for p in points {
        let props: Vec<(&str, Value)> = POINT_KEYS
            .iter()
            .zip(&p.texts)
            .map(|(k, v)| (*k, Value::Text(v.clone())))
            .collect();
        layer
            .add(&Shape::Point(f64::from(p.x), f64::from(p.y)), &props)
            .expect("feature");
    }
    layer.encode()
}

fn mvt_squares(squares: &[Square]) -> Vec<u8> {
    let mut tile = mvt::Tile::new(4096);
    let mut layer = tile.create_layer("grid");
    for s in squares {
        let (x, y) = (s.x as f32, s.y as f32);
        let geom = mvt::GeomEncoder::new(mvt::GeomType::Polygon)
            .point(x, y)
            .and_then(|g| g.point(x + 60.0, y))
            .and_then(|g| g.point(x + 60.0, y + 60.0))
            .and_then(|g| g.point(x, y + 60.0))
            .and_then(|g| g.complete())
            .and_then(|g| g.encode())
            .expect("geometry");
        let mut feature = layer.into_feature(geom);
        feature.add_tag_string("cell_id", &s.id);
        feature.add_tag_sint("count", s.count);
        feature.add_tag_double("cell_m", 250.0);
        layer = feature.into_layer();
    }
    tile.add_layer(layer).expect("layer");
    tile.to_bytes().expect("bytes")
}

fn mvt_points(points: &[Point]) -> Vec<u8> {
    let mut tile = mvt::Tile::new(4096);
    let mut layer = tile.create_layer("events");
    for p in points {
        let geom = mvt::GeomEncoder::new(mvt::GeomType::Point)
            .point(p.x as f32, p.y as f32)
            .and_then(|g| g.encode())
            .expect("geometry");
        let mut feature = layer.into_feature(geom);
        for (k, v) in POINT_KEYS.iter().zip(&p.texts) {
            feature.add_tag_string(k, v);
        }
        layer = feature.into_layer();
    }
    tile.add_layer(layer).expect("layer");
    tile.to_bytes().expect("bytes")
}

fn benches(c: &mut Criterion) {
    let (squares, points) = fixtures();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench-data");
    for (name, bytes) in [
        ("fast-squares", fast_squares(&squares)),
        ("mvt-squares", mvt_squares(&squares)),
        ("fast-points", fast_points(&points)),
        ("mvt-points", mvt_points(&points)),
    ] {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(format!("mvt-{name}.mvt")), bytes).expect("write");
    }
    let mut group = c.benchmark_group("mvt");
    group.bench_function("fast_mvt_3000_squares", |b| {
        b.iter(|| fast_squares(&squares))
    });
    group.bench_function("mvt_crate_3000_squares", |b| {
        b.iter(|| mvt_squares(&squares))
    });
    group.bench_function("fast_mvt_10000_points", |b| b.iter(|| fast_points(&points)));
    group.bench_function("mvt_crate_10000_points", |b| b.iter(|| mvt_points(&points)));
    group.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
