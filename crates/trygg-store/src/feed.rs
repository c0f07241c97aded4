//! The police feed's poll log (`police_polls`): one row per poll, good or bad,
//! with the ids of each good snapshot so the next poll can tell whether the two
//! overlap. The open feed only ever shows its latest events, so two good
//! snapshots that share no id mean events may have been lost between them: a
//! gap, recorded on the later poll.

use rusqlite::params;

use crate::error::StoreError;
use crate::sql::SqlRead;
use crate::store::Store;
use crate::tables::Cell;
use crate::tables::Kind::{self, Bool, Int, Text};

/// One poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollRecord {
    /// Its row (0 before it is recorded).
    pub id: i64,
    /// When it ended (UTC, RFC 3339).
    pub at: String,
    /// The URL polled.
    pub url: String,
    /// The last HTTP status, if a response came.
    pub status: Option<u16>,
    /// Whether a whole snapshot was read and ingested.
    pub ok: bool,
    /// Why not, when not.
    pub error: Option<String>,
    /// Requests made (retries included).
    pub attempts: u32,
    /// Events in the snapshot.
    pub events: Option<u64>,
    /// Of them new to the store.
    pub new_events: Option<u64>,
    /// Of them revisions of stored events.
    pub updated: Option<u64>,
    /// The batch that ingested it.
    pub batch_id: Option<i64>,
    /// Ids shared with the previous good snapshot (`None`: no previous one).
    pub overlap: Option<u64>,
    /// No id shared with a previous good snapshot: events may have been lost.
    pub gap: bool,
}

/// A gap in the feed: two consecutive good snapshots with no id in common.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedGap {
    /// The earlier snapshot's poll.
    pub after: String,
    /// The later one's.
    pub before: String,
}

/// The feed's polls all time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedCounts {
    /// Polls made.
    pub polls: u64,
    /// Of them failed.
    pub failed: u64,
    /// Gaps (possible losses).
    pub gaps: u64,
    /// When the last good poll ended (Unix seconds).
    pub last_ok_unix: Option<i64>,
}

/// The feed's polls in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedSummary {
    /// Polls made.
    pub polls: u64,
    /// Of them failed (nothing changed).
    pub failed: u64,
    /// New events the good polls brought.
    pub new_events: u64,
    /// Possible losses.
    pub gaps: Vec<FeedGap>,
    /// The last poll before the period ended, if any.
    pub last_poll: Option<String>,
}

/// Who runs scheduled work among the processes that share a store.
pub trait Lead {
    /// Whether this process leads the scheduled job `job` among the processes
    /// that share the store, so that it runs once, not once per replica. A
    /// file has one server; over PostgreSQL the leader is whoever holds the
    /// job's advisory lock, a session lock, so a leader that dies hands it on.
    fn lead(&mut self, job: &str) -> Result<bool, StoreError>;
}

/// A store the police feed polls into: the ingest interface, the poll log
/// (written by `record_poll`, read with [`SqlRead`]) and who polls. The
/// GeoPackage store and PostgreSQL (`trygg-pg`) implement it.
pub trait FeedStore: crate::IngestStore + SqlRead + Lead {
    /// Records a poll; a good one with the ids of its snapshot.
    fn record_poll(&mut self, r: &PollRecord, ids: Option<&[String]>) -> Result<i64, StoreError>;
    /// The store as the ingest interface.
    fn as_ingest(&mut self) -> &mut dyn crate::IngestStore;
}

impl Lead for Store {
    fn lead(&mut self, _job: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
}

impl FeedStore for Store {
    fn record_poll(&mut self, r: &PollRecord, ids: Option<&[String]>) -> Result<i64, StoreError> {
        Store::record_poll(self, r, ids)
    }

