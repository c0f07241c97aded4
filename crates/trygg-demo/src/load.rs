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
    /// The population figures or the store's metadata could not be stored.
    #[error(transparent)]
    Setup(#[from] trygg_ingest::setup::SetupError),
    /// The store.
    #[error(transparent)]
    Store(#[from] trygg_store::StoreError),
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

/// Fills a store with a generated data set: marks it synthetic (with the
/// manifest's notice and the manifest itself), stores the population figures
/// for `stadsdel`, then ingests every file ([`load`]). Returns the population
/// rows stored and the events accepted.
pub fn fill(
    store: &mut Store,
    data_dir: &Path,
    manifest: &Manifest,
    on_progress: &mut dyn FnMut(Source, Progress),
    on_batch: &mut dyn FnMut(&IngestRequest, &IngestReport),
) -> Result<(usize, u64), LoadError> {
    use trygg_store::meta;
    store.set_meta(meta::SYNTHETIC, "true")?;
    store.set_meta(meta::NOTICE, &manifest.notice)?;
    store.set_meta(
        meta::DEMO_MANIFEST,
        &serde_json::to_string(manifest).unwrap_or_default(),
    )?;
    let population = trygg_ingest::setup::load_population_csv(
        store,
        &data_dir.join(&manifest.population.path),
        "stadsdel",
        "trygg-demo (synthetic figures; see manifest.json)",
    )?;
    let accepted = load(store, data_dir, manifest, on_progress, on_batch)?;
    Ok((population, accepted))
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
