//! Reader tests: the shipped Shapefile (EPSG:3011) against the GeoJSON GDAL made
//! from it (CRS84), a GeoPackage written here in GDAL's layout, and the errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use geo::{Area, Winding};
use rusqlite::Connection;
use serde_json::json;

use super::*;

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/stockholm")
        .join(relative)
}

fn shapefile() -> PathBuf {
    data("shapefile-sweref99-1800/stadsdelar.shp")
}

/// Largest distance between corresponding vertices of two layers matched by code.
fn max_vertex_distance(a: &[AreaFeature], b: &[AreaFeature]) -> f64 {
    let by_code: HashMap<&str, &AreaFeature> = b.iter().map(|f| (f.code.as_str(), f)).collect();
    let mut worst: f64 = 0.0;
    for fa in a {
        let fb = by_code
            .get(fa.code.as_str())
            .unwrap_or_else(|| panic!("{} missing", fa.code));
        assert_eq!(fa.geometry.0.len(), fb.geometry.0.len(), "{}", fa.code);
        for (pa, pb) in fa.geometry.0.iter().zip(&fb.geometry.0) {
            let ra = std::iter::once(pa.exterior()).chain(pa.interiors());
            let rb = std::iter::once(pb.exterior()).chain(pb.interiors());
            for (la, lb) in ra.zip(rb) {
                assert_eq!(la.0.len(), lb.0.len(), "{}: vertex count", fa.code);
                for (ca, cb) in la.0.iter().zip(&lb.0) {
                    worst = worst.max((ca.x - cb.x).hypot(ca.y - cb.y));
                }
            }
        }
    }
    worst
}

#[test]
fn shapefile_and_gdal_geojson_agree_within_a_centimetre() {
    let shp = read_area_file(&shapefile(), &ReadOptions::default()).expect("shapefile");
    let geojson = read_area_file(
        &data("simplified-stadsdelar.geo.json"),
        &ReadOptions::default(),
    )
    .expect("geojson");
    assert_eq!(shp.len(), 117);
    let mut shp_names: Vec<&str> = shp.iter().map(|f| f.name.as_str()).collect();
    let mut json_names: Vec<&str> = geojson.iter().map(|f| f.name.as_str()).collect();
    shp_names.sort_unstable();
    json_names.sort_unstable();
    assert_eq!(shp_names, json_names);
    assert!(
        shp_names.contains(&"BJÖRKHAGEN") && shp_names.contains(&"HÄSSELBY STRAND"),
        "Latin-1 .dbf text decoded"
    );
    let worst = max_vertex_distance(&shp, &geojson);
    println!("largest Shapefile (PROJ from EPSG:3011) vs GeoJSON (GDAL to CRS84, PROJ to EPSG:3006) vertex difference: {worst:.6} m");
    assert!(worst < 0.01, "{worst} m");
    // Both land in SWEREF 99 TM around Stockholm.
    let c = shp[0].geometry.0[0].exterior().0[0];
    assert!(
        (650_000.0..700_000.0).contains(&c.x) && (6_550_000.0..6_610_000.0).contains(&c.y),
        "{c:?}"
    );
}

#[test]
fn readers_orient_rings_and_keep_other_properties() {
    let shp = read_area_file(&shapefile(), &ReadOptions::default()).expect("shapefile");
    for f in &shp {
        for p in &f.geometry.0 {
            assert!(p.exterior().is_ccw(), "{}", f.code);
            assert!(p.unsigned_area() > 0.0);
        }
        assert_eq!(f.code, f.name);
        assert!(
            f.properties.is_empty(),
            "the .dbf has only the name: {:?}",
            f.properties
        );
    }
}

/// Writes a GeoPackage the way GDAL lays one out.
struct Gpkg {
    conn: Connection,
}

impl Gpkg {
    fn create(path: &Path) -> Gpkg {
        let conn = Connection::open(path).expect("create gpkg");
        conn.execute_batch(
            "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
             CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
               organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
               description TEXT);
             INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL);
             INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL);
             CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
               identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL
               DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
               max_y DOUBLE, srs_id INTEGER);
             CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
               geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
               CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));",
        )
        .expect("gpkg tables");
        Gpkg { conn }
    }

    fn srs(&self, srs_id: i64, organization: &str, code: i64, definition: &str) {
        self.conn
            .execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                rusqlite::params![
                    format!("srs {srs_id}"),
                    srs_id,
                    organization,
                    code,
                    definition
                ],
            )
            .expect("srs");
    }

    /// A feature table with `fid`, a geometry column and the given extra columns.
    fn layer(
        &self,
        table: &str,
        geometry_column: &str,
        geometry_type: &str,
        srs_id: i64,
        columns: &str,
    ) {
        let ident = table.replace('"', "\"\"");
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE \"{ident}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"{geometry_column}\" {geometry_type}{columns});"
            ))
            .expect("feature table");
        self.conn
            .execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?1, 'features', ?1, ?2)",
                rusqlite::params![table, srs_id],
            )
            .expect("contents");
        self.conn
            .execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, ?3, ?4, 0, 0)",
                rusqlite::params![table, geometry_column, geometry_type, srs_id],
            )
            .expect("geometry columns");
    }
}

