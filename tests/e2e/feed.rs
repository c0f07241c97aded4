//! The police feed poller against a real HTTP server on loopback that serves
//! rotating snapshots cut from the shipped sample, and misbehaves on script:
//! a 500, truncated JSON, a response slower than the timeout, the same
//! snapshot twice, and a jump that leaves a gap. Nothing already stored is
//! lost or duplicated, every poll is recorded, and the gap is reported in the
//! poll log, the weekly report's data-quality section and `/metrics`.

use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use trygg_feed::{poll, FeedConfig};
use trygg_store::Store;

use crate::support::{count_events, fixture, run};

/// What the server answers to one request.
#[derive(Clone)]
pub(crate) enum Reply {
    Json(Vec<u8>),
    Status(u16),
    /// The first half of a body (a whole HTTP answer of broken JSON).
    Truncated(Vec<u8>),
    /// A body sent only after this long.
    Slow(Duration, Vec<u8>),
}

/// A loopback server answering each request with the next scripted reply
/// (the last one again when the script ends); returns its URL.
pub(crate) fn serve(script: Arc<Mutex<VecDeque<Reply>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/api/events", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut last = Reply::Status(503);
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let reply = {
                let mut s = script.lock().expect("script");
                match s.pop_front() {
                    Some(r) => {
                        last = r.clone();
                        r
                    }
                    None => last.clone(),
                }
            };
            // Each answer on its own thread, so a slow one holds up no other.
            std::thread::spawn(move || {
                let head = |status: &str, len: usize| {
                    format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
                };
                let _ = match reply {
                    Reply::Json(body) => conn
                        .write_all(head("200 OK", body.len()).as_bytes())
                        .and_then(|()| conn.write_all(&body)),
                    Reply::Status(code) => {
                        conn.write_all(head(&format!("{code} Oops"), 0).as_bytes())
                    }
                    Reply::Truncated(body) => {
                        let half = &body[..body.len() / 2];
                        conn.write_all(head("200 OK", half.len()).as_bytes())
                            .and_then(|()| conn.write_all(half))
                    }
                    Reply::Slow(wait, body) => {
                        std::thread::sleep(wait);
                        conn.write_all(head("200 OK", body.len()).as_bytes())
                            .and_then(|()| conn.write_all(&body))
                    }
                };
            });
        }
    });
    url
}

pub(crate) fn sample() -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(fixture("polisen-events-sample.json")).expect("sample"))
        .expect("JSON")
}

/// The sample's events `from..to` as a feed snapshot.
pub(crate) fn snapshot(events: &[Value], range: std::ops::Range<usize>) -> Vec<u8> {
    serde_json::to_vec(&events[range]).expect("JSON")
}

