//! The batch runner: reads every file of a batch, parses, locates and stores its
//! rows in one store transaction, and reports what happened to each row.
//!
//! Rules: a batch lands whole or not at all; a file that cannot be read contributes
//! nothing (and is reported); rows rejected by a parser or the locator are stored
//! with their reason while the good rows land, unless `strict` is set, in which case
//! any rejection rolls the whole batch back; an id seen twice in one file is a
//! rejection, an id already stored (or seen in an earlier file of the batch) a
//! duplicate that adds nothing.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use trygg_crs::{Crs, Transformer};
use trygg_model::{Event, Rejection, Source};
use trygg_store::{Batch, BatchInfo, FileOutcome, Insert, Store, StoreError};

use crate::candidate::{Parsed, RowError};
use crate::csv_source::CsvRows;
use crate::file_error::FileError;
use crate::geojson_source::parse_geojson;
use crate::locate::{Locator, LocatorError, Placement};
use crate::mapping::{Mapping, MappingError};
use crate::police::parse_police;

/// What to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRequest {
    /// The source of every file.
    pub source: Source,
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// A mapping file for CSV/GeoJSON; the source's built-in mapping when `None`.
    pub mapping: Option<PathBuf>,
    /// Roll back the whole batch if any row is rejected.
    pub strict: bool,
}

/// Progress reported while a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of input processed so far (whole files).
    pub bytes_done: u64,
    /// Bytes of input in all files.
    pub bytes_total: u64,
    /// Rows processed so far.
    pub rows: u64,
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// The committed batch, or `None` when nothing landed.
    pub batch_id: Option<i64>,
    /// Rows read.
    pub read: u64,
    /// New events stored.
    pub accepted: u64,
    /// Events that were already stored.
    pub duplicates: u64,
    /// Rows that are not events, e.g. police summaries.
    pub skipped: u64,
    /// Rejected rows (and unreadable files).
    pub rejected: u64,
    /// Every rejection, in file and row order.
    pub rejections: Vec<Rejection>,
    /// Skipped rows per reason.
    pub skip_reasons: BTreeMap<String, u64>,
    /// Per-file outcome.
    pub files: Vec<FileOutcome>,
}

impl IngestReport {
    /// Whether the batch landed: committed, and something in it was usable (an event
    /// stored, already present, or deliberately skipped).
    pub fn landed(&self) -> bool {
        self.batch_id.is_some()
            && (self.accepted + self.duplicates + self.skipped > 0 || self.rejected == 0)
    }
}

/// An error that stops the whole batch before or while it runs; nothing lands.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The mapping file is wrong.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The mapping is for another source.
    #[error("mapping {mapping} is for source '{declared}', but --source is '{given}'")]
    MappingSource {
        /// The mapping file.
        mapping: String,
        /// The source it declares.
        declared: Source,
        /// The source asked for.
        given: Source,
    },
    /// No mapping was given and the source has no built-in one.
    #[error("source '{0}' needs a mapping file (--mapping)")]
    NoMapping(Source),
    /// The mapping names an unknown CRS.
    #[error("mapping {mapping}: {source}")]
    Crs {
        /// The mapping file.
        mapping: String,
        /// The CRS error.
        #[source]
        source: trygg_crs::CrsError,
    },
    /// Building the locator failed.
    #[error(transparent)]
    Locator(#[from] LocatorError),
    /// The store failed; the batch was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Format {
    Police,
    Csv,
    GeoJson,
}

fn format_of(source: Source, path: &Path) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match (source, ext.as_str()) {
        (Source::PoliceEvents, _) => Format::Police,
        (_, "geojson" | "json") => Format::GeoJson,
        _ => Format::Csv,
    }
}

fn load_mapping(req: &IngestRequest) -> Result<Option<Mapping>, IngestError> {
    let mapping = match &req.mapping {
        Some(path) => Mapping::load(path)?,
        None if req.source == Source::PoliceEvents => return Ok(None),
        None => Mapping::default_for(req.source).ok_or(IngestError::NoMapping(req.source))?,
    };
    if let Some(declared) = mapping.source() {
        if declared != req.source {
            return Err(IngestError::MappingSource {
                mapping: mapping.origin().to_owned(),
                declared,
                given: req.source,
            });
        }
    }
    Ok(Some(mapping))
}

