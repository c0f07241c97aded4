//! Ingest batches: one SQLite transaction that lands whole or not at all.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use rusqlite::{params, Connection, OptionalExtension, Statement};
use trygg_model::{Event, Rejection, Source};

use crate::error::StoreError;
use crate::geom;
use crate::schema;
use crate::store::{
    bump_data_version, grow, grow_contents_extent, now_rfc3339, Store, STORE_SRS_ID,
};

/// What a batch is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The source of every event in the batch.
    pub source: Source,
    /// Whether the batch was run with `--strict`.
    pub strict: bool,
}

/// What became of one input file of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file's name as given.
    pub file: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Rows read (events + skipped + rejected).
    pub read: u64,
    /// New events stored.
    pub accepted: u64,
    /// Stored events whose content this file revised (the earlier version went
    /// to the history).
    pub updated: u64,
    /// Events already in the store (or earlier in this batch) with the same
    /// content, current or in the history.
    pub duplicates: u64,
    /// Well-formed rows that are not events.
    pub skipped: u64,
    /// Malformed rows.
    pub rejected: u64,
    /// Why the file as a whole could not be read, if it could not.
    pub error: Option<String>,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// A new event.
    Accepted,
    /// `(source, source_id)` was stored with other content, never seen for it
    /// before: this content is now current, the earlier version is history.
    Updated,
    /// `(source, source_id)` was stored with this very content, now or as an
    /// earlier version (so an older snapshot never rolls a record back).
    Duplicate,
    /// The id's stored row was met earlier in the same file (the caller said
    /// so, see [`crate::EventBatch::insert_all`]): neither compared nor stored.
    Again,
}

/// An open ingest batch. Dropping it without [`Batch::commit`] rolls everything back.
///
/// The transaction is managed by hand (`BEGIN IMMEDIATE` … `COMMIT`) rather than with
/// `rusqlite::Transaction`, so that the batch can hold its prepared statements: they
/// borrow the connection, and a statement prepared once is what makes inserts cheap.
#[derive(Debug)]
pub struct Batch<'a> {
    conn: &'a Connection,
    insert_event: Statement<'a>,
    insert_rejection: Statement<'a>,
    current: Statement<'a>,
    seen_before: Statement<'a>,
    to_history: Statement<'a>,
    revise: Statement<'a>,
    /// The largest fid before the batch: the rows after it are its own.
    appended_after: i64,
    id: i64,
    path: std::path::PathBuf,
    bounds: Option<[f64; 4]>,
    /// The R-tree entries of the rows appended, for a bulk build at commit.
    entries: crate::rtree::Entries,
    /// Rows appended by this batch and then revised by it: their entries in
    /// `entries` are stale, so the build reads them from the table.
    reread: std::collections::BTreeSet<i64>,
    revised: bool,
    done: bool,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing to report to: if the rollback fails, SQLite rolls the open
            // transaction back when the connection closes.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A batch appending at least this many events, and at least a quarter as
/// many as the store held before it, rebuilds the R-tree in bulk.
const BULK_INDEX_MIN: i64 = 20_000;

const INSERT_REJECTION: &str =
    "INSERT INTO rejected_rows (batch_id, file, row, field, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const INSERT_EVENT: &str = "INSERT INTO events (geom, source, source_id, occurred_at, occurred_to, occurred_utc,
    reported_at, category, category_norm, precision, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023,
    outside_areas, batch_id, attributes, time_precision)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
    ON CONFLICT (source, source_id) DO NOTHING";

/// The stored version of an id: its fid and the columns its content is.
const CURRENT: &str = "SELECT fid, geom, occurred_at, occurred_to, reported_at, category,
    category_norm, precision, attributes, time_precision FROM events WHERE source = ?1 AND source_id = ?2";

const SEEN_BEFORE: &str = "SELECT 1 FROM event_history
    WHERE source = ?1 AND source_id = ?2 AND content_sha256 = ?3 LIMIT 1";

/// Moves the current version of `fid` to the history, replaced by batch ?2.
const TO_HISTORY: &str = "INSERT INTO event_history (source, source_id, content_sha256, batch_id,
    replaced_by, replaced_at, geom, occurred_at, occurred_to, occurred_utc, time_precision, reported_at,
    category, category_norm, precision, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023,
    outside_areas, attributes)
    SELECT source, source_id, ?4, batch_id, ?2, ?3, geom, occurred_at, occurred_to, occurred_utc,
    time_precision, reported_at, category, category_norm, precision, stadsdel, stadsdelsomrade_2020,
    stadsdelsomrade_2023, outside_areas, attributes FROM events WHERE fid = ?1";

