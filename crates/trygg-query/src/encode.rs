//! The output encodings, written once for every front end: a result is JSON as
//! it serialises (its counts already published, see [`crate::disclosure`]), or a
//! [`Table`] of rows for CSV (plain or the Excel dialect) and GeoJSON. Synthetic
//! demo data is labelled in every encoding.

use std::io::Write;

use serde::Serialize;
use serde_json::{json, Map, Value};

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
    fn text(&self, decimal_comma: bool) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) if decimal_comma => v.to_string().replace('.', ","),
            Cell::Float(v) => v.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Count(c) => c.text(),
        }
    }

    fn json(&self) -> Value {
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
}

impl std::str::FromStr for Format {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Format, QueryError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "excel" | "excel-csv" => Ok(Format::ExcelCsv),
            "json" => Ok(Format::Json),
            "geojson" => Ok(Format::GeoJson),
            other => Err(QueryError::invalid(
                "format",
                format!("unknown format '{other}' (csv, excel, json, geojson)"),
            )),
        }
    }
}

/// Writes `result` in `format`; `data` labels synthetic data.
pub fn write<R: Serialize + Tabular>(
    w: &mut dyn Write,
    format: Format,
    result: &R,
    data: &DataInfo,
) -> Result<(), QueryError> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, result).map_err(std::io::Error::from)?;
            writeln!(w)?;
        }
        Format::Csv => write_csv(w, &result.table(), data, false)?,
        Format::ExcelCsv => write_csv(w, &result.table(), data, true)?,
        Format::GeoJson => {
            let table = result.table();
            let Some(geometry) = &table.geometry else {
                return Err(QueryError::invalid(
                    "format",
                    "this result has no geometry: use csv or json",
                ));
            };
            let features: Vec<Value> = table
                .rows
                .iter()
                .zip(geometry)
                .map(|(row, g)| {
                    let props: Map<String, Value> = table
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| ((*c).to_owned(), v.json()))
                        .collect();
                    json!({"type": "Feature", "geometry": g, "properties": props})
                })
                .collect();
            let mut fc = json!({"type": "FeatureCollection", "trygg": data, "features": features});
            if data.synthetic {
                fc["synthetic"] = json!(true);
                fc["notice"] = json!(data.notice.as_deref().unwrap_or(SYNTHETIC_LABEL));
            }
            serde_json::to_writer(&mut *w, &fc).map_err(std::io::Error::from)?;
            writeln!(w)?;
        }
    }
    w.flush()?;
    Ok(())
}

fn write_csv(
    w: &mut dyn Write,
    table: &Table,
    data: &DataInfo,
    excel: bool,
) -> Result<(), QueryError> {
    if excel {
        w.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut csv = csv::WriterBuilder::new()
        .delimiter(if excel { b';' } else { b',' })
        .from_writer(w);
    let mut header: Vec<&str> = table.columns.clone();
    if data.synthetic {
        header.push("data_notice");
    }
    csv.write_record(&header).map_err(std::io::Error::from)?;
    for row in &table.rows {
        let mut cells: Vec<String> = row.iter().map(|c| c.text(excel)).collect();
        if data.synthetic {
            cells.push(SYNTHETIC_LABEL.to_owned());
        }
        csv.write_record(&cells).map_err(std::io::Error::from)?;
    }
    csv.flush()?;
    Ok(())
}
