//! Spatial building blocks shared by ingest and analytics, free of I/O: the
//! point → area index used to assign events to stadsdelar at ingest and to any
//! area layer at query time.

mod index;

pub use index::AreaIndex;
