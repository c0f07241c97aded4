//! The police feed's poll log in PostgreSQL, and who leads scheduled work
//! among the replicas sharing a database.

use trygg_store::{FeedStore, IngestStore, Lead, PollRecord, StoreError};

use crate::ingest::db;
use crate::PgStore;

/// The advisory lock of a scheduled job: `trygg` in its high bytes, then the
/// job's name folded in (FNV-1a), so jobs never share a lock with each other
/// or with the batch and migration locks.
pub(crate) fn job_lock(job: &str) -> i64 {
    let folded = job.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_be_bytes(*b"trygg\0\0\0") | i64::try_from(folded & 0xff_ffff).unwrap_or(0)
}

impl Lead for PgStore {
    fn lead(&mut self, job: &str) -> Result<bool, StoreError> {
        // A session lock: once taken it stays with this connection (taking it
        // again only counts it up, so it is asked for once) until the process
        // or its connection ends.
        if self.led.contains(job) {
            return Ok(true);
        }
        let url = self.url.clone();
        let got: bool = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&job_lock(job)])
            .map_err(db(&url))?
            .get(0);
        if got {
            self.led.insert(job.to_owned());
        }
        Ok(got)
    }
}

impl FeedStore for PgStore {
    fn record_poll(&mut self, r: &PollRecord, ids: Option<&[String]>) -> Result<i64, StoreError> {
        let ids = ids.map(|ids| serde_json::to_string(ids).unwrap_or_default());
        let n = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        let url = self.url.clone();
        let row = self
            .client
            .query_one(
                "INSERT INTO police_polls (at, url, status, ok, error, attempts, events, new_events,
                 updated, batch_id, overlap, gap, ids)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                &[
                    &r.at,
                    &r.url,
                    &r.status.map(i64::from),
                    &r.ok,
                    &r.error,
                    &i64::from(r.attempts),
                    &n(r.events),
                    &n(r.new_events),
                    &n(r.updated),
                    &r.batch_id,
                    &n(r.overlap),
                    &r.gap,
                    &ids,
                ],
            )
            .map_err(db(&url))?;
        Ok(row.get(0))
    }

    fn as_ingest(&mut self) -> &mut dyn IngestStore {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_have_locks_of_their_own() {
        let locks = ["police", "reports", "police:http://a", "police:http://b"].map(job_lock);
        let distinct: std::collections::BTreeSet<i64> = locks.iter().copied().collect();
        assert_eq!(distinct.len(), locks.len());
        assert!(locks
            .iter()
            .all(|&l| l >> 24 == i64::from_be_bytes(*b"trygg\0\0\0") >> 24));
        assert!(!locks.contains(&crate::schema::MIGRATE_LOCK));
    }
}
