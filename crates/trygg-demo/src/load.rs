//! Loading a generated data set into a store through the normal ingest path, the
//! way a user would: one batch per run of files of the same source and mapping
//! (the overlapping police snapshots form one batch, so they are deduplicated).

use std::path::{Path, PathBuf};

use trygg_ingest::pipeline::{ingest, IngestError, IngestReport, IngestRequest, Progress};
use trygg_model::Source;
use trygg_store::Store;

use crate::Manifest;

/// An error loading a generated data set.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest names a source Trygg does not know.
    #[error("manifest: {0}")]
    Source(#[from] trygg_model::ParseEnumError),
    /// A batch failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// The batches to run for a manifest's files, in order.
pub fn batches(data_dir: &Path, manifest: &Manifest) -> Result<Vec<IngestRequest>, LoadError> {
    let mut out: Vec<IngestRequest> = Vec::new();
    for f in &manifest.files {
        let source: Source = f.source.parse()?;
        let mapping: Option<PathBuf> = f.mapping.as_ref().map(|m| data_dir.join(m));
        let path = data_dir.join(&f.path);
        match out.last_mut() {
            Some(req) if req.source == source && req.mapping == mapping => req.files.push(path),
            _ => out.push(IngestRequest {
                source,
                files: vec![path],
                mapping,
                strict: false,
                names: Vec::new(),
            }),
        }
    }
    Ok(out)
}

/// Ingests every file of a generated data set; `on_batch` sees each batch's
/// request and report, `on_progress` the progress within it.
pub fn load(
    store: &mut Store,
    data_dir: &Path,
    manifest: &Manifest,
    on_progress: &mut dyn FnMut(Source, Progress),
    on_batch: &mut dyn FnMut(&IngestRequest, &IngestReport),
) -> Result<u64, LoadError> {
    let mut accepted = 0;
    for req in batches(data_dir, manifest)? {
        let source = req.source;
        let report = ingest(store, &req, &mut |p| on_progress(source, p))?;
        on_batch(&req, &report);
        accepted += report.accepted;
    }
    Ok(accepted)
}