    fn as_ingest(&mut self) -> &mut dyn crate::IngestStore {
        self
    }
}

impl Store {
    /// Records a poll; a good one with the ids of its snapshot.
    pub fn record_poll(
        &mut self,
        r: &PollRecord,
        ids: Option<&[String]>,
    ) -> Result<i64, StoreError> {
        let ids = ids.map(|ids| serde_json::to_string(ids).unwrap_or_default());
        let n = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        self.conn
            .execute(
                "INSERT INTO police_polls (at, url, status, ok, error, attempts, events, new_events,
                 updated, batch_id, overlap, gap, ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    r.at,
                    r.url,
                    r.status,
                    r.ok,
                    r.error,
                    r.attempts,
                    n(r.events),
                    n(r.new_events),
                    n(r.updated),
                    r.batch_id,
                    n(r.overlap),
                    r.gap,
                    ids
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }
}

/// The time and ids of the last good snapshot of `url`.
pub fn last_snapshot(
    db: &mut dyn SqlRead,
    url: &str,
) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let sql = format!(
        "SELECT at, ids FROM police_polls WHERE url = {} AND ok ORDER BY id DESC LIMIT 1",
        db.mark(1)
    );
    let rows = db.read(&sql, &[Cell::Text(url.to_owned())], &[Text, Text])?;
    Ok(rows.first().map(|r| {
        let ids = r[1]
            .opt_text()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        (r[0].text(), ids)
    }))
}

/// The columns of a poll, and how they are read.
const POLL_COLUMNS: &str =
    "id, at, url, status, ok, error, attempts, events, new_events, updated, batch_id, overlap, gap";
const POLL_KINDS: [Kind; 13] = [
    Int, Text, Text, Int, Bool, Text, Int, Int, Int, Int, Int, Int, Bool,
];

/// The polls `rest` selects (`WHERE ...`, `ORDER BY ...`, with `args`).
fn poll_rows(
    db: &mut dyn SqlRead,
    rest: &str,
    args: &[Cell],
) -> Result<Vec<PollRecord>, StoreError> {
    let sql = format!("SELECT {POLL_COLUMNS} FROM police_polls {rest}");
    let u = |c: &Cell| c.opt_int().map(i64::unsigned_abs);
    Ok(db
        .read(&sql, args, &POLL_KINDS)?
        .iter()
        .map(|r| PollRecord {
            id: r[0].int(),
            at: r[1].text(),
            url: r[2].text(),
            status: r[3].opt_int().and_then(|s| u16::try_from(s).ok()),
            ok: r[4].flag(),
            error: r[5].opt_text(),
            attempts: u32::try_from(r[6].int()).unwrap_or(0),
            events: u(&r[7]),
            new_events: u(&r[8]),
            updated: u(&r[9]),
            batch_id: r[10].opt_int(),
            overlap: u(&r[11]),
            gap: r[12].flag(),
        })
        .collect())
}

/// The latest polls, newest first.
pub fn polls(db: &mut dyn SqlRead, limit: usize) -> Result<Vec<PollRecord>, StoreError> {
    let rest = format!("ORDER BY id DESC LIMIT {}", db.mark(1));
    poll_rows(
        db,
        &rest,
        &[Cell::Int(i64::try_from(limit).unwrap_or(i64::MAX))],
    )
}

/// The polls made from `from_utc` to before `to_utc` (Unix seconds).
pub fn feed_summary(
    db: &mut dyn SqlRead,
    from_utc: i64,
    to_utc: i64,
) -> Result<FeedSummary, StoreError> {
    let (m1, m2, at) = (db.mark(1), db.mark(2), db.epoch("at"));
    let polls = poll_rows(
        db,
        &format!("WHERE {at} >= {m1} AND {at} < {m2} ORDER BY id"),
        &[Cell::Int(from_utc), Cell::Int(to_utc)],
    )?;
    let mut gaps = Vec::new();
    for p in polls.iter().filter(|p| p.gap) {
        let sql = format!(
            "SELECT at FROM police_polls WHERE url = {m1} AND ok AND id < {m2} ORDER BY id DESC LIMIT 1"
        );
        let after = db.read(&sql, &[Cell::Text(p.url.clone()), Cell::Int(p.id)], &[Text])?;
        gaps.push(FeedGap {
            after: after.first().map(|r| r[0].text()).unwrap_or_default(),
            before: p.at.clone(),
        });
    }
    let sql = format!("SELECT at FROM police_polls WHERE {at} < {m1} ORDER BY id DESC LIMIT 1");
    let last_poll = db
        .read(&sql, &[Cell::Int(to_utc)], &[Text])?
        .first()
        .map(|r| r[0].text());
    Ok(FeedSummary {
        polls: polls.len() as u64,
        failed: polls.iter().filter(|p| !p.ok).count() as u64,
        new_events: polls.iter().filter_map(|p| p.new_events).sum(),
        gaps,
        last_poll,
    })
}

/// The feed's polls all time (for `/metrics` and the admin API).
pub fn feed_counts(db: &mut dyn SqlRead) -> Result<FeedCounts, StoreError> {
    let sql = format!(
        "SELECT count(*), count(CASE WHEN NOT ok THEN 1 END), count(CASE WHEN gap THEN 1 END),
         max(CASE WHEN ok THEN {} END) FROM police_polls",
        db.epoch("at")
    );
    let rows = db.read(&sql, &[], &[Int, Int, Int, Int])?;
    let r = rows.first().map(Vec::as_slice).unwrap_or_default();
    let at = |i: usize| r.get(i).cloned().unwrap_or(Cell::Null);
    Ok(FeedCounts {
        polls: at(0).count(),
        failed: at(1).count(),
        gaps: at(2).count(),
        last_ok_unix: at(3).opt_int(),
    })
}