fn transformer_for(crs_text: &str, origin: &str) -> Result<Transformer, IngestError> {
    let crs_error = |source| IngestError::Crs {
        mapping: origin.to_owned(),
        source,
    };
    let crs = Crs::parse(crs_text).map_err(crs_error)?;
    Transformer::to_store(&crs).map_err(crs_error)
}

/// One file's counts and the ids it has used so far.
struct FileRun {
    name: String,
    outcome: FileOutcome,
    seen: FxHashMap<String, u64>,
}

/// The state of a running batch.
struct Runner<'s, 'p> {
    source: Source,
    locator: Locator,
    batch: Batch<'s>,
    report: IngestReport,
    progress: Progress,
    on_progress: &'p mut dyn FnMut(Progress),
}

impl Runner<'_, '_> {
    fn reject(&mut self, run: &mut FileRun, e: RowError) -> Result<(), IngestError> {
        run.outcome.rejected += 1;
        let r = Rejection {
            file: run.name.clone(),
            row: e.row,
            field: e.field,
            reason: e.reason,
            raw: e.raw,
        };
        self.batch.reject(&r)?;
        self.report.rejections.push(r);
        Ok(())
    }

    fn skip(&mut self, run: &mut FileRun, reason: String) {
        run.outcome.skipped += 1;
        *self.report.skip_reasons.entry(reason).or_default() += 1;
    }

    fn row(
        &mut self,
        run: &mut FileRun,
        parsed: Parsed,
        transformer: &Transformer,
    ) -> Result<(), IngestError> {
        run.outcome.read += 1;
        self.progress.rows += 1;
        if self.progress.rows.is_multiple_of(16_384) {
            (self.on_progress)(self.progress);
        }
        let c = match parsed {
            Parsed::Event(c) => c,
            Parsed::Skip { reason, .. } => {
                self.skip(run, reason);
                return Ok(());
            }
            Parsed::Reject(e) => return self.reject(run, e),
        };
        if let Some(first) = run.seen.get(&c.source_id) {
            let reason = format!(
                "duplicate id '{}' in this file (first at row {first})",
                c.source_id
            );
            return self.reject(
                run,
                RowError {
                    row: Some(c.row),
                    field: Some("id".into()),
                    reason,
                    raw: Some(c.raw),
                },
            );
        }
        run.seen.insert(c.source_id.clone(), c.row);
        match self.locator.locate(&c.location, transformer, c.row) {
            Placement::Skip(reason) => self.skip(run, reason),
            Placement::Reject(mut e) => {
                e.raw = Some(c.raw);
                self.reject(run, e)?;
            }
            Placement::At(at) => {
                let event = Event {
                    source: self.source,
                    source_id: c.source_id,
                    occurred_at: c.occurred_at,
                    occurred_to: c.occurred_to,
                    reported_at: c.reported_at,
                    category: c.category,
                    category_norm: c.category_norm,
                    x: at.x,
                    y: at.y,
                    precision: at.precision,
                    areas: at.areas,
                    attributes: c.attributes,
                };
                match self.batch.insert(&event)? {
                    Insert::Accepted => run.outcome.accepted += 1,
                    Insert::Duplicate => run.outcome.duplicates += 1,
                }
            }
        }
        Ok(())
    }

