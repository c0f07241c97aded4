//! Ingest into PostgreSQL: the same batches as the GeoPackage store's (one
//! transaction; new ids appended, new content of a stored id a revision with
//! the old version in `event_history`, content seen before a duplicate;
//! rejected rows stored), with each chunk of events looked up in one query and
//! its new events sent with one `COPY`. Batches take a transaction-level
//! advisory lock, so two ingests into one database run one after the other, as
//! they do on a GeoPackage file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use postgres::Transaction;
use trygg_model::{Event, Extent, Rejection};
use trygg_store::tables::{Cell, Table};
use trygg_store::{
    geom, meta, now_rfc3339, stored_time, AreaLayer, BatchInfo, Content, EventBatch, FileOutcome,
    IngestStore, Insert, StoreError, StoredArea,
};

use crate::{encode_row, PgError, PgStore};

/// The advisory lock every batch holds until it commits or rolls back.
const BATCH_LOCK: i64 = 0x74_72_79_67_67_62;

impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        e.into_store()
    }
}

impl PgError {
    /// As the store interface's error.
    fn into_store(self) -> StoreError {
        match self {
            PgError::Store(e) => e,
            other => StoreError::Backend {
                store: other.url().to_owned(),
                source: Box::new(other),
            },
        }
    }

    /// The database the error is about (without password).
    pub fn url(&self) -> &str {
        match self {
            PgError::Db { url, .. }
            | PgError::NotMigrated { url, .. }
            | PgError::Newer { url, .. }
            | PgError::NotEmpty { url, .. }
            | PgError::Corrupt { url, .. } => url,
            PgError::Store(_) => "",
        }
    }
}

pub(crate) fn db(url: &str) -> impl Fn(postgres::Error) -> StoreError + Copy + '_ {
    move |source| {
        PgError::Db {
            url: url.to_owned(),
            source,
        }
        .into_store()
    }
}

/// An event's columns as stored (times as text), in the `events` table's order.
struct Row<'e> {
    fid: i64,
    event: &'e Event,
    blob: Vec<u8>,
    occurred_at: String,
    occurred_to: Option<String>,
    reported_at: Option<String>,
}

impl<'e> Row<'e> {
    fn of(fid: i64, event: &'e Event) -> Row<'e> {
        Row {
            fid,
            event,
            blob: geom::encode_point(trygg_store::tables::SRS_ID, event.x, event.y),
            occurred_at: stored_time(&event.occurred_at),
            occurred_to: event.occurred_to.as_ref().map(stored_time),
            reported_at: event.reported_at.as_ref().map(stored_time),
        }
    }

    fn content(&self) -> Content<'_> {
        let e = self.event;
        Content {
            geom: &self.blob,
            occurred_at: &self.occurred_at,
            occurred_to: self.occurred_to.as_deref(),
            reported_at: self.reported_at.as_deref(),
            category: &e.category,
            category_norm: e.category_norm.as_str(),
            precision: e.precision.as_str(),
            attributes: &e.attributes,
            time_precision: e.time_precision.as_str(),
        }
    }

    fn cells(&self, batch: i64) -> Vec<Cell> {
        let e = self.event;
        let text = |s: &str| Cell::Text(s.to_owned());
        let opt = |s: Option<&str>| s.map_or(Cell::Null, text);
        vec![
            Cell::Int(self.fid),
            Cell::Geom(self.blob.clone()),
            text(e.source.as_str()),
            text(&e.source_id),
            text(&self.occurred_at),
            opt(self.occurred_to.as_deref()),
            Cell::Int(e.occurred_at.timestamp()),
            text(e.time_precision.as_str()),
            opt(self.reported_at.as_deref()),
            text(&e.category),
            text(e.category_norm.as_str()),
            text(e.precision.as_str()),
            opt(e.areas.stadsdel.as_deref()),
            opt(e.areas.stadsdelsomrade_2020.as_deref()),
            opt(e.areas.stadsdelsomrade_2023.as_deref()),
            Cell::Bool(e.areas.outside_areas),
            Cell::Int(batch),
            text(&e.attributes),
        ]
    }
}

/// An open batch in PostgreSQL.
pub struct PgBatch<'a> {
    tx: Option<Transaction<'a>>,
    url: String,
    id: i64,
    revised: bool,
    /// Rows appended by the batch so far, and the count of rows in `events`
    /// the planner's statistics last saw.
    appended: i64,
    planned_for: i64,
}

