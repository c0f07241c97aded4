//! `trygg demo` (the run that builds the shared test store): generates synthetic
//! data, ingests it through the normal path into a store labelled synthetic, every
//! generated row lands, exports carry the label, and a second run reuses the store.

use std::collections::BTreeMap;

use crate::support::{demo, run, DEMO_ARGS};

fn counts_by_source(store: &std::path::Path) -> BTreeMap<String, i64> {
    let conn = rusqlite::Connection::open(store).expect("open");
    let mut stmt = conn
        .prepare("SELECT source, count(*) FROM events GROUP BY source")
        .expect("sql");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn demo_builds_a_labelled_store_where_every_generated_row_lands() {
    let demo = demo();
    let store = demo.path.clone();
    let s = store.to_str().expect("path");
    let text = &demo.stdout;
    assert!(
        text.contains("SYNTHETIC") && text.contains("ready"),
        "{text}"
    );
    assert!(
        !text.contains("rejected: "),
        "generated rows were rejected:\n{text}"
    );

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(store.with_file_name("demo-data").join("manifest.json"))
            .expect("manifest"),
    )
    .expect("manifest JSON");
    let counts = counts_by_source(&store);
    for source in ["crimes", "shootings", "fires", "survey"] {
        assert_eq!(
            counts.get(source).copied().unwrap_or(0),
            manifest["counts"][source].as_i64().expect("count"),
            "{source}: {counts:?}"
        );
    }
    let police = manifest["police"]["notices"].as_i64().expect("notices")
        - manifest["police"]["night_summaries"]
            .as_i64()
            .expect("summaries");
    assert_eq!(counts["police-events"], police);

    let conn = rusqlite::Connection::open(&store).expect("open");
    let synthetic: String = conn
        .query_row(
            "SELECT value FROM trygg_meta WHERE key = 'synthetic'",
            [],
            |r| r.get(0),
        )
        .expect("meta");
    assert_eq!(synthetic, "true");
    let population: i64 = conn
        .query_row(
            "SELECT count(*) FROM population WHERE layer = 'stadsdel'",
            [],
            |r| r.get(0),
        )
        .expect("population");
    assert!(population >= 117, "{population}");
    drop(conn);

    // Exports say what the data is.
    let csv = run(&[
        "export",
        "--store",
        s,
        "--source",
        "shootings",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8(csv.stdout).expect("utf-8");
    let mut lines = csv.lines();
    assert!(lines.next().expect("header").ends_with(",data_notice"));
    assert!(lines.all(|l| l.ends_with(",SYNTHETIC DEMO DATA")));
    let geojson = run(&[
        "export", "--store", s, "--source", "fires", "--format", "geojson",
    ]);
    let fc: serde_json::Value = serde_json::from_slice(&geojson.stdout).expect("geojson");
    assert_eq!(fc["synthetic"], true);
    assert!(fc["notice"]
        .as_str()
        .is_some_and(|n| n.contains("SYNTHETIC")));
    assert_eq!(
        fc["features"].as_array().map(Vec::len),
        Some(counts["fires"] as usize)
    );

    // A second run finds the store and does not generate again.
    let mut args = vec!["demo", "--store", s];
    args.extend(DEMO_ARGS);
    let again = run(&args);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("exists"));
    assert_eq!(counts_by_source(&store), counts);
}
