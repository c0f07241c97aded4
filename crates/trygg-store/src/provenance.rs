//! Where a period's events came from: the ingest batches that stored them, the
//! mix of sources and location precision, the events that arrived after the
//! period had ended, and the rows rejected by the batches of the period.

use std::collections::BTreeMap;

use crate::error::StoreError;
use crate::read::PointScope;
use crate::sql::SqlRead;
use crate::tables::Cell;
use crate::tables::Kind::{Bool, Int, Point, Text};

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
/// (Unix seconds), from either backend: of all of them, or of those whose
/// point is in `scope` (a report limited to one municipality). The
/// period's events are read one by one (a week's are few), so the batches and
/// the mix are counted by the same pass whether or not a filter is given.
pub fn provenance(
    db: &mut dyn SqlRead,
    from_utc: i64,
    to_utc: i64,
    scope: Option<&dyn PointScope>,
) -> Result<Provenance, StoreError> {
    let (m1, m2) = (db.mark(1), db.mark(2));
    let args = [Cell::Int(from_utc), Cell::Int(to_utc)];
    let period = format!("occurred_utc >= {m1} AND occurred_utc < {m2}");
    let sql = format!(
        "SELECT batch_id, source, precision, {} FROM events WHERE {period}",
        db.geometry("geom")
    );
    let mut per_batch: BTreeMap<i64, u64> = BTreeMap::new();
    let mut mix: BTreeMap<(String, String), u64> = BTreeMap::new();
    db.each(&sql, &args, &[Int, Text, Text, Point], &mut |r| {
        let point = match &r[3] {
            Cell::Geom(blob) => crate::geom::decode_point(blob),
            _ => None,
        };
        if let Some(scope) = scope {
            if !point.is_some_and(|(x, y)| scope.contains(x, y)) {
                return Ok(());
            }
        }
        *per_batch.entry(r[0].int()).or_default() += 1;
        *mix.entry((r[1].text(), r[2].text())).or_default() += 1;
        Ok(())
    })?;
    let sql = format!(
        "SELECT id, source, finished_at, {} >= {m2} FROM ingest_batches
         WHERE id IN (SELECT DISTINCT batch_id FROM events WHERE {period}) ORDER BY id",
        db.epoch("finished_at")
    );
    let batches: Vec<ProvenanceBatch> = db
        .read(&sql, &args, &[Int, Text, Text, Bool])?
        .iter()
        .filter_map(|r| {
            let id = r[0].int();
            per_batch.get(&id).map(|&events| ProvenanceBatch {
                id,
                source: r[1].text(),
                finished_at: r[2].text(),
                events,
                late: r[3].flag(),
            })
        })
        .collect();
    let by_source = mix
        .into_iter()
        .map(|((source, precision), events)| SourcePrecision {
            source,
            precision,
            events,
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
