//! Reading events, batches and rejections back out of the store (exports, reports).

use rusqlite::types::Value;
use trygg_model::{Rejection, Source};

use crate::error::StoreError;
use crate::geom;
use crate::store::Store;

/// Which events to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this source.
    pub source: Option<Source>,
    /// Only events that occurred at or after this instant (Unix seconds).
    pub from_utc: Option<i64>,
    /// Only events that occurred before this instant (Unix seconds).
    pub to_utc: Option<i64>,
}

/// An event as stored, with its times as the RFC 3339 texts they were stored as.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Feature id.
    pub fid: i64,
    /// Source name.
    pub source: String,
    /// The source's identifier.
    pub source_id: String,
    /// RFC 3339 with offset.
    pub occurred_at: String,
    /// Interval end, RFC 3339 with offset.
    pub occurred_to: Option<String>,
    /// RFC 3339 with offset.
    pub reported_at: Option<String>,
    /// The source's category.
    pub category: String,
    /// The normalised category.
    pub category_norm: String,
    /// The location precision.
    pub precision: String,
    /// Easting, EPSG:3006.
    pub x: f64,
    /// Northing, EPSG:3006.
    pub y: f64,
    /// Assigned stadsdel.
    pub stadsdel: Option<String>,
    /// Assigned stadsdelsområde (2020 division).
    pub stadsdelsomrade_2020: Option<String>,
    /// Assigned stadsdelsområde (2023 division).
    pub stadsdelsomrade_2023: Option<String>,
    /// Inside the extent but in no area.
    pub outside_areas: bool,
    /// The batch that stored it.
    pub batch_id: i64,
    /// The source's own attributes, JSON.
    pub attributes: String,
}

/// One ingest batch as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// Batch id.
    pub id: i64,
    /// Source name.
    pub source: String,
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
    /// When it committed.
    pub finished_at: Option<String>,
    /// Rows read.
    pub read: i64,
    /// Events stored.
    pub accepted: i64,
    /// Stored events it revised.
    pub updated: i64,
    /// Events already stored with the same content.
    pub duplicates: i64,
    /// Rows that are not events.
    pub skipped: i64,
    /// Malformed rows.
    pub rejected: i64,
    /// `(file, sha256)` of each input file.
    pub files: Vec<(String, String)>,
    /// How times were read: note → rows (e.g. daylight-saving gaps), JSON object text.
    pub notes: String,
    /// Whether, when and by whom the batch was taken back.
    pub reverted: Option<Reverted>,
}

/// A batch's revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who.
    pub by: String,
    /// Events deleted, or given back the version the batch replaced.
    pub events: i64,
}

/// An earlier version of a revised event (`event_history`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// Hex SHA-256 of its content.
    pub content_sha256: String,
    /// The batch that brought this version.
    pub batch_id: i64,
    /// The batch whose version replaced it.
    pub replaced_by: i64,
    /// When it was replaced (UTC, RFC 3339).
    pub replaced_at: String,
    /// When it happened, as this version said.
    pub occurred_at: String,
    /// The source's category text.
    pub category: String,
    /// The normalised category.
    pub category_norm: String,
    /// The location precision.
    pub precision: String,
    /// Easting, EPSG:3006.
    pub x: f64,
    /// Northing, EPSG:3006.
    pub y: f64,
    /// The source's own attributes, JSON.
    pub attributes: String,
}

impl BatchRecord {
    /// The batch as the CLI's `batches list --json` and the admin API give it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "source": self.source, "started_at": self.started_at,
            "finished_at": self.finished_at, "read": self.read, "accepted": self.accepted,
            "updated": self.updated, "duplicates": self.duplicates, "skipped": self.skipped,
            "rejected": self.rejected,
            "files": self.files.iter().map(|(f, sha)| serde_json::json!({"file": f, "sha256": sha})).collect::<Vec<_>>(),
            "time_notes": serde_json::from_str::<serde_json::Value>(&self.notes).unwrap_or_default(),
            "reverted": self.reverted.as_ref().map(|r| serde_json::json!({"at": r.at, "by": r.by, "events": r.events})),
        })
    }
}

