//! The bad-input corpus (`tests/fixtures/bad`, see its README) through the real
//! binary: clear rejections naming file, row and field; good rows still land;
//! unreadable or unusable files and `--strict` leave the store exactly as it was.

use std::path::Path;

use serde_json::Value;

use crate::support::{count_events, fixture, ingest_json, police_store, run};

fn bad(name: &str) -> std::path::PathBuf {
    fixture(&format!("bad/{name}"))
}

/// A store holding the police sample's events, as a baseline that must survive.
fn baseline(dir: &Path) -> (std::path::PathBuf, i64) {
    let store = police_store(dir, "bad.gpkg");
    let n = count_events(&store);
    assert!(n > 0);
    (store, n)
}

fn batches(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).expect("open");
    conn.query_row("SELECT count(*) FROM ingest_batches", [], |r| r.get(0))
        .expect("count")
}

fn rejections(report: &Value) -> Vec<(Option<u64>, String, String)> {
    report["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| {
            (
                r["row"].as_u64(),
                r["field"].as_str().unwrap_or_default().to_owned(),
                r["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

#[test]
fn unreadable_and_unusable_files_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, n) = baseline(dir.path());
    let before = batches(&store);
    let cases: [(&str, &Path, &str); 4] = [
        ("crimes", &bad("empty.csv"), "empty"),
        ("crimes", &bad("crimes-utf16.csv"), "UTF-16"),
        (
            "crimes",
            &bad("crimes-missing-column.csv"),
            "brottskategori",
        ),
        (
            "police-events",
            &bad("police-not-array.json"),
            "not a JSON array",
        ),
    ];
    for (source, file, needle) in cases {
        let (code, report) = ingest_json(&store, source, &[], &[file]);
        assert_eq!(code, 1, "{}: {report}", file.display());
        assert_eq!(report["landed"], false);
        let r = rejections(&report);
        assert_eq!(r.len(), 1, "{report}");
        assert_eq!(r[0].0, None, "a file-level problem has no row");
        assert!(r[0].2.contains(needle), "{}: {:?}", file.display(), r[0]);
        assert_eq!(report["rejections"][0]["file"], file.display().to_string());
        assert_eq!(count_events(&store), n);
        assert_eq!(
            batches(&store),
            before,
            "nothing was recorded for {}",
            file.display()
        );
    }
}

/// An expected rejection: row, field, a part of the reason.
type Expected = (Option<u64>, &'static str, &'static str);

#[test]
fn bad_rows_are_rejected_by_row_and_field_while_good_rows_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, mut n) = baseline(dir.path());
    // (source, file, accepted, expected rejections)
    let cases: Vec<(&str, &str, u64, Vec<Expected>)> = vec![
        (
            "crimes",
            "crimes-ragged-rows.csv",
            2,
            vec![
                (Some(3), "", "row has 13 fields, the header has 12"),
                (Some(5), "", "row has 11 fields"),
            ],
        ),
        (
            "crimes",
            "crimes-bad-dates.csv",
            0,
            vec![
                (Some(2), "fran_datum+fran_tid", "2024-02-30"),
                (Some(3), "fran_datum+fran_tid", "igår"),
                (Some(4), "fran_datum+fran_tid", "25:10"),
                (Some(5), "till_datum+till_tid", "before its start"),
                (Some(6), "anmald_datum", "05/01/2024"),
            ],
        ),
        (
            "crimes",
            "crimes-outside-extent.csv",
            0,
            vec![(Some(2), "x,y", "outside the study extent"); 3],
        ),
        (
            "crimes",
            "crimes-duplicate-ids.csv",
            2,
            vec![(
                Some(3),
                "id",
                "duplicate id '6001' in this file (first at row 2)",
            )],
        ),
        (
            "shootings",
            "crimes-swapped-latlon.csv",
            0,
            vec![
                (Some(2), "lon,lat", "appear swapped"),
                (Some(3), "lon,lat", "appear swapped"),
            ],
        ),
        (
            "crimes",
            "crimes-latin1.csv",
            0,
            vec![
                (Some(2), "omrade", "windows-1252"),
                (Some(3), "brottskategori", "windows-1252"),
            ],
        ),
    ];
    for (source, name, accepted, expected) in cases {
        let file = bad(name);
        let (code, report) = ingest_json(&store, source, &[], &[&file]);
        let got = rejections(&report);
        assert_eq!(got.len(), expected.len(), "{name}: {report}");
        for (g, (row, field, reason)) in got.iter().zip(&expected) {
            if *name != *"crimes-outside-extent.csv" {
                assert_eq!(g.0, *row, "{name}: {g:?}");
            }
            assert_eq!(g.1, *field, "{name}: {g:?}");
            assert!(g.2.contains(reason), "{name}: {g:?} lacks '{reason}'");
        }
        assert_eq!(report["accepted"], accepted, "{name}: {report}");
        // Exit 0 when something landed, 1 when every row was rejected.
        assert_eq!(code, if accepted > 0 { 0 } else { 1 }, "{name}: {report}");
        n += accepted as i64;
        assert_eq!(count_events(&store), n, "{name}");
    }
    // The stored rejections carry the raw row text.
    let conn = rusqlite::Connection::open(&store).expect("open");
    let raw: String = conn
        .query_row(
            "SELECT raw FROM rejected_rows WHERE file LIKE '%crimes-duplicate-ids.csv'",
            [],
            |r| r.get(0),
        )
        .expect("the duplicate's rejection is stored");
    assert!(raw.starts_with("6001,9301,Misshandel,2024-01-07"), "{raw}");
}

#[test]
fn a_truncated_police_download_lands_its_complete_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("t.gpkg");
    let (code, report) = ingest_json(
        &store,
        "police-events",
        &[],
        &[&bad("police-truncated.json")],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["read"], 4,
        "3 complete elements and the truncation: {report}"
    );
    let r = rejections(&report);
    assert_eq!(r.len(), 1);
    assert!(
        r[0].0.is_none()
            && r[0].2.contains("truncated")
            && r[0].2.contains("after 3 complete events"),
        "{r:?}"
    );
}

#[test]
fn strict_lands_nothing_when_any_row_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, n) = baseline(dir.path());
    let file = bad("crimes-ragged-rows.csv");
    let (code, report) = ingest_json(&store, "crimes", &["--strict"], &[&file]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        (report["landed"].as_bool(), report["rejected"].as_u64()),
        (Some(false), Some(2))
    );
    assert_eq!(count_events(&store), n);
    // The human summary says so too.
    let out = run(&[
        "ingest",
        "--strict",
        "--source",
        "crimes",
        "--store",
        store.to_str().expect("path"),
        file.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT landed") && text.contains("row 3"),
        "{text}"
    );
}
