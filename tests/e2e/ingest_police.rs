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

#[test]
fn a_store_of_several_municipalities_takes_the_police_notices_of_each() {
    let events = sample();
    let umea = |e: &&serde_json::Value| {
        e["location"]["name"] == "Umeå"
            && !e["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("Sammanfattning"))
    };
    let in_umea = events.iter().filter(umea).count() as u64;
    assert!(in_umea > 5, "the sample has Umeå notices");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::support::police_store(dir.path(), "region.gpkg");
    let before = count_events(&store);
    // Two municipalities: Stockholm (a box around the stadsdelar) and Umeå (a
    // box around the centroid the API gives its notices), far outside the
    // store's extent.
    let square = |lon0: f64, lat0: f64, lon1: f64, lat1: f64| {
        serde_json::json!([[
            [lon0, lat0],
            [lon1, lat0],
            [lon1, lat1],
            [lon0, lat1],
            [lon0, lat0]
        ]])
    };
    let kommun = |code: &str, name: &str, coordinates: serde_json::Value| {
        serde_json::json!({"type": "Feature", "properties": {"kod": code, "namn": name},
         "geometry": {"type": "Polygon", "coordinates": coordinates}})
    };
    crate::support::load_kommun_layer(
        &store,
        dir.path(),
        &[
            kommun("0180", "Stockholm", square(17.7, 59.2, 18.3, 59.45)),
            kommun("2480", "Umeå", square(20.0, 63.7, 20.5, 63.95)),
        ],
    );
    let s = store.to_str().expect("utf-8");
    let (code, report) = ingest_json(
        &store,
        "police-events",
        &[],
        &[&fixture("polisen-events-sample.json")],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["accepted"], in_umea, "{report}");
    assert_eq!(count_events(&store), before + in_umea as i64);
    let counts = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "query",
            "counts",
            "--store",
            s,
            "--layer",
            "kommun",
            "--period",
            "2024-02",
            "--source",
            "police-events",
            "--format",
            "json",
        ];
        args.extend(extra);
        let out = crate::support::run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let count_of = |answer: &serde_json::Value, code: &str| {
        answer["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["area_code"] == code)
            .and_then(|r| r["count"].as_u64())
    };
    let whole = counts(&[]);
    // Known to the municipality only, at its centroid: counted in Umeå, and
    // never in a Stockholm stadsdel even when the summary names a place.
    assert_eq!(count_of(&whole, "2480"), Some(in_umea));
    assert_eq!(
        count_of(&whole, "0180"),
        Some(u64::try_from(before).expect("count"))
    );
    let umea_only = counts(&["--municipality", "2480"]);
    assert_eq!(count_of(&umea_only, "municipality"), Some(in_umea));
    assert_eq!(count_of(&umea_only, "0180"), None);
}