impl Store {
    /// Calls `f` for each matching event in `fid` order (insertion order), stopping
    /// at the first error.
    pub fn for_each_event<E: From<StoreError>>(
        &self,
        filter: &EventFilter,
        mut f: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut sql = String::from(
            "SELECT fid, source, source_id, occurred_at, occurred_to, reported_at, category, category_norm,
             precision, geom, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023, outside_areas, batch_id,
             attributes FROM events WHERE 1 = 1",
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(s) = filter.source {
            sql.push_str(" AND source = ?");
            args.push(Value::Text(s.as_str().to_owned()));
        }
        if let Some(t) = filter.from_utc {
            sql.push_str(" AND occurred_utc >= ?");
            args.push(Value::Integer(t));
        }
        if let Some(t) = filter.to_utc {
            sql.push_str(" AND occurred_utc < ?");
            args.push(Value::Integer(t));
        }
        sql.push_str(" ORDER BY fid");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args))
            .map_err(|e| self.sql(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let get = |e| self.sql(e);
            let fid: i64 = r.get(0).map_err(get)?;
            let blob: Vec<u8> = r.get(9).map_err(get)?;
            let (x, y) = geom::decode_point(&blob).ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                table: "events",
                rowid: fid,
                reason: "geometry is not a point".into(),
            })?;
            f(StoredEvent {
                fid,
                source: r.get(1).map_err(get)?,
                source_id: r.get(2).map_err(get)?,
                occurred_at: r.get(3).map_err(get)?,
                occurred_to: r.get(4).map_err(get)?,
                reported_at: r.get(5).map_err(get)?,
                category: r.get(6).map_err(get)?,
                category_norm: r.get(7).map_err(get)?,
                precision: r.get(8).map_err(get)?,
                x,
                y,
                stadsdel: r.get(10).map_err(get)?,
                stadsdelsomrade_2020: r.get(11).map_err(get)?,
                stadsdelsomrade_2023: r.get(12).map_err(get)?,
                outside_areas: r.get(13).map_err(get)?,
                batch_id: r.get(14).map_err(get)?,
                attributes: r.get(15).map_err(get)?,
            })?;
        }
        Ok(())
    }

    /// `(stadsdel, attributes JSON text)` of every event of `source` with normalised
    /// category `category_norm`, in `source_id` order (the survey's respondent rows).
    pub fn attributes_of(
        &self,
        source: trygg_model::Source,
        category_norm: trygg_model::NormCategory,
    ) -> Result<Vec<(Option<String>, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT stadsdel, attributes FROM events WHERE source = ?1 AND category_norm = ?2
                 ORDER BY source_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([source.as_str(), category_norm.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The earlier versions of one event, oldest first.
    pub fn history(
        &self,
        source: trygg_model::Source,
        source_id: &str,
    ) -> Result<Vec<HistoryRecord>, StoreError> {
        self.all(
            "SELECT content_sha256, batch_id, replaced_by, replaced_at, occurred_at, category,
             category_norm, precision, geom, attributes FROM event_history
             WHERE source = ?1 AND source_id = ?2 ORDER BY id",
            rusqlite::params![source.as_str(), source_id],
            |r| {
                let (x, y) = crate::geom::decode_point(&r.get::<_, Vec<u8>>(8)?)
                    .unwrap_or((f64::NAN, f64::NAN));
                Ok(HistoryRecord {
                    content_sha256: r.get(0)?,
                    batch_id: r.get(1)?,
                    replaced_by: r.get(2)?,
                    replaced_at: r.get(3)?,
                    occurred_at: r.get(4)?,
                    category: r.get(5)?,
                    category_norm: r.get(6)?,
                    precision: r.get(7)?,
                    x,
                    y,
                    attributes: r.get(9)?,
                })
            },
        )
    }

    /// All committed batches, oldest first, with their files.
    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, source, started_at, finished_at, read, accepted, duplicates, skipped, rejected,
                 notes, reverted_at, reverted_by, reverted_events, updated
                 FROM ingest_batches WHERE finished_at IS NOT NULL ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let mut batches = stmt
            .query_map([], |r| {
                Ok(BatchRecord {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    started_at: r.get(2)?,
                    finished_at: r.get(3)?,
                    read: r.get(4)?,
                    accepted: r.get(5)?,
                    updated: r.get(13)?,
                    duplicates: r.get(6)?,
                    skipped: r.get(7)?,
                    rejected: r.get(8)?,
                    files: Vec::new(),
                    notes: r.get(9)?,
                    reverted: match r.get::<_, Option<String>>(10)? {
                        Some(at) => Some(Reverted {
                            at,
                            by: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                            events: r.get::<_, Option<i64>>(12)?.unwrap_or_default(),
                        }),
                        None => None,
                    },
                })
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        let mut files = self
            .conn
            .prepare("SELECT file, sha256 FROM ingest_files WHERE batch_id = ?1 ORDER BY id")
            .map_err(|e| self.sql(e))?;
        for b in &mut batches {
            b.files = files
                .query_map([b.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
        }
        Ok(batches)
    }

    /// The rejected rows of one batch, in the order they were found.
    pub fn rejections(&self, batch_id: i64) -> Result<Vec<Rejection>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT file, row, field, reason, raw FROM rejected_rows WHERE batch_id = ?1 ORDER BY id")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([batch_id], |r| {
                Ok(Rejection {
                    file: r.get(0)?,
                    row: r
                        .get::<_, Option<i64>>(1)?
                        .and_then(|n| u64::try_from(n).ok()),
                    field: r.get(2)?,
                    reason: r.get(3)?,
                    raw: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}
