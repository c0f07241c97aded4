//! Work nobody clicks, on threads of their own beside the HTTP service: polling
//! the police events feed (`[police] url`) and making the weekly report
//! (`[reports] weekly`). Each has its own store connection; after a poll that
//! stored something, and before a report, the snapshot is refreshed so the
//! answers and the report show what was just stored.
//!
//! Over PostgreSQL several replicas share one database: the feed is polled by
//! one of them, whichever holds the job's advisory lock
//! ([`FeedStore::lead`]); the others check at every interval and take over
//! when the leader's connection ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use trygg_feed::{poll, FeedConfig};
use trygg_query::Location;
use trygg_report::schedule::{Made, Scheduler};
use trygg_store::{FeedStore, Store, StoreError};

use crate::state::AppState;

/// The running threads; dropping the handle asks them to stop. It does not
/// wait for them: a poll's batch and a report's folder land whole or not at
/// all, so a process that exits mid-way loses nothing.
pub struct Unattended {
    stop: Arc<AtomicBool>,
}

impl Drop for Unattended {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sleeps `total` in short steps, returning early (false) once `stop` is set.
fn pause(stop: &AtomicBool, total: Duration) -> bool {
    let step = Duration::from_millis(200);
    let mut left = total;
    while !left.is_zero() {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    !stop.load(Ordering::Relaxed)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The weekly report's scheduler as configured, if one is.
pub fn scheduler(state: &AppState) -> Option<Scheduler> {
    let c = &state.config;
    let schedule = c.reports.weekly.as_deref()?.parse().ok()?;
    Some(Scheduler {
        dir: c.reports_dir()?,
        schedule,
        lang: c.reports.lang,
        layer: c.reports.layer.clone(),
        policy: c.policy.clone(),
        chromium: if c.reports.pdf {
            trygg_report::pdf::find_chromium()
        } else {
            None
        },
        regenerate_weeks: c.reports.regenerate_weeks,
        since: c.reports.since.clone(),
    })
}

/// Starts what the configuration asks for.
pub fn start(state: &AppState) -> std::io::Result<Unattended> {
    let stop = Arc::new(AtomicBool::new(false));
    if let Location::Postgres(url) = state.live.location() {
        if state.config.reports.weekly.is_some() {
            return Err(std::io::Error::other(format!(
                "{}: the scheduled weekly report does not run over a PostgreSQL store yet (its \
                 reports are files); serve without [reports] weekly, or make reports with \
                 `trygg report weekly` over a GeoPackage copy",
                trygg_pg::redacted(url)
            )));
        }
    }
    let store_path = state.live.path().to_owned();
    if let Some(url) = state.config.police.url.clone() {
        let (s, stop, location) = (
            state.clone(),
            Arc::clone(&stop),
            state.live.location().clone(),
        );
        let cfg = FeedConfig {
            timeout: Duration::from_secs(s.config.police.timeout_s.max(1)),
            retries: s.config.police.retries,
            ..FeedConfig::new(&url)
        };
        let every = Duration::from_secs(s.config.police.interval_s.max(1));
        std::thread::Builder::new()
            .name("trygg-police".into())
            .spawn(move || police_loop(&s, &location, &cfg, every, &stop))?;
    }
    if let Some(scheduler) = scheduler(state) {
        if scheduler.chromium.is_none() && state.config.reports.pdf {
            tracing::warn!("no Chromium found: weekly reports are made without report.pdf");
        }
        let (s, stop) = (state.clone(), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("trygg-reports".into())
            .spawn(move || report_loop(&s, &store_path, &scheduler, &stop))?;
    }
    Ok(Unattended { stop })
}

/// The store the feed is polled into, on a connection of its own.
fn feed_store(location: &Location) -> Result<Box<dyn FeedStore>, StoreError> {
    Ok(match location {
        Location::File(path) => Box::new(Store::open(path)?),
        Location::Postgres(url) => Box::new(trygg_pg::PgStore::open(url)?),
    })
}

fn police_loop(
    state: &AppState,
    location: &Location,
    cfg: &FeedConfig,
    every: Duration,
    stop: &AtomicBool,
) {
    let mut store = match feed_store(location) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "police feed: cannot open the store");
            return;
        }
    };
    let job = format!("police feed {}", cfg.url);
    let mut leading = false;
    loop {
        match store.lead(&job) {
            Ok(true) if !leading => {
                leading = true;
                tracing::info!("police feed: this server polls it");
            }
            Ok(true) => {}
            Ok(false) => {
                if !pause(stop, every) {
                    return;
                }
                continue; // another replica polls
            }
            Err(e) => {
                // Unknown: poll nothing rather than twice.
                tracing::error!(error = %e, "police feed: cannot tell who polls it");
                if !pause(stop, every) {
                    return;
                }
                continue;
            }
        }
        let sleep = |d: Duration| {
            pause(stop, d);
        };
        match poll(&mut *store, cfg, &now_rfc3339, &sleep) {
            Ok(r) if r.ok => {
                tracing::info!(
                    events = r.events,
                    new = r.new_events,
                    updated = r.updated,
                    overlap = r.overlap,
                    gap = r.gap,
                    "police feed polled"
                );
                if r.gap {
                    tracing::warn!("police feed: no overlap with the previous snapshot, events may have been lost");
                }
                if r.batch_id.is_some() {
                    if let Err(e) = state.refresh() {
                        tracing::warn!(error = %e, "snapshot refresh after a poll failed");
                    }
                }
            }
            Ok(r) => tracing::warn!(
                status = r.status,
                error = r.error,
                attempts = r.attempts,
                "police feed poll failed; nothing changed"
            ),
            Err(e) => tracing::error!(error = %e, "police feed: the poll could not be recorded"),
        }
        if !pause(stop, every) {
            return;
        }
    }
}

fn report_loop(state: &AppState, path: &std::path::Path, scheduler: &Scheduler, stop: &AtomicBool) {
    loop {
        let run = || -> Result<Vec<Made>, String> {
            state.refresh().map_err(|e| e.to_string())?;
            let store = Store::open(path).map_err(|e| e.to_string())?;
            let snap = state.live.current();
            scheduler
                .tick(&store, &snap, chrono::Utc::now())
                .map_err(|e| e.to_string())
        };
        match run() {
            Ok(made) => {
                for m in made {
                    state.metrics.report_made();
                    tracing::info!(report = ?m, "weekly report made");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "weekly report failed; retried at the next check")
            }
        }
        if !pause(stop, Duration::from_secs(60)) {
            return;
        }
    }
}
