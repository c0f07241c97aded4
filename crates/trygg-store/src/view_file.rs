//! The view snapshot file: the in-memory [`EventView`]'s columns written beside
//! the store (`.NAME.view`), tagged with the store's data version, so that a
//! reader opens the view by reading columns instead of decoding every event row
//! from SQLite, and extends it with only the events added since.
//!
//! [`Store::load_view`] decides, in one read transaction (so version and rows
//! agree and no half batch is seen):
//! - the file's version is the store's: the file is the view;
//! - it is older, and no event was removed since (no revert): the view is the file
//!   plus the events with a larger `fid`, merged by time;
//! - anything else (no file, a damaged or foreign file, a revert since): the view
//!   is built from SQLite.
//!
//! A view that was extended or rebuilt is written back (beside, then renamed), so
//! the next reader finds it current; a store on read-only media simply gets no file.
//!
//! Format (little-endian): magic `TRYGGVW1`, data version, max fid, event count,
//! origin x/y, the two dictionaries (count, then length-prefixed UTF-8), the
//! columns in a fixed order, and a checksum of everything before it.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::beside::BesideFile;
use crate::error::StoreError;
use crate::store::Store;
use crate::view::{intern, EventView, EventViewBuilder, Row};

const MAGIC: &[u8; 8] = b"TRYGGVW1";
/// Bytes of one event in the columns: t, span, four u8 codes, two u16 codes, x, y.
const BYTES_PER_EVENT: u64 = 8 + 4 + 4 + 2 * 2 + 4 + 4;

/// How a view was obtained, for logs, metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewSource {
    /// Read from a current snapshot file.
    File,
    /// A snapshot file plus this many events added since.
    Extended(u64),
    /// Built from the store's rows.
    Rebuilt,
}

/// A view and the store state it reflects.
#[derive(Debug)]
pub struct LoadedView {
    /// The events.
    pub view: EventView,
    /// The store's data version the view reflects.
    pub version: u64,
    /// The largest event `fid` in the view.
    pub max_fid: i64,
    /// How it was obtained.
    pub source: ViewSource,
}

