//! GeoJSON point exports (a FeatureCollection of Point features), read through a
//! [`Mapping`]: properties play the part of CSV columns, the geometry gives the
//! coordinates, and the legacy `crs` member (if any) names the CRS.

use serde_json::{Map, Value};

use crate::candidate::{Parsed, RowError};
use crate::file_error::FileError;
use crate::mapping::Mapping;
use crate::row::{Fields, PointInput, RowBuilder};

/// The parsed features of one GeoJSON file.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoJsonRows {
    /// The CRS of the coordinates: the legacy `crs` member's name (e.g.
    /// `urn:ogc:def:crs:EPSG::3006`) if present, else `EPSG:4326` as RFC 7946 says.
    pub crs: String,
    /// One entry per feature, numbered from 1.
    pub rows: Vec<Parsed>,
}

/// Parses a FeatureCollection of points with a mapping's `[columns]` and `[time]`
/// (its x/y columns are ignored: coordinates come from the geometry).
///
/// A feature whose geometry is not a Point is rejected (field `geometry`); one with
/// a null geometry is placed by the mapping's area property when it has one, and
/// rejected (field `geometry`) otherwise. A candidate's `attributes` are its
/// properties object (re-serialised, keys in sorted order); `raw` is the feature.
pub fn parse_geojson(bytes: &[u8], mapping: &Mapping) -> Result<GeoJsonRows, FileError> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::file("file is empty"));
    }
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| FileError::file(format!("not valid JSON: {e}")))?;
    let Value::Object(document) = document else {
        return Err(FileError::file(
            "not a GeoJSON FeatureCollection (the top level is not an object)",
        ));
    };
    match document.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(FileError::field(
                "type",
                format!("'{other}' is not a FeatureCollection; wrap the features in one"),
            ))
        }
        None => {
            return Err(FileError::field(
                "type",
                "is missing; expected \"FeatureCollection\"",
            ))
        }
    }
    let features = document
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| FileError::field("features", "is missing or not an array"))?;
    let crs = document
        .get("crs")
        .and_then(|crs| crs.get("properties"))
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| "EPSG:4326".to_owned(), str::to_owned);

    let mut builder = RowBuilder::new(mapping, false);
    let rows = features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            parse_feature(
                u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
                feature,
                mapping,
                &mut builder,
            )
        })
        .collect();
    Ok(GeoJsonRows { crs, rows })
}

fn parse_feature(
    row: u64,
    feature: &Value,
    mapping: &Mapping,
    builder: &mut RowBuilder<'_>,
) -> Parsed {
    let raw = feature.to_string();
    let reject = |field: Option<&str>, reason: String| {
        Parsed::Reject(RowError {
            row: Some(row),
            field: field.map(str::to_owned),
            reason,
            raw: Some(raw.clone()),
        })
    };
    let Value::Object(feature) = feature else {
        return reject(
            None,
            format!("feature is not a JSON object but {}", kind(feature)),
        );
    };
    let point = match feature.get("geometry") {
        None | Some(Value::Null) => None,
        Some(geometry) => match point_of(geometry) {
            Ok(point) => Some(point),
            Err(reason) => return reject(Some("geometry"), reason),
        },
    };
    let empty = Map::new();
    let properties = match feature.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => {
            return reject(
                Some("properties"),
                format!("is {}, not an object", kind(other)),
            )
        }
    };
    let values = PropertyFields::new(mapping, properties, feature.get("id"));
    match builder.build(&values, PointInput::Geometry(point)) {
        Ok(core) => Parsed::Event(core.into_candidate(
            row,
            Value::Object(properties.clone()).to_string(),
            raw,
        )),
        Err(fail) => reject(fail.field.as_deref(), fail.reason),
    }
}