/// The stored versions of ids: fid and content hash.
type Current = HashMap<String, (i64, String)>;

/// The stored versions of ids $2 of source $1, by the unique key (see
/// [`PgBatch::keep_statistics`]).
const CURRENT: &str = "SELECT source_id, fid, ST_AsBinary(geom), occurred_at, occurred_to,
    reported_at, category, category_norm, precision, attributes::text, time_precision
    FROM events WHERE source = $1 AND source_id = ANY($2)";

/// Rows a batch appends before it first brings the planner's statistics of
/// `events` up to date.
const ANALYZE_AFTER: i64 = 20_000;

const TO_HISTORY: &str = "INSERT INTO event_history (source, source_id, content_sha256, batch_id,
    replaced_by, replaced_at, geom, occurred_at, occurred_to, occurred_utc, time_precision, reported_at,
    category, category_norm, precision, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023,
    outside_areas, attributes)
    SELECT source, source_id, $4, batch_id, $2, $3, geom, occurred_at, occurred_to, occurred_utc,
    time_precision, reported_at, category, category_norm, precision, stadsdel, stadsdelsomrade_2020,
    stadsdelsomrade_2023, outside_areas, attributes FROM events WHERE fid = $1";

const REVISE: &str = "UPDATE events SET geom = ST_GeomFromEWKB($2), occurred_at = $3,
    occurred_to = $4, occurred_utc = $5, reported_at = $6, category = $7, category_norm = $8,
    precision = $9, stadsdel = $10, stadsdelsomrade_2020 = $11, stadsdelsomrade_2023 = $12,
    outside_areas = $13, batch_id = $14, attributes = $15::text::json, time_precision = $16
    WHERE fid = $1";

impl<'a> PgBatch<'a> {
    fn open(&mut self) -> &mut Transaction<'a> {
        self.tx
            .as_mut()
            .expect("a batch holds its transaction until commit")
    }

    /// The stored versions of `ids` of `source`.
    fn current(&mut self, source: &str, ids: &[&str]) -> Result<Current, StoreError> {
        let url = self.url.clone();
        let rows = self
            .open()
            .query(CURRENT, &[&source, &ids])
            .map_err(db(&url))?;
        let mut current = Current::with_capacity(rows.len());
        for r in rows {
            let wkb: Vec<u8> = r.get(2);
            let blob = geom::from_wkb(trygg_store::tables::SRS_ID, &wkb).map_err(|e| {
                PgError::Corrupt {
                    url: url.clone(),
                    table: "events",
                    row: r.get::<_, i64>(1).to_string(),
                    column: "geom",
                    reason: e.to_string(),
                }
                .into_store()
            })?;
            let hash = Content {
                geom: &blob,
                occurred_at: r.get(3),
                occurred_to: r.get(4),
                reported_at: r.get(5),
                category: r.get(6),
                category_norm: r.get(7),
                precision: r.get(8),
                attributes: r.get(9),
                time_precision: r.get(10),
            }
            .sha256();
            current.insert(r.get(0), (r.get(1), hash));
        }
        Ok(current)
    }

    /// Sends the chunk's new events with one COPY.
    /// Keeps the planner's statistics of `events` abreast of the batch. They
    /// lag behind a table that grows within one transaction, and a planner that
    /// still sees the table as (nearly) empty looks a chunk's ids up by reading
    /// every row of the source rather than by the unique key: measured, 500k
    /// rows into a new database took 35 s, each chunk slower than the last.
    /// So whenever the table has doubled since the statistics were made, it is
    /// analysed again (within the batch, which sees its own rows): a few times
    /// a batch, about 0.1 s each.
    fn keep_statistics(&mut self) -> Result<(), StoreError> {
        let total = self.planned_for.max(0) + self.appended;
        if self.appended < ANALYZE_AFTER || total < 2 * self.planned_for.max(ANALYZE_AFTER / 2) {
            return Ok(());
        }
        let url = self.url.clone();
        self.open()
            .batch_execute("ANALYZE events")
            .map_err(db(&url))?;
        self.planned_for = total;
        Ok(())
    }

    fn append(&mut self, rows: &[Row<'_>]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.appended += rows.len() as i64;
        let url = self.url.clone();
        let id = self.id;
        let table = Table::named("events").expect("the events table is listed");
        let mut buf = Vec::with_capacity(rows.len() * 512);
        for row in rows {
            encode_row(table, &row.cells(id), &mut buf).map_err(PgError::into_store)?;
        }
        let sql = format!("COPY events ({}) FROM STDIN", crate::quoted(table));
        let mut writer = self.open().copy_in(sql.as_str()).map_err(db(&url))?;
        writer.write_all(&buf).map_err(|e| StoreError::Backend {
            store: url.clone(),
            source: Box::new(e),
        })?;
        writer.finish().map_err(db(&url))?;
        Ok(())
    }

    /// Makes `row` the current version of `fid`, the stored one history.
    fn revise(&mut self, fid: i64, stored_hash: &str, row: &Row<'_>) -> Result<(), StoreError> {
        let url = self.url.clone();
        let id = self.id;
        let e = row.event;
        let ewkb = geom::to_ewkb(&row.blob).map_err(|err| StoreError::Backend {
            store: url.clone(),
            source: Box::new(err),
        })?;
        let tx = self.open();
        tx.execute(TO_HISTORY, &[&fid, &id, &now_rfc3339(), &stored_hash])
            .map_err(db(&url))?;
        tx.execute(
            REVISE,
            &[
                &fid,
                &ewkb,
                &row.occurred_at,
                &row.occurred_to,
                &e.occurred_at.timestamp(),
                &row.reported_at,
                &e.category,
                &e.category_norm.as_str(),
                &e.precision.as_str(),
                &e.areas.stadsdel.as_deref(),
                &e.areas.stadsdelsomrade_2020.as_deref(),
                &e.areas.stadsdelsomrade_2023.as_deref(),
                &e.areas.outside_areas,
                &id,
                &e.attributes,
                &e.time_precision.as_str(),
            ],
        )
        .map_err(db(&url))?;
        self.revised = true;
        Ok(())
    }

    fn seen_before(&mut self, source: &str, id: &str, hash: &str) -> Result<bool, StoreError> {
        let url = self.url.clone();
        Ok(self
            .open()
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM event_history
                 WHERE source = $1 AND source_id = $2 AND content_sha256 = $3)",
                &[&source, &id, &hash],
            )
            .map_err(db(&url))?
            .get(0))
    }
}

