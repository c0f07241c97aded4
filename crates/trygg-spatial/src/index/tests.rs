//! `AreaIndex` against brute force over the shipped stadsdelar and over random
//! synthetic layers with shared borders, overlaps and holes; plus the speed report.

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
use proptest::prelude::*;

use super::*;

/// The shipped stadsdelar (CRS84) in EPSG:3006, read independently of ingest.
fn stockholm_geometries() -> Vec<MultiPolygon<f64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/stockholm/fullsize-stadsdelar.geo.json"
    );
    let text = std::fs::read_to_string(path).expect("shipped stadsdelar");
    let fc: geojson::FeatureCollection = text.parse().expect("GeoJSON");
    let t = trygg_crs::Transformer::to_store(&trygg_crs::Crs::WGS84).expect("PROJ");
    fc.features
        .iter()
        .map(|f| {
            let geometry = f.geometry.as_ref().expect("geometry");
            let g: geo_types::Geometry<f64> = geometry.value.clone().try_into().expect("polygon");
            let polygons = match g {
                geo_types::Geometry::Polygon(p) => vec![p],
                geo_types::Geometry::MultiPolygon(mp) => mp.0,
                other => panic!("not a polygon: {other:?}"),
            };
            let project = |ls: &LineString<f64>| {
                LineString(
                    ls.0.iter()
                        .map(|c| {
                            t.convert(c.x, c.y)
                                .map(|(x, y)| Coord { x, y })
                                .expect("point")
                        })
                        .collect(),
                )
            };
            MultiPolygon(
                polygons
                    .iter()
                    .map(|p| {
                        Polygon::new(
                            project(p.exterior()),
                            p.interiors().iter().map(project).collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The first area whose interior holds the point (what `locate` must give off borders).
fn brute_contains(
    areas: &[MultiPolygon<f64>],
    boxes: &[Option<Rect<f64>>],
    x: f64,
    y: f64,
) -> Option<usize> {
    let p = Point::new(x, y);
    (0..areas.len()).find(|&k| boxes[k].is_some_and(|b| b.intersects(&p)) && areas[k].contains(&p))
}

/// The first area whose interior or boundary holds the point (`locate`'s definition).
fn brute_closed(areas: &[MultiPolygon<f64>], x: f64, y: f64) -> Option<usize> {
    areas.iter().position(|a| a.intersects(&Coord { x, y }))
}

/// A seeded SplitMix64, so the measurement needs no RNG crate.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Fixture {
    areas: Vec<MultiPolygon<f64>>,
    boxes: Vec<Option<Rect<f64>>>,
    index: AreaIndex,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let areas = stockholm_geometries();
        let boxes = areas.iter().map(|a| a.bounding_rect()).collect();
        let index = AreaIndex::new(&areas);
        Fixture {
            areas,
            boxes,
            index,
        }
    })
}

proptest! {
    #[test]
    fn random_points_over_stockholm_agree_with_brute_force_contains(fx in 0.0..1.0f64, fy in 0.0..1.0f64) {
        let f = fixture();
        let b = f.index.bounds().expect("bounds");
        // A margin outside the extent too.
        let x = b.min_x - 500.0 + fx * (b.max_x - b.min_x + 1000.0);
        let y = b.min_y - 500.0 + fy * (b.max_y - b.min_y + 1000.0);
        prop_assert_eq!(f.index.locate(x, y), brute_contains(&f.areas, &f.boxes, x, y));
    }

    #[test]
    fn points_at_and_next_to_stockholm_vertices_agree_with_brute_force(
        area in 0usize..117, vertex in 0usize..10_000, dx in -2i32..=2, dy in -2i32..=2, scale in 0u32..3,
    ) {
        let f = fixture();
        let ring = &f.areas[area].0[0].exterior().0;
        let c = ring[vertex % ring.len()];
        // On the vertex, or a few ulps / micrometres / millimetres away.
        let step = [0.0, 1e-6, 1e-3][scale as usize];
        let (x, y) = if step == 0.0 {
            (c.x + f64::from(dx) * c.x.abs() * f64::EPSILON, c.y + f64::from(dy) * c.y.abs() * f64::EPSILON)
        } else {
            (c.x + f64::from(dx) * step, c.y + f64::from(dy) * step)
        };
        prop_assert_eq!(f.index.locate(x, y), brute_closed(&f.areas, x, y));
    }

    #[test]
    fn synthetic_layers_with_shared_borders_overlaps_and_holes_agree_with_brute_force(
        shapes in proptest::collection::vec((0i32..16, 0i32..16, 1i32..8, 1i32..8, 0u8..3), 1..8),
        points in proptest::collection::vec((-2i32..40, -2i32..40), 1..64),
        cell in prop_oneof![Just(None), Just(Some(0.7)), Just(Some(1.0)), Just(Some(3.0))],
    ) {
        // Integer corners, half-unit query points: many points land exactly on edges
        // and vertices shared by several areas.
        let areas: Vec<MultiPolygon<f64>> = shapes.iter().map(|&(x, y, w, h, kind)| {
            let (x, y, w, h) = (f64::from(x), f64::from(y), f64::from(w), f64::from(h));
            let outer = match kind {
                // Triangle.
                0 => LineString::from(vec![(x, y), (x + w, y), (x, y + h), (x, y)]),
                _ => LineString::from(vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]),
            };
            let holes = if kind == 2 && w >= 3.0 && h >= 3.0 {
                vec![LineString::from(vec![(x + 1.0, y + 1.0), (x + 1.0, y + h - 1.0), (x + w - 1.0, y + h - 1.0), (x + w - 1.0, y + 1.0), (x + 1.0, y + 1.0)])]
            } else {
                vec![]
            };
            MultiPolygon(vec![Polygon::new(outer, holes)])
        }).collect();
        let index = match cell { Some(c) => AreaIndex::with_cell_size(&areas, c), None => AreaIndex::new(&areas) };
        for (px, py) in points {
            let (x, y) = (f64::from(px) / 2.0, f64::from(py) / 2.0);
            prop_assert_eq!(index.locate(x, y), brute_closed(&areas, x, y), "point ({}, {})", x, y);
        }
    }
}

fn square(x: f64, y: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![
            (x, y),
            (x + size, y),
            (x + size, y + size),
            (x, y + size),
            (x, y),
        ]),
        vec![],
    )])
}

