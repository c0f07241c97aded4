//! The query layer on a real store (Stockholm's areas, events ingested through the
//! normal pipeline): requests validated before any work, every job, every encoding,
//! suppression against an attacker's arithmetic in every format, the survey kept
//! out of incidents, and snapshots that follow the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trygg_ingest::pipeline::{ingest, IngestRequest};
use trygg_ingest::setup::open_or_create;
use trygg_model::Source;
use trygg_query::encode::{self, Format};
use trygg_query::params::{CellParams, DisclosureParams, RangeParams, SelectionParams};
use trygg_query::{
    ChangeRequest, CountsRequest, EmergingRequest, HotspotsRequest, Job, LiveSnapshot,
    MatrixRequest, Options, PolygonRequest, Snapshot, SurveyRequest, TableRequest, TrendRequest,
};
use trygg_store::Store;

const HEADER: &str = "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y";

/// One stadsdel of each 2023 stadsdelsområde, from the shipped mapping.
fn one_stadsdel_per_area() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/stockholm/stadsdelar.csv"),
    )
    .expect("stadsdelar.csv");
    let mut by_area: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        by_area
            .entry(cols[2].to_owned())
            .or_insert_with(|| cols[0].to_owned());
    }
    by_area.into_iter().collect()
}

/// A store whose crimes in March 2024 are, per stadsdelsområde (2023), 3 in the
/// first and 10 + k in the k-th; plus point events for the hotspot jobs and
/// survey respondents.
fn fixture(dir: &Path) -> PathBuf {
    let path = dir.join("q.gpkg");
    let mut store = open_or_create(&path, true).expect("store");
    let mut csv = String::from(HEADER);
    csv.push('\n');
    let mut id = 0;
    for (k, (_, stadsdel)) in one_stadsdel_per_area().iter().enumerate() {
        let n = if k == 0 { 3 } else { 10 + k };
        for i in 0..n {
            id += 1;
            csv.push_str(&format!(
                "a{id},9301,Misshandel,2024-03-{:02},2{}:00,,,,,{stadsdel},,\n",
                1 + i % 28,
                i % 4
            ));
        }
    }
    let crimes = dir.join("crimes.csv");
    std::fs::write(&crimes, csv).expect("write");
    let points = dir.join("points.csv");
    std::fs::write(&points, trygg_benches_like_points(2_000)).expect("write");
    for (source, file) in [(Source::Crimes, &crimes), (Source::Crimes, &points)] {
        let report = ingest(
            &mut store,
            &IngestRequest {
                source,
                files: vec![file.clone()],
                mapping: None,
                strict: false,
                names: Vec::new(),
            },
            &mut |_| {},
        )
        .expect("ingest");
        assert!(report.landed(), "{report:?}");
    }
    let survey = dir.join("survey.csv");
    let mut text =
        String::from("respondent_id,omgang,datum,stadsdel,vikt,aldersgrupp,kon,otrygg_kvall\n");
    for i in 0..40 {
        let answer = if i % 4 == 0 {
            "Mycket otrygg"
        } else {
            "Ganska trygg"
        };
        text.push_str(&format!(
            "{i},2023,2023-10-02,Rinkeby,1.0,30-44,K,{answer}\n"
        ));
    }
    std::fs::write(&survey, text).expect("write");
    let report = ingest(
        &mut store,
        &IngestRequest {
            source: Source::Survey,
            files: vec![survey],
            mapping: None,
            strict: false,
            names: Vec::new(),
        },
        &mut |_| {},
    )
    .expect("ingest survey");
    assert!(report.landed());
    path
}

/// Exact points in central Stockholm during 2024, seeded.
fn trygg_benches_like_points(n: u32) -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let mut out = String::from(HEADER);
    out.push('\n');
    for i in 0..n {
        // Not in March, the month the area fixture counts.
        let (month, day, hour) = (
            rng.random_range(4..=12),
            rng.random_range(1..=28),
            rng.random_range(0..24),
        );
        // A cluster at Sergels torg and a spread over the city.
        let (x, y) = if i % 3 == 0 {
            (
                674_000.0 + rng.random_range(-150.0..150.0),
                6_580_800.0 + rng.random_range(-150.0..150.0),
            )
        } else {
            (
                rng.random_range(668_000.0..680_000.0),
                rng.random_range(6_575_000.0..6_585_000.0),
            )
        };
        out.push_str(&format!(
            "p{i},9301,Misshandel,2024-{month:02}-{day:02},{hour:02}:15,,,,exact,,{x:.1},{y:.1}\n"
        ));
    }
    out
}

