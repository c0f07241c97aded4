//! The service's shared state: a cheap `Clone` of `Arc`s.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use trygg_query::access::Hidden;
use trygg_query::{LiveSnapshot, Location, QueryError, Snapshot};
use trygg_store::{AuditEntry, ReportDir, ReportShelf, SqlRead, Store};

use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The snapshot readers answer from.
    pub live: Arc<LiveSnapshot>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Permits for heavy work (queries, exports).
    pub heavy: Arc<Semaphore>,
    /// The policy's hidden categories, compiled.
    pub hidden: Arc<Hidden>,
    /// When the snapshot in force was loaded.
    loaded_at: Arc<Mutex<Instant>>,
    /// A GeoPackage store, for admin reads and writes (SQLite is not `Sync`).
    store: Option<Arc<Mutex<Store>>>,
    /// Over PostgreSQL, the connection for the same (the feed's polls, the
    /// batches and their revert, the reports kept in the database).
    pg: Option<Arc<Mutex<trygg_pg::PgStore>>>,
    /// Recent JSON answers by ETag.
    pub answers: Arc<AnswerCache>,
    /// The audit writer's queue.
    auditor: std::sync::mpsc::Sender<(AuditEntry, std::sync::mpsc::SyncSender<Result<(), String>>)>,
}

type AuditJob = (AuditEntry, std::sync::mpsc::SyncSender<Result<(), String>>);

/// The audit writer: takes what is queued, commits it in one transaction, and
/// tells each waiting request how it went. It ends when every sender is gone.
fn audit_writer(
    mut append: impl FnMut(&[AuditEntry]) -> Result<(), String>,
    jobs: std::sync::mpsc::Receiver<AuditJob>,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let entries: Vec<AuditEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
        let result = append(&entries);
        for (_, done) in batch {
            let _ = done.send(result.clone());
        }
    }
}

/// Recent answers (JSON bodies) by their ETag, bounded in bytes. An ETag names
/// the data version, so an answer of an older snapshot is never served for a
/// newer one; entries of older versions are dropped when a newer one arrives.
#[derive(Debug, Default)]
pub struct AnswerCache {
    inner: Mutex<CacheInner>,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct CacheInner {
    version: u64,
    bytes: usize,
    order: std::collections::VecDeque<String>,
    map: std::collections::HashMap<String, bytes::Bytes>,
}

impl AnswerCache {
    /// A cache of at most `max_bytes` of bodies.
    pub fn new(max_bytes: usize) -> AnswerCache {
        AnswerCache {
            inner: Mutex::default(),
            max_bytes,
        }
    }

    /// The answer with this ETag, if held.
    pub fn get(&self, tag: &str) -> Option<bytes::Bytes> {
        self.inner.lock().ok()?.map.get(tag).cloned()
    }

    /// Keeps an answer of data version `version` (oldest out first).
    pub fn put(&self, version: u64, tag: String, body: bytes::Bytes) {
        let Ok(mut c) = self.inner.lock() else {
            return;
        };
        if version < c.version || body.len() > self.max_bytes / 4 {
            return;
        }
        if version > c.version {
            *c = CacheInner {
                version,
                ..CacheInner::default()
            };
        }
        if c.map.contains_key(&tag) {
            return;
        }
        c.bytes += body.len();
        c.order.push_back(tag.clone());
        c.map.insert(tag, body);
        while c.bytes > self.max_bytes {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(b) = c.map.remove(&old) {
                c.bytes -= b.len();
            }
        }
    }
}

impl AppState {
    /// Opens the store and loads its snapshot.
    pub fn open(path: &Path, config: Config) -> Result<AppState, QueryError> {
        let live = LiveSnapshot::open(path)?;
        let hidden = config.policy.sensitive.compile()?;
        let answers = Arc::new(AnswerCache::new(config.limits.answer_cache_bytes));
        let (auditor, jobs) = std::sync::mpsc::channel();
        let spawn = |f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name("trygg-audit".into())
                .spawn(f)
                .map(drop)
                .map_err(QueryError::Io)
        };
        let (store, pg) = match live.location() {
            Location::File(path) => {
                let mut audit_store = Store::open(path)?;
                spawn(Box::new(move || {
                    audit_writer(
                        |entries| {
                            audit_store
                                .append_audit_all(entries)
                                .map_err(|e| e.to_string())
                        },
                        jobs,
                    )
                }))?;
                (Some(Arc::new(Mutex::new(Store::open(path)?))), None)
            }
            Location::Postgres(url) => {
                let mut pg =
                    trygg_pg::PgStore::open(url).map_err(|e| QueryError::Store(e.into()))?;
                spawn(Box::new(move || {
                    audit_writer(
                        |entries| pg.append_audit_all(entries).map_err(|e| e.to_string()),
                        jobs,
                    )
                }))?;
                let reader =
                    trygg_pg::PgStore::open(url).map_err(|e| QueryError::Store(e.into()))?;
                (None, Some(Arc::new(Mutex::new(reader))))
            }
        };
        Ok(AppState {
            live: Arc::new(live),
            heavy: Arc::new(Semaphore::new(config.limits.heavy_concurrency.max(1))),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            hidden: Arc::new(hidden),
            loaded_at: Arc::new(Mutex::new(Instant::now())),
            store,
            pg,
            answers,
            auditor,
        })
    }

    /// Swaps in the next snapshot if the store moved (blocking).
    pub fn refresh(&self) -> Result<bool, QueryError> {
        let swapped = self.live.refresh()?;
        if swapped {
            self.metrics.refreshed();
            if let Ok(mut at) = self.loaded_at.lock() {
                *at = Instant::now();
            }
            tracing::info!(
                version = self.live.current().data().version,
                "snapshot swapped"
            );
        }
        Ok(swapped)
    }

