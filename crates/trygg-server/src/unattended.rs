//! Work nobody clicks, on threads of their own beside the HTTP service: polling
//! the police events feed (`[police] url`) and making the weekly report
//! (`[reports] weekly`). Each has its own store connection; after a poll that
//! stored something, and before a report, the snapshot is refreshed so the
//! answers and the report show what was just stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use trygg_feed::{poll, FeedConfig};
use trygg_report::schedule::{Made, Scheduler};
use trygg_store::Store;

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
    if let trygg_query::Location::Postgres(url) = state.live.location() {
        if state.config.police.url.is_some() || state.config.reports.weekly.is_some() {
            return Err(std::io::Error::other(format!(
                "{}: the police feed and the scheduled weekly report do not run over a PostgreSQL \
                 store yet; serve without [police] url and [reports] weekly (or over a GeoPackage store)",
                trygg_pg::redacted(url)
            )));
        }
    }
    let store_path = state.live.path().to_owned();
    if let Some(url) = state.config.police.url.clone() {
        let (s, stop, path) = (state.clone(), Arc::clone(&stop), store_path.clone());
        let cfg = FeedConfig {
            timeout: Duration::from_secs(s.config.police.timeout_s.max(1)),
            retries: s.config.police.retries,
            ..FeedConfig::new(&url)
        };
        let every = Duration::from_secs(s.config.police.interval_s.max(1));
        std::thread::Builder::new()
            .name("trygg-police".into())
            .spawn(move || police_loop(&s, &path, &cfg, every, &stop))?;
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

fn police_loop(
    state: &AppState,
    path: &std::path::Path,
    cfg: &FeedConfig,
    every: Duration,
    stop: &AtomicBool,
) {
    let mut store = match Store::open(path) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "police feed: cannot open the store");
            return;
        }
    };
    loop {
        let sleep = |d: Duration| {
            pause(stop, d);
        };
        match poll(&mut store, cfg, &now_rfc3339, &sleep) {
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
