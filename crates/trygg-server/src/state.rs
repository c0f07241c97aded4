//! The service's shared state: a cheap `Clone` of `Arc`s.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use trygg_query::access::Hidden;
use trygg_query::{LiveSnapshot, QueryError};
use trygg_store::{AuditEntry, Store};

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
    /// The store, for the audit log and admin reads (SQLite is not `Sync`).
    store: Arc<Mutex<Store>>,
}

impl AppState {
    /// Opens the store and loads its snapshot.
    pub fn open(path: &Path, config: Config) -> Result<AppState, QueryError> {
        let live = LiveSnapshot::open(path)?;
        let store = Store::open(path)?;
        let hidden = config.policy.sensitive.compile()?;
        Ok(AppState {
            live: Arc::new(live),
            heavy: Arc::new(Semaphore::new(config.limits.heavy_concurrency.max(1))),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            hidden: Arc::new(hidden),
            loaded_at: Arc::new(Mutex::new(Instant::now())),
            store: Arc::new(Mutex::new(store)),
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

    /// Seconds since the snapshot in force was loaded.
    pub fn snapshot_age(&self) -> Duration {
        self.loaded_at
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or_default()
    }

    /// Runs `f` on the store (blocking).
    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, trygg_store::StoreError>,
    ) -> Result<T, ApiError> {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut store).map_err(ApiError::internal)
    }

    /// Appends to the audit log (blocking).
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
        self.with_store(|s| s.append_audit(&entry)).map(|_| ())
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