/// Replaces the stored row of `(source, source_id)` = (?2, ?3); the parameters
/// are [`INSERT_EVENT`]'s.
const REVISE: &str = "UPDATE events SET geom = ?1, occurred_at = ?4, occurred_to = ?5,
    occurred_utc = ?6, reported_at = ?7, category = ?8, category_norm = ?9, precision = ?10,
    stadsdel = ?11, stadsdelsomrade_2020 = ?12, stadsdelsomrade_2023 = ?13, outside_areas = ?14,
    batch_id = ?15, attributes = ?16, time_precision = ?17 WHERE source = ?2 AND source_id = ?3";

/// The columns an event's content is compared by, as stored: everything that
/// comes from the source (place, times, categories, precision, the verbatim
/// attributes, compared as JSON values: the same object written with other
/// spacing or member order is the same content). The areas are left out: they
/// are assigned here, from the area layers of the day, so the same record
/// assigned anew is the same content. Hashed only when an id comes again, so a
/// first ingest pays nothing for it.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    /// The point's GeoPackage blob.
    pub geom: &'a [u8],
    /// `occurred_at` as stored ([`stored_time`]).
    pub occurred_at: &'a str,
    /// `occurred_to` as stored.
    pub occurred_to: Option<&'a str>,
    /// `reported_at` as stored.
    pub reported_at: Option<&'a str>,
    /// The source's category.
    pub category: &'a str,
    /// The normalised category's code.
    pub category_norm: &'a str,
    /// The location precision's code.
    pub precision: &'a str,
    /// The attributes' JSON text.
    pub attributes: &'a str,
    /// The time precision's code.
    pub time_precision: &'a str,
}

/// A JSON text with its objects' members sorted and no spacing (the text as
/// it is when it is not JSON).
fn canonical_json(text: &str) -> std::borrow::Cow<'_, str> {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(map) => {
                let mut members: Vec<_> = map.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => {
            let mut out = String::with_capacity(text.len());
            write(&v, &mut out);
            std::borrow::Cow::Owned(out)
        }
        Err(_) => std::borrow::Cow::Borrowed(text),
    }
}

