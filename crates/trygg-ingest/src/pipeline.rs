//! The batch runner: reads every file of a batch, parses, locates and stores its
//! rows in one store transaction, and reports what happened to each row.
//!
//! Rules: a batch lands whole or not at all; a file that cannot be read contributes
//! nothing (and is reported); rows rejected by a parser or the locator are stored
//! with their reason while the good rows land, unless `strict` is set, in which case
//! any rejection rolls the whole batch back; an id seen twice in one file is a
//! rejection; an id already stored (or seen in an earlier file of the batch) is a
//! duplicate that adds nothing when its content was seen for that id before
//! (current or in the history), and otherwise a revision that becomes current.
//!
//! Two threads share the work: the calling thread reads, parses and locates rows
//! (PROJ objects cannot leave their thread), and a writer thread owns the store's
//! transaction and inserts what it is sent in chunks, so parsing and SQLite overlap.
//!
//! Memory does not grow with the file: CSV streams through, and an id repeated
//! within a file is found by the store's unique key, not by a map of the ids —
//! the writer keeps the fids of the file's rows as runs ([`FileFids`]), which
//! tell it the row an id was first met at.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use std::sync::Arc;

use sha2::{Digest, Sha256};
use trygg_crs::{Crs, Transformer};
use trygg_model::{Event, Rejection, Source};
use trygg_store::{BatchInfo, EventBatch, FileOutcome, IngestStore, Insert, StoreError};

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
    /// The files' names as their sender knows them (an upload's file names), in
    /// the order of `files`, for reports and rejections; empty: the paths.
    pub names: Vec<String>,
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
    /// Stored events revised (new content for a stored id; the earlier
    /// version is kept in the history).
    pub updated: u64,
    /// Events that were already stored with the same content (current or
    /// earlier).
    pub duplicates: u64,
    /// Rows that are not events, e.g. police summaries.
    pub skipped: u64,
    /// Rejected rows (and unreadable files).
    pub rejected: u64,
    /// Every rejection, in file and row order.
    pub rejections: Vec<Rejection>,
    /// Skipped rows per reason.
    pub skip_reasons: BTreeMap<String, u64>,
    /// Stored events whose local time was read by a documented rule (in a
    /// daylight-saving gap or the repeated hour), per rule.
    pub time_notes: BTreeMap<String, u64>,
    /// Per-file outcome.
    pub files: Vec<FileOutcome>,
}

impl IngestReport {
    /// Whether the batch landed (committed). A batch commits only when something in
    /// it was usable (an event stored, already present, or deliberately skipped) and,
    /// with `strict`, nothing was rejected; otherwise the store is unchanged.
    pub fn landed(&self) -> bool {
        self.batch_id.is_some()
    }

    /// The report as JSON (the CLI's `--json` and the API's answer), listing at
    /// most `listed` rejections (all are stored) and how many more there were.
    pub fn to_json(&self, listed: usize) -> serde_json::Value {
        use serde_json::json;
        let rejections: Vec<_> = self
            .rejections
            .iter()
            .take(listed)
            .map(|r| json!({"file": r.file, "row": r.row, "field": r.field, "reason": r.reason}))
            .collect();
        json!({
            "read": self.read,
            "accepted": self.accepted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "rejections": rejections,
            "rejections_omitted": self.rejections.len().saturating_sub(listed),
            "skip_reasons": self.skip_reasons,
            "time_notes": self.time_notes,
            "batch_id": self.batch_id,
            "landed": self.landed(),
            "files": self.files.iter().map(|f| json!({
                "file": f.file, "sha256": f.sha256, "bytes": f.bytes, "read": f.read, "accepted": f.accepted,
                "updated": f.updated, "duplicates": f.duplicates, "skipped": f.skipped, "rejected": f.rejected, "error": f.error,
            })).collect::<Vec<_>>(),
        })
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
    /// An input file cannot be read at all (missing, a folder, no permission):
    /// the command is wrong, so nothing is done.
    #[error("cannot read input file {file}: {cause}")]
    Input {
        /// The file as given.
        file: String,
        /// The I/O error (in the message, so not a `source`: a chain printed
        /// whole would say it twice).
        cause: std::io::Error,
    },
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

/// The transform from a CRS, as written, to the store's.
fn store_transformer(crs_text: &str) -> Result<Transformer, trygg_crs::CrsError> {
    Transformer::to_store(&Crs::parse(crs_text)?)
}

/// One file's counts.
struct FileRun {
    index: usize,
    name: Arc<str>,
    outcome: FileOutcome,
}

/// An input file being read, hashed as it streams through (a CSV file is
/// parsed as it is read, never held whole).
struct Input {
    file: File,
    hasher: Sha256,
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(out)?;
        self.hasher.update(&out[..n]);
        Ok(n)
    }
}

impl Input {
    /// The SHA-256 of the whole file (the part not read yet is read for it).
    fn finish(mut self) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(format!("{:x}", self.hasher.finalize()))
    }
}

