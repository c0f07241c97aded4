//! The police feed's poll log (`police_polls`): one row per poll, good or bad,
//! with the ids of each good snapshot so the next poll can tell whether the two
//! overlap. The open feed only ever shows its latest events, so two good
//! snapshots that share no id mean events may have been lost between them: a
//! gap, recorded on the later poll.

use rusqlite::{params, OptionalExtension};

use crate::error::StoreError;
use crate::store::Store;

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

/// A store the police feed polls into: the ingest interface and the poll log.
/// The GeoPackage store and PostgreSQL (`trygg-pg`) implement it.
pub trait FeedStore: crate::IngestStore {
    /// Records a poll; a good one with the ids of its snapshot.
    fn record_poll(&mut self, r: &PollRecord, ids: Option<&[String]>) -> Result<i64, StoreError>;
    /// The time and ids of the last good snapshot of `url`.
    fn last_snapshot_of(&mut self, url: &str) -> Result<Option<(String, Vec<String>)>, StoreError>;
    /// Whether this process leads the scheduled job `job` among the processes
    /// that share the store, so that it runs once, not once per replica. A
    /// file has one server; over PostgreSQL the leader is whoever holds the
    /// job's advisory lock, a session lock, so a leader that dies hands it on.
    fn lead(&mut self, job: &str) -> Result<bool, StoreError>;
    /// The store as the ingest interface.
    fn as_ingest(&mut self) -> &mut dyn crate::IngestStore;
}

impl FeedStore for Store {
    fn record_poll(&mut self, r: &PollRecord, ids: Option<&[String]>) -> Result<i64, StoreError> {
        Store::record_poll(self, r, ids)
    }

    fn last_snapshot_of(&mut self, url: &str) -> Result<Option<(String, Vec<String>)>, StoreError> {
        self.last_snapshot(url)
    }

    fn lead(&mut self, _job: &str) -> Result<bool, StoreError> {
        Ok(true)
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

    /// The ids and time of the last good snapshot of `url`.
    pub fn last_snapshot(&self, url: &str) -> Result<Option<(String, Vec<String>)>, StoreError> {
        let row: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT at, ids FROM police_polls WHERE url = ?1 AND ok ORDER BY id DESC LIMIT 1",
                [url],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(row.map(|(at, ids)| {
            let ids = ids
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            (at, ids)
        }))
    }

    /// The latest polls, newest first.
    pub fn polls(&self, limit: usize) -> Result<Vec<PollRecord>, StoreError> {
        self.poll_rows(
            "SELECT id, at, url, status, ok, error, attempts, events, new_events, updated, batch_id,
             overlap, gap FROM police_polls ORDER BY id DESC LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    fn poll_rows(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<PollRecord>, StoreError> {
        let u = |v: Option<i64>| v.map(i64::unsigned_abs);
        self.all(sql, args, |r| {
            Ok(PollRecord {
                id: r.get(0)?,
                at: r.get(1)?,
                url: r.get(2)?,
                status: r.get(3)?,
                ok: r.get(4)?,
                error: r.get(5)?,
                attempts: r.get(6)?,
                events: u(r.get(7)?),
                new_events: u(r.get(8)?),
                updated: u(r.get(9)?),
                batch_id: r.get(10)?,
                overlap: u(r.get(11)?),
                gap: r.get(12)?,
            })
        })
    }

    /// The polls made from `from_utc` to before `to_utc` (Unix seconds).
    pub fn feed_summary(&self, from_utc: i64, to_utc: i64) -> Result<FeedSummary, StoreError> {
        let polls = self.poll_rows(
            "SELECT id, at, url, status, ok, error, attempts, events, new_events, updated, batch_id,
             overlap, gap FROM police_polls
             WHERE unixepoch(at) >= ?1 AND unixepoch(at) < ?2 ORDER BY id",
            params![from_utc, to_utc],
        )?;
        let mut gaps = Vec::new();
        for p in polls.iter().filter(|p| p.gap) {
            let after: Option<String> = self
                .conn
                .query_row(
                    "SELECT at FROM police_polls WHERE url = ?1 AND ok AND id < ?2 ORDER BY id DESC LIMIT 1",
                    params![p.url, p.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            gaps.push(FeedGap {
                after: after.unwrap_or_default(),
                before: p.at.clone(),
            });
        }
        let last_poll = self
            .conn
            .query_row(
                "SELECT at FROM police_polls WHERE unixepoch(at) < ?1 ORDER BY id DESC LIMIT 1",
                [to_utc],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(FeedSummary {
            polls: polls.len() as u64,
            failed: polls.iter().filter(|p| !p.ok).count() as u64,
            new_events: polls.iter().filter_map(|p| p.new_events).sum(),
            gaps,
            last_poll,
        })
    }

    /// The feed's polls all time (for `/metrics` and the admin API).
    pub fn feed_counts(&self) -> Result<FeedCounts, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*), total(NOT ok), total(gap), max(CASE WHEN ok THEN unixepoch(at) END)
                 FROM police_polls",
                [],
                |r| {
                    Ok(FeedCounts {
                        polls: r.get::<_, i64>(0)?.unsigned_abs(),
                        failed: r.get::<_, f64>(1)? as u64,
                        gaps: r.get::<_, f64>(2)? as u64,
                        last_ok_unix: r.get(3)?,
                    })
                },
            )
            .map_err(|e| self.sql(e))
    }
}