impl EventBatch for PgBatch<'_> {
    fn id(&self) -> i64 {
        self.id
    }

    fn insert_all(
        &mut self,
        events: &[Event],
        met: &dyn Fn(i64) -> bool,
        out: &mut Vec<(Insert, i64)>,
    ) -> Result<(), StoreError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let source = first.source.as_str();
        let ids: Vec<&str> = events.iter().map(|e| e.source_id.as_str()).collect();
        self.keep_statistics()?;
        let current = self.current(source, &ids)?;
        // Keys for the new rows (ids neither stored nor met before in `events`),
        // taken from the sequence up front, as many as needed: the batch lock
        // keeps other batches out, so they are the next ones, as in a file.
        let mut new_ids: HashSet<&str> = HashSet::new();
        for e in events {
            if !current.contains_key(&e.source_id) {
                new_ids.insert(e.source_id.as_str());
            }
        }
        let url = self.url.clone();
        let fids: Vec<i64> = if new_ids.is_empty() {
            Vec::new()
        } else {
            self.open()
                .query(
                    "SELECT nextval(pg_get_serial_sequence('events', 'fid'))
                     FROM generate_series(1, $1::bigint)",
                    &[&(new_ids.len() as i64)],
                )
                .map_err(db(&url))?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        let mut fresh = fids.into_iter();
        let mut pending: Vec<Row<'_>> = Vec::new();
        // The ids met in this call (one file's), with their rows' fids.
        let mut here: HashMap<&str, i64> = HashMap::with_capacity(events.len());
        for e in events {
            let id = e.source_id.as_str();
            if let Some(&fid) = here.get(id) {
                out.push((Insert::Again, fid));
                continue;
            }
            let outcome = match current.get(id) {
                Some(&(fid, _)) if met(fid) => (Insert::Again, fid),
                None => {
                    let fid = fresh.next().ok_or_else(|| StoreError::Backend {
                        store: url.clone(),
                        source: "the sequence gave fewer keys than asked".into(),
                    })?;
                    pending.push(Row::of(fid, e));
                    (Insert::Accepted, fid)
                }
                Some((fid, stored)) => {
                    let row = Row::of(*fid, e);
                    let hash = row.content().sha256();
                    if hash == *stored || self.seen_before(source, id, &hash)? {
                        (Insert::Duplicate, *fid)
                    } else {
                        self.revise(*fid, stored, &row)?;
                        (Insert::Updated, *fid)
                    }
                }
            };
            here.insert(id, outcome.1);
            out.push(outcome);
        }
        self.append(&pending)
    }

    fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        let url = self.url.clone();
        let id = self.id;
        let row = r.row.and_then(|n| i64::try_from(n).ok());
        self.open()
            .execute(
                "INSERT INTO rejected_rows (batch_id, file, \"row\", field, reason, raw)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &r.file, &row, &r.field, &r.reason, &r.raw],
            )
            .map_err(db(&url))?;
        Ok(())
    }

    fn commit(
        mut self: Box<Self>,
        files: &[FileOutcome],
        skip_reasons: &BTreeMap<String, u64>,
        notes: &BTreeMap<String, u64>,
    ) -> Result<i64, StoreError> {
        let url = self.url.clone();
        let id = self.id;
        let revised = self.revised;
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut tx = self.tx.take().expect("a batch commits once");
        let mut totals = [0u64; 6];
        for f in files {
            tx.execute(
                "INSERT INTO ingest_files (batch_id, file, sha256, bytes, read, accepted, duplicates,
                 skipped, rejected, error, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &id,
                    &f.file,
                    &f.sha256,
                    &n(f.bytes),
                    &n(f.read),
                    &n(f.accepted),
                    &n(f.duplicates),
                    &n(f.skipped),
                    &n(f.rejected),
                    &f.error,
                    &n(f.updated),
                ],
            )
            .map_err(db(&url))?;
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
        tx.execute(
            "UPDATE ingest_batches SET finished_at = $1, read = $2, accepted = $3, duplicates = $4,
             skipped = $5, rejected = $6, skip_reasons = $7::text::json, notes = $8::text::json,
             updated = $10 WHERE id = $9",
            &[
                &now_rfc3339(),
                &n(totals[0]),
                &n(totals[1]),
                &n(totals[2]),
                &n(totals[3]),
                &n(totals[4]),
                &json(skip_reasons),
                &json(notes),
                &id,
                &n(totals[5]),
            ],
        )
        .map_err(db(&url))?;
        bump_data_version(&mut tx, revised).map_err(db(&url))?;
        tx.commit().map_err(db(&url))?;
        Ok(id)
    }
}