/// What the parsing thread sends the writer.
enum Item {
    /// An event, and where it was read.
    Event(Row, Event),
    /// A rejected row, to be recorded.
    Reject(Rejection),
}

/// Where an event was read: its file (index into the batch's files, and
/// name), row and raw text, which a rejection for an id repeated in the file
/// names.
struct Row {
    file: usize,
    name: Arc<str>,
    row: u64,
    raw: String,
}

/// The fids of the rows a file has met so far (stored, revised or found
/// already stored), each with the row it was met at: runs of consecutive fids
/// at consecutive rows, so a new file's appended rows are one run.
#[derive(Default)]
struct FileFids {
    /// First fid of a run → (its row, the run's length).
    runs: BTreeMap<i64, (u64, u64)>,
    /// The run the last fid extended.
    last: Option<i64>,
}

impl FileFids {
    fn add(&mut self, fid: i64, row: u64) {
        if let Some(start) = self.last {
            if let Some((first_row, len)) = self.runs.get_mut(&start) {
                if start + *len as i64 == fid && *first_row + *len == row {
                    *len += 1;
                    return;
                }
            }
        }
        self.runs.insert(fid, (row, 1));
        self.last = Some(fid);
    }

    /// The row `fid` was met at, if it was.
    fn row_of(&self, fid: i64) -> Option<u64> {
        let (&start, &(row, len)) = self.runs.range(..=fid).next_back()?;
        let offset = u64::try_from(fid - start).ok()?;
        (offset < len).then_some(row + offset)
    }
}

/// A message to the writer: rows, or the end of the batch with its outcome so far.
enum Message {
    Items(Vec<Item>),
    Finish {
        files: Vec<FileOutcome>,
        skip_reasons: BTreeMap<String, u64>,
        time_notes: BTreeMap<String, u64>,
        strict: bool,
    },
}

/// Rows per message: large enough to make channel traffic negligible, small enough
/// to keep both threads busy.
const CHUNK: usize = 2_048;

/// What the writer did: the files with their accepted/duplicate counts filled in,
/// the rows it rejected (ids repeated in a file) with their files' indexes, and
/// the batch id if it committed.
struct Written {
    files: Vec<FileOutcome>,
    rejections: Vec<(usize, Rejection)>,
    batch_id: Option<i64>,
}

/// The writer's state between chunks.
#[derive(Default)]
struct Tally {
    /// Per file: accepted, updated, duplicates, rejected.
    counts: Vec<[u64; 4]>,
    rejections: Vec<(usize, Rejection)>,
    /// The file being written and the fids it has met.
    file: Option<usize>,
    fids: FileFids,
}

impl Tally {
    /// Stores one file's run of rows.
    fn insert(
        &mut self,
        batch: &mut dyn EventBatch,
        rows: &[Row],
        events: &[Event],
        outcomes: &mut Vec<(Insert, i64)>,
    ) -> Result<(), StoreError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        if self.file != Some(first.file) {
            self.file = Some(first.file);
            self.fids = FileFids::default();
        }
        if self.counts.len() <= first.file {
            self.counts.resize(first.file + 1, [0; 4]);
        }
        outcomes.clear();
        let fids = &self.fids;
        batch.insert_all(events, &|fid| fids.row_of(fid).is_some(), outcomes)?;
        for ((row, event), &(outcome, fid)) in rows.iter().zip(events).zip(outcomes.iter()) {
            let slot = match outcome {
                Insert::Accepted => 0,
                Insert::Updated => 1,
                Insert::Duplicate => 2,
                Insert::Again => {
                    let first = self.fids.row_of(fid).unwrap_or_default();
                    let r = RowError {
                        row: Some(row.row),
                        field: Some("id".into()),
                        reason: format!(
                            "duplicate id '{}' in this file (first at row {first})",
                            event.source_id
                        ),
                        raw: Some(row.raw.clone()),
                    }
                    .rejection(&row.name);
                    batch.reject(&r)?;
                    self.rejections.push((row.file, r));
                    self.counts[row.file][3] += 1;
                    continue;
                }
            };
            self.fids.add(fid, row.row);
            self.counts[row.file][slot] += 1;
        }
        Ok(())
    }
}

