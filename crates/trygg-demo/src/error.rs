//! The generator's error type.

use std::path::PathBuf;

/// Why demo data could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The parameters are out of range.
    #[error("invalid demo parameters: {0}")]
    InvalidParams(String),
    /// Data compiled into the generator (stadsdelar, polygons) could not be read.
    #[error("embedded reference data is unusable: {0}")]
    EmbeddedData(String),
    /// A coordinate transformation failed.
    #[error(transparent)]
    Crs(#[from] trygg_crs::CrsError),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing a CSV file failed.
    #[error("cannot write CSV {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
    /// Writing a JSON file failed.
    #[error("cannot write JSON {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}
