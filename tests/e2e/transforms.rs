//! Coordinates in every accepted CRS land on the same SWEREF 99 TM point, agreeing
//! with reference values computed independently (PROJ's cs2cs, pyproj and GDAL
//! agree on them; see docs/build-notes in the shared material); an unknown CRS is
//! a clear error that changes nothing; area files in EPSG:3011 and CRS84 load.

use crate::support::{count_events, data, ingest_json, run, write};

/// Stockholm, lon 18.0686 lat 59.3293, in each CRS (x/easting first).
const REFERENCE: [(&str, f64, f64, f64); 4] = [
    ("EPSG:4326", 18.0686, 59.3293, 1e-3),
    ("EPSG:3006", 674_571.866_449, 6_580_743.008_331, 1e-3),
    ("EPSG:3011", 153_905.092_804, 6_579_354.448_319, 1e-3),
    // RT90 goes through a 7-parameter Helmert shift whose accuracy is about 1 m.
    ("EPSG:3021", 1_628_832.573_286, 6_580_908.598_121, 1.0),
];

fn mapping(crs: &str) -> String {
    format!(
        "source = \"crimes\"\n[columns]\nid = \"id\"\ncategory = \"kategori\"\nx = \"x\"\ny = \"y\"\n\
         [coordinates]\ncrs = \"{crs}\"\nprecision = \"exact\"\n[time]\nstart = [\"tid\"]\nformats = [\"%Y-%m-%d %H:%M\"]\n"
    )
}

#[test]
fn every_accepted_crs_lands_on_the_reference_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("t.gpkg");
    for (i, (crs, x, y, _)) in REFERENCE.iter().enumerate() {
        let m = write(dir.path(), &format!("m{i}.toml"), &mapping(crs));
        let csv = write(
            dir.path(),
            &format!("c{i}.csv"),
            &format!("id,kategori,tid,x,y\nid-{i},Misshandel,2024-03-01 22:15,{x},{y}\n"),
        );
        let (code, report) = ingest_json(
            &store,
            "crimes",
            &["--mapping", m.to_str().expect("path")],
            &[&csv],
        );
        assert_eq!(
            (code, &report["accepted"]),
            (0, &serde_json::json!(1)),
            "{crs}: {report}"
        );
    }
    let out = run(&[
        "export",
        "--store",
        store.to_str().expect("path"),
        "--format",
        "geojson",
    ]);
    assert!(out.status.success());
    let fc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("geojson");
    let features = fc["features"].as_array().expect("features");
    assert_eq!(features.len(), 4);
    let (ref_x, ref_y) = (REFERENCE[1].1, REFERENCE[1].2);
    for (f, (crs, _, _, tolerance)) in features.iter().zip(REFERENCE) {
        let x = f["properties"]["x_sweref99tm"].as_f64().expect("x");
        let y = f["properties"]["y_sweref99tm"].as_f64().expect("y");
        assert!(
            (x - ref_x).abs() < tolerance && (y - ref_y).abs() < tolerance,
            "{crs}: {x} {y}"
        );
        let lon = f["geometry"]["coordinates"][0].as_f64().expect("lon");
        let lat = f["geometry"]["coordinates"][1].as_f64().expect("lat");
        assert!(
            (lon - 18.0686).abs() < 1e-4 && (lat - 59.3293).abs() < 1e-4,
            "{crs}: {lon} {lat}"
        );
        assert_eq!(f["properties"]["stadsdel"], "NORRMALM", "{crs}");
        assert_eq!(f["properties"]["occurred_at"], "2024-03-01T22:15:00+01:00");
    }
}

#[test]
fn an_unknown_crs_is_a_clear_error_that_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("t.gpkg");
    let good = write(dir.path(), "good.toml", &mapping("EPSG:3006"));
    let csv = write(
        dir.path(),
        "c.csv",
        "id,kategori,tid,x,y\na,Rån,2024-03-01 22:15,674571.9,6580743.0\n",
    );
    let (code, _) = ingest_json(
        &store,
        "crimes",
        &["--mapping", good.to_str().expect("path")],
        &[&csv],
    );
    assert_eq!(code, 0);
    let bad = write(dir.path(), "bad.toml", &mapping("EPSG:2400"));
    let csv2 = write(
        dir.path(),
        "c2.csv",
        "id,kategori,tid,x,y\nb,Rån,2024-03-01 22:15,1628832.6,6580908.6\n",
    );
    let out = run(&[
        "ingest",
        "--store",
        store.to_str().expect("path"),
        "--source",
        "crimes",
        "--mapping",
        bad.to_str().expect("path"),
        csv2.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("unknown CRS 'EPSG:2400'"),
        "{stderr}"
    );
    assert_eq!(count_events(&store), 1);
}

#[test]
fn area_layers_load_from_shapefile_in_3011_and_geojson_in_crs84() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("areas.gpkg");
    let s = store.to_str().expect("path");
    let shp = data("stockholm/shapefile-sweref99-1800/stadsdelar.shp");
    let geojson = data("stockholm/simplified-stadsdelar.geo.json");
    for (layer, file) in [("shp", &shp), ("geojson", &geojson)] {
        let out = run(&[
            "areas",
            "load",
            "--store",
            s,
            "--layer",
            layer,
            "--valid-from",
            "2021-04-13",
            file.to_str().expect("path"),
        ]);
        assert!(
            out.status.success(),
            "{layer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("loaded 117 areas"));
    }
    // Loading again without --replace is refused and keeps the layer.
    let again = run(&[
        "areas",
        "load",
        "--store",
        s,
        "--layer",
        "shp",
        shp.to_str().expect("path"),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    let list = run(&["areas", "list", "--store", s]);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains("shp\t117 areas\tvalid 2021-04-13 .. -"),
        "{listing}"
    );
    assert!(listing.contains("geojson\t117 areas"), "{listing}");

    // Both layers hold the same polygons: compare the areas' envelopes (written
    // into each GeoPackage geometry header) to the centimetre.
    let conn = rusqlite::Connection::open(&store).expect("open");
    let envelopes = |layer: &str| -> Vec<(String, Vec<u8>)> {
        let mut stmt = conn
            .prepare("SELECT code, substr(geom, 9, 32) FROM areas WHERE layer = ?1 ORDER BY code")
            .expect("sql");
        stmt.query_map([layer], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let (a, b) = (envelopes("shp"), envelopes("geojson"));
    assert_eq!(a.len(), 117);
    for ((code_a, env_a), (code_b, env_b)) in a.iter().zip(&b) {
        assert_eq!(code_a, code_b);
        for k in 0..4 {
            let va = f64::from_le_bytes(env_a[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
            let vb = f64::from_le_bytes(env_b[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
            assert!((va - vb).abs() < 0.01, "{code_a}: {va} vs {vb}");
        }
    }
}
