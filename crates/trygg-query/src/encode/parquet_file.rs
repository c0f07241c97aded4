//! Parquet through the `parquet` crate (no Arrow): one optional column per table
//! column (text as UTF-8 strings, whole numbers and counts as INT64, decimals as
//! DOUBLE; a suppressed count is null, and the file's `trygg` metadata says so),
//! a WKB `geometry` column with GeoParquet 1.1 metadata when the rows have
//! geometry, written in row groups of [`GROUP_ROWS`] so memory stays bounded.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::json;
use trygg_store::feature_file::{GeometryType, Shape};
use trygg_store::geom::{wkb_multipolygon, wkb_point};

use super::rows::{About, Column, Kind};
use super::Cell;
use crate::disclosure::Count;
use crate::error::QueryError;

/// Rows per row group.
pub const GROUP_ROWS: usize = 65_536;

fn err(e: parquet::errors::ParquetError) -> QueryError {
    QueryError::Io(std::io::Error::other(e.to_string()))
}

enum Values {
    Text(Vec<Option<ByteArray>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
}

/// A Parquet file being written.
pub struct ParquetRows<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    columns: Vec<Values>,
    geometry: Option<Vec<Option<ByteArray>>>,
    buffered: usize,
}

impl<W: Write + Send> ParquetRows<W> {
    /// The schema and metadata, written at the end.
    pub fn new(
        columns: &[Column],
        geometry: Option<GeometryType>,
        about: &About<'_>,
        w: W,
    ) -> Result<ParquetRows<W>, QueryError> {
        let field = |name: &str, physical: Physical, logical: Option<LogicalType>| {
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
                .map_err(err)
        };
        let mut fields = Vec::new();
        for c in columns {
            fields.push(match c.kind {
                Kind::Text => field(c.name, Physical::BYTE_ARRAY, Some(LogicalType::String))?,
                Kind::Int | Kind::Count => field(c.name, Physical::INT64, None)?,
                Kind::Float => field(c.name, Physical::DOUBLE, None)?,
            });
        }
        if geometry.is_some() {
            fields.push(field("geometry", Physical::BYTE_ARRAY, None)?);
        }
        let schema = Type::group_type_builder("trygg")
            .with_fields(fields)
            .build()
            .map_err(err)?;
        let provenance: serde_json::Map<String, serde_json::Value> = about
            .pairs()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        let mut meta = vec![KeyValue::new(
            "trygg".to_owned(),
            serde_json::Value::Object(provenance).to_string(),
        )];
        if let Some(g) = geometry {
            let kind = match g {
                GeometryType::Point => "Point",
                GeometryType::MultiPolygon => "MultiPolygon",
            };
            meta.push(KeyValue::new(
                "geo".to_owned(),
                json!({
                    "version": "1.1.0",
                    "primary_column": "geometry",
                    "columns": {"geometry": {"encoding": "WKB", "geometry_types": [kind]}},
                })
                .to_string(),
            ));
        }
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(meta))
            .build();
        let writer =
            SerializedFileWriter::new(w, Arc::new(schema), Arc::new(props)).map_err(err)?;
        Ok(ParquetRows {
            writer,
            columns: columns
                .iter()
                .map(|c| match c.kind {
                    Kind::Text => Values::Text(Vec::new()),
                    Kind::Int | Kind::Count => Values::Int(Vec::new()),
                    Kind::Float => Values::Float(Vec::new()),
                })
                .collect(),
            geometry: geometry.map(|_| Vec::new()),
            buffered: 0,
        })
    }

    /// Adds a row.
    pub fn row(&mut self, cells: &[Cell], shape: Option<&Shape>) -> Result<(), QueryError> {
        for (values, cell) in self.columns.iter_mut().zip(cells) {
            match values {
                Values::Text(v) => v.push(match cell {
                    Cell::Empty => None,
                    other => Some(ByteArray::from(other.text(false).as_str())),
                }),
                Values::Int(v) => v.push(match cell {
                    Cell::Int(i) => Some(*i),
                    Cell::Count(Count::Value(c)) => i64::try_from(*c).ok(),
                    _ => None,
                }),
                Values::Float(v) => v.push(match cell {
                    Cell::Float(f) => Some(*f),
                    Cell::Int(i) => Some(*i as f64),
                    _ => None,
                }),
            }
        }
        if let Some(g) = &mut self.geometry {
            g.push(shape.map(|s| {
                let mut wkb = Vec::new();
                match s {
                    Shape::Point(x, y) => wkb_point(&mut wkb, *x, *y),
                    Shape::MultiPolygon(mp) => wkb_multipolygon(&mut wkb, mp),
                }
                ByteArray::from(wkb)
            }));
        }
        self.buffered += 1;
        if self.buffered == GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<(), QueryError> {
        if self.buffered == 0 {
            return Ok(());
        }
        fn split<T: Clone>(v: &mut Vec<Option<T>>) -> (Vec<T>, Vec<i16>) {
            let defs = v.iter().map(|x| i16::from(x.is_some())).collect();
            let values = v.drain(..).flatten().collect();
            (values, defs)
        }
        let mut group = self.writer.next_row_group().map_err(err)?;
        fn next<'a, W: Write + Send>(
            group: &'a mut parquet::file::writer::SerializedRowGroupWriter<'_, W>,
        ) -> Result<parquet::file::writer::SerializedColumnWriter<'a>, QueryError> {
            group
                .next_column()
                .map_err(err)?
                .ok_or_else(|| QueryError::Io(std::io::Error::other("parquet: missing column")))
        }
        let texts = |col: &mut parquet::file::writer::SerializedColumnWriter<'_>,
                     v: &mut Vec<Option<ByteArray>>|
         -> Result<(), QueryError> {
            let (vals, defs) = split(v);
            col.typed::<ByteArrayType>()
                .write_batch(&vals, Some(&defs), None)
                .map_err(err)?;
            Ok(())
        };
        for values in &mut self.columns {
            let mut col = next(&mut group)?;
            match values {
                Values::Text(v) => texts(&mut col, v)?,
                Values::Int(v) => {
                    let (vals, defs) = split(v);
                    col.typed::<Int64Type>()
                        .write_batch(&vals, Some(&defs), None)
                        .map_err(err)?;
                }
                Values::Float(v) => {
                    let (vals, defs) = split(v);
                    col.typed::<DoubleType>()
                        .write_batch(&vals, Some(&defs), None)
                        .map_err(err)?;
                }
            }
            col.close().map_err(err)?;
        }
        if let Some(g) = &mut self.geometry {
            let mut col = next(&mut group)?;
            texts(&mut col, g)?;
            col.close().map_err(err)?;
        }
        group.close().map_err(err)?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes the last row group and the footer.
    pub fn finish(mut self) -> Result<(), QueryError> {
        self.flush_group()?;
        let mut w = self.writer.into_inner().map_err(err)?;
        w.flush()?;
        Ok(())
    }
}