#[test]
fn shared_borders_go_to_the_lowest_index() {
    // A 3 x 3 checkerboard of unit squares, indexed row by row.
    let areas: Vec<_> = (0..9)
        .map(|i| square(f64::from(i % 3), f64::from(i / 3), 1.0))
        .collect();
    for index in [
        AreaIndex::new(&areas),
        AreaIndex::with_cell_size(&areas, 0.25),
    ] {
        assert_eq!(index.locate(0.5, 0.5), Some(0));
        assert_eq!(index.locate(1.0, 0.5), Some(0), "border of 0 and 1");
        assert_eq!(index.locate(1.5, 1.0), Some(1), "border of 1 and 4");
        assert_eq!(index.locate(2.0, 2.0), Some(4), "corner of 4, 5, 7, 8");
        assert_eq!(index.locate(3.0, 3.0), Some(8), "outer corner");
        assert_eq!(index.locate(3.0 + 1e-9, 1.0), None);
        assert_eq!(index.locate(f64::NAN, 1.0), None);
        assert_eq!(index.locate(1.0, f64::INFINITY), None);
    }
}

#[test]
fn overlaps_and_holes() {
    let big = square(0.0, 0.0, 10.0);
    let small = square(4.0, 4.0, 2.0);
    let donut = MultiPolygon(vec![Polygon::new(
        big.0[0].exterior().clone(),
        vec![LineString::from(vec![
            (3.0, 3.0),
            (3.0, 7.0),
            (7.0, 7.0),
            (7.0, 3.0),
            (3.0, 3.0),
        ])],
    )]);
    let index = AreaIndex::new(&[big.clone(), small.clone()]);
    assert_eq!(
        index.locate(5.0, 5.0),
        Some(0),
        "both contain it: the lowest index"
    );
    let index = AreaIndex::new(&[small.clone(), big]);
    assert_eq!(index.locate(5.0, 5.0), Some(0));
    assert_eq!(index.locate(1.0, 1.0), Some(1));
    let index = AreaIndex::new(&[donut, small]);
    assert_eq!(
        index.locate(5.0, 5.0),
        Some(1),
        "in the hole, inside the small square"
    );
    assert_eq!(index.locate(3.5, 3.5), None, "in the hole only");
    assert_eq!(index.locate(3.0, 5.0), Some(0), "on the hole's edge");
    assert_eq!(index.locate(1.0, 9.0), Some(0));
}

