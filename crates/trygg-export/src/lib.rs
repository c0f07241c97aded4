//! Event exports from the store: CSV (UTF-8 with a byte-order mark so that Excel
//! reads å, ä and ö) and GeoJSON (RFC 7946, WGS 84). Each event becomes one row or
//! feature with its times in RFC 3339 with offset, WGS 84 and SWEREF 99 TM
//! coordinates, precision and assigned areas. Rows are streamed: memory does not
//! grow with the store.
//!
//! A store of synthetic (demo) data is labelled in every export: CSV gets a last
//! column `data_notice` saying so on every row (a row copied into another sheet
//! keeps its label), GeoJSON gets `"synthetic": true` and the notice as members of
//! the FeatureCollection.

use std::io::Write;

pub mod output;

pub use output::{OutputError, OutputFile};

use trygg_crs::{CrsError, Transformer};
use trygg_store::{
    for_each_event, meta, meta_value, EventFilter, PointScope, SqlRead, StoreError, StoredEvent,
};

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A GeoJSON FeatureCollection of points.
    GeoJson,
}

/// An export failure.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Transforming to WGS 84 failed.
    #[error(transparent)]
    Crs(#[from] CrsError),
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 16] = [
    "source",
    "source_id",
    "occurred_at",
    "occurred_to",
    "reported_at",
    "category",
    "category_norm",
    "lon",
    "lat",
    "x_sweref99tm",
    "y_sweref99tm",
    "precision",
    "stadsdel",
    "stadsdelsomrade_2020",
    "stadsdelsomrade_2023",
    "outside_areas",
];

fn fields(e: &StoredEvent, lon: f64, lat: f64) -> [String; 16] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.source.clone(),
        e.source_id.clone(),
        e.occurred_at.clone(),
        opt(&e.occurred_to),
        opt(&e.reported_at),
        e.category.clone(),
        e.category_norm.clone(),
        format!("{lon:.7}"),
        format!("{lat:.7}"),
        format!("{:.2}", e.x),
        format!("{:.2}", e.y),
        e.precision.clone(),
        opt(&e.stadsdel),
        opt(&e.stadsdelsomrade_2020),
        opt(&e.stadsdelsomrade_2023),
        e.outside_areas.to_string(),
    ]
}

/// The label written on every row of a synthetic store's CSV export.
pub const SYNTHETIC_LABEL: &str = "SYNTHETIC DEMO DATA";

/// Writes the matching events to `out` (of them, those whose point is in
/// `scope`, when given: a municipality's); returns how many were written.
pub fn export(
    store: &mut dyn SqlRead,
    filter: &EventFilter,
    scope: Option<&dyn PointScope>,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let to_wgs84 = Transformer::store_to_wgs84()?;
    let synthetic = meta_value(store, meta::SYNTHETIC)?.as_deref() == Some("true");
    let notice = if synthetic {
        Some(meta_value(store, meta::NOTICE)?.unwrap_or_else(|| SYNTHETIC_LABEL.to_owned()))
    } else {
        None
    };
    let mut for_each_event = |f: &mut dyn FnMut(StoredEvent) -> Result<(), ExportError>| {
        for_each_event(store, filter, |e| {
            if scope.is_none_or(|scope| scope.contains(e.x, e.y)) {
                f(e)
            } else {
                Ok(())
            }
        })
    };
    let mut count = 0u64;
    match format {
        Format::Csv => {
            out.write_all(b"\xEF\xBB\xBF")?;
            let mut w = csv::Writer::from_writer(&mut *out);
            let (column, label): (&[&str], &[&str]) = if synthetic {
                (&["data_notice"], &[SYNTHETIC_LABEL])
            } else {
                (&[], &[])
            };
            w.write_record(CSV_COLUMNS.iter().chain(column))
                .map_err(std::io::Error::from)?;
            for_each_event(&mut |e| {
                let (lon, lat) = to_wgs84.convert(e.x, e.y)?;
                let values = fields(&e, lon, lat);
                let row = values
                    .iter()
                    .map(String::as_str)
                    .chain(label.iter().copied());
                w.write_record(row).map_err(std::io::Error::from)?;
                count += 1;
                Ok(())
            })?;
            w.flush()?;
        }
        Format::GeoJson => {
            let mut head = serde_json::json!({"type": "FeatureCollection"});
            if let Some(notice) = notice {
                head["synthetic"] = serde_json::Value::Bool(true);
                head["notice"] = serde_json::Value::String(notice);
            }
            // The collection's members, then the streamed features array.
            let head = head.to_string();
            out.write_all(&head.as_bytes()[..head.len() - 1])?;
            out.write_all(b",\"features\":[\n")?;
            for_each_event(&mut |e| {
                let (lon, lat) = to_wgs84.convert(e.x, e.y)?;
                let mut properties = serde_json::Map::new();
                for (key, value) in CSV_COLUMNS.iter().zip(fields(&e, lon, lat)) {
                    let json = match *key {
                        "lon" | "lat" => continue,
                        "x_sweref99tm" => serde_json::json!(e.x),
                        "y_sweref99tm" => serde_json::json!(e.y),
                        "outside_areas" => serde_json::json!(e.outside_areas),
                        _ if value.is_empty() => serde_json::Value::Null,
                        _ => serde_json::Value::String(value),
                    };
                    properties.insert((*key).to_owned(), json);
                }
                // Attributes are stored as JSON; keep them as a nested object.
                let attributes = serde_json::from_str(&e.attributes)
                    .unwrap_or(serde_json::Value::String(e.attributes));
                properties.insert("attributes".to_owned(), attributes);
                let feature = serde_json::json!({
                    "type": "Feature",
                    "id": e.fid,
                    "geometry": {"type": "Point", "coordinates": [round7(lon), round7(lat)]},
                    "properties": properties,
                });
                if count > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *out, &feature).map_err(std::io::Error::from)?;
                count += 1;
                Ok(())
            })?;
            out.write_all(b"\n]}\n")?;
        }
    }
    out.flush()?;
    Ok(count)
}

/// Rounds to 7 decimals (about 1 cm), the precision written for WGS 84 degrees.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}
