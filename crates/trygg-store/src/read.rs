//! Reading events, batches and rejections back out of the store (exports, reports).

use trygg_model::{Rejection, Source};

use crate::error::StoreError;
use crate::geom;
use crate::sql::SqlRead;
use crate::store::Store;
use crate::tables::Cell;
use crate::tables::Kind::{Bool, Int, Point, Text};

/// Which points (EPSG:3006) an answer is limited to, beside what SQL can
/// select: a municipality's polygon, decided by the query layer's rule
/// (`trygg_query::ScopeRule`) for what is read from the store directly.
pub trait PointScope {
    /// Whether the point is in scope.
    fn contains(&self, x: f64, y: f64) -> bool;
}

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
}

/// All committed batches, oldest first, with their files; from either backend.
pub fn batches(db: &mut dyn SqlRead) -> Result<Vec<BatchRecord>, StoreError> {
    let rows = db.read(
        "SELECT id, source, started_at, finished_at, read, accepted, duplicates, skipped, rejected,
         CAST(notes AS text), reverted_at, reverted_by, reverted_events, updated
         FROM ingest_batches WHERE finished_at IS NOT NULL ORDER BY id",
        &[],
        &[
            Int, Text, Text, Text, Int, Int, Int, Int, Int, Text, Text, Text, Int, Int,
        ],
    )?;
    let files = db.read(
        "SELECT batch_id, file, sha256 FROM ingest_files ORDER BY id",
        &[],
        &[Int, Text, Text],
    )?;
    let mut by_batch: std::collections::HashMap<i64, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for f in &files {
        by_batch
            .entry(f[0].int())
            .or_default()
            .push((f[1].text(), f[2].text()));
    }
    Ok(rows
        .iter()
        .map(|r| BatchRecord {
            id: r[0].int(),
            source: r[1].text(),
            started_at: r[2].text(),
            finished_at: r[3].opt_text(),
            read: r[4].int(),
            accepted: r[5].int(),
            updated: r[13].int(),
            duplicates: r[6].int(),
            skipped: r[7].int(),
            rejected: r[8].int(),
            files: by_batch.remove(&r[0].int()).unwrap_or_default(),
            notes: r[9].text(),
            reverted: r[10].opt_text().map(|at| Reverted {
                at,
                by: r[11].text(),
                events: r[12].int(),
            }),
        })
        .collect())
}

/// The rejected rows of one batch, in the order they were found; from either
/// backend.
pub fn rejections(db: &mut dyn SqlRead, batch_id: i64) -> Result<Vec<Rejection>, StoreError> {
    let sql = format!(
        "SELECT file, \"row\", field, reason, raw FROM rejected_rows WHERE batch_id = {} ORDER BY id",
        db.mark(1)
    );
    Ok(db
        .read(&sql, &[Cell::Int(batch_id)], &[Text, Int, Text, Text, Text])?
        .iter()
        .map(|r| Rejection {
            file: r[0].text(),
            row: r[1].opt_int().and_then(|n| u64::try_from(n).ok()),
            field: r[2].opt_text(),
            reason: r[3].text(),
            raw: r[4].opt_text(),
        })
        .collect())
}

/// Calls `f` for each matching event in `fid` order (insertion order), read as
/// it streams, stopping at the first error; from either backend.
pub fn for_each_event<E: From<StoreError>>(
    db: &mut dyn SqlRead,
    filter: &EventFilter,
    mut f: impl FnMut(StoredEvent) -> Result<(), E>,
) -> Result<(), E> {
    let mut sql = format!(
        "SELECT fid, source, source_id, occurred_at, occurred_to, reported_at, category, category_norm,
         precision, {}, stadsdel, stadsdelsomrade_2020, stadsdelsomrade_2023, outside_areas, batch_id,
         CAST(attributes AS text) FROM events WHERE 1 = 1",
        db.geometry("geom")
    );
    let mut args = Vec::new();
    let mut and = |sql: &mut String, condition: &str, value: Cell| {
        args.push(value);
        sql.push_str(&format!(" AND {condition} {}", db.mark(args.len())));
    };
    if let Some(s) = filter.source {
        and(&mut sql, "source =", Cell::Text(s.as_str().to_owned()));
    }
    if let Some(t) = filter.from_utc {
        and(&mut sql, "occurred_utc >=", Cell::Int(t));
    }
    if let Some(t) = filter.to_utc {
        and(&mut sql, "occurred_utc <", Cell::Int(t));
    }
    sql.push_str(" ORDER BY fid");
    let kinds = [
        Int, Text, Text, Text, Text, Text, Text, Text, Text, Point, Text, Text, Text, Bool, Int,
        Text,
    ];
    crate::sql::each_with(db, &sql, &args, &kinds, |r| {
        let fid = r[0].int();
        let point = match &r[9] {
            Cell::Geom(blob) => geom::decode_point(blob),
            _ => None,
        };
        let (x, y) = point.ok_or_else(|| StoreError::Corrupt {
            path: Default::default(),
            table: "events",
            rowid: fid,
            reason: "geometry is not a point".into(),
        })?;
        f(StoredEvent {
            fid,
            source: r[1].text(),
            source_id: r[2].text(),
            occurred_at: r[3].text(),
            occurred_to: r[4].opt_text(),
            reported_at: r[5].opt_text(),
            category: r[6].text(),
            category_norm: r[7].text(),
            precision: r[8].text(),
            x,
            y,
            stadsdel: r[10].opt_text(),
            stadsdelsomrade_2020: r[11].opt_text(),
            stadsdelsomrade_2023: r[12].opt_text(),
            outside_areas: r[13].flag(),
            batch_id: r[14].int(),
            attributes: r[15].text(),
        })
    })
}