#[test]
fn empty_and_degenerate_inputs() {
    let index = AreaIndex::new(&[]);
    assert_eq!(index.locate(0.0, 0.0), None);
    assert_eq!(index.bounds(), None);
    assert_eq!(index.cell_size(), 0.0);
    let broken = MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(0.0, 0.0), (f64::NAN, 1.0), (1.0, 1.0)]),
        vec![],
    )]);
    let index = AreaIndex::new(&[broken, square(5.0, 5.0, 1.0)]);
    assert_eq!(
        index.locate(0.5, 0.6),
        None,
        "an area with a NaN vertex is never found"
    );
    assert_eq!(index.locate(5.5, 5.5), Some(1));
    assert_eq!(
        index.bounds(),
        Some(Extent {
            min_x: 5.0,
            min_y: 5.0,
            max_x: 6.0,
            max_y: 6.0
        })
    );
}

#[test]
fn stockholm_bounds_and_grid() {
    let f = fixture();
    let b = f.index.bounds().expect("bounds");
    assert!(
        b.min_x > 640_000.0
            && b.max_x < 700_000.0
            && b.min_y > 6_560_000.0
            && b.max_y < 6_600_000.0,
        "{b:?}"
    );
    println!(
        "Stockholm index: cell {:.1} m, {} x {} cells, {:.1} % boundary cells",
        f.index.cell_size(),
        f.index.polys.grid.nx,
        f.index.polys.grid.ny,
        100.0 * f.index.boundary_share()
    );
}

/// The speed report (no timing assertions). For the real numbers run:
/// `cargo test -p trygg-ingest --release -- areas::index::tests::locate_speed --nocapture --test-threads=1`
///
/// Two point sets: uniform over the stadsdelar's bounding box (64 % fall outside the
/// municipality, mostly in cheap "outside" cells), and uniform over the stadsdelar
/// themselves (what ingest sees). Each timing is the best of three passes, because
/// the machine is shared.
#[test]
fn locate_speed_report() {
    let f = fixture();
    let b = f.index.bounds().expect("bounds");
    let n = if cfg!(debug_assertions) {
        50_000
    } else {
        5_000_000
    };
    let mut rng = SplitMix(0x7EE6_2024);
    let mut random = || {
        (
            b.min_x + rng.next_f64() * (b.max_x - b.min_x),
            b.min_y + rng.next_f64() * (b.max_y - b.min_y),
        )
    };
    let bbox_points: Vec<(f64, f64)> = (0..n).map(|_| random()).collect();
    let mut inside_points = Vec::with_capacity(n);
    while inside_points.len() < n {
        let (x, y) = random();
        if brute_contains(&f.areas, &f.boxes, x, y).is_some() {
            inside_points.push((x, y));
        }
    }
    let start = std::time::Instant::now();
    let built = AreaIndex::new(&f.areas);
    println!(
        "AreaIndex::new over the 117 stadsdelar: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    for (label, index) in [
        ("default", built),
        ("100 m cells", AreaIndex::with_cell_size(&f.areas, 100.0)),
        ("250 m cells", AreaIndex::with_cell_size(&f.areas, 250.0)),
    ] {
        for (set, points) in [("bbox", &bbox_points), ("in a stadsdel", &inside_points)] {
            let mut best = f64::INFINITY;
            let mut found = 0usize;
            for _ in 0..3 {
                found = 0;
                let start = std::time::Instant::now();
                for &(x, y) in points {
                    if std::hint::black_box(index.locate(x, y)).is_some() {
                        found += 1;
                    }
                }
                best = best.min(start.elapsed().as_nanos() as f64 / points.len() as f64);
            }
            println!(
                "locate, {label} (cell {:.0} m, {:.1} % boundary cells), {} points uniform over {set}: {best:.1} ns/point ({:.1} % found)",
                index.cell_size(),
                100.0 * index.boundary_share(),
                points.len(),
                100.0 * found as f64 / points.len() as f64
            );
        }
    }
}
