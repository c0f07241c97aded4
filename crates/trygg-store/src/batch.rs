//! Ingest batches: one SQLite transaction that lands whole or not at all.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use rusqlite::{params, Connection, OptionalExtension, Statement};
use trygg_model::{Event, Rejection, Source};

use crate::error::StoreError;
use crate::geom;
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
    /// Events already in the store (or earlier in this batch).
    pub duplicates: u64,
    /// Well-formed rows that are not events.
    pub skipped: u64,
    /// Malformed rows.
    pub rejected: u64,
    /// Why the file as a whole could not be read, if it could not.
    pub error: Option<String>,
}

/// Whether an insert added an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// A new event.
    Accepted,
    /// `(source, source_id)` was already stored.
    Duplicate,
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
    id: i64,
    path: std::path::PathBuf,
    bounds: Option<[f64; 4]>,
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

const INSERT_REJECTION: &str =
    "INSERT INTO rejected_rows (batch_id, file, row, field, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const INSERT_EVENT: &str = "INSERT INTO events (geom, source, source_id, occurred_at, occurred_to, occurred_utc,
    reported_at, category, category_norm, precision, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023,
    outside_areas, batch_id, attributes, time_precision)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
    ON CONFLICT (source, source_id) DO NOTHING";

fn rfc3339(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
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
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
        // From here on, dropping `batch` rolls back.
        let mut batch = Batch {
            conn,
            insert_event,
            insert_rejection,
            id: 0,
            path: path.clone(),
            bounds: None,
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

    /// Stores an event unless `(source, source_id)` is already stored.
    pub fn insert(&mut self, e: &Event) -> Result<Insert, StoreError> {
        let blob = geom::encode_point(STORE_SRS_ID, e.x, e.y);
        let changed = self
            .insert_event
            .execute(params![
                blob,
                e.source.as_str(),
                e.source_id,
                rfc3339(&e.occurred_at),
                e.occurred_to.as_ref().map(rfc3339),
                e.occurred_at.timestamp(),
                e.reported_at.as_ref().map(rfc3339),
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
            ])
            .map_err(|err| Self::sql(&self.path, err))?;
        if changed == 0 {
            return Ok(Insert::Duplicate);
        }
        grow(&mut self.bounds, e.x, e.y);
        Ok(Insert::Accepted)
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
        let mut totals = [0u64; 5];
        for f in files {
            self.conn
                .execute(
                    "INSERT INTO ingest_files (batch_id, file, sha256, bytes, read, accepted, duplicates, skipped,
                     rejected, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                        f.error
                    ],
                )
                .map_err(sql)?;
            for (t, v) in
                totals
                    .iter_mut()
                    .zip([f.read, f.accepted, f.duplicates, f.skipped, f.rejected])
            {
                *t += v;
            }
        }
        let json = |m: &BTreeMap<String, u64>| {
            serde_json::to_string(m).unwrap_or_else(|_| "{}".to_owned())
        };
        self.conn
            .execute(
                "UPDATE ingest_batches SET finished_at = ?1, read = ?2, accepted = ?3, duplicates = ?4, skipped = ?5,
                 rejected = ?6, skip_reasons = ?7, notes = ?8 WHERE id = ?9",
                params![now_rfc3339(), n(totals[0]), n(totals[1]), n(totals[2]), n(totals[3]), n(totals[4]),
                        json(skip_reasons), json(notes), self.id],
            )
            .map_err(sql)?;
        grow_contents_extent(self.conn, "events", self.bounds).map_err(sql)?;
        bump_data_version(self.conn, false).map_err(sql)?;
        self.conn.execute_batch("COMMIT").map_err(sql)?;
        self.done = true;
        Ok(self.id)
    }
}

impl Store {
    /// Takes back a whole committed batch: its events are deleted and the batch
    /// stays listed as reverted by `by` now, with the number of events that went.
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
        let reason = match state {
            None => Some("no such batch".to_owned()),
            Some((None, _)) => Some("the batch never committed".to_owned()),
            Some((_, Some(at))) => Some(format!("already reverted at {at}")),
            Some((Some(_), None)) => None,
        };
        if let Some(reason) = reason {
            return Err(StoreError::Batch { id, reason });
        }
        let removed = tx
            .execute("DELETE FROM events WHERE batch_id = ?1", [id])
            .map_err(sql)?;
        tx.execute(
            "UPDATE ingest_batches SET reverted_at = ?1, reverted_by = ?2, reverted_events = ?3 WHERE id = ?4",
            params![now_rfc3339(), by, i64::try_from(removed).unwrap_or(i64::MAX), id],
        )
        .map_err(sql)?;
        bump_data_version(&tx, true).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(removed as u64)
    }
}