impl Content<'_> {
    /// Hex SHA-256 of the columns, each length-prefixed (absent ≠ empty).
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut put = |v: Option<&[u8]>| match v {
            None => h.update([0u8]),
            Some(b) => {
                h.update([1u8]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
        };
        put(Some(self.geom));
        put(Some(self.occurred_at.as_bytes()));
        put(self.occurred_to.map(str::as_bytes));
        put(self.reported_at.map(str::as_bytes));
        put(Some(self.category.as_bytes()));
        put(Some(self.category_norm.as_bytes()));
        put(Some(self.precision.as_bytes()));
        put(Some(canonical_json(self.attributes).as_bytes()));
        put(Some(self.time_precision.as_bytes()));
        let digest = h.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A time as every backend stores it: RFC 3339 with its offset, whole seconds.
pub fn stored_time(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl Store {
    /// Starts a batch (a transaction holding the store's write lock).
    pub fn begin_batch(&mut self, info: &BatchInfo) -> Result<Batch<'_>, StoreError> {
        let path = self.path.clone();
        let sql = |source| Batch::sql(&path, source);
        let conn = &self.conn;
        let insert_event = conn.prepare(INSERT_EVENT).map_err(sql)?;
        let insert_rejection = conn.prepare(INSERT_REJECTION).map_err(sql)?;
        let current = conn.prepare(CURRENT).map_err(sql)?;
        let seen_before = conn.prepare(SEEN_BEFORE).map_err(sql)?;
        let to_history = conn.prepare(TO_HISTORY).map_err(sql)?;
        let revise = conn.prepare(REVISE).map_err(sql)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
        // From here on, dropping `batch` rolls back.
        // The R-tree is filled once at commit for the rows appended, not row by
        // row: its insert trigger is dropped for the batch (and comes back at
        // commit, or with the rollback).
        let appended_after: i64 = conn
            .query_row("SELECT coalesce(max(fid), 0) FROM events", [], |r| r.get(0))
            .map_err(sql)?;
        conn.execute_batch("DROP TRIGGER rtree_events_geom_insert")
            .map_err(sql)?;
        let mut batch = Batch {
            conn,
            insert_event,
            insert_rejection,
            current,
            seen_before,
            to_history,
            revise,
            appended_after,
            id: 0,
            path: path.clone(),
            bounds: None,
            entries: crate::rtree::Entries::default(),
            reread: std::collections::BTreeSet::new(),
            revised: false,
            done: false,
        };
        conn.execute(
            "INSERT INTO ingest_batches (source, started_at, strict) VALUES (?1, ?2, ?3)",
            params![info.source.as_str(), now_rfc3339(), info.strict],
        )
        .map_err(sql)?;
        batch.id = conn.last_insert_rowid();
        Ok(batch)
    }
}

impl Batch<'_> {
    fn sql(path: &std::path::Path, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: path.to_owned(),
            source,
        }
    }

    /// The batch's id (its row in `ingest_batches`).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Stores an event: new, a revision of the stored one, or a duplicate of a
    /// content already seen for its id (see [`Insert`]).
    pub fn insert(&mut self, e: &Event) -> Result<Insert, StoreError> {
        self.insert_unless(e, &|_| false).map(|(insert, _)| insert)
    }

    /// [`Batch::insert`], with the fid of the row the id has now; an id whose
    /// stored row is `again(fid)` is [`Insert::Again`].
    pub(crate) fn insert_unless(
        &mut self,
        e: &Event,
        again: &dyn Fn(i64) -> bool,
    ) -> Result<(Insert, i64), StoreError> {
        let path = &self.path;
        let sql = |err| Self::sql(path, err);
        let blob = geom::encode_point(STORE_SRS_ID, e.x, e.y);
        let occurred_at = stored_time(&e.occurred_at);
        let occurred_to = e.occurred_to.as_ref().map(stored_time);
        let reported_at = e.reported_at.as_ref().map(stored_time);
        let occurred_utc = e.occurred_at.timestamp();
        let columns = params![
            blob,
            e.source.as_str(),
            e.source_id,
            occurred_at,
            occurred_to,
            occurred_utc,
            reported_at,
            e.category,
            e.category_norm.as_str(),
            e.precision.as_str(),
            e.areas.stadsdel.as_deref(),
            e.areas.stadsdelsomrade_2020.as_deref(),
            e.areas.stadsdelsomrade_2023.as_deref(),
            e.areas.outside_areas,
            self.id,
            e.attributes,
            e.time_precision.as_str(),
        ];
        let changed = self.insert_event.execute(columns).map_err(sql)?;
        if changed == 1 {
            grow(&mut self.bounds, e.x, e.y);
            let io = |source| StoreError::Io {
                path: std::env::temp_dir(),
                source,
            };
            let fid = self.conn.last_insert_rowid();
            self.entries.add(fid, [e.x, e.x, e.y, e.y]).map_err(io)?;
            return Ok((Insert::Accepted, fid));
        }
        // The id is stored: compare contents.
        let (fid, stored) = self
            .current
            .query_row(params![e.source.as_str(), e.source_id], |r| {
                let stored = Content {
                    geom: &r.get::<_, Vec<u8>>(1)?,
                    occurred_at: &r.get::<_, String>(2)?,
                    occurred_to: r.get::<_, Option<String>>(3)?.as_deref(),
                    reported_at: r.get::<_, Option<String>>(4)?.as_deref(),
                    category: &r.get::<_, String>(5)?,
                    category_norm: &r.get::<_, String>(6)?,
                    precision: &r.get::<_, String>(7)?,
                    attributes: &r.get::<_, String>(8)?,
                    time_precision: &r.get::<_, String>(9)?,
                }
                .sha256();
                Ok((r.get::<_, i64>(0)?, stored))
            })
            .map_err(sql)?;
        if again(fid) {
            return Ok((Insert::Again, fid));
        }
        let hash = Content {
            geom: &blob,
            occurred_at: &occurred_at,
            occurred_to: occurred_to.as_deref(),
            reported_at: reported_at.as_deref(),
            category: &e.category,
            category_norm: e.category_norm.as_str(),
            precision: e.precision.as_str(),
            attributes: &e.attributes,
            time_precision: e.time_precision.as_str(),
        }
        .sha256();
        if stored == hash
            || self
                .seen_before
                .exists(params![e.source.as_str(), e.source_id, hash])
                .map_err(sql)?
        {
            return Ok((Insert::Duplicate, fid));
        }
        self.to_history
            .execute(params![fid, self.id, now_rfc3339(), stored])
            .map_err(sql)?;
        self.revise.execute(columns).map_err(sql)?;
        if fid > self.appended_after {
            self.reread.insert(fid);
        }
        grow(&mut self.bounds, e.x, e.y);
        self.revised = true;
        Ok((Insert::Updated, fid))
    }

    /// Puts the batch's appended rows into the R-tree: one by one when they are
    /// few next to what is indexed, else by rebuilding the whole tree in bulk
    /// ([`crate::rtree`]).
    fn index_appended(&mut self) -> Result<(), StoreError> {
        let path = &self.path;
        let sql = |err| Self::sql(path, err);
        // Every row the batch appended handed its entry over (counting them in
        // the table would read every appended page again), and the rows stored
        // before it are at most its first fid's worth (fewer after reverts):
        // neither costs a scan.
        let entries = std::mem::take(&mut self.entries);
        let appended = entries.len() as i64;
        if appended >= BULK_INDEX_MIN && appended * 4 >= self.appended_after {
            crate::rtree::rebuild(self.conn, path, entries, self.appended_after, &self.reread)
        } else {
            self.conn
                .execute(schema::RTREE_FILL_AFTER, [self.appended_after])
                .map(drop)
                .map_err(sql)
        }
    }

    /// Records a rejected row.
    pub fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        self.insert_rejection
            .execute(params![
                self.id,
                r.file,
                r.row.and_then(|n| i64::try_from(n).ok()),
                r.field,
                r.reason,
                r.raw
            ])
            .map_err(|err| Self::sql(&self.path, err))?;
        Ok(())
    }

    /// Records the files and counts and commits: the batch is durable when this returns.
    pub fn commit(
        mut self,
        files: &[FileOutcome],
        skip_reasons: &BTreeMap<String, u64>,
        notes: &BTreeMap<String, u64>,
    ) -> Result<i64, StoreError> {
        let path = self.path.clone();
        let sql = |source| Self::sql(&path, source);
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut totals = [0u64; 6];
        for f in files {
            self.conn
                .execute(
                    "INSERT INTO ingest_files (batch_id, file, sha256, bytes, read, accepted, duplicates, skipped,
                     rejected, error, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        self.id,
                        f.file,
                        f.sha256,
                        n(f.bytes),
                        n(f.read),
                        n(f.accepted),
                        n(f.duplicates),
                        n(f.skipped),
                        n(f.rejected),
                        f.error,
                        n(f.updated)
                    ],
                )
                .map_err(sql)?;
            for (t, v) in totals.iter_mut().zip([
                f.read,
                f.accepted,
                f.duplicates,
                f.skipped,
                f.rejected,
                f.updated,
            ]) {
                *t += v;
            }
        }
        let json = |m: &BTreeMap<String, u64>| {
            serde_json::to_string(m).unwrap_or_else(|_| "{}".to_owned())
        };
        self.conn
            .execute(
                "UPDATE ingest_batches SET finished_at = ?1, read = ?2, accepted = ?3, duplicates = ?4, skipped = ?5,
                 rejected = ?6, skip_reasons = ?7, notes = ?8, updated = ?10 WHERE id = ?9",
                params![now_rfc3339(), n(totals[0]), n(totals[1]), n(totals[2]), n(totals[3]), n(totals[4]),
                        json(skip_reasons), json(notes), self.id, n(totals[5])],
            )
            .map_err(sql)?;
        grow_contents_extent(self.conn, "events", self.bounds).map_err(sql)?;
        self.index_appended()?;
        self.conn
            .execute_batch(schema::RTREE_INSERT_TRIGGER)
            .map_err(sql)?;
        // A revision changes stored rows: snapshots reload rather than append.
        bump_data_version(self.conn, self.revised).map_err(sql)?;
        self.conn.execute_batch("COMMIT").map_err(sql)?;
        self.done = true;
        Ok(self.id)
    }
}

