//! The output encodings, written once for every front end: a result is JSON as
//! it serialises (its counts already published, see [`crate::disclosure`]), or a
//! [`Table`] of rows for CSV (plain or the Excel dialect), GeoJSON, XLSX,
//! GeoPackage and Parquet, written by one [`RowWriter`] (which also streams large
//! exports row by row). Synthetic demo data is labelled in every encoding.

use std::io::Write;

use serde::Serialize;
use serde_json::{json, Value};
use trygg_store::feature_file::GeometryType;

mod parquet_file;
mod rows;
mod xlsx;

pub use rows::{kinds, shape_of, About, Column, Kind, RowWriter};
pub use xlsx::MAX_ROWS as XLSX_MAX_ROWS;

use crate::disclosure::Count;
use crate::error::QueryError;
use crate::snapshot::DataInfo;

/// The label every row of synthetic data carries in CSV (the same as in event exports).
pub use trygg_export::SYNTHETIC_LABEL;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing (absent value).
    Empty,
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// Text.
    Text(String),
    /// A published count.
    Count(Count),
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Float)
    }
}

impl From<Count> for Cell {
    fn from(c: Count) -> Cell {
        Cell::Count(c)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<Option<&str>> for Cell {
    fn from(s: Option<&str>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_owned()))
    }
}

impl Cell {
    pub(crate) fn text(&self, decimal_comma: bool) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) if decimal_comma => v.to_string().replace('.', ","),
            Cell::Float(v) => v.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Count(c) => c.text(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        match self {
            Cell::Empty => Value::Null,
            Cell::Int(v) => json!(v),
            Cell::Float(v) => json!(v),
            Cell::Text(s) => json!(s),
            Cell::Count(c) => json!(c),
        }
    }
}

/// Rows of a result, with a GeoJSON geometry (WGS 84) per row where it has one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// One geometry per row (GeoJSON geometry objects), when the result is a map.
    pub geometry: Option<Vec<Option<Value>>>,
}

/// A result that has rows.
pub trait Tabular {
    /// The rows.
    fn table(&self) -> Table;
}

/// The encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV, UTF-8, comma, decimal point.
    Csv,
    /// CSV for Swedish Excel: byte-order mark, `;`, decimal comma.
    ExcelCsv,
    /// The whole result as JSON.
    Json,
    /// Rows with geometry as a GeoJSON FeatureCollection.
    GeoJson,
    /// An Excel workbook: typed cells and a sheet of parameters and provenance.
    Xlsx,
    /// A GeoPackage of one feature table (WGS 84) and its provenance.
    GeoPackage,
    /// Parquet (GeoParquet metadata when the rows have geometry).
    Parquet,
}

impl Format {
    /// Every format, by name.
    pub const NAMES: [&'static str; 7] =
        ["json", "csv", "excel", "geojson", "xlsx", "gpkg", "parquet"];

    /// The HTTP media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv | Format::ExcelCsv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::GeoJson => "application/geo+json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::GeoPackage => "application/geopackage+sqlite3",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::ExcelCsv => "csv",
            Format::Json => "json",
            Format::GeoJson => "geojson",
            Format::Xlsx => "xlsx",
            Format::GeoPackage => "gpkg",
            Format::Parquet => "parquet",
        }
    }

    /// Whether the encoding is built whole before its first byte can be sent
    /// (so a failure can still be reported as an error, not a cut file).
    pub fn is_built_whole(self) -> bool {
        matches!(self, Format::Xlsx | Format::GeoPackage | Format::Parquet)
    }

    /// Whether rows need their geometry.
    pub fn wants_geometry(self) -> bool {
        matches!(self, Format::GeoJson | Format::GeoPackage | Format::Parquet)
    }
}

impl std::str::FromStr for Format {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Format, QueryError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "excel" | "excel-csv" => Ok(Format::ExcelCsv),
            "json" => Ok(Format::Json),
            "geojson" => Ok(Format::GeoJson),
            "xlsx" => Ok(Format::Xlsx),
            "gpkg" | "geopackage" => Ok(Format::GeoPackage),
            "parquet" => Ok(Format::Parquet),
            other => Err(QueryError::invalid(
                "format",
                format!("unknown format '{other}' ({})", Format::NAMES.join(", ")),
            )),
        }
    }
}

/// The geometry type of a table's rows (`None`: no geometry).
fn geometry_type(table: &Table) -> Option<GeometryType> {
    let geometry = table.geometry.as_ref()?;
    let point = geometry
        .iter()
        .flatten()
        .all(|g| g.get("type").and_then(Value::as_str) == Some("Point"));
    Some(if point {
        GeometryType::Point
    } else {
        GeometryType::MultiPolygon
    })
}

/// Writes `result` in `format`; `data` labels synthetic data. `title` names what
/// the rows are (e.g. `counts`) in the typed encodings' metadata.
pub fn write<R: Serialize + Tabular, W: Write + Send>(
    mut w: W,
    format: Format,
    title: &str,
    result: &R,
    data: &DataInfo,
) -> Result<u64, QueryError> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut w, result).map_err(std::io::Error::from)?;
        writeln!(w)?;
        w.flush()?;
        return Ok(1);
    }
    let table = result.table();
    let whole = serde_json::to_value(result).map_err(std::io::Error::from)?;
    let about = About {
        title,
        parameters: whole.get("request").cloned().unwrap_or(Value::Null),
        data,
        suppression: whole
            .get("suppression")
            .and_then(Value::as_u64)
            .or_else(|| whole.pointer("/request/suppress").and_then(Value::as_u64)),
    };
    let geometry = if format.wants_geometry() {
        geometry_type(&table)
    } else {
        None
    };
    let mut out = RowWriter::new(
        format,
        kinds(&table.columns, &table.rows),
        geometry,
        &about,
        w,
    )?;
    for (i, row) in table.rows.iter().enumerate() {
        let g = table
            .geometry
            .as_ref()
            .and_then(|g| g.get(i))
            .and_then(Option::as_ref);
        out.row(row, g)?;
    }
    out.finish()
}
