//! Area layers: reading polygon layers (GeoJSON, GeoPackage, Shapefile) into
//! [`AreaFeature`]s in the store's CRS, the point → area lookup used at ingest
//! ([`AreaIndex`]), the free-text place matcher for police summaries
//! ([`PlaceMatcher`]), and Stockholm's shipped stadsdelar and stadsdelsområden
//! ([`stockholm_default`]).
//!
//! Every reader ends in the same place: polygons only, every vertex transformed to
//! EPSG:3006, exterior rings counter-clockwise and holes clockwise, a non-empty code
//! unique within the file, and all other attributes kept as JSON.

mod dbf;
mod geojson_file;
mod gpkg;
mod places;
mod shp;
mod stockholm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use geo::orient::{Direction, Orient};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};
use trygg_crs::{Crs, CrsError, Transformer};

pub use places::PlaceMatcher;
pub use stockholm::{
    dissolve, interior_point, stockholm_default, LayerValidity, StockholmAreas,
    STADSDELSOMRADE_2020_VALIDITY, STADSDELSOMRADE_2023_VALIDITY, STADSDEL_VALIDITY,
};
pub use trygg_spatial::AreaIndex;

/// The property names tried, in order, for an area's name when
/// [`ReadOptions::name_field`] is not set.
pub const DEFAULT_NAME_FIELDS: [&str; 5] = ["name", "NAMN", "namn", "Name", "NAME"];

/// One area of a layer: a stable code, a display name, the other attributes, and
/// the polygons in EPSG:3006.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaFeature {
    /// Stable code, non-empty and unique within the layer (the name unless
    /// [`ReadOptions::code_field`] says otherwise).
    pub code: String,
    /// Display name, e.g. "RINKEBY".
    pub name: String,
    /// The feature's other attributes; the name and code fields are not repeated here.
    pub properties: Map<String, Value>,
    /// The polygons in EPSG:3006; exteriors counter-clockwise, holes clockwise.
    pub geometry: MultiPolygon<f64>,
}

impl AreaFeature {
    /// The feature as the store holds it (properties as JSON text).
    pub fn to_stored(&self) -> trygg_store::StoredArea {
        trygg_store::StoredArea {
            code: self.code.clone(),
            name: self.name.clone(),
            properties: serde_json::Value::Object(self.properties.clone()).to_string(),
            geometry: self.geometry.clone(),
        }
    }
}

/// How to read an area file; the defaults suit files that say their own CRS and
/// have a `name` (or `NAMN`, ...) attribute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// The CRS of the coordinates, overriding whatever the file says (or does not say:
    /// a Shapefile without `.prj` needs this).
    pub crs: Option<Crs>,
    /// The attribute holding the display name; default: the first present of
    /// [`DEFAULT_NAME_FIELDS`].
    pub name_field: Option<String>,
    /// The attribute holding the code; default: the name.
    pub code_field: Option<String>,
    /// The GeoPackage table to read; needed when the file has several polygon layers.
    pub layer: Option<String>,
}

