//! GeoJSON area layers: a FeatureCollection (or a single Feature) of Polygons and
//! MultiPolygons. RFC 7946 says the coordinates are CRS84 longitude/latitude; files
//! written by older GDAL may carry a legacy `crs` member naming another CRS, which
//! is honoured.

use std::path::Path;

use geo_types::Coord;
use geojson::{GeoJson, Value as GeomValue};
use serde_json::{Map, Value};
use trygg_crs::Crs;

use super::{crs_from_name, finish, AreaError, AreaFeature, RawFeature, RawPolygon, ReadOptions};

/// Reads GeoJSON text; `file` names it in errors.
pub(crate) fn read_str(
    text: &str,
    file: &Path,
    opts: &ReadOptions,
) -> Result<Vec<AreaFeature>, AreaError> {
    let format_error = |reason: String| AreaError::Format {
        file: file.to_owned(),
        reason,
    };
    let geojson: GeoJson = text
        .parse()
        .map_err(|e| format_error(format!("not valid GeoJSON: {e}")))?;
    let (features, foreign) =
        match geojson {
            GeoJson::FeatureCollection(fc) => (fc.features, fc.foreign_members),
            GeoJson::Feature(f) => (vec![f], None),
            GeoJson::Geometry(_) => return Err(format_error(
                "a bare geometry has no attributes: expected a FeatureCollection of named polygons"
                    .into(),
            )),
        };
    let file_crs = legacy_crs(file, foreign.as_ref())?;
    let crs = opts.crs.clone().unwrap_or(file_crs);
    let mut raw = Vec::with_capacity(features.len());
    for (index, feature) in features.into_iter().enumerate() {
        let geometry_error = |reason: String| AreaError::Geometry {
            file: file.to_owned(),
            feature: index,
            reason,
        };
        let geometry = feature
            .geometry
            .ok_or_else(|| geometry_error("the feature has no geometry".into()))?;
        let polygons = match &geometry.value {
            GeomValue::Polygon(rings) => vec![polygon(rings).map_err(geometry_error)?],
            GeomValue::MultiPolygon(polys) => polys
                .iter()
                .map(|rings| polygon(rings))
                .collect::<Result<Vec<_>, _>>()
                .map_err(geometry_error)?,
            other => {
                return Err(geometry_error(format!(
                    "a {} is not an area: only Polygon and MultiPolygon are accepted",
                    other.type_name()
                )))
            }
        };
        raw.push(RawFeature {
            index,
            properties: feature.properties.unwrap_or_default(),
            polygons,
        });
    }
    finish(file, &crs, raw, opts)
}

/// The CRS from a legacy (GeoJSON 2008) `crs` member; CRS84 when there is none.
fn legacy_crs(file: &Path, foreign: Option<&Map<String, Value>>) -> Result<Crs, AreaError> {
    let Some(member) = foreign.and_then(|f| f.get("crs")) else {
        return Ok(Crs::WGS84);
    };
    if member.is_null() {
        return Ok(Crs::WGS84);
    }
    let name = member
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .filter(|_| member.get("type").and_then(Value::as_str) == Some("name"));
    let Some(name) = name else {
        return Err(AreaError::Crs {
            file: file.to_owned(),
            reason: format!(
                "the legacy 'crs' member {member} is not of the form {{\"type\": \"name\", \"properties\": {{\"name\": ...}}}}: remove it (RFC 7946 files are CRS84) or set the CRS explicitly"
            ),
        });
    };
    crs_from_name(name).ok_or_else(|| AreaError::Crs {
        file: file.to_owned(),
        reason: format!(
            "the legacy 'crs' member names '{name}', which is neither CRS84 nor an EPSG code"
        ),
    })
}

/// One polygon's rings as coordinates.
fn polygon(rings: &[Vec<Vec<f64>>]) -> Result<RawPolygon, String> {
    if rings.is_empty() {
        return Err("a polygon has no rings".into());
    }
    rings
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            ring.iter()
                .map(|position| match position.as_slice() {
                    [x, y, ..] => Ok(Coord { x: *x, y: *y }),
                    _ => Err(format!(
                        "ring {r} has a position with fewer than two numbers"
                    )),
                })
                .collect()
        })
        .collect()
}
