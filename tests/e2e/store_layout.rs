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