impl Store {
    /// Takes back a whole committed batch: the events it added are deleted, those
    /// it revised get back the version it replaced, and the batch stays listed as
    /// reverted by `by` now, with the number of events deleted or given back.
    /// One transaction; reverting a reverted or unknown batch is an error.
    pub fn revert_batch(&mut self, id: i64, by: &str) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let sql = |source| Batch::sql(&path, source);
        let tx = self.conn.transaction().map_err(sql)?;
        let state: Option<(Option<String>, Option<String>)> = tx
            .query_row(
                "SELECT finished_at, reverted_at FROM ingest_batches WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        revertible(id, state)?;
        let mut changed = [0u64; 5];
        for (n, q) in changed.iter_mut().zip(revert_statements("?1")) {
            *n = tx.execute(&q, [id]).map_err(sql)? as u64;
        }
        let removed = reverted_events(&changed);
        tx.execute(
            "UPDATE ingest_batches SET reverted_at = ?1, reverted_by = ?2, reverted_events = ?3 WHERE id = ?4",
            params![now_rfc3339(), by, i64::try_from(removed).unwrap_or(i64::MAX), id],
        )
        .map_err(sql)?;
        bump_data_version(&tx, true).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(removed)
    }
}

/// Whether batch `id`, whose `(finished_at, reverted_at)` are `state` (`None`:
/// no such batch), can be reverted; the same rule for both backends.
pub fn revertible(
    id: i64,
    state: Option<(Option<String>, Option<String>)>,
) -> Result<(), StoreError> {
    let reason = match state {
        None => "no such batch".to_owned(),
        Some((None, _)) => "the batch never committed".to_owned(),
        Some((_, Some(at))) => format!("already reverted at {at}"),
        Some((Some(_), None)) => return Ok(()),
    };
    Err(StoreError::Batch { id, reason })
}

