//! GeoPackage area layers (as written by GDAL or QGIS): the file is opened
//! read-only, the polygon layers are found in `gpkg_geometry_columns`, the CRS comes
//! from `gpkg_spatial_ref_sys` (the EPSG code when the organisation is EPSG, else
//! the WKT definition), and geometry blobs are decoded by [`trygg_store::geom`].

use std::path::Path;

use geo_types::{Geometry, LineString, Polygon};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};
use trygg_crs::Crs;

use super::{finish, AreaError, AreaFeature, RawFeature, RawPolygon, ReadOptions};

/// One row of `gpkg_geometry_columns`.
struct GeometryColumn {
    table: String,
    column: String,
    geometry_type: String,
    srs_id: i64,
}

impl GeometryColumn {
    fn is_polygonal(&self) -> bool {
        matches!(
            self.geometry_type.to_ascii_uppercase().as_str(),
            "POLYGON" | "MULTIPOLYGON"
        )
    }
}

/// Reads the polygon layer of a GeoPackage (or `opts.layer`).
pub(crate) fn read(file: &Path, opts: &ReadOptions) -> Result<Vec<AreaFeature>, AreaError> {
    if !file.is_file() {
        return Err(AreaError::Io {
            file: file.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let sql_error = |context: &str| {
        let context = context.to_owned();
        move |source| AreaError::Sqlite {
            file: file.to_owned(),
            context,
            source,
        }
    };
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error("opening the file"))?;
    let columns = geometry_columns(&conn, file)?;
    let layer = choose_layer(file, &columns, opts.layer.as_deref())?;
    let crs = match &opts.crs {
        Some(crs) => crs.clone(),
        None => layer_crs(&conn, file, layer)?,
    };

    let table = quote(&layer.table);
    let pk = primary_key(&conn, &layer.table).map_err(sql_error("reading the layer's columns"))?;
    let order = pk
        .as_deref()
        .map(|pk| format!(" ORDER BY {}", quote(pk)))
        .unwrap_or_default();
    let mut statement = conn
        .prepare(&format!("SELECT * FROM {table}{order}"))
        .map_err(sql_error(&format!("reading layer '{}'", layer.table)))?;
    let names: Vec<String> = statement
        .column_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let Some(geometry_at) = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&layer.column))
    else {
        return Err(AreaError::Format {
            file: file.to_owned(),
            reason: format!("layer '{}' has no column '{}'", layer.table, layer.column),
        });
    };
    let mut rows = statement
        .query([])
        .map_err(sql_error(&format!("reading layer '{}'", layer.table)))?;
    let mut raw = Vec::new();
    while let Some(row) = rows
        .next()
        .map_err(sql_error(&format!("reading layer '{}'", layer.table)))?
    {
        let index = raw.len();
        let geometry_error = |reason: String| AreaError::Geometry {
            file: file.to_owned(),
            feature: index,
            reason,
        };
        let mut properties = Map::new();
        let mut polygons = None;
        for (i, name) in names.iter().enumerate() {
            let value = row
                .get_ref(i)
                .map_err(sql_error(&format!("reading column '{name}'")))?;
            if i == geometry_at {
                let ValueRef::Blob(blob) = value else {
                    return Err(geometry_error(format!(
                        "column '{name}' holds no geometry blob"
                    )));
                };
                let (srs_id, geometry) =
                    trygg_store::geom::decode(blob).map_err(|e| geometry_error(e.to_string()))?;
                if opts.crs.is_none() && i64::from(srs_id) != layer.srs_id {
                    return Err(geometry_error(format!(
                        "the geometry's SRS id {srs_id} differs from the layer's {}",
                        layer.srs_id
                    )));
                }
                polygons = Some(polygons_of(geometry).map_err(geometry_error)?);
            } else if pk.as_deref() != Some(name.as_str()) {
                if let Some(v) = json_value(value) {
                    properties.insert(name.clone(), v);
                }
            }
        }
        let polygons =
            polygons.ok_or_else(|| geometry_error("the feature has no geometry".into()))?;
        raw.push(RawFeature {
            index,
            properties,
            polygons,
        });
    }
    finish(file, &crs, raw, opts)
}