/// The shipped Shapefile's features with their raw EPSG:3011 coordinates (reading
/// with a 3006 "override" makes the transform the identity).
fn shapefile_raw_3011() -> Vec<AreaFeature> {
    let opts = ReadOptions {
        crs: Some(Crs::Epsg(3006)),
        ..ReadOptions::default()
    };
    read_area_file(&shapefile(), &opts).expect("shapefile")
}

#[test]
fn geopackage_in_gdal_layout_reads_back_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("areas.gpkg");
    let raw = shapefile_raw_3011();
    {
        let gpkg = Gpkg::create(&path);
        gpkg.srs(3011, "EPSG", 3011, "PROJCS[\"SWEREF99 18 00\", ...]");
        gpkg.layer(
            "stadsdelar",
            "geom",
            "MULTIPOLYGON",
            3011,
            ", \"NAMN\" TEXT, kod INTEGER, andel REAL, bild BLOB",
        );
        gpkg.layer("punkter", "geom", "POINT", 3011, ", namn TEXT");
        for (i, f) in raw.iter().enumerate() {
            let blob = trygg_store::geom::encode_multipolygon(3011, &f.geometry);
            gpkg.conn
                .execute(
                    "INSERT INTO stadsdelar (geom, NAMN, kod, andel, bild) VALUES (?1, ?2, ?3, ?4, x'00')",
                    rusqlite::params![blob, f.name, 1000 + i as i64, 0.5],
                )
                .expect("insert");
        }
        gpkg.conn
            .execute(
                "INSERT INTO punkter (geom, namn) VALUES (?1, 'x')",
                [trygg_store::geom::encode_point(
                    3011,
                    153_905.0,
                    6_579_354.0,
                )],
            )
            .expect("point");
    }
    let from_gpkg = read_area_file(&path, &ReadOptions::default()).expect("gpkg");
    let from_shp = read_area_file(&shapefile(), &ReadOptions::default()).expect("shapefile");
    assert_eq!(from_gpkg.len(), 117);
    let names = |v: &[AreaFeature]| v.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&from_gpkg), names(&from_shp));
    let worst = max_vertex_distance(&from_gpkg, &from_shp);
    assert!(
        worst < 1e-6,
        "EPSG:3011 by code vs by the .prj WKT: {worst} m"
    );
    assert_eq!(
        from_gpkg[0].properties,
        json!({"kod": 1000, "andel": 0.5})
            .as_object()
            .cloned()
            .unwrap_or_default()
    );

    // Codes from an integer column.
    let opts = ReadOptions {
        code_field: Some("kod".into()),
        ..ReadOptions::default()
    };
    let coded = read_area_file(&path, &opts).expect("codes");
    assert_eq!(
        (coded[3].code.as_str(), coded[3].name.as_str()),
        ("1003", from_shp[3].name.as_str())
    );
}