fn snapshot(path: &Path) -> Snapshot {
    Snapshot::load(&Store::open(path).expect("open")).expect("snapshot")
}

fn encoded<J: Job>(job: &J, snap: &Snapshot, format: Format) -> String
where
    J::Output: serde::Serialize,
{
    let opts = Options {
        geometry: format.wants_geometry(),
        ..Options::default()
    };
    let result = job.run(snap, &opts).expect("runs");
    let mut out = Vec::new();
    encode::write(&mut out, format, J::NAME, &result, snap.data()).expect("encodes");
    String::from_utf8(out).expect("utf-8")
}

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.expect("row").iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn counts_request(suppress: Option<u64>) -> CountsRequest {
    CountsRequest {
        layer: Some("stadsdelsomrade_2023".into()),
        period: "2024-03".into(),
        selection: SelectionParams {
            source: vec!["crimes".into()],
            category: vec![],
            hours: None,
            weekdays: None,
        },
        disclosure: DisclosureParams { suppress },
        ..CountsRequest::default()
    }
}

#[test]
fn requests_are_validated_before_any_work() {
    // No snapshot exists here: validation alone names the field.
    let bad = CountsRequest {
        period: "2024-W54".into(),
        ..CountsRequest::default()
    };
    let e = bad.validate().expect_err("no week 54");
    assert_eq!(e.field(), Some("period"));
    assert!(
        e.to_string().starts_with("period: cannot read '2024-W54'"),
        "{e}"
    );
    let hotspots = HotspotsRequest {
        range: RangeParams {
            from: Some("2024-05-01".into()),
            to: Some("2024-04-01".into()),
        },
        ..HotspotsRequest::default()
    };
    assert_eq!(
        hotspots.validate().expect_err("reversed").field(),
        Some("from")
    );
    let emerging = EmergingRequest {
        slices: Some(3),
        ..EmergingRequest::default()
    };
    assert_eq!(
        emerging.validate().expect_err("few").field(),
        Some("slices")
    );
    let polygon = PolygonRequest {
        geometry: serde_json::json!({"type": "Point", "coordinates": [18.0, 59.3]}),
        period: "2024".into(),
        ..PolygonRequest::default()
    };
    assert_eq!(
        polygon.validate().expect_err("point").field(),
        Some("geometry")
    );
    // And the requests read from JSON, refusing unknown fields.
    let from_json: Result<CountsRequest, _> =
        serde_json::from_value(serde_json::json!({"period": "2024", "perod": "x"}));
    assert!(from_json.is_err());
    let ok: CountsRequest = serde_json::from_value(
        serde_json::json!({"period": "2024", "source": ["crimes"], "suppress": 5}),
    )
    .expect("reads");
    assert_eq!(ok.disclosure.suppress, Some(5));
}