/// The coordinates of a Point geometry.
fn point_of(geometry: &Value) -> Result<(f64, f64), String> {
    let kind_name = geometry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("geometry without a type");
    if kind_name != "Point" {
        return Err(format!(
            "geometry is a {kind_name}; only Point features are supported"
        ));
    }
    let coordinates = geometry.get("coordinates").and_then(Value::as_array);
    match coordinates.map(Vec::as_slice) {
        Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok((x, y)),
            _ => Err(format!("Point coordinates [{x}, {y}] are not numbers")),
        },
        _ => Err("Point has no [x, y] coordinates".to_owned()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A feature's properties as the text values of the mapping's columns.
struct PropertyFields {
    values: Vec<String>,
}

impl PropertyFields {
    fn new(
        mapping: &Mapping,
        properties: &Map<String, Value>,
        feature_id: Option<&Value>,
    ) -> PropertyFields {
        let values = mapping
            .columns()
            .iter()
            .map(|name| {
                // A column called "id" that is not a property is the feature's own id.
                let value = properties
                    .get(name)
                    .or(if name == "id" { feature_id } else { None });
                match value {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                }
            })
            .collect();
        PropertyFields { values }
    }
}

impl Fields for PropertyFields {
    fn value(&self, col: usize) -> &str {
        self.values.get(col).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::RawLocation;
    use trygg_model::{NormCategory, Precision, Source};

    fn shootings() -> Mapping {
        Mapping::default_for(Source::Shootings).expect("built in")
    }

    #[test]
    fn reads_points_properties_and_the_legacy_crs() {
        let text = r#"{"type":"FeatureCollection",
            "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},
            "features":[
              {"type":"Feature","id":"S1","geometry":{"type":"Point","coordinates":[674032.0,6580821.0]},
               "properties":{"datum":"2024-02-03","tid":"21:40","plats":"Rinkeby torg","skadade":1}},
              {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{"id":"S2","datum":"2024-02-03"}},
              {"type":"Feature","geometry":null,"properties":{"id":"S3","datum":"2024-02-03"}},
              {"type":"Feature","geometry":{"type":"Point","coordinates":[18.0]},"properties":{"id":"S4","datum":"2024-02-03"}},
              {"type":"Feature","geometry":{"type":"Point","coordinates":[18.0,59.3]},"properties":{"id":"S5","datum":"3 februari"}},
              [1,2]
            ]}"#;
        let parsed = parse_geojson(text.as_bytes(), &shootings()).expect("valid collection");
        assert_eq!(parsed.crs, "urn:ogc:def:crs:EPSG::3006");
        assert_eq!(parsed.rows.len(), 6);
        let Parsed::Event(c) = &parsed.rows[0] else {
            panic!("{:?}", parsed.rows[0])
        };
        assert_eq!(c.row, 1);
        assert_eq!(c.source_id, "S1");
        assert_eq!(c.occurred_at.to_rfc3339(), "2024-02-03T21:40:00+01:00");
        assert_eq!(c.category_norm, NormCategory::Shooting);
        assert_eq!(
            c.location,
            RawLocation::Point {
                x: 674032.0,
                y: 6580821.0,
                precision: Precision::Exact,
                fields: std::sync::Arc::new(("coordinates[0]".into(), "coordinates[1]".into()))
            }
        );
        let attributes: Value = serde_json::from_str(&c.attributes).expect("valid JSON");
        assert_eq!(attributes["skadade"], 1);
        let expect_reject = |i: usize, field: &str, needle: &str| {
            let Parsed::Reject(e) = &parsed.rows[i] else {
                panic!("row {i}: {:?}", parsed.rows[i])
            };
            assert_eq!(e.row, Some(i as u64 + 1));
            assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
            assert!(e.reason.contains(needle), "{}", e.reason);
        };
        expect_reject(1, "geometry", "geometry is a LineString");
        expect_reject(2, "geometry", "geometry is null");
        expect_reject(3, "geometry", "no [x, y]");
        expect_reject(4, "datum+tid", "cannot read '3 februari'");
        let Parsed::Reject(e) = &parsed.rows[5] else {
            panic!("{:?}", parsed.rows[5])
        };
        assert_eq!(e.field, None);
    }

    #[test]
    fn non_point_fixture_rejects_by_geometry() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/bad/shootings-non-point.geojson"
        );
        let parsed = parse_geojson(&std::fs::read(path).expect("fixture"), &shootings())
            .expect("valid collection");
        assert_eq!(parsed.crs, "EPSG:4326");
        assert!(matches!(&parsed.rows[0], Parsed::Event(c) if c.source_id == "S-1"));
        for (i, needle) in [
            (
                1,
                "geometry is a LineString; only Point features are supported",
            ),
            (2, "geometry is null"),
        ] {
            let Parsed::Reject(e) = &parsed.rows[i] else {
                panic!("{:?}", parsed.rows[i])
            };
            assert_eq!(e.field.as_deref(), Some("geometry"));
            assert!(e.reason.starts_with(needle), "{}", e.reason);
        }
    }

    #[test]
    fn default_crs_and_area_fallback_for_null_geometry() {
        let survey = Mapping::default_for(Source::Survey).expect("built in");
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":null,"properties":{"respondent_id":5,"omgang":2023,"datum":"2023-10-01","stadsdel":"Kista","vikt":1.5}}]}"#;
        let parsed = parse_geojson(text.as_bytes(), &survey).expect("valid");
        assert_eq!(parsed.crs, "EPSG:4326");
        let Parsed::Event(c) = &parsed.rows[0] else {
            panic!("{:?}", parsed.rows[0])
        };
        assert_eq!(c.source_id, "2023:5");
        assert_eq!(
            c.location,
            RawLocation::Area {
                name: "Kista".into(),
                field: "stadsdel".into()
            }
        );
    }

    #[test]
    fn not_a_feature_collection_is_a_file_error() {
        for (text, needle) in [
            ("", "empty"),
            ("[1,2]", "not an object"),
            ("{\"type\":\"Feature\"}", "not a FeatureCollection"),
            ("{\"type\":\"FeatureCollection\"}", "features"),
            (
                "{\"type\":\"FeatureCollection\",\"features\":[",
                "not valid JSON",
            ),
        ] {
            let err = parse_geojson(text.as_bytes(), &shootings()).expect_err(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_geojson(&bytes, &shootings());
        }
    }
}