    /// Parses one readable file and feeds its rows through; a file-level parse
    /// error becomes a rejection with no row.
    fn file(
        &mut self,
        run: &mut FileRun,
        path: &Path,
        bytes: &[u8],
        mapping: Option<&Mapping>,
    ) -> Result<(), IngestError> {
        let parsed: Result<(), FileError> = match (format_of(self.source, path), mapping) {
            (Format::Police, _) => match parse_police(bytes) {
                Ok(rows) => {
                    // Police rows carry WGS 84 centroids the locator transforms itself.
                    let identity =
                        Transformer::to_store(&Crs::STORE).map_err(|source| IngestError::Crs {
                            mapping: run.name.clone(),
                            source,
                        })?;
                    rows.into_iter()
                        .try_for_each(|p| self.row(run, p, &identity))?;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            (Format::Csv, Some(m)) => {
                let transformer = transformer_for(m.crs_text(), m.origin())?;
                match CsvRows::new(bytes, m) {
                    Ok(rows) => {
                        for p in rows {
                            self.row(run, p, &transformer)?;
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            (Format::GeoJson, Some(m)) => match parse_geojson(bytes, m) {
                Ok(g) => {
                    let transformer = transformer_for(&g.crs, &run.name)?;
                    g.rows
                        .into_iter()
                        .try_for_each(|p| self.row(run, p, &transformer))?;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            (_, None) => Err(FileError {
                field: None,
                reason: format!("source '{}' needs a mapping file", self.source),
            }),
        };
        if let Err(e) = parsed {
            run.outcome.error = Some(e.to_string());
            self.reject(
                run,
                RowError {
                    row: None,
                    field: e.field,
                    reason: e.reason,
                    raw: None,
                },
            )?;
        }
        Ok(())
    }
}

fn unreadable(err: &std::io::Error) -> RowError {
    RowError {
        row: None,
        field: None,
        reason: format!("cannot read the file: {err}"),
        raw: None,
    }
}

/// Runs one batch. The store must already hold its areas (see [`crate::setup`]).
pub fn ingest(
    store: &mut Store,
    req: &IngestRequest,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<IngestReport, IngestError> {
    let mapping = load_mapping(req)?;
    if let Some(m) = &mapping {
        // An unknown CRS stops the batch before anything is read.
        transformer_for(m.crs_text(), m.origin())?;
    }
    let locator = Locator::from_store(store)?;
    let inputs: Vec<(PathBuf, std::io::Result<Vec<u8>>)> = req
        .files
        .iter()
        .map(|p| (p.clone(), std::fs::read(p)))
        .collect();
    let bytes_total: u64 = inputs
        .iter()
        .map(|(_, b)| b.as_ref().map_or(0, |b| b.len() as u64))
        .sum();
    if inputs.iter().all(|(_, b)| b.is_err()) {
        // Nothing could land: report, change nothing.
        let mut report = IngestReport::default();
        for (path, bytes) in &inputs {
            if let Err(err) = bytes {
                let name = path.display().to_string();
                let e = unreadable(err);
                report.rejected += 1;
                report.rejections.push(Rejection {
                    file: name,
                    row: None,
                    field: None,
                    reason: e.reason,
                    raw: None,
                });
            }
        }
        return Ok(report);
    }

    let batch = store.begin_batch(&BatchInfo {
        source: req.source,
        strict: req.strict,
    })?;
    let mut runner = Runner {
        source: req.source,
        locator,
        batch,
        report: IngestReport::default(),
        progress: Progress {
            bytes_done: 0,
            bytes_total,
            rows: 0,
        },
        on_progress,
    };
    for (path, bytes) in &inputs {
        let name = path.display().to_string();
        let mut run = FileRun {
            name: name.clone(),
            outcome: FileOutcome {
                file: name.clone(),
                ..FileOutcome::default()
            },
            seen: FxHashMap::default(),
        };
        match bytes {
            Err(err) => {
                let e = unreadable(err);
                run.outcome.error = Some(e.reason.clone());
                runner.reject(&mut run, e)?;
            }
            Ok(bytes) => {
                run.outcome.sha256 = format!("{:x}", Sha256::digest(bytes));
                run.outcome.bytes = bytes.len() as u64;
                runner.file(&mut run, path, bytes, mapping.as_ref())?;
                runner.progress.bytes_done += bytes.len() as u64;
            }
        }
        (runner.on_progress)(runner.progress);
        runner.report.files.push(run.outcome);
    }
    let Runner {
        batch, mut report, ..
    } = runner;
    for f in &report.files {
        report.read += f.read;
        report.accepted += f.accepted;
        report.duplicates += f.duplicates;
        report.skipped += f.skipped;
        report.rejected += f.rejected;
    }
    let nothing_usable =
        report.accepted + report.duplicates + report.skipped == 0 && report.rejected > 0;
    if (req.strict && report.rejected > 0) || nothing_usable {
        drop(batch); // rolls back: nothing lands
        return Ok(report);
    }
    report.batch_id = Some(batch.commit(&report.files, &report.skip_reasons)?);
    Ok(report)
}