#[test]
fn geopackage_with_several_polygon_layers_needs_a_layer_and_reads_wkt_crs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("two.gpkg");
    let raw = shapefile_raw_3011();
    let prj = std::fs::read_to_string(data("shapefile-sweref99-1800/stadsdelar.prj")).expect("prj");
    {
        let gpkg = Gpkg::create(&path);
        gpkg.srs(3011, "EPSG", 3011, "PROJCS[...]");
        gpkg.srs(100_000, "NONE", 100_000, &prj);
        gpkg.layer("a", "geom", "MULTIPOLYGON", 3011, ", name TEXT");
        gpkg.layer("b \"quoted\"", "shape", "POLYGON", 100_000, ", name TEXT");
        for f in &raw[..5] {
            let blob = trygg_store::geom::encode_multipolygon(3011, &f.geometry);
            gpkg.conn
                .execute(
                    "INSERT INTO a (geom, name) VALUES (?1, ?2)",
                    rusqlite::params![blob, f.name],
                )
                .expect("a");
            let blob = trygg_store::geom::encode_multipolygon(100_000, &f.geometry);
            gpkg.conn
                .execute(
                    "INSERT INTO \"b \"\"quoted\"\"\" (shape, name) VALUES (?1, ?2)",
                    rusqlite::params![blob, f.name],
                )
                .expect("b");
        }
    }
    let err = read_area_file(&path, &ReadOptions::default())
        .expect_err("two layers")
        .to_string();
    assert!(
        err.contains("several polygon layers")
            && err.contains("'a' (MULTIPOLYGON)")
            && err.contains("'b \"quoted\"' (POLYGON)"),
        "{err}"
    );
    let a = read_area_file(
        &path,
        &ReadOptions {
            layer: Some("a".into()),
            ..ReadOptions::default()
        },
    )
    .expect("a");
    let b = read_area_file(
        &path,
        &ReadOptions {
            layer: Some("b \"quoted\"".into()),
            ..ReadOptions::default()
        },
    )
    .expect("b");
    assert_eq!(a.len(), 5);
    assert!(max_vertex_distance(&a, &b) < 1e-6);
    let err = read_area_file(
        &path,
        &ReadOptions {
            layer: Some("c".into()),
            ..ReadOptions::default()
        },
    )
    .expect_err("no c");
    assert!(err.to_string().contains("no layer 'c'"), "{err}");
}

#[test]
fn geopackage_geometry_and_crs_errors_name_the_feature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.gpkg");
    {
        let gpkg = Gpkg::create(&path);
        gpkg.layer("omr", "geom", "MULTIPOLYGON", -1, ", name TEXT");
        let square = geo_types::MultiPolygon(vec![geo_types::Polygon::new(
            geo_types::LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        )]);
        gpkg.conn
            .execute(
                "INSERT INTO omr (geom, name) VALUES (?1, 'A')",
                [trygg_store::geom::encode_multipolygon(-1, &square)],
            )
            .expect("a");
        gpkg.conn
            .execute(
                "INSERT INTO omr (geom, name) VALUES (?1, 'B')",
                [trygg_store::geom::encode_point(-1, 0.5, 0.5)],
            )
            .expect("b");
    }
    let err = read_area_file(&path, &ReadOptions::default())
        .expect_err("undefined srs")
        .to_string();
    assert!(
        err.contains("bad.gpkg") && err.contains("undefined CRS"),
        "{err}"
    );
    let opts = ReadOptions {
        crs: Some(Crs::STORE),
        ..ReadOptions::default()
    };
    let err = read_area_file(&path, &opts)
        .expect_err("a point")
        .to_string();
    assert!(
        err.contains("feature 1") && err.contains("Point is not an area"),
        "{err}"
    );
    let err = read_area_file(&dir.path().join("missing.gpkg"), &opts)
        .expect_err("missing")
        .to_string();
    assert!(err.contains("missing.gpkg"), "{err}");
}

#[test]
fn shapefile_without_prj_needs_a_crs() {
    let dir = tempfile::tempdir().expect("tempdir");
    for ext in ["shp", "shx", "dbf"] {
        std::fs::copy(
            data(&format!("shapefile-sweref99-1800/stadsdelar.{ext}")),
            dir.path().join(format!("s.{ext}")),
        )
        .expect("copy");
    }
    let path = dir.path().join("s.shp");
    let err = read_area_file(&path, &ReadOptions::default())
        .expect_err("no prj")
        .to_string();
    assert!(err.contains("s.shp") && err.contains(".prj"), "{err}");
    let opts = ReadOptions {
        crs: Some(Crs::Epsg(3011)),
        ..ReadOptions::default()
    };
    let with_code = read_area_file(&path, &opts).expect("EPSG:3011 given");
    let with_prj = read_area_file(&shapefile(), &ReadOptions::default()).expect("prj");
    assert!(max_vertex_distance(&with_code, &with_prj) < 1e-6);
}

fn write(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write");
    path
}

fn square(x: f64, y: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + 100.0, y], [x + 100.0, y + 100.0], [x, y + 100.0], [x, y]]]})
}

