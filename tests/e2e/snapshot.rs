//! Snapshots against another process: while `trygg ingest` lands a batch, every
//! snapshot a reader opens holds the old state or the new one, never a mix; a
//! live snapshot follows the batch without a restart.

use std::process::Stdio;

use trygg_query::{LiveSnapshot, Snapshot};
use trygg_store::Store;

use crate::support::{count_events, police_store, trygg};

#[test]
fn a_reader_during_another_process_ingest_sees_old_or_new_never_a_mix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = police_store(dir.path(), "s.gpkg");
    let before = usize::try_from(count_events(&store)).expect("count");
    let live = LiveSnapshot::open(&store).expect("live");
    let csv = dir.path().join("big.csv");
    const ROWS: u32 = 60_000;
    std::fs::write(&csv, trygg_benches::crimes_csv(ROWS, 20_240_301, "x")).expect("write");
    let mut child = trygg()
        .args(["ingest", "--json", "--source", "crimes", "--store"])
        .arg(&store)
        .arg(&csv)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let after = before + ROWS as usize;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = child.try_wait().expect("poll").is_some();
        let snap = Snapshot::load(&Store::open(&store).expect("open")).expect("snapshot");
        let n = snap.view().len();
        assert!(
            n == before || n == after,
            "a mix: {n} events (before {before}, after {after})"
        );
        seen.insert((n, snap.data().version));
        // The live holder's current snapshot is whole at any moment too.
        let held = live.current().view().len();
        assert!(held == before || held == after, "{held}");
        if done {
            break;
        }
        let _ = live.refresh().expect("refresh");
    }
    assert!(child.wait().expect("reap").success());
    assert!(
        seen.iter().any(|(n, _)| *n == before),
        "no reader ran during the ingest"
    );
    assert!(seen.iter().any(|(n, _)| *n == after));
    // One version per state: the version names the state.
    let versions: std::collections::BTreeSet<u64> = seen.iter().map(|(_, v)| *v).collect();
    assert_eq!(versions.len(), seen.len(), "{seen:?}");
    live.refresh().expect("refresh");
    assert_eq!(
        live.current().view().len(),
        after,
        "the live snapshot follows the batch"
    );
}