/// Why an area file (or the shipped Stockholm data) could not be read. Every variant
/// names the file; feature indices count from 0 in file order.
#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The extension is not one of the supported formats.
    #[error(
        "{file}: unsupported area file type '{extension}': use .geojson, .json, .gpkg or .shp"
    )]
    UnsupportedFormat {
        /// The file.
        file: PathBuf,
        /// The extension found (empty if none).
        extension: String,
    },
    /// The file is not valid in its format as a whole (bad JSON, not a
    /// FeatureCollection, a malformed GeoPackage or Shapefile, ...).
    #[error("{file}: {reason}")]
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The GeoPackage's layers do not allow choosing one (none, several, or the
    /// requested one is missing).
    #[error("{file}: {reason}")]
    Layer {
        /// The file.
        file: PathBuf,
        /// What is wrong, listing the layers found.
        reason: String,
    },
    /// The file's CRS is missing, unknown, or PROJ cannot transform from it.
    #[error("{file}: CRS: {reason}")]
    Crs {
        /// The file.
        file: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// One feature's geometry is unusable (not a polygon, too few vertices, not
    /// finite, or PROJ cannot transform a vertex).
    #[error("{file}: feature {feature}: {reason}")]
    Geometry {
        /// The file.
        file: PathBuf,
        /// The feature's index in file order, from 0.
        feature: usize,
        /// What is wrong.
        reason: String,
    },
    /// One feature's attribute is missing or unusable (no name, empty code, ...).
    #[error("{file}: feature {feature}: field '{field}': {reason}")]
    Field {
        /// The file.
        file: PathBuf,
        /// The feature's index in file order, from 0.
        feature: usize,
        /// The attribute (or the list of attributes tried).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Two features share a code.
    #[error("{file}: features {first} and {second} have the same code '{code}': codes must be unique (set code_field to a unique attribute)")]
    DuplicateCode {
        /// The file.
        file: PathBuf,
        /// The repeated code.
        code: String,
        /// Index of the first feature with the code.
        first: usize,
        /// Index of the second.
        second: usize,
    },
    /// SQLite refused a GeoPackage query.
    #[error("{file}: GeoPackage: {context}: {source}")]
    Sqlite {
        /// The file.
        file: PathBuf,
        /// What was being read.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// An area lacks the text property [`dissolve`] groups by.
    #[error("area '{code}' has no text property '{property}' to dissolve by")]
    Dissolve {
        /// The area's code.
        code: String,
        /// The property.
        property: String,
    },
    /// The shipped Stockholm data is inconsistent (a stadsdel without a row in
    /// `stadsdelar.csv`, or the reverse).
    #[error("{file}: {reason}")]
    Data {
        /// The shipped file at fault.
        file: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
}

/// Reads an area layer, choosing the format by extension: `.geojson`/`.json`,
/// `.gpkg` or `.shp`. Every vertex is transformed to EPSG:3006.
///
/// ```no_run
/// use trygg_ingest::areas::{read_area_file, ReadOptions};
/// let areas = read_area_file("stadsdelar.gpkg".as_ref(), &ReadOptions::default())?;
/// # Ok::<(), trygg_ingest::areas::AreaError>(())
/// ```
pub fn read_area_file(path: &Path, opts: &ReadOptions) -> Result<Vec<AreaFeature>, AreaError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "geojson" | "json" => {
            let text = std::fs::read_to_string(path).map_err(|source| AreaError::Io {
                file: path.to_owned(),
                source,
            })?;
            geojson_file::read_str(&text, path, opts)
        }
        "gpkg" => gpkg::read(path, opts),
        "shp" => shp::read(path, opts),
        _ => Err(AreaError::UnsupportedFormat {
            file: path.to_owned(),
            extension,
        }),
    }
}

/// One feature as a reader found it, before naming, transforming and checking.
pub(crate) struct RawFeature {
    /// Index in file order, from 0 (for messages).
    pub index: usize,
    /// All attributes.
    pub properties: Map<String, Value>,
    /// Polygons in the file's CRS (rings as read; closed and oriented later).
    pub polygons: Vec<RawPolygon>,
}

/// A polygon's rings in the file's CRS: the exterior first, then holes.
pub(crate) type RawPolygon = Vec<Vec<Coord<f64>>>;

/// Turns a reader's raw features into [`AreaFeature`]s: picks name and code,
/// transforms every vertex from `crs` to EPSG:3006, checks rings and code
/// uniqueness.
pub(crate) fn finish(
    file: &Path,
    crs: &Crs,
    raw: Vec<RawFeature>,
    opts: &ReadOptions,
) -> Result<Vec<AreaFeature>, AreaError> {
    let transformer = Transformer::to_store(crs).map_err(|e| crs_error(file, crs, &e))?;
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for feature in raw {
        let index = feature.index;
        let mut properties = feature.properties;
        let (name_field, name) = take_name(file, index, &mut properties, opts)?;
        let code = match &opts.code_field {
            Some(field) => {
                let value = properties.remove(field).ok_or_else(|| AreaError::Field {
                    file: file.to_owned(),
                    feature: index,
                    field: field.clone(),
                    reason: "the code attribute is missing".into(),
                })?;
                text_value(&value).ok_or_else(|| AreaError::Field {
                    file: file.to_owned(),
                    feature: index,
                    field: field.clone(),
                    reason: format!("the code must be a string or a number, not {value}"),
                })?
            }
            None => name.clone(),
        };
        if code.is_empty() {
            let field = opts.code_field.clone().unwrap_or(name_field);
            return Err(AreaError::Field {
                file: file.to_owned(),
                feature: index,
                field,
                reason: "the code is empty".into(),
            });
        }
        if let Some(&first) = seen.get(&code) {
            return Err(AreaError::DuplicateCode {
                file: file.to_owned(),
                code,
                first,
                second: index,
            });
        }
        seen.insert(code.clone(), index);
        let geometry = to_store(file, index, &feature.polygons, &transformer)?;
        out.push(AreaFeature {
            code,
            name,
            properties,
            geometry,
        });
    }
    Ok(out)
}

/// Removes and returns the name attribute (and which field it came from).
fn take_name(
    file: &Path,
    index: usize,
    properties: &mut Map<String, Value>,
    opts: &ReadOptions,
) -> Result<(String, String), AreaError> {
    let field = match &opts.name_field {
        Some(field) if properties.contains_key(field) => field.clone(),
        Some(field) => {
            return Err(AreaError::Field {
                file: file.to_owned(),
                feature: index,
                field: field.clone(),
                reason: "the name attribute is missing".into(),
            })
        }
        None => DEFAULT_NAME_FIELDS
            .iter()
            .find(|f| properties.contains_key(**f))
            .map(|f| (*f).to_owned())
            .ok_or_else(|| AreaError::Field {
                file: file.to_owned(),
                feature: index,
                field: DEFAULT_NAME_FIELDS.join("|"),
                reason:
                    "no name attribute: set name_field to the attribute holding the area's name"
                        .into(),
            })?,
    };
    let value = properties.remove(&field).unwrap_or(Value::Null);
    match text_value(&value) {
        Some(name) if !name.is_empty() => Ok((field, name)),
        Some(_) => Err(AreaError::Field {
            file: file.to_owned(),
            feature: index,
            field,
            reason: "the name is empty".into(),
        }),
        None => Err(AreaError::Field {
            file: file.to_owned(),
            feature: index,
            field,
            reason: format!("the name must be a string or a number, not {value}"),
        }),
    }
}

/// A string or number attribute as trimmed text; `None` for anything else.
fn text_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Transforms, closes, checks and orients one feature's polygons.
fn to_store(
    file: &Path,
    index: usize,
    polygons: &[RawPolygon],
    transformer: &Transformer,
) -> Result<MultiPolygon<f64>, AreaError> {
    let geometry_error = |reason: String| AreaError::Geometry {
        file: file.to_owned(),
        feature: index,
        reason,
    };
    if polygons.is_empty() {
        return Err(geometry_error("the geometry is empty".into()));
    }
    let mut out = Vec::with_capacity(polygons.len());
    for (p, rings) in polygons.iter().enumerate() {
        let mut converted = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            let mut coords = Vec::with_capacity(ring.len() + 1);
            for c in ring {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return Err(geometry_error(format!(
                        "polygon {p}, ring {r}: coordinate ({}, {}) is not a finite number",
                        c.x, c.y
                    )));
                }
                let (x, y) = transformer.convert(c.x, c.y).map_err(|e| {
                    geometry_error(format!(
                        "polygon {p}, ring {r}: cannot transform to EPSG:3006: {e}"
                    ))
                })?;
                coords.push(Coord { x, y });
            }
            if coords.first() != coords.last() {
                if let Some(&first) = coords.first() {
                    coords.push(first);
                }
            }
            if coords.len() < 4 {
                return Err(geometry_error(format!(
                    "polygon {p}, ring {r} has {} distinct vertices; a ring needs at least 3",
                    coords.len().saturating_sub(1)
                )));
            }
            converted.push(LineString(coords));
        }
        let mut rings = converted.into_iter();
        let Some(exterior) = rings.next() else {
            return Err(geometry_error(format!("polygon {p} has no rings")));
        };
        out.push(Polygon::new(exterior, rings.collect()));
    }
    Ok(MultiPolygon(out).orient(Direction::Default))
}

/// A CRS error for the whole file.
pub(crate) fn crs_error(file: &Path, crs: &Crs, e: &CrsError) -> AreaError {
    AreaError::Crs {
        file: file.to_owned(),
        reason: format!("{}: {e}", crs.label()),
    }
}

/// The CRS named by a GeoJSON legacy `crs` member or similar text: any known name
/// [`Crs::parse`] accepts, or any EPSG code PROJ may know ("EPSG:3010",
/// "urn:ogc:def:crs:EPSG::3010").
pub(crate) fn crs_from_name(name: &str) -> Option<Crs> {
    if let Ok(crs) = Crs::parse(name) {
        return Some(crs);
    }
    let upper = name.trim().to_ascii_uppercase();
    if !(upper.starts_with("EPSG:") || upper.starts_with("URN:OGC:DEF:CRS:EPSG:")) {
        return None;
    }
    upper
        .rsplit(':')
        .next()
        .and_then(|code| code.parse::<u32>().ok())
        .map(Crs::Epsg)
}

#[cfg(test)]
mod tests;