#[test]
fn geojson_legacy_crs_holes_multipolygons_and_name_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fc = json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3006"}},
        "features": [
            {"type": "Feature", "properties": {"NAMN": "Ett", "kod": 1, "extra": [1, 2]}, "geometry": {"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [0.0, 100.0], [100.0, 100.0], [100.0, 0.0], [0.0, 0.0]],
                [[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0], [10.0, 10.0]]]}},
            {"type": "Feature", "properties": {"NAMN": "Två", "kod": "2"}, "geometry": {"type": "MultiPolygon", "coordinates": [
                square(200.0, 0.0)["coordinates"], square(400.0, 0.0)["coordinates"]]}}
        ]
    });
    let path = write(dir.path(), "a.geojson", &fc);
    let areas = read_area_file(&path, &ReadOptions::default()).expect("read");
    assert_eq!(areas[0].name, "Ett");
    assert_eq!(areas[0].code, "Ett");
    assert_eq!(
        areas[0].properties,
        json!({"kod": 1, "extra": [1, 2]})
            .as_object()
            .cloned()
            .unwrap_or_default()
    );
    // EPSG:3006 given: coordinates untouched; rings re-oriented.
    let p = &areas[0].geometry.0[0];
    assert!(p.exterior().is_ccw() && p.interiors()[0].is_cw());
    assert_eq!(p.unsigned_area(), 100.0 * 100.0 - 10.0 * 10.0);
    assert_eq!(areas[1].geometry.0.len(), 2);
    let opts = ReadOptions {
        code_field: Some("kod".into()),
        ..ReadOptions::default()
    };
    let coded = read_area_file(&path, &opts).expect("codes");
    assert_eq!((coded[0].code.as_str(), coded[1].code.as_str()), ("1", "2"));
    assert!(!coded[0].properties.contains_key("kod"));
}

#[test]
fn geojson_errors_name_file_feature_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let crs = json!({"type": "name", "properties": {"name": "EPSG:3006"}});
    let cases = [
        (
            json!({"type": "FeatureCollection", "crs": crs, "features": [
                {"type": "Feature", "properties": {"name": "A"}, "geometry": square(0.0, 0.0)},
                {"type": "Feature", "properties": {"name": "B"}, "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}}]}),
            vec!["feature 1", "Point is not an area"],
        ),
        (
            json!({"type": "FeatureCollection", "crs": crs, "features": [
                {"type": "Feature", "properties": {"name": "A"}, "geometry": square(0.0, 0.0)},
                {"type": "Feature", "properties": {"name": " A "}, "geometry": square(0.0, 0.0)}]}),
            vec!["features 0 and 1", "same code 'A'"],
        ),
        (
            json!({"type": "FeatureCollection", "crs": crs, "features": [
                {"type": "Feature", "properties": {"namn2": "A"}, "geometry": square(0.0, 0.0)}]}),
            vec!["feature 0", "name|NAMN|namn|Name|NAME", "name_field"],
        ),
        (
            json!({"type": "FeatureCollection", "crs": crs, "features": [
                {"type": "Feature", "properties": {"name": ""}, "geometry": square(0.0, 0.0)}]}),
            vec!["feature 0", "field 'name'", "empty"],
        ),
        (
            json!({"type": "FeatureCollection", "crs": crs, "features": [
                {"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}}]}),
            vec!["feature 0", "ring 0 has 2 distinct vertices"],
        ),
        (
            json!({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "SWEREF"}}, "features": []}),
            vec!["CRS", "'SWEREF'"],
        ),
        (
            json!({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"name": "A"}, "geometry": square(0.0, 0.0)}]}),
            // CRS84 by default: 100 degrees of latitude do not exist.
            vec!["feature 0", "cannot transform"],
        ),
    ];
    for (i, (value, wanted)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("case{i}.geojson"), value);
        let err = read_area_file(&path, &ReadOptions::default())
            .expect_err("must fail")
            .to_string();
        assert!(err.contains(&format!("case{i}.geojson")), "{err}");
        for w in wanted {
            assert!(err.contains(w), "case {i}: '{w}' not in: {err}");
        }
    }
    let path = dir.path().join("not.json");
    std::fs::write(&path, "{ not json").expect("write");
    let err = read_area_file(&path, &ReadOptions::default())
        .expect_err("bad json")
        .to_string();
    assert!(
        err.contains("not.json") && err.contains("not valid GeoJSON"),
        "{err}"
    );
    let err = read_area_file(Path::new("areas.kml"), &ReadOptions::default())
        .expect_err("kml")
        .to_string();
    assert!(err.contains("unsupported area file type 'kml'"), "{err}");
    let err = read_area_file(&dir.path().join("gone.geojson"), &ReadOptions::default())
        .expect_err("io")
        .to_string();
    assert!(
        err.contains("gone.geojson") && err.contains("cannot read"),
        "{err}"
    );
}
