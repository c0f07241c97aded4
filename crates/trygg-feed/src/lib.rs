//! The police events feed: the open API shows only its latest events, so whoever
//! does not poll it loses events for good. [`poll`] fetches one snapshot (with
//! retries and backoff), checks that it is a whole JSON array of events before
//! anything is written, ingests it through the normal pipeline (dedup and
//! revisions, year inference, place resolution) and records the poll: its time,
//! HTTP status, new and revised events, and its overlap with the previous good
//! snapshot. Two good snapshots that share no id mean events may have been
//! lost between them: the poll is marked as a gap. A failed poll changes
//! nothing but the poll log.

use std::collections::BTreeSet;
use std::time::Duration;

use trygg_model::Source;
use trygg_store::{FeedStore, PollRecord};

use trygg_ingest::pipeline::{ingest, IngestReport, IngestRequest};

/// How to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// The feed's URL (e.g. `https://polisen.se/api/events`).
    pub url: String,
    /// One request's time limit (connect, send, read).
    pub timeout: Duration,
    /// Requests after the first one fails.
    pub retries: u32,
    /// The wait before the first retry; doubled after each.
    pub backoff: Duration,
    /// The largest response read.
    pub max_bytes: u64,
}

impl FeedConfig {
    /// Polisen's defaults for `url`: 30 s per request, 3 retries from 2 s, 16 MiB.
    pub fn new(url: &str) -> FeedConfig {
        FeedConfig {
            url: url.to_owned(),
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_secs(2),
            max_bytes: 16 << 20,
        }
    }
}

/// A fetched snapshot: its body and the ids of its events.
struct Snapshot {
    status: u16,
    body: Vec<u8>,
    ids: Vec<String>,
}

/// Why one request gave no usable snapshot.
struct Failure {
    status: Option<u16>,
    reason: String,
}

fn fetch(agent: &ureq::Agent, cfg: &FeedConfig) -> Result<Snapshot, Failure> {
    let fail = |status: Option<u16>, reason: String| Failure { status, reason };
    let mut response = agent
        .get(&cfg.url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| match e {
            ureq::Error::StatusCode(code) => fail(Some(code), format!("HTTP {code}")),
            other => fail(None, other.to_string()),
        })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(cfg.max_bytes)
        .read_to_vec()
        .map_err(|e| fail(Some(status), format!("reading the body: {e}")))?;
    let events: Vec<serde_json::Value> = serde_json::from_slice(&body).map_err(|e| {
        fail(
            Some(status),
            format!("not a whole JSON array of events ({e})"),
        )
    })?;
    if events.is_empty() {
        // The feed always shows its latest events: an empty list is a fault.
        return Err(fail(Some(status), "an empty snapshot".into()));
    }
    let mut ids = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        match &e["id"] {
            serde_json::Value::Number(n) => ids.push(n.to_string()),
            serde_json::Value::String(s) if !s.is_empty() => ids.push(s.clone()),
            _ => return Err(fail(Some(status), format!("event {} has no id", i + 1))),
        }
    }
    Ok(Snapshot { status, body, ids })
}

/// Polls the feed once into `store` (see the module). `now` gives the poll's
/// time (RFC 3339, UTC); `sleep` waits between retries (a test passes one
/// that does not).
pub fn poll(
    store: &mut dyn FeedStore,
    cfg: &FeedConfig,
    now: &dyn Fn() -> String,
    sleep: &dyn Fn(Duration),
) -> Result<PollRecord, trygg_store::StoreError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .http_status_as_error(true)
        .build()
        .into();
    let mut attempts = 0;
    let mut wait = cfg.backoff;
    let fetched = loop {
        attempts += 1;
        match fetch(&agent, cfg) {
            Ok(s) => break Ok(s),
            Err(f) if attempts > cfg.retries => break Err(f),
            Err(_) => {
                sleep(wait);
                wait = wait.saturating_mul(2);
            }
        }
    };
    let mut record = PollRecord {
        url: cfg.url.clone(),
        attempts,
        ..PollRecord::default()
    };
    let snapshot = match fetched {
        Ok(s) => s,
        Err(f) => {
            record.at = now();
            record.status = f.status;
            record.error = Some(f.reason);
            record.id = store.record_poll(&record, None)?;
            return Ok(record);
        }
    };
    record.status = Some(snapshot.status);
    record.events = Some(snapshot.ids.len() as u64);
    let at = now();
    match ingest_snapshot(store, &snapshot, &at) {
        Ok(report) => {
            record.ok = true;
            record.new_events = Some(report.accepted);
            record.updated = Some(report.updated);
            record.batch_id = report.batch_id;
        }
        Err(reason) => {
            record.at = at;
            record.error = Some(reason);
            record.id = store.record_poll(&record, None)?;
            return Ok(record);
        }
    }
    if let Some((_, previous)) = trygg_store::last_snapshot(store, &cfg.url)? {
        let previous: BTreeSet<&String> = previous.iter().collect();
        let overlap = snapshot
            .ids
            .iter()
            .filter(|id| previous.contains(id))
            .count() as u64;
        record.overlap = Some(overlap);
        record.gap = overlap == 0 && !previous.is_empty() && !snapshot.ids.is_empty();
    }
    record.at = at;
    record.id = store.record_poll(&record, Some(&snapshot.ids))?;
    Ok(record)
}

/// Ingests a snapshot's body as a police-events file named after the poll.
fn ingest_snapshot(
    store: &mut dyn FeedStore,
    snapshot: &Snapshot,
    at: &str,
) -> Result<IngestReport, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let name = format!("police-feed-{}.json", at.replace(':', ""));
    let file = dir.path().join(&name);
    std::fs::write(&file, &snapshot.body).map_err(|e| e.to_string())?;
    let request = IngestRequest {
        source: Source::PoliceEvents,
        files: vec![file],
        mapping: None,
        strict: false,
        names: vec![name],
    };
    ingest(store.as_ingest(), &request, &mut |_| {}).map_err(|e| e.to_string())
}
