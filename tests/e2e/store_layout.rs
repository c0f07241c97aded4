//! The store is a GeoPackage that GDAL reads: `ogrinfo` lists the events as a point
//! layer in SWEREF 99 TM with the right feature count and the areas as polygons.

use std::process::Command;

use crate::support::{count_events, police_store};

fn ogrinfo(args: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(args)
        .output()
        .expect("ogrinfo runs (install gdal-bin: ./dev setup)");
    assert!(
        out.status.success(),
        "ogrinfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ogrinfo_lists_events_as_points_with_their_spatial_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = police_store(dir.path(), "layout.gpkg");
    let s = store.to_str().expect("path");

    let layers = ogrinfo(&["-ro", "-q", s]);
    assert!(layers.contains("events (Point)"), "{layers}");
    assert!(layers.contains("areas (Multi Polygon)"), "{layers}");
    assert!(layers.contains("rejected_rows"), "{layers}");

    let summary = ogrinfo(&["-ro", "-so", s, "events"]);
    assert!(summary.contains("Geometry: Point"), "{summary}");
    assert!(
        summary.contains(&format!("Feature Count: {}", count_events(&store))),
        "{summary}"
    );
    assert!(
        summary.contains("SWEREF99 TM") && summary.contains("3006"),
        "{summary}"
    );
    for field in [
        "source: String",
        "source_id: String",
        "occurred_at: String",
        "outside_areas: Integer(Boolean)",
    ] {
        assert!(summary.contains(field), "missing {field}: {summary}");
    }

    let areas = ogrinfo(&["-ro", "-so", s, "areas"]);
    // 117 stadsdelar + 13 + 11 stadsdelsområden + 117 land parts.
    assert!(areas.contains("Feature Count: 258"), "{areas}");
}

#[test]
fn gdal_finds_the_rtree_spatial_index_and_filters_the_events_with_it() {
    // The small demo's batches add their rows to the tree one by one; the
    // 30 % demo's crimes batch (about 50,000 rows) builds it in bulk.
    for store in [crate::support::demo_store(), crate::report::store()] {
        gdal_reads_the_index_of(store);
    }
}

fn gdal_reads_the_index_of(store: &std::path::Path) {
    let s = store.to_str().expect("path");
    let index = ogrinfo(&["-ro", "-sql", "SELECT HasSpatialIndex('events', 'geom')", s]);
    assert!(index.contains("= 1"), "{index}");
    // A view's events through GDAL's spatial filter (the index, then the exact
    // test) are exactly the events inside the box.
    let (x0, y0, x1, y1) = (673_000.0, 6_578_000.0, 676_000.0, 6_581_000.0);
    let mut inside = 0u64;
    trygg_store::for_each_event(
        &mut trygg_store::Store::open(store).expect("open"),
        &trygg_store::EventFilter::default(),
        |e| {
            if (x0..=x1).contains(&e.x) && (y0..=y1).contains(&e.y) {
                inside += 1;
            }
            Ok::<(), trygg_store::StoreError>(())
        },
    )
    .expect("events");
    assert!(inside > 100, "{inside}");
    // (GDAL's feature count would read only the index, whose boxes are f32
    // rounded outwards by up to half a metre at these northings; reading the
    // features tests each geometry.)
    let filtered = ogrinfo(&[
        "-ro",
        "-q",
        "-spat",
        "673000",
        "6578000",
        "676000",
        "6581000",
        "-fields=NO",
        "-geom=NO",
        s,
        "events",
    ]);
    let read = filtered
        .lines()
        .filter(|l| l.starts_with("OGRFeature(events)"))
        .count() as u64;
    assert_eq!(read, inside, "GDAL read {read}, {inside} inside");
}