/// Increments the data version (and, for a change other than appending, the
/// rewritten version) in the caller's transaction: replicas poll it.
pub(crate) fn bump_data_version(
    tx: &mut Transaction<'_>,
    rewrite: bool,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO trygg_meta (key, value) VALUES ($1, '1')
         ON CONFLICT (key) DO UPDATE SET value = (trygg_meta.value::bigint + 1)::text",
        &[&meta::DATA_VERSION],
    )?;
    if rewrite {
        tx.execute(
            "INSERT INTO trygg_meta (key, value) SELECT $1, value FROM trygg_meta WHERE key = $2
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&meta::REWRITTEN_VERSION, &meta::DATA_VERSION],
        )?;
    }
    Ok(())
}

impl IngestStore for PgStore {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn layer_areas(&mut self, layer: &str) -> Result<Vec<StoredArea>, StoreError> {
        self.areas(layer).map_err(PgError::into_store)
    }

    fn extent_in_force(&mut self) -> Result<Option<Extent>, StoreError> {
        self.study_extent().map_err(PgError::into_store)
    }

    fn meta_value(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.meta(key).map_err(PgError::into_store)
    }

    fn put_area_layer(
        &mut self,
        layer: &AreaLayer,
        areas: &[StoredArea],
        replace: bool,
    ) -> Result<(), StoreError> {
        let url = self.url.clone();
        let db = db(&url);
        let mut tx = self.client.transaction().map_err(db)?;
        let exists = tx
            .query_opt("SELECT 1 FROM area_layers WHERE name = $1", &[&layer.name])
            .map_err(db)?
            .is_some();
        if exists && !replace {
            return Err(StoreError::LayerExists(layer.name.clone()));
        }
        tx.execute("DELETE FROM areas WHERE layer = $1", &[&layer.name])
            .map_err(db)?;
        tx.execute("DELETE FROM area_layers WHERE name = $1", &[&layer.name])
            .map_err(db)?;
        tx.execute(
            "INSERT INTO area_layers (name, valid_from, valid_to, source_file, loaded_at, feature_count)
             VALUES ($1, $2::text::date, $3::text::date, $4, $5, $6)",
            &[
                &layer.name,
                &layer.valid_from.map(|d| d.to_string()),
                &layer.valid_to.map(|d| d.to_string()),
                &layer.source_file,
                &now_rfc3339(),
                &i64::try_from(areas.len()).unwrap_or(i64::MAX),
            ],
        )
        .map_err(db)?;
        let insert = tx
            .prepare(
                "INSERT INTO areas (geom, layer, code, name, properties)
                 VALUES (ST_GeomFromWKB($1, 3006), $2, $3, $4, $5::text::json)",
            )
            .map_err(db)?;
        let mut wkb = Vec::new();
        for area in areas {
            wkb.clear();
            geom::wkb_multipolygon(&mut wkb, &area.geometry);
            tx.execute(
                &insert,
                &[&wkb, &layer.name, &area.code, &area.name, &area.properties],
            )
            .map_err(db)?;
        }
        bump_data_version(&mut tx, false).map_err(db)?;
        tx.commit().map_err(db)
    }

