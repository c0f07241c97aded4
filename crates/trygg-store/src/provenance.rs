//! Where a period's events came from: the ingest batches that stored them, the
//! mix of sources and location precision, the events that arrived after the
//! period had ended, and the rows rejected by the batches of the period.

use rusqlite::params;

use crate::error::StoreError;
use crate::store::Store;

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

impl Store {
    /// The provenance of the events with `from_utc <= occurred_utc < to_utc`
    /// (Unix seconds).
    pub fn provenance(&self, from_utc: i64, to_utc: i64) -> Result<Provenance, StoreError> {
        let batches = self.all(
            "SELECT e.batch_id, b.source, b.finished_at, count(*), unixepoch(b.finished_at) >= ?2
             FROM events AS e JOIN ingest_batches AS b ON b.id = e.batch_id
             WHERE e.occurred_utc >= ?1 AND e.occurred_utc < ?2
             GROUP BY e.batch_id ORDER BY e.batch_id",
            params![from_utc, to_utc],
            |r| {
                Ok(ProvenanceBatch {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    finished_at: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    events: r.get::<_, i64>(3)?.unsigned_abs(),
                    late: r.get::<_, Option<bool>>(4)?.unwrap_or(false),
                })
            },
        )?;
        let by_source = self.all(
            "SELECT source, precision, count(*) FROM events
             WHERE occurred_utc >= ?1 AND occurred_utc < ?2
             GROUP BY source, precision ORDER BY source, precision",
            params![from_utc, to_utc],
            |r| {
                Ok(SourcePrecision {
                    source: r.get(0)?,
                    precision: r.get(1)?,
                    events: r.get::<_, i64>(2)?.unsigned_abs(),
                })
            },
        )?;
        let ingested = self.all(
            "SELECT id, source, finished_at, read, rejected, updated FROM ingest_batches
             WHERE finished_at IS NOT NULL AND reverted_at IS NULL
               AND unixepoch(finished_at) >= ?1 AND unixepoch(finished_at) < ?2
             ORDER BY id",
            params![from_utc, to_utc],
            |r| {
                Ok(BatchQuality {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    finished_at: r.get(2)?,
                    read: r.get(3)?,
                    rejected: r.get(4)?,
                    updated: r.get(5)?,
                })
            },
        )?;
        let late_events = batches.iter().filter(|b| b.late).map(|b| b.events).sum();
        Ok(Provenance {
            batches,
            by_source,
            late_events,
            ingested,
        })
    }
}