/// The writer thread: one transaction; commits at `Finish` if the batch may land,
/// rolls back otherwise or if the parsing side stops without `Finish`.
fn write(
    store: &mut dyn IngestStore,
    info: &BatchInfo,
    rx: &Receiver<Message>,
) -> Result<Option<Written>, StoreError> {
    let mut batch = store.open_batch(info)?;
    let mut tally = Tally::default();
    let (mut rows, mut events, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let Ok(message) = rx.recv() else {
            return Ok(None); // the parsing side failed; dropping `batch` rolls back
        };
        match message {
            Message::Items(items) => {
                // A file's events in a chunk go to the store together (the
                // PostgreSQL backend looks their ids up and copies them in one
                // go each).
                for item in items {
                    match item {
                        Item::Event(row, event) => {
                            if rows.last().is_some_and(|r: &Row| r.file != row.file) {
                                tally.insert(&mut *batch, &rows, &events, &mut outcomes)?;
                                rows.clear();
                                events.clear();
                            }
                            rows.push(row);
                            events.push(event);
                        }
                        Item::Reject(r) => batch.reject(&r)?,
                    }
                }
                tally.insert(&mut *batch, &rows, &events, &mut outcomes)?;
                rows.clear();
                events.clear();
            }
            Message::Finish {
                mut files,
                skip_reasons,
                time_notes,
                strict,
            } => {
                for (f, [accepted, updated, duplicates, rejected]) in files.iter_mut().zip(
                    tally
                        .counts
                        .iter()
                        .copied()
                        .chain(std::iter::repeat([0; 4])),
                ) {
                    f.accepted = accepted;
                    f.updated = updated;
                    f.duplicates = duplicates;
                    f.rejected += rejected;
                }
                let sum = |g: fn(&FileOutcome) -> u64| files.iter().map(g).sum::<u64>();
                let rejected = sum(|f| f.rejected);
                let usable = sum(|f| f.accepted)
                    + sum(|f| f.updated)
                    + sum(|f| f.duplicates)
                    + sum(|f| f.skipped);
                let batch_id = if usable == 0 || (strict && rejected > 0) {
                    None // rolls back
                } else {
                    Some(batch.commit(&files, &skip_reasons, &time_notes)?)
                };
                return Ok(Some(Written {
                    files,
                    rejections: tally.rejections,
                    batch_id,
                }));
            }
        }
    }
}

/// The parsing side of a running batch.
struct Runner<'p> {
    source: Source,
    locator: Locator,
    tx: SyncSender<Message>,
    chunk: Vec<Item>,
    report: IngestReport,
    /// The file (index) of each of `report.rejections`.
    rejection_files: Vec<usize>,
    progress: Progress,
    on_progress: &'p mut dyn FnMut(Progress),
}

/// The writer stopped (it failed); the caller joins it to learn why.
#[derive(Debug)]
struct WriterGone;

/// Why the parsing side stopped early.
enum Stop {
    Writer(WriterGone),
    Ingest(IngestError),
}

impl From<IngestError> for Stop {
    fn from(e: IngestError) -> Self {
        Stop::Ingest(e)
    }
}

