//! Exports: filters by source and by Stockholm-local days (the `--to` day is
//! included whole), CSV for Excel and GeoJSON for QGIS, to a file or stdout.

use crate::support::{ingest_json, run, write};

const HEADER: &str = "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y\n";

#[test]
fn export_filters_by_source_and_local_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("e.gpkg");
    // Midnight edges in local time: 2024-03-31 23:59 (+02:00 after the DST switch)
    // and 2024-04-01 00:00.
    let crimes = write(
        dir.path(),
        "crimes.csv",
        &format!(
            "{HEADER}a,9301,Misshandel,2024-03-30,12:00,,,2024-03-30,exact,,674000.0,6580000.0\n\
             b,9301,Misshandel,2024-03-31,23:59,,,2024-04-01,exact,,674100.0,6580000.0\n\
             c,9301,Misshandel,2024-04-01,00:00,,,2024-04-01,exact,,674200.0,6580000.0\n\
             d,9301,Misshandel,2024-04-02,08:00,2024-04-02,09:30,2024-04-03,address,,674300.0,6580000.0\n"
        ),
    );
    let (code, report) = ingest_json(&store, "crimes", &[], &[&crimes]);
    assert_eq!(code, 0, "{report}");
    let fires = write(
        dir.path(),
        "fires.csv",
        "larmnummer,larmtid,handelsetyp,objekttyp,orsak,e_3011,n_3011\nF1,2024-03-31 20:00:00,Brand,Bil,Anlagd,153905.1,6579354.4\n",
    );
    let (code, report) = ingest_json(&store, "fires", &[], &[&fires]);
    assert_eq!(code, 0, "{report}");

    let s = store.to_str().expect("path");
    let out_file = dir.path().join("out.geojson");
    let out = run(&[
        "export",
        "--store",
        s,
        "--from",
        "2024-03-31",
        "--to",
        "2024-03-31",
        "--format",
        "geojson",
        "--out",
        out_file.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("read")).expect("geojson");
    let ids: Vec<&str> = fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["source_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["b", "F1"]);
    assert_eq!(
        fc["features"][0]["properties"]["occurred_at"],
        "2024-03-31T23:59:00+02:00"
    );
    assert_eq!(fc["features"][1]["properties"]["category_norm"], "fire");
    assert_eq!(
        fc["features"][1]["properties"]["attributes"]["orsak"],
        "Anlagd"
    );

    let csv = run(&[
        "export",
        "--store",
        s,
        "--source",
        "crimes",
        "--from",
        "2024-04-01",
        "--format",
        "csv",
    ]);
    let text = String::from_utf8(csv.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[2].starts_with("crimes,d,2024-04-02T08:00:00+02:00,2024-04-02T09:30:00+02:00,2024-04-03T00:00:00+02:00,"), "{}", lines[2]);
}
