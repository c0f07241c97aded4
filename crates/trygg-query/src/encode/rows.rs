//! Rows written one at a time in any table encoding, so that a large export
//! streams (CSV, GeoJSON) or is built in bounded memory (GeoPackage through
//! SQLite, Parquet by row groups); XLSX is built in memory and limited to one
//! sheet's rows. Every encoding carries what the data is: CSV a `data_notice`
//! column on synthetic data, GeoJSON members, XLSX a "Parametrar" sheet, the
//! GeoPackage an `export_info` table and Parquet its key-value metadata.

use std::io::Write;

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{json, Map, Value};
use trygg_store::feature_file::{self, ColumnType, FeatureFile, GeometryType, Shape};

use super::{parquet_file::ParquetRows, xlsx::XlsxRows, Cell, Format, SYNTHETIC_LABEL};
use crate::error::QueryError;
use crate::snapshot::DataInfo;

/// What a column holds, for the typed encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// Whole numbers.
    Int,
    /// Decimal numbers.
    Float,
    /// Published counts (a number, or `"<T"` when suppressed).
    Count,
}

/// A column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// What an export is: its title, the request's parameters and the data.
#[derive(Debug, Clone)]
pub struct About<'a> {
    /// What the rows are (e.g. `counts`, `events`).
    pub title: &'a str,
    /// The request's parameters as JSON.
    pub parameters: Value,
    /// The data the rows come from.
    pub data: &'a DataInfo,
    /// The suppression threshold applied, if any.
    pub suppression: Option<u64>,
}

impl About<'_> {
    /// (key, value) pairs of provenance, for the typed encodings' metadata.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("title".to_owned(), self.title.to_owned()),
            (
                "generator".to_owned(),
                format!("Trygg {}", env!("CARGO_PKG_VERSION")),
            ),
            (
                "generated_at".to_owned(),
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            ("data_version".to_owned(), self.data.version.to_string()),
            ("synthetic".to_owned(), self.data.synthetic.to_string()),
        ];
        if self.data.synthetic {
            v.push((
                "notice".to_owned(),
                self.data
                    .notice
                    .clone()
                    .unwrap_or_else(|| SYNTHETIC_LABEL.to_owned()),
            ));
        }
        if let Some(m) = &self.data.municipality {
            v.push(("municipality".to_owned(), m.clone()));
        }
        v.push((
            "suppression".to_owned(),
            match self.suppression {
                Some(t) => format!("counts below {t} are suppressed (shown as \"<{t}\" or empty)"),
                None => "none".to_owned(),
            },
        ));
        if let Value::Object(map) = &self.parameters {
            for (k, val) in map {
                let text = match val {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    Value::Array(a) if a.is_empty() => continue,
                    other => other.to_string(),
                };
                v.push((format!("parameter.{k}"), text));
            }
        }
        v
    }
}

enum Inner<W: Write + Send> {
    Csv {
        csv: csv::Writer<W>,
        excel: bool,
        label: bool,
    },
    GeoJson {
        w: W,
        n: u64,
    },
    Xlsx(Box<XlsxRows>, W),
    GeoPackage {
        file: FeatureFile,
        dir: tempfile::TempDir,
        path: std::path::PathBuf,
        w: W,
    },
    Parquet(Box<ParquetRows<W>>),
}

/// Writes rows of `columns` in one encoding.
pub struct RowWriter<W: Write + Send> {
    columns: Vec<Column>,
    inner: Inner<W>,
    rows: u64,
}

