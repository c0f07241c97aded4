//! The real police sample: counts, skips, year and offset, place resolution,
//! idempotent re-ingest, and the CSV export of what landed.

use crate::support::{count_events, export_csv, fixture, ingest_json};

fn sample() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixture("polisen-events-sample.json")).expect("sample");
    serde_json::from_str(&text).expect("sample is JSON")
}

#[test]
fn police_sample_lands_stockholm_events_and_reingest_adds_nothing() {
    let events = sample();
    let is_summary = |e: &serde_json::Value| {
        e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("Sammanfattning"))
    };
    let stockholm = events
        .iter()
        .filter(|e| e["location"]["name"] == "Stockholm" && !is_summary(e))
        .count() as u64;
    assert!(stockholm > 10, "the sample has Stockholm events");

    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("police.gpkg");
    let file = fixture("polisen-events-sample.json");
    let (code, report) = ingest_json(&store, "police-events", &[], &[&file]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["read"], 600);
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["accepted"], stockholm);
    assert_eq!(report["skipped"], 600 - stockholm);
    let reasons = report["skip_reasons"].as_object().expect("skip reasons");
    assert!(
        reasons.keys().any(|k| k.contains("Sammanfattning")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .keys()
            .any(|k| k.contains("outside the study municipality")),
        "{reasons:?}"
    );
    assert_eq!(count_events(&store), stockholm as i64);

    // A second, overlapping snapshot (here: the same file twice) adds nothing.
    let (code, again) = ingest_json(&store, "police-events", &[], &[&file, &file]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 2 * stockholm);
    assert_eq!(count_events(&store), stockholm as i64);

    let (header, rows) = export_csv(&store);
    for column in [
        "source",
        "source_id",
        "occurred_at",
        "category",
        "lon",
        "lat",
        "precision",
        "stadsdel",
        "stadsdelsomrade_2020",
        "stadsdelsomrade_2023",
    ] {
        assert!(
            header.iter().any(|h| h == column),
            "missing column {column}: {header:?}"
        );
    }
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    assert_eq!(rows.len() as u64, stockholm);

    let by_id = |id: &str| {
        rows.iter()
            .find(|r| r[col("source_id")] == id)
            .unwrap_or_else(|| panic!("event {id} exported"))
    };
    let id_of = |summary_part: &str| {
        events
            .iter()
            .find(|e| {
                e["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains(summary_part))
            })
            .map(|e| e["id"].to_string())
            .unwrap_or_else(|| panic!("sample has '{summary_part}'"))
    };
    // "En bilist körde in i ett träd i Aspudden." names one stadsdel.
    let aspudden = by_id(&id_of("träd i Aspudden"));
    assert_eq!(&aspudden[col("precision")], "stadsdel");
    assert_eq!(&aspudden[col("stadsdel")], "ASPUDDEN");
    assert_eq!(&aspudden[col("stadsdelsomrade_2020")], "Hägersten-Älvsjö");
    // "... från en matautomat på Karolinska." names no stadsdel: municipality precision,
    // no area, the event time from `name` with the year from `datetime`.
    let karolinska = by_id(&id_of("matautomat på Karolinska"));
    assert_eq!(&karolinska[col("precision")], "municipality");
    assert_eq!(&karolinska[col("stadsdel")], "");
    assert_eq!(&karolinska[col("occurred_at")], "2024-02-01T04:23:00+01:00");
    assert_eq!(&karolinska[col("reported_at")], "2024-02-01T07:04:33+01:00");
    let lon: f64 = karolinska[col("lon")].parse().expect("lon");
    let lat: f64 = karolinska[col("lat")].parse().expect("lat");
    assert!(
        (lon - 18.068581).abs() < 1e-6 && (lat - 59.329324).abs() < 1e-6,
        "{lon} {lat}"
    );
}
