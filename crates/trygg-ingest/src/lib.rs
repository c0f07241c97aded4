//! Ingest of Trygg's five sources: parsers for the police events API JSON, CSV with a
//! mapping file and GeoJSON points; CRS transforms; extent checks; area assignment;
//! and the batch runner that lands a whole batch in the store or nothing.

pub mod areas;
pub mod candidate;
pub mod csv_source;
pub mod file_error;
pub mod geojson_source;
mod json_text;
pub mod locate;
pub mod mapping;
pub mod pipeline;
pub mod police;
mod row;
pub mod setup;
mod timefmt;
