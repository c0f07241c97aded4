//! Trygg's durable embedded store: one SQLite file in the GeoPackage layout, so
//! that GDAL and QGIS open it, holding events, area layers, population, ingest
//! batches and rejected rows; plus an in-memory columnar view and R-tree for queries.
//!
//! Writes go through [`Batch`], one SQLite transaction: an ingest batch lands whole
//! or not at all, and `(source, source_id)` is unique, so loading the same or an
//! overlapping file again adds nothing.

mod audit;
mod backend;
mod batch;
mod beside;
mod create;
mod error;
pub mod feature_file;
mod feed;
pub mod geom;
mod grouped;
pub mod meta;
mod provenance;
mod read;
mod reports;
mod rtree;
mod schema;
mod sql;
mod store;
pub mod tables;
mod view;
mod view_file;

pub use audit::{audit_log, AuditEntry};
pub use backend::{EventBatch, IngestStore};
pub use batch::{
    revert_statements, reverted_events, revertible, stored_time, Batch, BatchInfo, Content,
    FileOutcome, Insert,
};
pub use beside::BesideFile;
pub use create::{check_output_path, NewStore};
pub use error::StoreError;
pub use feed::{
    feed_counts, feed_summary, last_snapshot, polls, FeedCounts, FeedGap, FeedStore, FeedSummary,
    Lead, PollRecord,
};
pub use grouped::{grid_counts, grouped_row, GridCount, GridQuery, GroupedCount, GroupedQuery};
pub use provenance::{provenance, BatchQuality, Provenance, ProvenanceBatch, SourcePrecision};
pub use read::{
    batches, for_each_event, rejections, BatchRecord, EventFilter, HistoryRecord, PointScope,
    Reverted, StoredEvent,
};
pub use reports::{copy_reports, ReportDir, ReportShelf, INDEX_FILE};
pub use sql::{float_literal, meta_value, Axis, SqlRead};
pub use store::{now_rfc3339, AreaLayer, PopulationRow, Store, StoredArea, KOMMUN_LAYER};
pub use view::{
    quantized, EventView, EventViewBuilder, StoredColumns, ViewEvent, ViewQuery, NO_AREA,
};
pub use view_file::{view_file_path, LoadedView, ViewSource};

#[cfg(test)]
mod tests;