/// The shape of a GeoJSON geometry (Point, Polygon, MultiPolygon), if it is one.
pub fn shape_of(g: &Value) -> Option<Shape> {
    let pt = |v: &Value| -> Option<Coord<f64>> {
        Some(Coord {
            x: v.get(0)?.as_f64()?,
            y: v.get(1)?.as_f64()?,
        })
    };
    let ring = |v: &Value| -> Option<LineString<f64>> {
        Some(LineString(
            v.as_array()?.iter().map(pt).collect::<Option<_>>()?,
        ))
    };
    let polygon = |v: &Value| -> Option<Polygon<f64>> {
        let rings = v.as_array()?;
        let (outer, inner) = rings.split_first()?;
        Some(Polygon::new(
            ring(outer)?,
            inner.iter().map(ring).collect::<Option<_>>()?,
        ))
    };
    let coords = g.get("coordinates")?;
    match g.get("type")?.as_str()? {
        "Point" => pt(coords).map(|c| Shape::Point(c.x, c.y)),
        "Polygon" => polygon(coords).map(|p| Shape::MultiPolygon(MultiPolygon(vec![p]))),
        "MultiPolygon" => Some(Shape::MultiPolygon(MultiPolygon(
            coords
                .as_array()?
                .iter()
                .map(polygon)
                .collect::<Option<_>>()?,
        ))),
        _ => None,
    }
}

impl<W: Write + Send> RowWriter<W> {
    /// Starts writing `columns` as `format` (not JSON: a whole result is JSON)
    /// into `w`; `geometry` says what the rows' geometries are (`None`: none).
    pub fn new(
        format: Format,
        columns: Vec<Column>,
        geometry: Option<GeometryType>,
        about: &About<'_>,
        mut w: W,
    ) -> Result<RowWriter<W>, QueryError> {
        let inner = match format {
            Format::Json => {
                return Err(QueryError::invalid(
                    "format",
                    "json is written whole, not by rows",
                ))
            }
            Format::Csv | Format::ExcelCsv => {
                let excel = format == Format::ExcelCsv;
                if excel {
                    w.write_all(b"\xEF\xBB\xBF")?;
                }
                let mut csv = csv::WriterBuilder::new()
                    .delimiter(if excel { b';' } else { b',' })
                    .from_writer(w);
                let label = about.data.synthetic;
                let mut header: Vec<&str> = columns.iter().map(|c| c.name).collect();
                if label {
                    header.push("data_notice");
                }
                csv.write_record(&header).map_err(std::io::Error::from)?;
                Inner::Csv { csv, excel, label }
            }
            Format::GeoJson => {
                if geometry.is_none() {
                    return Err(QueryError::invalid(
                        "format",
                        "this result has no geometry: use csv or json",
                    ));
                }
                let mut head = json!({"type": "FeatureCollection", "trygg": about.data});
                if about.data.synthetic {
                    head["synthetic"] = json!(true);
                    head["notice"] = json!(about.data.notice.as_deref().unwrap_or(SYNTHETIC_LABEL));
                }
                head["parameters"] = about.parameters.clone();
                let head = head.to_string();
                w.write_all(&head.as_bytes()[..head.len() - 1])?;
                w.write_all(b",\"features\":[\n")?;
                Inner::GeoJson { w, n: 0 }
            }
            Format::Xlsx => Inner::Xlsx(Box::new(XlsxRows::new(&columns, about)?), w),
            Format::GeoPackage => {
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("export.gpkg");
                let typed: Vec<(&str, ColumnType)> = columns
                    .iter()
                    .map(|c| {
                        let t = match c.kind {
                            Kind::Text => ColumnType::Text,
                            Kind::Int | Kind::Count => ColumnType::Integer,
                            Kind::Float => ColumnType::Real,
                        };
                        (c.name, t)
                    })
                    .collect();
                let mut file = FeatureFile::create(
                    &path,
                    about.title,
                    &format!("Trygg {} export", about.title),
                    &typed,
                    geometry.unwrap_or(GeometryType::Point),
                )?;
                for (k, v) in about.pairs() {
                    file.info(&k, &v)?;
                }
                Inner::GeoPackage { file, dir, path, w }
            }
            Format::Parquet => {
                Inner::Parquet(Box::new(ParquetRows::new(&columns, geometry, about, w)?))
            }
        };
        Ok(RowWriter {
            columns,
            inner,
            rows: 0,
        })
    }

