//! Revisions are data, not duplicates: the same id with new content becomes
//! current (statistics and exports follow), the earlier version stays in the
//! history with its batch, and an older snapshot never rolls a record back.

use std::path::Path;

use serde_json::Value;
use trygg_model::Source;
use trygg_store::Store;

use crate::support::{export_csv, fixture, ingest_json, run, write};

/// The current summary of every police event, by id, from the store's attributes.
fn summaries(store: &Path) -> std::collections::BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(store).expect("open");
    let mut stmt = conn
        .prepare("SELECT source_id, attributes FROM events")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query")
        .map(|r| {
            let (id, attributes) = r.expect("row");
            let a: Value = serde_json::from_str(&attributes).expect("attributes");
            (id, a["summary"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[test]
fn edited_police_events_become_current_and_keep_their_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("police.gpkg");
    let original = fixture("polisen-events-sample.json");
    let (code, first) = ingest_json(&store, "police-events", &[], &[&original]);
    assert_eq!(code, 0, "{first}");
    let stored = first["accepted"].as_u64().expect("accepted");
    let before = summaries(&store);

    // A later snapshot of the feed: five stored events got a new summary, one
    // of them also a new type (the police's edits after publishing).
    let mut events: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&original).expect("sample")).expect("JSON");
    let edited: Vec<String> = events
        .iter_mut()
        .filter(|e| before.contains_key(&e["id"].to_string()))
        .take(5)
        .map(|e| {
            let summary = format!(
                "{} Uppdatering: gripen.",
                e["summary"].as_str().unwrap_or("")
            );
            e["summary"] = Value::String(summary);
            e["id"].to_string()
        })
        .collect();
    assert_eq!(edited.len(), 5);
    let retyped = events
        .iter_mut()
        .find(|e| e["id"].as_u64().map(|id| id.to_string()).as_ref() == Some(&edited[0]))
        .expect("edited event");
    retyped["type"] = Value::String("Rån".into());
    let later = write(
        dir.path(),
        "later.json",
        &serde_json::to_string(&events).expect("JSON"),
    );
    let (code, second) = ingest_json(&store, "police-events", &[], &[&later]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["accepted"], 0, "{second}");
    assert_eq!(second["updated"], 5, "{second}");
    assert_eq!(second["duplicates"].as_u64(), Some(stored - 5));
    assert_eq!(second["files"][0]["updated"], 5);

    // The new content is current; the old one is in the history with its batch.
    let after = summaries(&store);
    assert_eq!(after.len(), before.len(), "no event added or lost");
    for id in &edited {
        assert!(after[id].ends_with("Uppdatering: gripen."), "{id}");
    }
    let unedited = before.keys().find(|k| !edited.contains(k)).expect("other");
    assert_eq!(after[unedited], before[unedited]);
    let batch_of_second = second["batch_id"].as_i64().expect("batch");
    {
        let s = Store::open(&store).expect("open");
        for id in &edited {
            let history = s.history(Source::PoliceEvents, id).expect("history");
            assert_eq!(history.len(), 1, "{id}");
            let old: Value = serde_json::from_str(&history[0].attributes).expect("attributes");
            assert_eq!(old["summary"].as_str(), Some(before[id].as_str()));
            assert_eq!(
                history[0].batch_id,
                first["batch_id"].as_i64().expect("batch")
            );
            assert_eq!(history[0].replaced_by, batch_of_second);
        }
        let retyped = s
            .history(Source::PoliceEvents, &edited[0])
            .expect("history");
        assert_ne!(retyped[0].category, "Rån");
    }
    // The export and the statistics follow the current version.
    let (header, rows) = export_csv(&store);
    let col = |n: &str| header.iter().position(|h| h == n).expect("column");
    let row = rows
        .iter()
        .find(|r| r[col("source_id")] == edited[0])
        .expect("exported");
    assert_eq!(row[col("category")], "Rån");
    assert_eq!(row[col("category_norm")], "robbery");

    // The older snapshot again: nothing rolls back; and the later one again:
    // nothing changes.
    for file in [&original, &later] {
        let (code, again) = ingest_json(&store, "police-events", &[], &[file]);
        assert_eq!(code, 0, "{again}");
        assert_eq!(
            (again["accepted"].as_u64(), again["updated"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(again["duplicates"].as_u64(), Some(stored));
        assert_eq!(summaries(&store), after);
    }
    // The batch list counts the revisions.
    let out = run(&[
        "batches",
        "list",
        "--json",
        "--store",
        store.to_str().expect("path"),
    ]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list[1]["updated"], 5, "{list}");

    // Reverting the later batch gives every edited event its first version back.
    let out = run(&[
        "batches",
        "revert",
        "--store",
        store.to_str().expect("path"),
        "--by",
        "tester",
        &batch_of_second.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summaries(&store), before);
}

#[test]
fn a_crimes_row_redelivered_with_another_category_is_revised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("crimes.gpkg");
    let header = "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y";
    let first = write(
        dir.path(),
        "first.csv",
        &format!("{header}\n7001,9301,Misshandel,2024-01-05,21:30,,,2024-01-06,exact,Södermalm,674032,6580821\n7002,0801,Stöld,2024-01-07,12:00,,,2024-01-08,exact,Kungsholmen,672500,6580900\n"),
    );
    let (code, report) = ingest_json(&store, "crimes", &[], &[&first]);
    assert_eq!(
        (code, report["accepted"].as_u64()),
        (0, Some(2)),
        "{report}"
    );
    let counts = |store: &Path| -> Value {
        let out = run(&[
            "query",
            "counts",
            "--store",
            store.to_str().expect("path"),
            "--period",
            "2024-01",
            "--layer",
            "municipality",
            "--by-category",
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let count_of = |c: &Value, category: &str| {
        c["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["category"] == category)
            .and_then(|r| r["count"].as_i64())
            .unwrap_or(0)
    };
    let before = counts(&store);
    assert_eq!(count_of(&before, "violence"), 1);
    // Re-delivered: 7001 reclassified as robbery, 7002 as it was.
    let again = write(
        dir.path(),
        "again.csv",
        &format!("{header}\n7001,9801,Rån,2024-01-05,21:30,,,2024-01-06,exact,Södermalm,674032,6580821\n7002,0801,Stöld,2024-01-07,12:00,,,2024-01-08,exact,Kungsholmen,672500,6580900\n"),
    );
    let (code, report) = ingest_json(&store, "crimes", &[], &[&again]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (
            report["accepted"].as_u64(),
            report["updated"].as_u64(),
            report["duplicates"].as_u64()
        ),
        (Some(0), Some(1), Some(1)),
        "{report}"
    );
    let after = counts(&store);
    assert_eq!(count_of(&after, "violence"), 0);
    assert_eq!(count_of(&after, "robbery"), 1);
    let history = Store::open(&store)
        .expect("open")
        .history(Source::Crimes, "7001")
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].category, "Misshandel");
}
