//! Prometheus metrics without a metrics library: request counts per route and
//! status class, latency histograms per route, snapshot version and age, cache
//! (ETag) hits, busy refusals. Rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
    not_modified: std::sync::atomic::AtomicU64,
    answers_cached: std::sync::atomic::AtomicU64,
    busy: std::sync::atomic::AtomicU64,
    refreshes: std::sync::atomic::AtomicU64,
    reports: std::sync::atomic::AtomicU64,
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let r = routes
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *r.by_status.entry(status).or_default() += 1;
        let s = took.as_secs_f64();
        for (b, bound) in r.buckets.iter_mut().zip(BUCKETS) {
            if s <= bound {
                *b += 1;
            }
        }
        r.count += 1;
        r.sum += s;
    }

    /// A 304 answered from the client's cache.
    pub fn cache_hit(&self) {
        self.not_modified
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// An answer served from the answer cache.
    pub fn answer_cached(&self) {
        self.answers_cached
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A query refused because the queue was full.
    pub fn busy(&self) {
        self.busy.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A snapshot swap.
    pub fn refreshed(&self) {
        self.refreshes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A weekly report made (or made again) by the schedule.
    pub fn report_made(&self) {
        self.reports
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The text exposition; `feed` from the store's poll log.
    pub fn render(
        &self,
        version: u64,
        age: Duration,
        events: usize,
        feed: &trygg_store::FeedCounts,
    ) -> String {
        let mut out = String::new();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP trygg_http_requests_total Requests answered, per route and status."
        );
        let _ = writeln!(out, "# TYPE trygg_http_requests_total counter");
        let routes = self.routes.lock().map(|r| r.clone()).unwrap_or_default();
        for ((method, route), r) in &routes {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "trygg_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP trygg_http_request_duration_seconds Request latency, per route."
        );
        let _ = writeln!(out, "# TYPE trygg_http_request_duration_seconds histogram");
        for ((method, route), r) in &routes {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (b, bound) in r.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "trygg_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {b}"
                );
            }
            let _ = writeln!(
                out,
                "trygg_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "trygg_http_request_duration_seconds_sum{{{labels}}} {}",
                r.sum
            );
            let _ = writeln!(
                out,
                "trygg_http_request_duration_seconds_count{{{labels}}} {}",
                r.count
            );
        }
        for (name, help, kind, value) in [
            (
                "trygg_snapshot_version",
                "The store data version the snapshot reflects.",
                "gauge",
                version.to_string(),
            ),
            (
                "trygg_snapshot_age_seconds",
                "Seconds since the snapshot was loaded.",
                "gauge",
                format!("{:.3}", age.as_secs_f64()),
            ),
            (
                "trygg_snapshot_events",
                "Events in the snapshot.",
                "gauge",
                events.to_string(),
            ),
            (
                "trygg_snapshot_refreshes_total",
                "Snapshot swaps since start.",
                "counter",
                load(&self.refreshes).to_string(),
            ),
            (
                "trygg_cache_hits_total",
                "Answers of 304 Not Modified (ETag matched).",
                "counter",
                load(&self.not_modified).to_string(),
            ),
            (
                "trygg_busy_refusals_total",
                "Queries refused with 503 because the queue was full.",
                "counter",
                load(&self.busy).to_string(),
            ),
            (
                "trygg_reports_made_total",
                "Weekly reports made by the schedule since start.",
                "counter",
                load(&self.reports).to_string(),
            ),
            (
                "trygg_police_polls_total",
                "Polls of the police events feed (all time, from the store).",
                "counter",
                feed.polls.to_string(),
            ),
            (
                "trygg_police_poll_failures_total",
                "Polls that brought no usable snapshot.",
                "counter",
                feed.failed.to_string(),
            ),
            (
                "trygg_police_feed_gaps_total",
                "Consecutive good snapshots that shared no event: events may have been lost.",
                "counter",
                feed.gaps.to_string(),
            ),
            (
                "trygg_police_last_good_poll_timestamp_seconds",
                "When the last good poll ended (Unix time; 0: never).",
                "gauge",
                feed.last_ok_unix.unwrap_or(0).to_string(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}