/// A checksum over everything written or read, word by word (FNV-style mixing
/// of 8-byte little-endian words; the stream's split into calls does not matter).
struct Hashing<T> {
    inner: T,
    hash: u64,
    pending: [u8; 8],
    filled: usize,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hash: 0xcbf2_9ce4_8422_2325,
            pending: [0; 8],
            filled: 0,
        }
    }

    fn mix(&mut self, word: u64) {
        self.hash = (self.hash ^ word)
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(29);
    }

    fn add(&mut self, mut bytes: &[u8]) {
        if self.filled > 0 {
            let take = (8 - self.filled).min(bytes.len());
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 8 {
                return;
            }
            self.mix(u64::from_le_bytes(self.pending));
            self.filled = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.mix(u64::from_le_bytes(a));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// The checksum of everything so far (a partial last word included).
    fn finish(&self) -> u64 {
        let mut last = [0u8; 8];
        last[..self.filled].copy_from_slice(&self.pending[..self.filled]);
        (self.hash ^ u64::from_le_bytes(last) ^ self.filled as u64).wrapping_mul(0x0100_0000_01b3)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.add(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.add(&buf[..n]);
        Ok(n)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Writes and reads fixed-width little-endian columns.
trait Le: Sized + Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
le!(u8, u16, u32, u64, i64, f32, f64);

fn write_column<T: Le, W: Write>(w: &mut W, column: &[T]) -> std::io::Result<()> {
    // In chunks: a 10M-event column is not copied whole.
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in column.chunks(64 * 1024 / T::SIZE.max(1)) {
        buf.clear();
        for &v in chunk {
            v.put(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Reads a column of `n` values through `scratch` (reused across columns, so the
/// bytes are faulted in once; the peak is the view plus its largest column).
fn read_column<T: Le, R: Read>(
    r: &mut R,
    n: usize,
    scratch: &mut Vec<u8>,
) -> std::io::Result<Vec<T>> {
    scratch.resize(n * T::SIZE, 0);
    r.read_exact(scratch)?;
    Ok(scratch.chunks_exact(T::SIZE).map(T::get).collect())
}

fn read_one<T: Le, R: Read>(r: &mut R) -> std::io::Result<T> {
    let mut b = vec![0u8; T::SIZE];
    r.read_exact(&mut b)?;
    Ok(T::get(&b))
}

fn write_strings<W: Write>(w: &mut W, list: &[String]) -> std::io::Result<()> {
    let n = u32::try_from(list.len()).map_err(|_| bad("dictionary too large"))?;
    w.write_all(&n.to_le_bytes())?;
    for s in list {
        let len = u32::try_from(s.len()).map_err(|_| bad("string too long"))?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

fn read_strings<R: Read>(r: &mut R) -> std::io::Result<Vec<String>> {
    let n: u32 = read_one(r)?;
    if n > u32::from(u16::MAX) {
        return Err(bad("dictionary too large"));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let len: u32 = read_one(r)?;
        if len > 1 << 20 {
            return Err(bad("string too long"));
        }
        let mut b = vec![0u8; len as usize];
        r.read_exact(&mut b)?;
        out.push(String::from_utf8(b).map_err(|_| bad("not UTF-8"))?);
    }
    Ok(out)
}

/// The snapshot file of the store at `store`: `.NAME.view` beside it.
pub fn view_file_path(store: &Path) -> PathBuf {
    let name = store
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    store.with_file_name(format!(".{name}.view"))
}

impl EventView {
    /// Writes the view to `path` (beside, then renamed: a reader never sees half
    /// a file), tagged with the data version and max fid it reflects.
    pub fn write_file(&self, path: &Path, version: u64, max_fid: i64) -> std::io::Result<()> {
        let mut w = Hashing::new(BesideFile::create(path)?);
        w.write_all(MAGIC)?;
        w.write_all(&version.to_le_bytes())?;
        w.write_all(&max_fid.to_le_bytes())?;
        w.write_all(&(self.len() as u64).to_le_bytes())?;
        w.write_all(&self.origin.0.to_le_bytes())?;
        w.write_all(&self.origin.1.to_le_bytes())?;
        write_strings(&mut w, &self.categories)?;
        write_strings(&mut w, &self.stadsdelar)?;
        write_column(&mut w, &self.t)?;
        write_column(&mut w, &self.span)?;
        write_column(&mut w, &self.time_precision)?;
        write_column(&mut w, &self.source)?;
        write_column(&mut w, &self.category_norm)?;
        write_column(&mut w, &self.precision)?;
        write_column(&mut w, &self.category)?;
        write_column(&mut w, &self.stadsdel)?;
        write_column(&mut w, &self.x)?;
        write_column(&mut w, &self.y)?;
        let hash = w.finish();
        let mut file = w.inner;
        file.write_all(&hash.to_le_bytes())?;
        file.commit()
    }

    /// Reads a view file: the view, its data version and max fid. Any damage (a
    /// truncated file, a bad checksum, an unknown format) is an error.
    pub fn read_file(path: &Path) -> std::io::Result<(EventView, u64, i64)> {
        let file = std::fs::File::open(path)?;
        let mut r = Hashing::new(BufReader::with_capacity(1 << 20, file));
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("not a Trygg view file"));
        }
        let version: u64 = read_one(&mut r)?;
        let max_fid: i64 = read_one(&mut r)?;
        let n = usize::try_from(read_one::<u64, _>(&mut r)?).map_err(|_| bad("count"))?;
        let len = std::fs::metadata(path)?.len();
        // 28 bytes an event in the columns: a count the file cannot hold is
        // damage, not a reason to allocate.
        if (n as u64).saturating_mul(BYTES_PER_EVENT) > len {
            return Err(bad("event count larger than the file"));
        }
        let origin = (read_one::<f64, _>(&mut r)?, read_one::<f64, _>(&mut r)?);
        let categories = read_strings(&mut r)?;
        let stadsdelar = read_strings(&mut r)?;
        let mut scratch = Vec::new();
        let view = EventView {
            origin,
            t: read_column(&mut r, n, &mut scratch)?,
            span: read_column(&mut r, n, &mut scratch)?,
            time_precision: read_column(&mut r, n, &mut scratch)?,
            source: read_column(&mut r, n, &mut scratch)?,
            category_norm: read_column(&mut r, n, &mut scratch)?,
            precision: read_column(&mut r, n, &mut scratch)?,
            category: read_column(&mut r, n, &mut scratch)?,
            stadsdel: read_column(&mut r, n, &mut scratch)?,
            x: read_column(&mut r, n, &mut scratch)?,
            y: read_column(&mut r, n, &mut scratch)?,
            categories,
            stadsdelar,
            tree: std::sync::OnceLock::new(),
        };
        let hash = r.finish();
        let stored: u64 = read_one(&mut r.inner)?;
        if stored != hash {
            return Err(bad("checksum mismatch"));
        }
        view.check_codes()?;
        Ok((view, version, max_fid))
    }

    /// Every code indexes its dictionary or enum (a file could be damaged in a way
    /// the checksum does not catch only by being written wrong; check anyway so a
    /// lookup can never panic).
    fn check_codes(&self) -> std::io::Result<()> {
        let ok = self
            .category
            .iter()
            .all(|&c| usize::from(c) < self.categories.len())
            && self
                .stadsdel
                .iter()
                .all(|&c| c == crate::NO_AREA || usize::from(c) < self.stadsdelar.len())
            && self
                .source
                .iter()
                .all(|&c| usize::from(c) < trygg_model::Source::ALL.len())
            && self
                .category_norm
                .iter()
                .all(|&c| usize::from(c) < trygg_model::NormCategory::ALL.len())
            && self
                .precision
                .iter()
                .all(|&c| usize::from(c) < trygg_model::Precision::ALL.len())
            && self
                .time_precision
                .iter()
                .all(|&c| usize::from(c) < trygg_model::TimePrecision::ALL.len())
            && self.t.windows(2).all(|w| w[0] <= w[1]);
        if ok {
            Ok(())
        } else {
            Err(bad("codes out of range or times unsorted"))
        }
    }

    /// This view plus the events of `added` (same origin), merged by time: equal
    /// times keep this view's events first, as a rebuild in fid order would.
    /// The columns are written into the buffers of `spare`, a view nobody reads
    /// any more, where they are large enough: their pages are already mapped,
    /// which is most of the cost of building a large view afresh.
    pub fn extended(&self, added: EventViewBuilder, spare: Option<EventView>) -> EventView {
        let index = |dict: &[String]| -> HashMap<String, u16> {
            dict.iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), u16::try_from(i).unwrap_or(u16::MAX)))
                .collect()
        };
        let mut categories = self.categories.clone();
        let mut category_index = index(&categories);
        let mut stadsdelar = self.stadsdelar.clone();
        let mut stadsdel_index = index(&stadsdelar);
        // The new rows were made relative to the same origin; only their
        // dictionary codes change.
        let mut rows: Vec<Row> = added.rows;
        for row in &mut rows {
            row.category = intern(
                &mut categories,
                &mut category_index,
                &added.categories[usize::from(row.category)],
            );
            if row.stadsdel != crate::NO_AREA {
                row.stadsdel = intern(
                    &mut stadsdelar,
                    &mut stadsdel_index,
                    &added.stadsdelar[usize::from(row.stadsdel)],
                );
            }
        }
        rows.sort_by_key(|r| r.t);
        // The merge plan, computed once: each new row goes after the old events
        // at or before its time.
        let mut plan: Vec<(Range<usize>, Option<usize>)> = Vec::with_capacity(rows.len() + 1);
        let mut old = 0usize;
        for (j, row) in rows.iter().enumerate() {
            let until = old + self.t[old..].partition_point(|&t| t <= row.t);
            plan.push((old..until, Some(j)));
            old = until;
        }
        plan.push((old..self.len(), None));
        let n = self.len() + rows.len();
        let mut spare = spare.unwrap_or_default();
        use std::mem::take;
        let (b_t, b_x, b_category) = (
            take(&mut spare.t),
            take(&mut spare.x),
            take(&mut spare.category),
        );
        let merge = |column: &dyn Fn(&Row) -> u8, old: &[u8], into: Vec<u8>| {
            merged(old, &rows, column, &plan, n, into)
        };
        // Two threads fill about half of the new columns' bytes each: the cost is
        // writing (and first touching) every page of the next view, which both
        // cores do in parallel.
        let ((t, x, category), (y, span, stadsdel, small)) = std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                (
                    merged(&self.t, &rows, &|r: &Row| r.t, &plan, n, b_t),
                    merged(&self.x, &rows, &|r: &Row| r.x, &plan, n, b_x),
                    merged(
                        &self.category,
                        &rows,
                        &|r: &Row| r.category,
                        &plan,
                        n,
                        b_category,
                    ),
                )
            });
            let second = (
                merged(&self.y, &rows, &|r: &Row| r.y, &plan, n, take(&mut spare.y)),
                merged(
                    &self.span,
                    &rows,
                    &|r: &Row| r.span,
                    &plan,
                    n,
                    take(&mut spare.span),
                ),
                merged(
                    &self.stadsdel,
                    &rows,
                    &|r: &Row| r.stadsdel,
                    &plan,
                    n,
                    take(&mut spare.stadsdel),
                ),
                [
                    merge(
                        &|r: &Row| r.time_precision,
                        &self.time_precision,
                        take(&mut spare.time_precision),
                    ),
                    merge(&|r: &Row| r.source, &self.source, take(&mut spare.source)),
                    merge(
                        &|r: &Row| r.norm,
                        &self.category_norm,
                        take(&mut spare.category_norm),
                    ),
                    merge(
                        &|r: &Row| r.precision,
                        &self.precision,
                        take(&mut spare.precision),
                    ),
                ],
            );
            let first = first
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        let [time_precision, source, category_norm, precision] = small;
        EventView {
            origin: self.origin,
            x,
            y,
            t,
            span,
            time_precision,
            source,
            category_norm,
            precision,
            category,
            categories,
            stadsdel,
            stadsdelar,
            tree: std::sync::OnceLock::new(),
        }
    }
}

/// One column of a merge: the old column's pieces with the new rows' values
/// between them, as `plan` says, written into `into` (a spare buffer) when it
/// is large enough, else into a new one with room for later batches.
fn merged<T: Copy>(
    old: &[T],
    rows: &[Row],
    value: &dyn Fn(&Row) -> T,
    plan: &[(Range<usize>, Option<usize>)],
    n: usize,
    into: Vec<T>,
) -> Vec<T> {
    let mut out = if into.capacity() >= n {
        into
    } else {
        // About 3 % to spare: the next few dozen batches fit a recycled buffer.
        Vec::with_capacity(n + n / 32)
    };
    out.clear();
    for (range, row) in plan {
        out.extend_from_slice(&old[range.clone()]);
        if let Some(j) = row {
            out.push(value(&rows[*j]));
        }
    }
    out
}

impl Store {
    /// The view of all stored events, from the snapshot file when it is current,
    /// extended when it is older, rebuilt otherwise (see the module docs); the
    /// file is brought up to date for the next reader.
    pub fn load_view(&self) -> Result<LoadedView, StoreError> {
        let file = view_file_path(&self.path);
        let loaded = self.read_transaction(|| {
            let version = self.data_version()?;
            match EventView::read_file(&file) {
                Ok((view, v, max_fid)) if v == version => Ok(LoadedView {
                    view,
                    version,
                    max_fid,
                    source: ViewSource::File,
                }),
                Ok((view, v, max_fid)) => self
                    .extend(&view, v, max_fid, version, None)
                    .transpose()
                    .unwrap_or_else(|| self.rebuild(version)),
                Err(_) => self.rebuild(version),
            }
        })?;
        if loaded.source != ViewSource::File {
            // A cache: if it cannot be written (read-only media), readers rebuild.
            let _ = loaded
                .view
                .write_file(&file, loaded.version, loaded.max_fid);
        }
        Ok(loaded)
    }

    /// A newer view than `current` (of data version `version`, events up to
    /// `max_fid`), or `None` when the store has not changed: extended with the
    /// events added since, or rebuilt after a revert. Does not write the snapshot
    /// file (a live reader swaps first and saves after: [`EventView::write_file`]).
    pub fn refresh_view(
        &self,
        current: &EventView,
        version: u64,
        max_fid: i64,
        spare: Option<EventView>,
    ) -> Result<Option<LoadedView>, StoreError> {
        let loaded = self.read_transaction(|| {
            let now = self.data_version()?;
            if now == version {
                return Ok(None);
            }
            match self.extend(current, version, max_fid, now, spare)? {
                Some(l) => Ok(Some(l)),
                None => self.rebuild(now).map(Some),
            }
        })?;
        Ok(loaded)
    }

    /// Runs `f` in one read transaction, so that everything it reads is of one
    /// committed state (a writer's batch is either wholly visible or not at all).
    /// Inside a transaction already, `f` just runs in it.
    pub fn read_transaction<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.conn.is_autocommit() {
            return f();
        }
        self.conn
            .execute_batch("BEGIN")
            .map_err(|e| E::from(self.sql(e)))?;
        let result = f();
        // A read transaction has nothing to lose: ending it cannot fail in a
        // way that matters to the result.
        let _ = self.conn.execute_batch("COMMIT");
        result
    }

    /// `view` (of `base_version`) plus the events added since, if no event was
    /// removed since; `None` when it cannot be extended.
    fn extend(
        &self,
        view: &EventView,
        base_version: u64,
        max_fid: i64,
        version: u64,
        spare: Option<EventView>,
    ) -> Result<Option<LoadedView>, StoreError> {
        if base_version > version || self.rewritten_version()? > base_version {
            return Ok(None);
        }
        let (added, new_max) = self.view_rows(view.origin, max_fid)?;
        let n = added.rows.len() as u64;
        Ok(Some(LoadedView {
            view: view.extended(added, spare),
            version,
            max_fid: new_max,
            source: ViewSource::Extended(n),
        }))
    }

    fn rebuild(&self, version: u64) -> Result<LoadedView, StoreError> {
        let (builder, max_fid) = self.view_rows(self.view_origin()?, 0)?;
        Ok(LoadedView {
            view: builder.build(),
            version,
            max_fid,
            source: ViewSource::Rebuilt,
        })
    }
}