/// The ids of the events of `range` that land in a Stockholm store.
pub(crate) fn stockholm(events: &[Value], range: std::ops::Range<usize>) -> BTreeSet<String> {
    events[range]
        .iter()
        .filter(|e| {
            e["location"]["name"] == "Stockholm"
                && !e["type"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Sammanfattning")
        })
        .map(|e| e["id"].to_string())
        .collect()
}

fn ids(store: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(store).expect("open");
    let mut stmt = conn
        .prepare("SELECT source_id FROM events")
        .expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn the_poller_keeps_the_feed_through_errors_repeats_and_gaps() {
    let events = sample();
    let (a, b, c) = (300..600, 200..500, 0..100);
    let script = Arc::new(Mutex::new(VecDeque::from([
        // 1: the CLI's first poll, into a new store.
        Reply::Json(snapshot(&events, a.clone())),
        // 2: a 500, then the next snapshot (overlapping 1 by 200 events).
        Reply::Status(500),
        Reply::Json(snapshot(&events, b.clone())),
        // 3: truncated every time: the poll fails, nothing changes.
        Reply::Truncated(snapshot(&events, c.clone())),
        Reply::Truncated(snapshot(&events, c.clone())),
        Reply::Truncated(snapshot(&events, c.clone())),
        // 4, 5: the same snapshot twice.
        Reply::Json(snapshot(&events, b.clone())),
        Reply::Json(snapshot(&events, b.clone())),
        // 6: slower than the timeout, then a snapshot sharing nothing with 5.
        Reply::Slow(Duration::from_secs(3), snapshot(&events, c.clone())),
        Reply::Json(snapshot(&events, c.clone())),
    ])));
    let url = serve(Arc::clone(&script));
    let dir = tempfile::tempdir().expect("tempdir");
    let store_path = dir.path().join("feed.gpkg");

    let cli_poll = || {
        run(&[
            "police",
            "poll",
            "--store",
            store_path.to_str().expect("path"),
            "--url",
            &url,
            "--retries",
            "0",
        ])
    };
    let out = cli_poll();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: Value = serde_json::from_slice(&out.stdout).expect("the poll as JSON");
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["events"], 300);
    assert_eq!(
        first["new_events"].as_u64(),
        Some(stockholm(&events, a.clone()).len() as u64)
    );
    assert!(first["overlap"].is_null(), "no previous snapshot");
    assert_eq!(ids(&store_path), stockholm(&events, a.clone()));

    let mut store = Store::open(&store_path).expect("open");
    let cfg = FeedConfig {
        timeout: Duration::from_secs(1),
        retries: 2,
        backoff: Duration::from_millis(1),
        ..FeedConfig::new(&url)
    };
    let clock = std::cell::Cell::new(0);
    let now = || {
        clock.set(clock.get() + 1);
        format!("2024-02-01T12:{:02}:00.000Z", clock.get())
    };
    let waits = std::cell::RefCell::new(Vec::new());
    let sleep = |d: Duration| waits.borrow_mut().push(d);

    // 2: retried after the 500.
    let second = poll(&mut store, &cfg, &now, &sleep).expect("poll");
    assert!(second.ok && second.attempts == 2, "{second:?}");
    assert_eq!(second.overlap, Some(200));
    assert!(!second.gap);
    let after_two = ids(&store_path);
    let both: BTreeSet<String> = stockholm(&events, a.clone())
        .union(&stockholm(&events, b.clone()))
        .cloned()
        .collect();
    assert_eq!(after_two, both);

    // 3: three truncated answers: a failed poll that changes nothing.
    let before = count_events(&store_path);
    let third = poll(&mut store, &cfg, &now, &sleep).expect("poll");
    assert!(!third.ok && third.attempts == 3, "{third:?}");
    assert!(
        third.error.as_deref().unwrap_or("").contains("JSON"),
        "{third:?}"
    );
    assert_eq!(count_events(&store_path), before);
    assert_eq!(ids(&store_path), after_two);
    // Backoff doubles between retries.
    let w = waits.borrow().clone();
    assert!(w.windows(2).any(|p| p[1] == p[0] * 2), "{w:?}");

    // 4, 5: the same snapshot twice: nothing new, full overlap, no gap.
    for _ in 0..2 {
        let same = poll(&mut store, &cfg, &now, &sleep).expect("poll");
        assert!(same.ok && !same.gap, "{same:?}");
        assert_eq!(
            (same.new_events, same.updated, same.overlap),
            (Some(0), Some(0), Some(300))
        );
    }
    assert_eq!(count_events(&store_path), before);

    // 6: a timeout, then a snapshot that shares no id with the last one: a gap.
    let sixth = poll(&mut store, &cfg, &now, &sleep).expect("poll");
    assert!(sixth.ok && sixth.attempts == 2, "{sixth:?}");
    assert_eq!(sixth.overlap, Some(0));
    assert!(sixth.gap, "{sixth:?}");
    let all: BTreeSet<String> = both
        .union(&stockholm(&events, c.clone()))
        .cloned()
        .collect();
    assert_eq!(ids(&store_path), all, "nothing lost, nothing twice");
    let counts = trygg_store::feed_counts(&mut store).expect("counts");
    assert_eq!((counts.polls, counts.failed, counts.gaps), (6, 1, 1));

    // The gap is in the week's feed summary, which the weekly report shows.
    let summary = trygg_store::feed_summary(&mut store, 1_706_745_600, 1_706_832_000) // 2024-02-01 UTC
        .expect("summary");
    assert_eq!(summary.gaps.len(), 1);
    assert_eq!(summary.gaps[0].before, "2024-02-01T12:05:00.000Z");
    assert_eq!(summary.gaps[0].after, "2024-02-01T12:04:00.000Z");
    assert_eq!(summary.failed, 1);

    // /metrics and the admin API say so too.
    drop(store);
    let config = trygg_server::config::Config {
        store: Some(store_path.clone()),
        anonymous_role: Some(trygg_query::Role::Admin),
        ..trygg_server::config::Config::default()
    };
    let state = trygg_server::AppState::open(&store_path, config).expect("state");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let get = |uri: &'static str| {
        let app = trygg_server::router(state.clone());
        async move { crate::api::call(app, "GET", uri, None, axum::body::Body::empty(), &[]).await }
    };
    rt.block_on(async {
        let metrics = get("/metrics").await.text();
        for line in [
            "trygg_police_feed_gaps_total 1",
            "trygg_police_polls_total 6",
            "trygg_police_poll_failures_total 1",
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
        }
        let admin = get("/api/v1/admin/police").await.json();
        assert_eq!(admin["counts"]["gaps"], 1, "{admin}");
        assert_eq!(admin["polls"][0]["gap"], true);
        assert_eq!(admin["polls"].as_array().map(Vec::len), Some(6));
    });

    // The CLI says so in its exit status when a poll finds a gap.
    script
        .lock()
        .expect("script")
        .extend([Reply::Json(snapshot(&events, a.clone()))]);
    let out = cli_poll();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a gap: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