    /// The snapshot `who` is answered from, for a request whose
    /// `municipality` parameter is `asked`: the whole store, or one
    /// municipality of its `kommun` layer. A key limited to a municipality gets
    /// that municipality's, whatever it asks; asking for another is refused,
    /// and a limited key whose municipality the store lacks gets nothing.
    /// Every answer to a caller comes from here.
    pub async fn snapshot_for(
        &self,
        who: &Caller,
        asked: Option<&str>,
    ) -> Result<Arc<Snapshot>, ApiError> {
        let snap = self.live.current();
        let scope = match (&who.municipality, asked) {
            (None, None) => return Ok(snap),
            (Some(own), Some(asked)) => {
                let own = snap.municipality(own)?;
                if snap.municipality(asked)?.code != own.code {
                    return Err(ApiError::forbidden(format!(
                        "your key is limited to municipality {} {}",
                        own.code, own.name
                    )));
                }
                own.code
            }
            (Some(own), None) => own.clone(),
            (None, Some(asked)) => asked.to_owned(),
        };
        crate::routes::blocking(move || Ok(snap.within(Some(&scope))?)).await
    }

    /// Seconds since the snapshot in force was loaded.
    pub fn snapshot_age(&self) -> Duration {
        self.loaded_at
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or_default()
    }

    /// Runs `f` on the store's read-only SQL (blocking), on either backend.
    pub fn read_store<T>(
        &self,
        f: impl FnOnce(&mut dyn SqlRead) -> Result<T, trygg_store::StoreError>,
    ) -> Result<T, ApiError> {
        match (&self.store, &self.pg) {
            (Some(store), _) => {
                let mut store = store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                f(&mut *store).map_err(ApiError::internal)
            }
            (None, Some(_)) => self.with_pg(|pg| f(pg)),
            (None, None) => Err(ApiError::internal("no store")),
        }
    }

    /// Runs `f` on the store's write interface (blocking), on either backend.
    pub fn write_store<T>(
        &self,
        f: impl FnOnce(&mut dyn trygg_store::IngestStore) -> Result<T, trygg_store::StoreError>,
    ) -> Result<T, ApiError> {
        match &self.store {
            Some(store) => {
                let mut store = store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                f(&mut *store).map_err(ApiError::internal)
            }
            None => self.with_pg(|pg| f(pg)),
        }
    }

    /// Runs `f` on where reports are kept (blocking): the reports folder
    /// beside a GeoPackage store (none if no folder is configured: nothing
    /// kept), or the database.
    pub fn with_reports<T, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&mut dyn ReportShelf) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        if self.pg.is_some() {
            return self.with_pg(|pg| f(pg));
        }
        let dir = self.config.reports_dir().unwrap_or_default();
        f(&mut ReportDir(dir)).map_err(ApiError::internal)
    }

    /// Runs `f` on the PostgreSQL reader, connecting again first if the
    /// connection was lost (a database restart).
    fn with_pg<T, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&mut trygg_pg::PgStore) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        let Some(pg) = &self.pg else {
            return Err(ApiError::internal("no database"));
        };
        let mut pg = pg.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let (true, Location::Postgres(url)) = (pg.is_closed(), self.live.location()) {
            *pg = trygg_pg::PgStore::open(url).map_err(ApiError::internal)?;
        }
        f(&mut pg).map_err(ApiError::internal)
    }

    /// Appends to the audit log and returns once it is on disk (blocking).
    /// Entries of concurrent requests are committed together by one writer
    /// thread (group commit: one disk sync for all that are waiting).
    pub fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        rows: Option<u64>,
        detail: &str,
    ) -> Result<(), ApiError> {
        let entry = AuditEntry {
            id: 0,
            at: String::new(),
            who: caller.name.clone(),
            role: caller.role.as_str().to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            rows,
            detail: detail.to_owned(),
        };
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        self.auditor
            .send((entry, done))
            .map_err(|_| ApiError::internal("the audit writer stopped"))?;
        wait.recv()
            .map_err(|_| ApiError::internal("the audit writer stopped"))?
            .map_err(ApiError::internal)
    }

    /// Waits for a heavy-work permit, or refuses with 503 after the queue wait.
    pub async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        let wait = Duration::from_millis(self.config.limits.queue_wait_ms);
        match tokio::time::timeout(wait, Arc::clone(&self.heavy).acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => {
                self.metrics.busy();
                Err(ApiError::busy(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_cache_is_bounded_and_forgets_older_versions() {
        let cache = AnswerCache::new(100);
        cache.put(1, "a".into(), bytes::Bytes::from(vec![0u8; 20]));
        cache.put(1, "b".into(), bytes::Bytes::from(vec![0u8; 20]));
        assert!(cache.get("a").is_some());
        // Over the bound: the oldest goes first.
        for k in 0..5 {
            cache.put(1, format!("c{k}"), bytes::Bytes::from(vec![0u8; 20]));
        }
        assert!(cache.get("a").is_none());
        assert!(cache.get("c4").is_some());
        // Too big for a quarter of the cache: not kept.
        cache.put(1, "big".into(), bytes::Bytes::from(vec![0u8; 30]));
        assert!(cache.get("big").is_none());
        // A newer version empties it; an older one is not kept.
        cache.put(2, "n".into(), bytes::Bytes::from(vec![0u8; 10]));
        assert!(cache.get("c4").is_none());
        cache.put(1, "late".into(), bytes::Bytes::from(vec![0u8; 10]));
        assert!(cache.get("late").is_none());
        assert!(cache.get("n").is_some());
    }
}
