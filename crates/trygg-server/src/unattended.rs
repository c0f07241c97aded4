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
use trygg_store::{FeedStore, Lead, ReportDir, ReportShelf, SqlRead, Store, StoreError};

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
    if let (Location::Postgres(url), Some(dir)) = (state.live.location(), &state.config.reports.dir)
    {
        return Err(std::io::Error::other(format!(
            "[reports] dir = {}: over a PostgreSQL store ({}) the weekly reports are kept in \
             the database, where every replica serves them; remove the setting",
            dir.display(),
            trygg_pg::redacted(url)
        )));
    }
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
            .spawn(move || report_loop(&s, &scheduler, &stop))?;
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
    let job = format!("police feed {}", cfg.url);
    let mut open: Option<Box<dyn FeedStore>> = None;
    let mut leading = false;
    loop {
        let store = match &mut open {
            Some(store) => store,
            None => match feed_store(location) {
                Ok(store) => open.insert(store),
                Err(e) => {
                    tracing::error!(error = %e, "police feed: cannot open the store");
                    if !pause(stop, every) {
                        return;
                    }
                    continue;
                }
            },
        };
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
                // Unknown: poll nothing rather than twice; connect again next time.
                tracing::error!(error = %e, "police feed: cannot tell who polls it");
                open = None;
                leading = false;
                if !pause(stop, every) {
                    return;
                }
                continue;
            }
        }
        let sleep = |d: Duration| {
            pause(stop, d);
        };
        match poll(&mut **store, cfg, &now_rfc3339, &sleep) {
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
            Err(e) => {
                tracing::error!(error = %e, "police feed: the poll could not be recorded");
                open = None;
                leading = false;
            }
        }
        if !pause(stop, every) {
            return;
        }
    }
}

/// What the report loop reads the weeks' provenance from, and leads with.
trait ReportDb: SqlRead + Lead + Send {}
impl<T: SqlRead + Lead + Send> ReportDb for T {}

fn report_db(location: &Location) -> Result<Box<dyn ReportDb>, StoreError> {
    Ok(match location {
        Location::File(path) => Box::new(Store::open(path)?),
        Location::Postgres(url) => Box::new(trygg_pg::PgStore::open(url)?),
    })
}

/// Where the report loop keeps reports: the reports folder, or the database
/// (on a connection of its own).
fn report_shelf(state: &AppState) -> Result<Box<dyn ReportShelf>, StoreError> {
    Ok(match state.live.location() {
        Location::File(_) => Box::new(ReportDir(state.config.reports_dir().unwrap_or_default())),
        Location::Postgres(url) => Box::new(trygg_pg::PgStore::open(url)?),
    })
}

/// The scheduled weekly report. Over PostgreSQL one replica makes it, the one
/// holding the job's lock on its connection (kept between checks); a failed
/// check drops the connections, so the next opens new ones (and asks for the
/// lock again: another replica may have taken over meanwhile).
fn report_loop(state: &AppState, scheduler: &Scheduler, stop: &AtomicBool) {
    const JOB: &str = "weekly report";
    let mut open: Option<(Box<dyn ReportDb>, Box<dyn ReportShelf>)> = None;
    let mut leading = false;
    loop {
        let mut run = || -> Result<Vec<Made>, String> {
            let (db, shelf) = match &mut open {
                Some(both) => both,
                None => open.insert((
                    report_db(state.live.location()).map_err(|e| e.to_string())?,
                    report_shelf(state).map_err(|e| e.to_string())?,
                )),
            };
            if !db.lead(JOB).map_err(|e| e.to_string())? {
                return Ok(Vec::new()); // another replica makes it
            }
            if !leading {
                leading = true;
                tracing::info!("weekly report: this server makes it");
            }
            state.refresh().map_err(|e| e.to_string())?;
            let snap = state.live.current();
            scheduler
                .tick(&mut **db, &mut **shelf, &snap, chrono::Utc::now())
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
                open = None;
                leading = false;
                tracing::error!(error = %e, "weekly report failed; retried at the next check");
            }
        }
        if !pause(stop, Duration::from_secs(60)) {
            return;
        }
    }
}
