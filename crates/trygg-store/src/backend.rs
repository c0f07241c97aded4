//! The store interface ingest writes through, whichever backend holds the
//! store: the GeoPackage file ([`Store`]) or PostgreSQL (the `trygg-pg` crate).
//! Both keep the same guarantees: a batch is one transaction, `(source,
//! source_id)` is unique, a stored id's new content is a revision (the old
//! version goes to the history), content seen before is a duplicate, rejected
//! rows are stored with the batch.

use std::collections::BTreeMap;

use trygg_model::{Event, Extent, Rejection};

use crate::batch::{Batch, BatchInfo, FileOutcome, Insert};
use crate::error::StoreError;
use crate::store::{AreaLayer, PopulationRow, Store, StoredArea};

/// A store that ingest can write batches into.
pub trait IngestStore: Send {
    /// Where the store is, for messages (a file path, or a URL without password).
    fn location(&self) -> String;
    /// The areas of a layer.
    fn layer_areas(&mut self, layer: &str) -> Result<Vec<StoredArea>, StoreError>;
    /// The study extent in force ([`Store::study_extent`]'s rule).
    fn extent_in_force(&mut self) -> Result<Option<Extent>, StoreError>;
    /// A metadata value.
    fn meta_value(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores an area layer in one transaction ([`Store::put_area_layer`]'s
    /// rule: an existing layer of the name is an error unless `replace`).
    fn put_area_layer(
        &mut self,
        layer: &AreaLayer,
        areas: &[StoredArea],
        replace: bool,
    ) -> Result<(), StoreError>;
    /// Inserts or updates population figures in one transaction
    /// ([`Store::put_population`]'s rule: a figure per layer, area and year).
    fn put_population(&mut self, rows: &[PopulationRow]) -> Result<(), StoreError>;
    /// Takes back a whole committed batch, by `by` ([`Store::revert_batch`]'s
    /// rule): the events removed or given back their earlier version.
    fn revert_batch(&mut self, id: i64, by: &str) -> Result<u64, StoreError>;
    /// Starts a batch; dropping it uncommitted rolls everything back.
    fn open_batch<'a>(
        &'a mut self,
        info: &BatchInfo,
    ) -> Result<Box<dyn EventBatch + 'a>, StoreError>;
}

/// An open ingest batch of either backend.
pub trait EventBatch {
    /// The batch's id.
    fn id(&self) -> i64;
    /// Stores events of one file in order, pushing what became of each onto
    /// `out` with the fid of the row its id has now. An id met earlier in the
    /// same file is [`Insert::Again`], neither compared nor stored: one that
    /// comes twice in `events`, or whose stored row `met(fid)` says the caller
    /// met earlier in the file (so the caller holds a file's fids, not its ids).
    fn insert_all(
        &mut self,
        events: &[Event],
        met: &dyn Fn(i64) -> bool,
        out: &mut Vec<(Insert, i64)>,
    ) -> Result<(), StoreError>;
    /// Records a rejected row.
    fn reject(&mut self, r: &Rejection) -> Result<(), StoreError>;
    /// Records the files and counts and commits: durable when this returns.
    fn commit(
        self: Box<Self>,
        files: &[FileOutcome],
        skip_reasons: &BTreeMap<String, u64>,
        notes: &BTreeMap<String, u64>,
    ) -> Result<i64, StoreError>;
}

impl IngestStore for Store {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn layer_areas(&mut self, layer: &str) -> Result<Vec<StoredArea>, StoreError> {
        self.areas(layer)
    }

    fn extent_in_force(&mut self) -> Result<Option<Extent>, StoreError> {
        self.study_extent()
    }

    fn meta_value(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.meta(key)
    }

    fn put_area_layer(
        &mut self,
        layer: &AreaLayer,
        areas: &[StoredArea],
        replace: bool,
    ) -> Result<(), StoreError> {
        Store::put_area_layer(self, layer, areas, replace)
    }

    fn put_population(&mut self, rows: &[PopulationRow]) -> Result<(), StoreError> {
        Store::put_population(self, rows)
    }

    fn revert_batch(&mut self, id: i64, by: &str) -> Result<u64, StoreError> {
        Store::revert_batch(self, id, by)
    }

    fn open_batch<'a>(
        &'a mut self,
        info: &BatchInfo,
    ) -> Result<Box<dyn EventBatch + 'a>, StoreError> {
        Ok(Box::new(self.begin_batch(info)?))
    }
}

impl EventBatch for Batch<'_> {
    fn id(&self) -> i64 {
        Batch::id(self)
    }

    fn insert_all(
        &mut self,
        events: &[Event],
        met: &dyn Fn(i64) -> bool,
        out: &mut Vec<(Insert, i64)>,
    ) -> Result<(), StoreError> {
        let mut here = std::collections::HashSet::with_capacity(events.len());
        for e in events {
            let (insert, fid) = self.insert_unless(e, &|fid| here.contains(&fid) || met(fid))?;
            here.insert(fid);
            out.push((insert, fid));
        }
        Ok(())
    }

    fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        Batch::reject(self, r)
    }

    fn commit(
        self: Box<Self>,
        files: &[FileOutcome],
        skip_reasons: &BTreeMap<String, u64>,
        notes: &BTreeMap<String, u64>,
    ) -> Result<i64, StoreError> {
        Batch::commit(*self, files, skip_reasons, notes)
    }
}
