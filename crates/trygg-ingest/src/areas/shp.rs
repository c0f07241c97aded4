//! Shapefile area layers: geometry from the `.shp` (read by the `shapefile` crate),
//! attributes from the `.dbf` (read by [`super::dbf`], which honours the `.cpg`), and
//! the CRS from the `.prj` WKT, which PROJ reads in both its OGC and ESRI flavours.

use std::path::{Path, PathBuf};

use geo::Contains;
use geo_types::{Coord, LineString, Point, Polygon};
use shapefile::{PolygonRing, Shape, ShapeReader};
use trygg_crs::Crs;

use super::dbf::{self, TextEncoding};
use super::{finish, AreaError, AreaFeature, RawFeature, RawPolygon, ReadOptions};

/// Reads a `.shp` with its sibling `.dbf`, `.prj` and (optional) `.cpg`.
pub(crate) fn read(file: &Path, opts: &ReadOptions) -> Result<Vec<AreaFeature>, AreaError> {
    let format_error = |reason: String| AreaError::Format {
        file: file.to_owned(),
        reason,
    };
    let crs = match &opts.crs {
        Some(crs) => crs.clone(),
        None => {
            let prj = sibling(file, "prj").ok_or_else(|| AreaError::Crs {
                file: file.to_owned(),
                reason: "there is no .prj file next to it, so its CRS is unknown: add the .prj or set the CRS explicitly"
                    .into(),
            })?;
            let wkt = std::fs::read_to_string(&prj).map_err(|source| AreaError::Io {
                file: prj.clone(),
                source,
            })?;
            Crs::Wkt(wkt.trim().trim_start_matches('\u{feff}').to_owned())
        }
    };
    let dbf_path = sibling(file, "dbf").ok_or_else(|| {
        format_error("there is no .dbf file next to it, so its areas have no names".into())
    })?;
    let encoding = match sibling(file, "cpg") {
        Some(cpg) => {
            let label = std::fs::read_to_string(&cpg).map_err(|source| AreaError::Io {
                file: cpg.clone(),
                source,
            })?;
            TextEncoding::from_cpg(&label)
        }
        None => TextEncoding::Guess,
    };
    let dbf_bytes = std::fs::read(&dbf_path).map_err(|source| AreaError::Io {
        file: dbf_path.clone(),
        source,
    })?;
    let records = dbf::read(&dbf_bytes, &dbf_path, encoding)?;

    let mut reader = ShapeReader::from_path(file)
        .map_err(|e| format_error(format!("not a readable Shapefile: {e}")))?;
    let mut raw = Vec::with_capacity(records.len());
    let mut shapes = 0;
    for (index, shape) in reader.iter_shapes().enumerate() {
        shapes += 1;
        let geometry_error = |reason: String| AreaError::Geometry {
            file: file.to_owned(),
            feature: index,
            reason,
        };
        let shape = shape.map_err(|e| geometry_error(format!("unreadable shape: {e}")))?;
        let Some(record) = records.get(index) else {
            continue; // counted above, reported below
        };
        let Some(properties) = record.clone() else {
            continue; // deleted in the .dbf: GDAL skips these too
        };
        let polygons = match &shape {
            Shape::Polygon(p) => polygons(p.rings(), |pt| Coord { x: pt.x, y: pt.y }),
            Shape::PolygonM(p) => polygons(p.rings(), |pt| Coord { x: pt.x, y: pt.y }),
            Shape::PolygonZ(p) => polygons(p.rings(), |pt| Coord { x: pt.x, y: pt.y }),
            Shape::NullShape => {
                return Err(geometry_error(
                    "the feature has no geometry (null shape)".into(),
                ))
            }
            other => {
                return Err(geometry_error(format!(
                    "a {} is not an area: only polygons are accepted",
                    other.shapetype()
                )))
            }
        };
        raw.push(RawFeature {
            index,
            properties,
            polygons,
        });
    }
    if shapes != records.len() {
        return Err(format_error(format!(
            "the .shp has {shapes} shapes but the .dbf has {} records",
            records.len()
        )));
    }
    finish(file, &crs, raw, opts)
}

/// The file next to `file` with extension `ext` (or its upper-case form), if present.
fn sibling(file: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_owned(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| file.with_extension(e))
        .find(|p| p.is_file())
}

/// Groups a Shapefile polygon's rings into polygons: each outer ring starts one, and
/// each hole joins the outer ring that contains it (the preceding one if no outer
/// ring strictly contains any of its vertices).
fn polygons<P>(rings: &[PolygonRing<P>], xy: impl Fn(&P) -> Coord<f64>) -> Vec<RawPolygon> {
    let mut out: Vec<RawPolygon> = Vec::new();
    let mut outers: Vec<Polygon<f64>> = Vec::new();
    for ring in rings {
        let coords: Vec<Coord<f64>> = ring.points().iter().map(&xy).collect();
        match ring {
            PolygonRing::Outer(_) => {
                outers.push(Polygon::new(LineString(coords.clone()), vec![]));
                out.push(vec![coords]);
            }
            PolygonRing::Inner(_) => {
                let owner = coords
                    .iter()
                    .find_map(|c| outers.iter().position(|o| o.contains(&Point(*c))))
                    .or_else(|| out.len().checked_sub(1));
                match owner.and_then(|i| out.get_mut(i)) {
                    Some(polygon) => polygon.push(coords),
                    // A hole before any outer ring: read it as an outer ring, as GDAL does.
                    None => {
                        outers.push(Polygon::new(LineString(coords.clone()), vec![]));
                        out.push(vec![coords]);
                    }
                }
            }
        }
    }
    out
}