impl Runner<'_> {
    fn push(&mut self, item: Item) -> Result<(), Stop> {
        self.chunk.push(item);
        if self.chunk.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Stop> {
        let items = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.tx
            .send(Message::Items(items))
            .map_err(|_| Stop::Writer(WriterGone))
    }

    fn reject(&mut self, run: &mut FileRun, e: RowError) -> Result<(), Stop> {
        run.outcome.rejected += 1;
        let r = e.rejection(&run.name);
        self.report.rejections.push(r.clone());
        self.rejection_files.push(run.index);
        self.push(Item::Reject(r))
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
    ) -> Result<(), Stop> {
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
        match self.locator.locate(&c.location, transformer, c.row) {
            Placement::Skip(reason) => self.skip(run, reason),
            Placement::Reject(mut e) => {
                e.raw = Some(c.raw);
                self.reject(run, e)?;
            }
            Placement::At(at) => {
                if let Some(note) = c.time_note {
                    *self
                        .report
                        .time_notes
                        .entry(note.describe().to_owned())
                        .or_default() += 1;
                }
                let event = Event {
                    source: self.source,
                    source_id: c.source_id,
                    occurred_at: c.occurred_at,
                    occurred_to: c.occurred_to,
                    time_precision: c.time_precision,
                    reported_at: c.reported_at,
                    category: c.category,
                    category_norm: c.category_norm,
                    x: at.x,
                    y: at.y,
                    precision: at.precision,
                    areas: at.areas,
                    attributes: c.attributes,
                };
                let row = Row {
                    file: run.index,
                    name: run.name.clone(),
                    row: c.row,
                    raw: c.raw,
                };
                self.push(Item::Event(row, event))?;
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
        input: &mut Input,
        mapping: Option<&Mapping>,
    ) -> Result<(), Stop> {
        // JSON documents are parsed whole.
        let mut whole = || {
            let mut bytes = Vec::new();
            input
                .read_to_end(&mut bytes)
                .map(|_| bytes)
                .map_err(|e| FileError::file(format!("cannot read the file: {e}")))
        };
        let parsed: Result<(), FileError> = match (format_of(self.source, path), mapping) {
            // Police rows carry WGS 84 centroids the locator transforms itself.
            (Format::Police, _) => match (
                file_transformer("EPSG:3006"),
                whole().and_then(|bytes| parse_police(&bytes)),
            ) {
                (Ok(identity), Ok(rows)) => {
                    rows.into_iter()
                        .try_for_each(|p| self.row(run, p, &identity))?;
                    Ok(())
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            (Format::Csv, Some(m)) => {
                match (file_transformer(m.crs_text()), CsvRows::new(&mut *input, m)) {
                    (Ok(transformer), Ok(rows)) => {
                        for p in rows {
                            self.row(run, p, &transformer)?;
                        }
                        Ok(())
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            (Format::GeoJson, Some(m)) => {
                match whole().and_then(|bytes| parse_geojson(&bytes, m)) {
                    Ok(g) => match file_transformer(&g.crs) {
                        Ok(transformer) => {
                            g.rows
                                .into_iter()
                                .try_for_each(|p| self.row(run, p, &transformer))?;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                }
            }
            (_, None) => Err(FileError {
                field: None,
                reason: format!("source '{}' needs a mapping file", self.source),
            }),
        };
        let parsed = parsed.and_then(|()| {
            if run.outcome.read == 0 {
                Err(FileError::file(
                    "the file holds no rows (an empty array or FeatureCollection, or a header only)",
                ))
            } else {
                Ok(())
            }
        });
        if let Err(e) = parsed {
            run.outcome.error = Some(trygg_model::clip_middle(
                &e.to_string(),
                trygg_model::MAX_REASON_CHARS,
            ));
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

    /// Runs every file, then tells the writer to finish.
    fn run(
        &mut self,
        inputs: Vec<(PathBuf, Input, u64)>,
        names: &[String],
        mapping: Option<&Mapping>,
        strict: bool,
    ) -> Result<(), Stop> {
        for (index, (path, mut input, bytes)) in inputs.into_iter().enumerate() {
            let name = names
                .get(index)
                .cloned()
                .unwrap_or_else(|| path.display().to_string());
            let mut run = FileRun {
                index,
                name: name.as_str().into(),
                outcome: FileOutcome {
                    file: name,
                    ..FileOutcome::default()
                },
            };
            run.outcome.bytes = bytes;
            self.file(&mut run, &path, &mut input, mapping)?;
            match input.finish() {
                Ok(sha256) => run.outcome.sha256 = sha256,
                Err(e) if run.outcome.error.is_none() => {
                    let reason = format!("cannot read the file: {e}");
                    run.outcome.error = Some(reason.clone());
                    let e = RowError {
                        row: None,
                        field: None,
                        reason,
                        raw: None,
                    };
                    self.reject(&mut run, e)?;
                }
                Err(_) => {}
            }
            self.progress.bytes_done += bytes;
            (self.on_progress)(self.progress);
            self.report.files.push(run.outcome);
        }
        self.flush()?;
        let finish = Message::Finish {
            files: self.report.files.clone(),
            skip_reasons: self.report.skip_reasons.clone(),
            time_notes: self.report.time_notes.clone(),
            strict,
        };
        self.tx.send(finish).map_err(|_| Stop::Writer(WriterGone))
    }
}

/// A file's CRS as a transform to the store's; an unknown CRS is the file's fault.
fn file_transformer(crs_text: &str) -> Result<Transformer, FileError> {
    store_transformer(crs_text).map_err(|e| FileError::file(e.to_string()))
}

/// Runs one batch. The store must already hold its areas (see [`crate::setup`]).
pub fn ingest(
    store: &mut dyn IngestStore,
    req: &IngestRequest,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<IngestReport, IngestError> {
    let mapping = load_mapping(req)?;
    if let Some(m) = &mapping {
        // An unknown CRS in the mapping stops the batch before anything is read.
        store_transformer(m.crs_text()).map_err(|source| IngestError::Crs {
            mapping: m.origin().to_owned(),
            source,
        })?;
    }
    let locator = Locator::from_store(&mut *store)?;
    // Every file is opened before the store is touched: a file that cannot be
    // read at all means the command is wrong, and nothing happens.
    let inputs: Vec<(PathBuf, Input, u64)> = req
        .files
        .iter()
        .map(|p| {
            let opened = File::open(p).and_then(|file| {
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(std::io::ErrorKind::IsADirectory.into());
                }
                Ok((file, meta.len()))
            });
            match opened {
                Ok((file, len)) => Ok((
                    p.clone(),
                    Input {
                        file,
                        hasher: Sha256::new(),
                    },
                    len,
                )),
                Err(cause) => Err(IngestError::Input {
                    file: p.display().to_string(),
                    cause,
                }),
            }
        })
        .collect::<Result<_, _>>()?;
    let bytes_total: u64 = inputs.iter().map(|(_, _, len)| len).sum();

    let info = BatchInfo {
        source: req.source,
        strict: req.strict,
    };
    // A few chunks in flight: enough to ride out SQLite's page-cache spills.
    let (tx, rx) = sync_channel::<Message>(8);
    let mut runner = Runner {
        source: req.source,
        locator,
        tx,
        chunk: Vec::with_capacity(CHUNK),
        report: IngestReport::default(),
        rejection_files: Vec::new(),
        progress: Progress {
            bytes_done: 0,
            bytes_total,
            rows: 0,
        },
        on_progress,
    };
    let (produced, mut report, rejection_files, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || write(store, &info, &rx));
        let produced = runner.run(inputs, &req.names, mapping.as_ref(), req.strict);
        // Closing the channel lets the writer roll back if `Finish` was never sent.
        let Runner {
            tx,
            report,
            rejection_files,
            ..
        } = runner;
        drop(tx);
        (produced, report, rejection_files, writer.join())
    });
    let written = match written {
        Ok(w) => w?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    match produced {
        Err(Stop::Ingest(e)) => return Err(e),
        Err(Stop::Writer(WriterGone)) | Ok(()) => {}
    }
    let Some(written) = written else {
        unreachable!("the writer only stops without a result when the parsing side failed")
    };
    report.files = written.files;
    report.batch_id = written.batch_id;
    if !written.rejections.is_empty() {
        // The writer's rejections (ids repeated in a file) join the parser's,
        // in file and row order.
        let mut all: Vec<(usize, Rejection)> = rejection_files
            .into_iter()
            .zip(std::mem::take(&mut report.rejections))
            .chain(written.rejections)
            .collect();
        // (A file's own rejection, with no row, stays after its rows.)
        all.sort_by_key(|(file, r)| (*file, r.row.unwrap_or(u64::MAX)));
        report.rejections = all.into_iter().map(|(_, r)| r).collect();
    }
    for f in &report.files {
        report.read += f.read;
        report.accepted += f.accepted;
        report.updated += f.updated;
        report.duplicates += f.duplicates;
        report.skipped += f.skipped;
        report.rejected += f.rejected;
    }
    Ok(report)
}