    fn put_population(&mut self, rows: &[trygg_store::PopulationRow]) -> Result<(), StoreError> {
        let url = self.url.clone();
        let db = db(&url);
        let mut tx = self.client.transaction().map_err(db)?;
        let upsert = tx
            .prepare(
                "INSERT INTO population (layer, area_code, year, population, derived, source)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (layer, area_code, year) DO UPDATE SET population = excluded.population,
                   derived = excluded.derived, source = excluded.source",
            )
            .map_err(db)?;
        for p in rows {
            tx.execute(
                &upsert,
                &[
                    &p.layer,
                    &p.area_code,
                    &i64::from(p.year),
                    &p.population,
                    &p.derived,
                    &p.source,
                ],
            )
            .map_err(db)?;
        }
        bump_data_version(&mut tx, false).map_err(db)?;
        tx.commit().map_err(db)
    }

    fn revert_batch(&mut self, id: i64, by: &str) -> Result<u64, StoreError> {
        let url = self.url.clone();
        let db = db(&url);
        let mut tx = self.client.transaction().map_err(db)?;
        // Not beside an ingest: batches take the same lock.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BATCH_LOCK])
            .map_err(db)?;
        let state = tx
            .query_opt(
                "SELECT finished_at, reverted_at FROM ingest_batches WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(db)?
            .map(|r| (r.get(0), r.get(1)));
        trygg_store::revertible(id, state)?;
        let mut changed = [0u64; 5];
        for (n, q) in changed.iter_mut().zip(trygg_store::revert_statements("$1")) {
            *n = tx.execute(q.as_str(), &[&id]).map_err(db)?;
        }
        let removed = trygg_store::reverted_events(&changed);
        tx.execute(
            "UPDATE ingest_batches SET reverted_at = $1, reverted_by = $2, reverted_events = $3 WHERE id = $4",
            &[&now_rfc3339(), &by, &i64::try_from(removed).unwrap_or(i64::MAX), &id],
        )
        .map_err(db)?;
        bump_data_version(&mut tx, true).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(removed)
    }

    fn open_batch<'a>(
        &'a mut self,
        info: &BatchInfo,
    ) -> Result<Box<dyn EventBatch + 'a>, StoreError> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(db(&url))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BATCH_LOCK])
            .map_err(db(&url))?;
        // The planner's row count of `events` (-1: never analysed).
        let planned_for: i64 = tx
            .query_one(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'events'::regclass",
                &[],
            )
            .map_err(db(&url))?
            .get(0);
        let id: i64 = tx
            .query_one(
                "INSERT INTO ingest_batches (source, started_at, strict) VALUES ($1, $2, $3) RETURNING id",
                &[&info.source.as_str(), &now_rfc3339(), &info.strict],
            )
            .map_err(db(&url))?
            .get(0);
        Ok(Box::new(PgBatch {
            tx: Some(tx),
            url,
            id,
            revised: false,
            appended: 0,
            planned_for,
        }))
    }
}