#[test]
fn suppression_holds_in_every_format_against_subtraction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = snapshot(&fixture(dir.path()));
    let raw = counts_request(None)
        .run(&snap, &Options::default())
        .expect("raw");
    let small = &one_stadsdel_per_area()[0].0;
    let small_row = raw
        .rows
        .iter()
        .position(|r| &r.area_name == small || &r.area_code == small)
        .expect("the small area's row");
    assert_eq!(
        raw.rows[small_row].count.value(),
        Some(3),
        "the fixture's small area"
    );

    let req = counts_request(Some(5));
    let result = req.run(&snap, &Options::default()).expect("suppressed");
    let json: Value = serde_json::from_str(&encoded(&req, &snap, Format::Json)).expect("json");
    let csv = csv_rows(&encoded(&req, &snap, Format::Csv));
    let geo: Value = serde_json::from_str(&encoded(&req, &snap, Format::GeoJson)).expect("geojson");
    let features = geo["features"].as_array().expect("features");
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), result.rows.len());
    assert_eq!(csv.len(), rows.len());
    assert_eq!(features.len(), rows.len());
    let municipality = rows.last().expect("total");
    let total = municipality["count"].as_u64().expect("the total is shown");

    for (i, row) in rows.iter().enumerate() {
        let shown_json = row["count"].clone();
        let shown_csv = &csv[i]["count"];
        let shown_geo = &features[i]["properties"]["count"];
        // The same published value in every format.
        assert_eq!(&shown_json, shown_geo);
        assert_eq!(
            shown_json.as_u64().map_or_else(
                || shown_json.as_str().unwrap_or("").to_owned(),
                |v| v.to_string()
            ),
            *shown_csv
        );
        if shown_json == "<5" {
            // Nothing derived from a suppressed count is published anywhere.
            for field in [
                "rate_per_1000",
                "ratio_vs_previous",
                "p_vs_previous",
                "difference_vs_previous",
                "ratio_vs_year_earlier",
                "p_vs_year_earlier",
            ] {
                assert!(row[field].is_null(), "{field} of row {i}");
                assert_eq!(csv[i][field], "", "{field} of CSV row {i}");
                assert!(features[i]["properties"][field].is_null());
            }
        }
    }
    // The attacker: the municipality total minus every shown area count.
    let areas = &rows[..rows.len() - 1];
    let shown: u64 = areas.iter().filter_map(|r| r["count"].as_u64()).sum();
    let hidden: Vec<&Value> = areas.iter().filter(|r| r["count"] == "<5").collect();
    assert_eq!(rows[small_row]["count"], "<5");
    assert!(
        hidden.len() >= 2,
        "one suppressed area would be recoverable: {hidden:?}"
    );
    assert_ne!(
        total - shown,
        3,
        "the small count must not be the remainder"
    );
    // Zero counts are suppressed too (the previous month had none).
    assert!(areas.iter().all(|r| r["previous_count"] == "<5"));
    // The coverage (sums of small counts) is not published under suppression.
    assert!(json["coverage"].is_null());
    assert_eq!(json["suppression"], 5);
}

#[test]
fn the_survey_is_not_an_incident_unless_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = snapshot(&fixture(dir.path()));
    let all = CountsRequest {
        layer: Some("municipality".into()),
        period: "2023-10".into(),
        ..CountsRequest::default()
    };
    let r = all.run(&snap, &Options::default()).expect("runs");
    assert_eq!(
        r.rows[0].count.value(),
        Some(0),
        "40 respondents are no incidents"
    );
    let survey = CountsRequest {
        selection: SelectionParams {
            source: vec!["survey".into()],
            ..SelectionParams::default()
        },
        ..all
    };
    let r = survey.run(&snap, &Options::default()).expect("runs");
    assert_eq!(r.rows[0].count.value(), Some(40), "asked for by name");
}

