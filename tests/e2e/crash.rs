//! Crash safety: kill -9 during a large ingest; the reopened store holds the batch
//! whole or not at all, never part of it, and never a duplicate.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{count_events, ingest_json, trygg};

fn crimes_csv(path: &Path, prefix: &str, n: u32) {
    std::fs::write(path, trygg_benches::crimes_csv(n, 20_240_201, prefix)).expect("write csv");
}

#[test]
fn killed_ingest_leaves_the_store_with_whole_batches_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("crash.gpkg");
    let small = dir.path().join("small.csv");
    let big = dir.path().join("big.csv");
    crimes_csv(&small, "s", 1_000);
    const BIG: u32 = 300_000;
    crimes_csv(&big, "b", BIG);

    let (code, _) = ingest_json(&store, "crimes", &[], &[&small]);
    assert_eq!(code, 0);
    assert_eq!(count_events(&store), 1_000);

    // Start the big batch and kill it once its transaction has written to the WAL.
    let wal = dir.path().join("crash.gpkg-wal");
    let baseline_wal = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let mut child = trygg()
        .args(["ingest", "--json", "--source", "crimes", "--store"])
        .arg(&store)
        .arg(&big)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    loop {
        let grown =
            std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > baseline_wal + 4 * 1024 * 1024;
        if grown {
            break;
        }
        assert!(
            child.try_wait().expect("poll").is_none(),
            "ingest finished before it could be killed: make the file bigger"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "ingest never wrote to the WAL"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    let status = child.wait().expect("reap");
    assert!(!status.success());

    // Reopened (by SQLite directly and by trygg): the killed batch left nothing.
    assert_eq!(count_events(&store), 1_000);
    let out = trygg()
        .args(["info", "--store"])
        .arg(&store)
        .output()
        .expect("info");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = String::from_utf8_lossy(&out.stdout);
    assert_eq!(info.matches("batch ").count(), 1, "{info}");

    // Run again to completion, then once more: the whole batch, no duplicates.
    let (code, report) = ingest_json(&store, "crimes", &[], &[&big]);
    assert_eq!(
        (code, &report["accepted"]),
        (0, &serde_json::json!(BIG)),
        "{report}"
    );
    let (_, again) = ingest_json(&store, "crimes", &[], &[&big, &small]);
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], BIG + 1_000);
    assert_eq!(count_events(&store), i64::from(BIG) + 1_000);
}
