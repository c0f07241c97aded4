//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong opening, reading or writing a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file exists but is not a Trygg store (or is a newer version).
    #[error("{path} is not a Trygg store: {reason}")]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// `create` was asked for a file that already exists.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An output path is the store itself or one of its side files.
    #[error("refusing to write {out}: it is the store {store} or one of its files; choose another output path")]
    OutputIsStore {
        /// The output path given.
        out: PathBuf,
        /// The store.
        store: PathBuf,
    },
    /// A batch to revert does not exist or was reverted already.
    #[error("batch {id}: {reason}")]
    Batch {
        /// The batch id.
        id: i64,
        /// What is wrong.
        reason: String,
    },
    /// `open` was asked for a file that does not exist.
    #[error("{0} does not exist (create a store with `trygg ingest` or `trygg demo`)")]
    Missing(PathBuf),
    /// An area layer of that name exists and replacing it was not asked for.
    #[error("area layer '{0}' already exists (pass --replace to replace it)")]
    LayerExists(String),
    /// Another backend (PostgreSQL) failed.
    #[error("{source}")]
    Backend {
        /// The store (a URL without password).
        store: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value could not be read back (a damaged or hand-edited store).
    #[error("store {path}: table {table}, row {rowid}: {reason}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The row's id.
        rowid: i64,
        /// What is wrong.
        reason: String,
    },
}