/// The statements that take a batch back, in order, with `mark` the
/// placeholder of its id (the same for both backends): the batch's revisions
/// are undone (an event it revised gets back the version it replaced) and the
/// events it added go.
pub fn revert_statements(mark: &str) -> [String; 5] {
    [
        REVERT_CHAIN,
        REVERT_RESTORE,
        "DELETE FROM event_history WHERE replaced_by = ?1 AND batch_id <> ?1",
        "DELETE FROM events WHERE batch_id = ?1",
        "DELETE FROM event_history WHERE batch_id = ?1",
    ]
    .map(|q| q.replace("?1", mark))
}

/// The events a revert removed or gave back their earlier version, from the
/// rows each of [`revert_statements`] changed.
pub fn reverted_events(changed: &[u64; 5]) -> u64 {
    changed[1] + changed[3]
}

/// Reverting batch ?1, first: a version it replaced whose successor (from ?1)
/// was itself replaced by a later batch now counts as replaced by that batch,
/// so what is left replaced by ?1 is what ?1's current versions replaced.
const REVERT_CHAIN: &str = "UPDATE event_history AS h SET replaced_by = (
    SELECT later.replaced_by FROM event_history AS later
    WHERE later.batch_id = ?1 AND later.replaced_by <> ?1
      AND later.source = h.source AND later.source_id = h.source_id)
  WHERE h.replaced_by = ?1 AND h.batch_id <> ?1 AND EXISTS (
    SELECT 1 FROM event_history AS later
    WHERE later.batch_id = ?1 AND later.replaced_by <> ?1
      AND later.source = h.source AND later.source_id = h.source_id)";

/// Then: the versions ?1 replaced become current again.
const REVERT_RESTORE: &str = "UPDATE events AS e SET geom = r.geom, occurred_at = r.occurred_at,
    occurred_to = r.occurred_to, occurred_utc = r.occurred_utc, time_precision = r.time_precision,
    reported_at = r.reported_at, category = r.category, category_norm = r.category_norm,
    precision = r.precision, stadsdel = r.stadsdel, stadsdelsomrade_2020 = r.stadsdelsomrade_2020,
    stadsdelsomrade_2023 = r.stadsdelsomrade_2023, outside_areas = r.outside_areas,
    batch_id = r.batch_id, attributes = r.attributes
  FROM event_history AS r
  WHERE r.replaced_by = ?1 AND r.batch_id <> ?1 AND e.source = r.source AND e.source_id = r.source_id";