fn geometry_columns(conn: &Connection, file: &Path) -> Result<Vec<GeometryColumn>, AreaError> {
    let mut statement = conn
        .prepare(
            "SELECT table_name, column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns",
        )
        .map_err(|source| AreaError::Sqlite {
            file: file.to_owned(),
            context: "reading gpkg_geometry_columns (is this a GeoPackage?)".into(),
            source,
        })?;
    let rows = statement
        .query_map([], |row| {
            Ok(GeometryColumn {
                table: row.get(0)?,
                column: row.get(1)?,
                geometry_type: row.get(2)?,
                srs_id: row.get(3)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|source| AreaError::Sqlite {
            file: file.to_owned(),
            context: "reading gpkg_geometry_columns".into(),
            source,
        })?;
    Ok(rows)
}

fn choose_layer<'a>(
    file: &Path,
    columns: &'a [GeometryColumn],
    wanted: Option<&str>,
) -> Result<&'a GeometryColumn, AreaError> {
    let describe = |list: &[&GeometryColumn]| {
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.iter()
                .map(|c| format!("'{}' ({})", c.table, c.geometry_type))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let all: Vec<&GeometryColumn> = columns.iter().collect();
    if let Some(wanted) = wanted {
        return columns
            .iter()
            .find(|c| c.table == wanted)
            .ok_or_else(|| AreaError::Layer {
                file: file.to_owned(),
                reason: format!("no layer '{wanted}'; the layers are: {}", describe(&all)),
            });
    }
    let polygonal: Vec<&GeometryColumn> = columns.iter().filter(|c| c.is_polygonal()).collect();
    match polygonal.as_slice() {
        [one] => Ok(one),
        [] => Err(AreaError::Layer {
            file: file.to_owned(),
            reason: format!("no polygon layer; the layers are: {}", describe(&all)),
        }),
        several => Err(AreaError::Layer {
            file: file.to_owned(),
            reason: format!(
                "several polygon layers, choose one with `layer`: {}",
                describe(several)
            ),
        }),
    }
}

/// The layer's CRS from `gpkg_spatial_ref_sys`.
fn layer_crs(conn: &Connection, file: &Path, layer: &GeometryColumn) -> Result<Crs, AreaError> {
    let row: Option<(Option<String>, Option<i64>, Option<String>)> = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [layer.srs_id],
            |row| Ok(Some((row.get(0)?, row.get(1)?, row.get(2)?))),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(|source| AreaError::Sqlite {
            file: file.to_owned(),
            context: "reading gpkg_spatial_ref_sys".into(),
            source,
        })?;
    let Some((organization, code, definition)) = row else {
        return Err(AreaError::Crs {
            file: file.to_owned(),
            reason: format!(
                "layer '{}' uses SRS id {}, which gpkg_spatial_ref_sys does not define; set the CRS explicitly",
                layer.table, layer.srs_id
            ),
        });
    };
    if let (Some(org), Some(code)) = (&organization, code) {
        if org.eq_ignore_ascii_case("EPSG") {
            if let Ok(code) = u32::try_from(code) {
                if code > 0 {
                    return Ok(Crs::Epsg(code));
                }
            }
        }
    }
    match definition.map(|d| d.trim().to_owned()) {
        Some(wkt) if !wkt.is_empty() && !wkt.eq_ignore_ascii_case("undefined") => Ok(Crs::Wkt(wkt)),
        _ => Err(AreaError::Crs {
            file: file.to_owned(),
            reason: format!(
                "layer '{}' has an undefined CRS (SRS id {}); set the CRS explicitly",
                layer.table, layer.srs_id
            ),
        }),
    }
}

/// The name of the table's single-column primary key (GDAL's `fid`), if any.
fn primary_key(conn: &Connection, table: &str) -> Result<Option<String>, rusqlite::Error> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let keys = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(1)?, row.get::<_, i64>(5)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut pk = keys.into_iter().filter(|(_, pk)| *pk > 0);
    match (pk.next(), pk.next()) {
        (Some((name, _)), None) => Ok(Some(name)),
        _ => Ok(None),
    }
}

/// An SQL identifier in double quotes.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A column value as JSON; BLOBs (other geometries, images) are not kept.
fn json_value(value: ValueRef<'_>) -> Option<Value> {
    match value {
        ValueRef::Null => Some(Value::Null),
        ValueRef::Integer(i) => Some(Value::from(i)),
        ValueRef::Real(r) => {
            Some(serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number))
        }
        ValueRef::Text(t) => Some(Value::String(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Blob(_) => None,
    }
}

/// The polygons of a decoded geometry; anything but a (multi)polygon is an error.
fn polygons_of(geometry: Geometry<f64>) -> Result<Vec<RawPolygon>, String> {
    fn rings(p: &Polygon<f64>) -> RawPolygon {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r: &LineString<f64>| r.0.clone())
            .collect()
    }
    match geometry {
        Geometry::Polygon(p) => Ok(vec![rings(&p)]),
        Geometry::MultiPolygon(mp) => Ok(mp.0.iter().map(rings).collect()),
        Geometry::GeometryCollection(gc) if gc.0.is_empty() => Err("the geometry is empty".into()),
        other => Err(format!(
            "a {} is not an area: only Polygon and MultiPolygon are accepted",
            kind(&other)
        )),
    }
}

fn kind(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}