    /// Writes a row (one cell per column) with its geometry (GeoJSON, WGS 84).
    pub fn row(&mut self, cells: &[Cell], geometry: Option<&Value>) -> Result<(), QueryError> {
        debug_assert_eq!(cells.len(), self.columns.len());
        match &mut self.inner {
            Inner::Csv { csv, excel, label } => {
                let mut texts: Vec<String> = cells.iter().map(|c| c.text(*excel)).collect();
                if *label {
                    texts.push(SYNTHETIC_LABEL.to_owned());
                }
                csv.write_record(&texts).map_err(std::io::Error::from)?;
            }
            Inner::GeoJson { w, n } => {
                let props: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(cells)
                    .map(|(c, v)| (c.name.to_owned(), v.json()))
                    .collect();
                let feature = json!({"type": "Feature", "geometry": geometry, "properties": props});
                if *n > 0 {
                    w.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *w, &feature).map_err(std::io::Error::from)?;
                *n += 1;
            }
            Inner::Xlsx(x, _) => x.row(cells)?,
            Inner::GeoPackage { file, .. } => {
                let values: Vec<feature_file::Value> = cells
                    .iter()
                    .map(|c| match c {
                        Cell::Empty | Cell::Count(crate::disclosure::Count::Suppressed(_)) => {
                            feature_file::Value::Null
                        }
                        Cell::Int(v) => feature_file::Value::Integer(*v),
                        Cell::Float(v) => feature_file::Value::Real(*v),
                        Cell::Text(s) => feature_file::Value::Text(s.clone()),
                        Cell::Count(crate::disclosure::Count::Value(v)) => {
                            feature_file::Value::Integer(i64::try_from(*v).unwrap_or(i64::MAX))
                        }
                    })
                    .collect();
                file.insert(geometry.and_then(shape_of).as_ref(), &values)?;
            }
            Inner::Parquet(p) => p.row(cells, geometry.and_then(shape_of).as_ref())?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Finishes the encoding; returns the rows written.
    pub fn finish(self) -> Result<u64, QueryError> {
        match self.inner {
            Inner::Csv { mut csv, .. } => csv.flush()?,
            Inner::GeoJson { mut w, .. } => {
                w.write_all(b"\n]}\n")?;
                w.flush()?;
            }
            Inner::Xlsx(x, mut w) => {
                w.write_all(&x.finish()?)?;
                w.flush()?;
            }
            Inner::GeoPackage {
                file,
                dir,
                path,
                mut w,
            } => {
                file.finish()?;
                std::io::copy(&mut std::fs::File::open(&path)?, &mut w)?;
                w.flush()?;
                drop(dir);
            }
            Inner::Parquet(p) => p.finish()?,
        }
        Ok(self.rows)
    }
}

/// The kinds of a whole table's columns, from its cells: a column of counts is
/// `Count`, of whole numbers `Int`, of numbers `Float`, anything else `Text`.
pub fn kinds(columns: &[&'static str], rows: &[Vec<Cell>]) -> Vec<Column> {
    columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut kind: Option<Kind> = None;
            for row in rows {
                let k = match row.get(i) {
                    None | Some(Cell::Empty) => continue,
                    Some(Cell::Int(_)) => Kind::Int,
                    Some(Cell::Float(_)) => Kind::Float,
                    Some(Cell::Count(_)) => Kind::Count,
                    Some(Cell::Text(_)) => Kind::Text,
                };
                kind = Some(match (kind, k) {
                    (None, k) => k,
                    (Some(a), b) if a == b => a,
                    (Some(Kind::Int), Kind::Float) | (Some(Kind::Float), Kind::Int) => Kind::Float,
                    _ => Kind::Text,
                });
            }
            Column {
                name,
                kind: kind.unwrap_or(Kind::Text),
            }
        })
        .collect()
}
