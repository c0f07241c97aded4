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

    // Start the big batch and kill it while it writes its commit: the rollback
    // journal exists and the store file is growing.
    let journal = dir.path().join("crash.gpkg-journal");
    let baseline = std::fs::metadata(&store).expect("store").len();
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
            std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0) > baseline + 4 * 1024 * 1024;
        if grown || journal.exists() {
            break;
        }
        assert!(
            child.try_wait().expect("poll").is_none(),
            "ingest finished before it could be killed: make the file bigger"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "ingest never wrote to the store"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill -9");
    let status = child.wait().expect("reap");
    assert!(!status.success());

    // Reopened (by trygg, which rolls a hot journal back, then by SQLite directly):
    // the killed batch is there whole or not at all.
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
    let after_kill = count_events(&store);
    let batches = info.matches("batch ").count();
    eprintln!("after the kill: {after_kill} events, {batches} batch(es)");
    match after_kill {
        1_000 => assert_eq!(batches, 1, "{info}"),
        n if n == 1_000 + i64::from(BIG) => assert_eq!(batches, 2, "{info}"),
        n => panic!("a killed batch left {} of its {BIG} events", n - 1_000),
    }

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
