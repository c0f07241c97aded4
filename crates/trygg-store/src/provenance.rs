//! Where a period's events came from: the ingest batches that stored them, the
//! mix of sources and location precision, the events that arrived after the
//! period had ended, and the rows rejected by the batches of the period.

use crate::error::StoreError;
use crate::sql::SqlRead;
use crate::tables::Cell;
use crate::tables::Kind::{Bool, Int, Text};

/// One batch that stored events of the period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProvenanceBatch {
    /// Batch id.
    pub id: i64,
    /// Its source.
    pub source: String,
    /// When it committed (UTC).
    pub finished_at: String,
    /// The period's events it holds (current versions).
    pub events: u64,
    /// Whether it committed after the period ended (its events arrived late).
    pub late: bool,
}

/// Events of the period per source and location precision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourcePrecision {
    /// The source.
    pub source: String,
    /// The location precision.
    pub precision: String,
    /// Events.
    pub events: u64,
}

/// A batch that committed during the period, with what it rejected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchQuality {
    /// Batch id.
    pub id: i64,
    /// Its source.
    pub source: String,
    /// When it committed (UTC).
    pub finished_at: String,
    /// Rows read.
    pub read: i64,
    /// Rows rejected (stored with their reason).
    pub rejected: i64,
    /// Events revised.
    pub updated: i64,
}

/// Where a period's events came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The batches holding the period's events, by id.
    pub batches: Vec<ProvenanceBatch>,
    /// Events per source and precision.
    pub by_source: Vec<SourcePrecision>,
    /// Events stored by batches that committed after the period ended.
    pub late_events: u64,
    /// The batches that committed during the period (not reverted).
    pub ingested: Vec<BatchQuality>,
}

/// The provenance of the events with `from_utc <= occurred_utc < to_utc`
/// (Unix seconds), from either backend.
pub fn provenance(
    db: &mut dyn SqlRead,
    from_utc: i64,
    to_utc: i64,
) -> Result<Provenance, StoreError> {
    let (m1, m2) = (db.mark(1), db.mark(2));
    let args = [Cell::Int(from_utc), Cell::Int(to_utc)];
    let sql = format!(
        "SELECT b.id, b.source, b.finished_at, count(*), {} >= {m2}
         FROM events AS e JOIN ingest_batches AS b ON b.id = e.batch_id
         WHERE e.occurred_utc >= {m1} AND e.occurred_utc < {m2}
         GROUP BY b.id, b.source, b.finished_at ORDER BY b.id",
        db.epoch("b.finished_at")
    );
    let batches: Vec<ProvenanceBatch> = db
        .read(&sql, &args, &[Int, Text, Text, Int, Bool])?
        .iter()
        .map(|r| ProvenanceBatch {
            id: r[0].int(),
            source: r[1].text(),
            finished_at: r[2].text(),
            events: r[3].count(),
            late: r[4].flag(),
        })
        .collect();
    let sql = format!(
        "SELECT source, precision, count(*) FROM events
         WHERE occurred_utc >= {m1} AND occurred_utc < {m2}
         GROUP BY source, precision ORDER BY source, precision"
    );
    let by_source = db
        .read(&sql, &args, &[Text, Text, Int])?
        .iter()
        .map(|r| SourcePrecision {
            source: r[0].text(),
            precision: r[1].text(),
            events: r[2].count(),
        })
        .collect();
    let finished = db.epoch("finished_at");
    let sql = format!(
        "SELECT id, source, finished_at, read, rejected, updated FROM ingest_batches
         WHERE finished_at IS NOT NULL AND reverted_at IS NULL
           AND {finished} >= {m1} AND {finished} < {m2}
         ORDER BY id"
    );
    let ingested = db
        .read(&sql, &args, &[Int, Text, Text, Int, Int, Int])?
        .iter()
        .map(|r| BatchQuality {
            id: r[0].int(),
            source: r[1].text(),
            finished_at: r[2].text(),
            read: r[3].int(),
            rejected: r[4].int(),
            updated: r[5].int(),
        })
        .collect();
    let late_events = batches.iter().filter(|b| b.late).map(|b| b.events).sum();
    Ok(Provenance {
        batches,
        by_source,
        late_events,
        ingested,
    })
}