#[test]
fn every_job_runs_and_every_encoding_parses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = snapshot(&fixture(dir.path()));
    assert!(!snap.data().synthetic);
    let year = RangeParams {
        from: Some("2024-01-01".into()),
        to: Some("2024-12-31".into()),
    };
    let cells = CellParams {
        grid: Some(1000.0),
        ..CellParams::default()
    };
    fn check<J: Job>(name: &str, job: &J, snap: &Snapshot, geo: bool) {
        let json: Value = serde_json::from_str(&encoded(job, snap, Format::Json)).expect(name);
        assert!(json["data"]["version"].as_u64().is_some(), "{name}: {json}");
        let csv = csv_rows(&encoded(job, snap, Format::Csv));
        assert!(!csv.is_empty(), "{name}: no CSV rows");
        let excel = encoded(job, snap, Format::ExcelCsv);
        assert!(
            excel.starts_with('\u{feff}') && excel.contains(';'),
            "{name}: Excel dialect"
        );
        if geo {
            let g: Value = serde_json::from_str(&encoded(job, snap, Format::GeoJson)).expect(name);
            let f = g["features"].as_array().expect("features");
            assert!(
                f.iter().any(|f| f["geometry"]["type"].is_string()),
                "{name}: geometry"
            );
        }
    }
    check("counts", &counts_request(None), &snap, true);
    check(
        "table",
        &TableRequest {
            range: year.clone(),
            ..TableRequest::default()
        },
        &snap,
        false,
    );
    check(
        "trend",
        &TrendRequest {
            range: year.clone(),
            ..TrendRequest::default()
        },
        &snap,
        false,
    );
    check(
        "matrix",
        &MatrixRequest {
            range: year.clone(),
            ..MatrixRequest::default()
        },
        &snap,
        false,
    );
    check(
        "hotspots",
        &HotspotsRequest {
            range: year.clone(),
            cells: cells.clone(),
            kde: Some(500.0),
            ..HotspotsRequest::default()
        },
        &snap,
        true,
    );
    check(
        "emerging",
        &EmergingRequest {
            cells: cells.clone(),
            slice: Some("month".into()),
            slices: Some(12),
            end: Some("2024-12-31".into()),
            ..EmergingRequest::default()
        },
        &snap,
        true,
    );
    check(
        "change",
        &ChangeRequest {
            range: RangeParams {
                from: Some("2024-07-01".into()),
                to: Some("2024-12-31".into()),
            },
            before_from: Some("2024-01-01".into()),
            before_to: Some("2024-06-30".into()),
            cells,
            ..ChangeRequest::default()
        },
        &snap,
        true,
    );
    check("survey", &SurveyRequest::default(), &snap, false);
    let square = serde_json::json!({"type": "Polygon", "coordinates": [[
        [18.05, 59.32], [18.09, 59.32], [18.09, 59.345], [18.05, 59.345], [18.05, 59.32]]]});
    let polygon = PolygonRequest {
        geometry: square,
        period: "2024".into(),
        ..PolygonRequest::default()
    };
    check("polygon", &polygon, &snap, true);
    let p = polygon.run(&snap, &Options::default()).expect("polygon");
    // The drawn area's count is its point events, equal to the series' sum.
    let count = p.stats.rows[0].count.value().expect("shown");
    assert!(count > 100, "the cluster is inside: {count}");
    let series: u64 = p.series.series.iter().filter_map(|s| s.count.value()).sum();
    assert_eq!(series, count);
    assert!(
        p.stats.rows[0].rate_per_1000.is_none(),
        "no population for a drawn area"
    );
}

#[test]
fn hotspot_json_has_one_shape_with_or_without_density() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = snapshot(&fixture(dir.path()));
    let plain = HotspotsRequest {
        cells: CellParams {
            grid: Some(1000.0),
            ..CellParams::default()
        },
        ..HotspotsRequest::default()
    };
    let with_kde = HotspotsRequest {
        kde: Some(400.0),
        ..plain.clone()
    };
    let keys = |j: &HotspotsRequest| -> Vec<String> {
        let v: Value = serde_json::from_str(&encoded(j, &snap, Format::Json)).expect("json");
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(keys(&plain), keys(&with_kde));
}

#[test]
fn a_live_snapshot_follows_batches_and_readers_keep_theirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = fixture(dir.path());
    let live = LiveSnapshot::open(&path).expect("live");
    let before = live.current();
    let n = before.view().len();
    assert!(!live.refresh().expect("refresh"), "nothing changed");
    let more = dir.path().join("more.csv");
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 0..10 {
        text.push_str(&format!(
            "m{i},9301,Misshandel,2024-06-01,12:00,,,,,Rinkeby,,\n"
        ));
    }
    std::fs::write(&more, text).expect("write");
    let mut store = Store::open(&path).expect("open");
    ingest(
        &mut store,
        &IngestRequest {
            source: Source::Crimes,
            files: vec![more],
            mapping: None,
            strict: false,
            names: Vec::new(),
        },
        &mut |_| {},
    )
    .expect("ingest");
    assert!(live.refresh().expect("refresh"));
    let after = live.current();
    assert_eq!(after.view().len(), n + 10);
    assert!(after.data().version > before.data().version);
    // The reader holding the old snapshot still sees the old state, whole.
    assert_eq!(before.view().len(), n);
}
