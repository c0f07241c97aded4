//! `trygg query`: counts, hotspots, emerging hotspots and survey indicators on a
//! demo store, in every output format, checked against the store itself.

use crate::support::{demo_store, parse_csv, run};

fn query(args: &[&str]) -> String {
    let store = demo_store().to_str().expect("utf-8 path");
    let mut all = vec!["query"];
    all.extend_from_slice(&args[..1]);
    all.extend_from_slice(&["--store", store]);
    all.extend_from_slice(&args[1..]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn counts_per_stadsdel_add_up_to_the_store_and_suppress_small_counts() {
    let (header, rows) = parse_csv(&query(&[
        "counts", "--period", "2024-05", "--source", "crimes",
    ]));
    for c in [
        "area_code",
        "period",
        "population",
        "count",
        "rate_per_1000",
        "previous_count",
        "p_vs_previous",
        "year_earlier_count",
    ] {
        col(&header, c);
    }
    // The last row is the municipality total: every crime of May 2024.
    let conn = rusqlite::Connection::open(demo_store()).expect("open");
    let in_may: i64 = conn
        .query_row(
            "SELECT count(*) FROM events WHERE source = 'crimes' AND occurred_at >= '2024-05-01' AND occurred_at < '2024-06-01'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    let total = rows.last().expect("total row");
    assert_eq!(
        total[col(&header, "count")],
        in_may.to_string(),
        "{total:?}"
    );
    let stadsdel_sum: i64 = rows[..rows.len() - 1]
        .iter()
        .map(|r| r[col(&header, "count")].parse::<i64>().expect("number"))
        .sum();
    assert!(
        stadsdel_sum <= in_may && stadsdel_sum > in_may * 9 / 10,
        "{stadsdel_sum} of {in_may}"
    );
    // A rate is present where population is known and absent, not zero, where not.
    assert!(rows
        .iter()
        .any(|r| !r[col(&header, "rate_per_1000")].is_empty()));

    let (header, rows) = parse_csv(&query(&[
        "counts",
        "--period",
        "2024-05",
        "--source",
        "shootings",
        "--suppress",
        "5",
        "--layer",
        "stadsdelsomrade_2023",
    ]));
    assert_eq!(rows.len(), 11 + 1, "11 areas and the total");
    for r in &rows {
        let count = &r[col(&header, "count")];
        assert!(
            count == "<5" || count.parse::<u64>().is_ok_and(|n| n >= 5),
            "{r:?}"
        );
        if count == "<5" {
            assert!(
                r[col(&header, "rate_per_1000")].is_empty(),
                "a suppressed count hides its rate: {r:?}"
            );
        }
    }
}

#[test]
fn grid_cells_get_area_statistics_from_point_events_only() {
    let (header, rows) = parse_csv(&query(&[
        "counts",
        "--period",
        "2024-05",
        "--layer",
        "grid:1000",
    ]));
    let cells = &rows[..rows.len() - 1];
    assert!(
        cells.len() > 150 && cells.len() < 260,
        "1 km land cells: {}",
        cells.len()
    );
    assert!(cells
        .iter()
        .all(|r| r[col(&header, "area_code")].starts_with("1000m_")));
    let conn = rusqlite::Connection::open(demo_store()).expect("open");
    let points: i64 = conn
        .query_row(
            "SELECT count(*) FROM events WHERE precision IN ('exact', 'address', 'street') \
             AND occurred_at >= '2024-05-01' AND occurred_at < '2024-06-01'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    let in_cells: i64 = cells
        .iter()
        .map(|r| r[col(&header, "count")].parse::<i64>().expect("count"))
        .sum();
    // Every point event lands in at most one cell; those in water-centred cells or
    // outside the land are not counted.
    assert!(
        in_cells <= points && in_cells > points * 8 / 10,
        "{in_cells} of {points}"
    );
}

#[test]
fn hotspots_come_as_csv_json_and_geojson_cells_on_land() {
    let csv = query(&[
        "hotspots",
        "--from",
        "2023-07-01",
        "--to",
        "2024-06-30",
        "--source",
        "crimes",
    ]);
    let (header, rows) = parse_csv(&csv);
    for c in ["cell_id", "x", "y", "count", "gi_z", "p", "p_fdr", "class"] {
        col(&header, c);
    }
    assert!(
        rows.len() > 2_500 && rows.len() < 3_500,
        "about 3,000 land cells of 250 m: {}",
        rows.len()
    );
    let hot = rows
        .iter()
        .filter(|r| r[col(&header, "class")].parse::<i8>().is_ok_and(|c| c > 0))
        .count();
    assert!(hot > 0, "the planted hotspots are hot");
    // Cell centres sit on the 250 m SWEREF grid.
    for r in rows.iter().take(50) {
        let x: f64 = r[col(&header, "x")].parse().expect("x");
        assert_eq!((x - 125.0) % 250.0, 0.0, "{r:?}");
    }

    let json: serde_json::Value = serde_json::from_str(&query(&[
        "hotspots",
        "--format",
        "json",
        "--grid",
        "1000",
        "--permutations",
        "99",
    ]))
    .expect("json");
    assert_eq!(json["params"]["permutations"], 99);
    assert!(
        json["cells"][0]["p_sim"].is_number(),
        "{}",
        json["cells"][0]
    );

    let geojson: serde_json::Value =
        serde_json::from_str(&query(&["hotspots", "--format", "geojson", "--h3", "8"]))
            .expect("geojson");
    let features = geojson["features"].as_array().expect("features");
    assert!(!features.is_empty());
    let ring = features[0]["geometry"]["coordinates"][0]
        .as_array()
        .expect("ring");
    assert_eq!(ring.len(), 7, "a hexagon, closed");
    let lon = ring[0][0].as_f64().expect("lon");
    assert!((17.7..18.3).contains(&lon), "{lon}");
}

#[test]
fn emerging_and_survey_report_their_classes_and_shares() {
    let (header, rows) = parse_csv(&query(&[
        "emerging", "--source", "crimes", "--slices", "26",
    ]));
    let patterns: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r[col(&header, "pattern")].as_str())
        .collect();
    assert!(patterns.contains("No Pattern Detected"), "{patterns:?}");
    assert!(
        patterns.iter().any(|p| p.ends_with("Hot Spot")),
        "{patterns:?}"
    );

    let (header, rows) = parse_csv(&query(&["survey", "--layer", "stadsdelsomrade_2023"]));
    for c in ["round", "area", "n", "n_eff", "share", "ci_low", "ci_high"] {
        col(&header, c);
    }
    for r in &rows {
        let (lo, share, hi): (f64, f64, f64) = (
            r[col(&header, "ci_low")].parse().expect("lo"),
            r[col(&header, "share")].parse().expect("share"),
            r[col(&header, "ci_high")].parse().expect("hi"),
        );
        assert!(
            lo <= share && share <= hi && (0.0..=1.0).contains(&share),
            "{r:?}"
        );
    }
}

#[test]
fn unknown_layers_and_bad_periods_are_clear_errors() {
    let store = demo_store().to_str().expect("utf-8 path");
    let out = run(&[
        "query",
        "counts",
        "--store",
        store,
        "--period",
        "2024-05",
        "--layer",
        "polisomraden",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no area layer 'polisomraden'") && err.contains("stadsdelsomrade_2023"),
        "{err}"
    );
    let out = run(&["query", "counts", "--store", store, "--period", "2024-13"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn matrix_trend_and_change_add_up_and_name_their_periods() {
    // The hour × weekday matrix of a month counts every event of the selection once.
    let matrix = [
        "matrix",
        "--source",
        "crimes",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-31",
    ];
    let (header, rows) = parse_csv(&query(&matrix));
    assert_eq!(rows.len(), 24);
    assert_eq!(
        &header[1..8],
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    );
    let total: u64 = rows
        .iter()
        .map(|r| r[col(&header, "total")].parse::<u64>().expect("total"))
        .sum();
    let (ch, counts) = parse_csv(&query(&[
        "counts", "--period", "2024-05", "--source", "crimes",
    ]));
    let month: u64 = counts.last().expect("total row")[col(&ch, "count")]
        .parse()
        .expect("count");
    // Date-only and long-interval times are not placed in the week: the matrix
    // counts the others and says how many it left out.
    let m: serde_json::Value =
        serde_json::from_str(&query(&[&matrix[..], &["--format", "json"]].concat())).expect("json");
    let left_out = m["left_out_imprecise_time"].as_u64().expect("left out");
    assert!(left_out > 0, "the demo's crimes include date-only times");
    assert_eq!(m["total"].as_u64(), Some(total));
    assert_eq!(total + left_out, month);

    // Monthly trend of one stadsdelsområde: a row per month, zeros included.
    let (th, trend) = parse_csv(&query(&[
        "trend",
        "--source",
        "crimes",
        "--window",
        "month",
        "--from",
        "2023-07-01",
        "--to",
        "2024-06-30",
        "--layer",
        "stadsdelsomrade_2023",
        "--area",
        "Järva",
    ]));
    let periods: Vec<&str> = trend
        .iter()
        .map(|r| r[col(&th, "period")].as_str())
        .collect();
    assert_eq!(periods.len(), 12);
    assert_eq!((periods[0], periods[11]), ("2023-07", "2024-06"));
    assert!(trend
        .iter()
        .all(|r| r[col(&th, "count")].parse::<u64>().is_ok_and(|n| n > 0)));

    // Hotspot change: every land cell gets a transition between the two halves.
    let (gh, change) = parse_csv(&query(&[
        "change",
        "--source",
        "crimes",
        "--before-from",
        "2023-07-01",
        "--before-to",
        "2023-12-31",
        "--from",
        "2024-01-01",
        "--to",
        "2024-06-30",
    ]));
    let transitions: std::collections::BTreeSet<&str> = change
        .iter()
        .map(|r| r[col(&gh, "transition")].as_str())
        .collect();
    assert!(
        transitions.contains("not_significant") && transitions.contains("persisting_hot"),
        "{transitions:?}"
    );
}

#[test]
fn one_table_request_equals_a_counts_request_per_month() {
    let (th, table) = parse_csv(&query(&[
        "table",
        "--source",
        "crimes",
        "--window",
        "month",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
    ]));
    let areas = 117 + 1;
    assert_eq!(table.len(), 3 * areas);
    for month in ["2024-01", "2024-02", "2024-03"] {
        let (ch, counts) = parse_csv(&query(&["counts", "--period", month, "--source", "crimes"]));
        for row in table.iter().filter(|r| r[col(&th, "period")] == month) {
            let code = &row[col(&th, "area_code")];
            let same = counts
                .iter()
                .find(|c| &c[col(&ch, "area_code")] == code)
                .expect("the area in counts");
            assert_eq!(
                row[col(&th, "count")],
                same[col(&ch, "count")],
                "{month} {code}"
            );
        }
    }
}

#[test]
fn a_drawn_polygon_and_the_excel_dialect_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let polygon = crate::support::write(
        dir.path(),
        "drawn.geojson",
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[18.03,59.32],[18.10,59.32],[18.10,59.35],[18.03,59.35],[18.03,59.32]]]}}"#,
    );
    let out: serde_json::Value = serde_json::from_str(&query(&[
        "polygon",
        "--polygon",
        polygon.to_str().expect("path"),
        "--period",
        "2024-05",
        "--source",
        "crimes",
        "--format",
        "json",
    ]))
    .expect("json");
    let count = out["stats"]["rows"][0]["count"].as_u64().expect("count");
    assert!(count > 0, "central Stockholm has events: {out}");
    assert_eq!(out["matrix"]["counts"].as_array().map(Vec::len), Some(24));
    assert_eq!(out["series"]["series"].as_array().map(Vec::len), Some(12));
    assert_eq!(out["data"]["synthetic"], true);
    let excel = query(&["counts", "--period", "2024-05", "--format", "excel"]);
    assert!(excel.starts_with('\u{feff}'));
    let header = excel.lines().next().expect("header");
    assert!(header.contains("area_code;area_name"), "{header}");
    assert!(
        header.ends_with("data_notice"),
        "synthetic data is labelled: {header}"
    );
    // A decimal comma where there are decimals.
    assert!(excel.lines().skip(1).any(|l| l
        .split(';')
        .any(|c| c.contains(',') && c.chars().next().is_some_and(|ch| ch.is_ascii_digit()))));
}

#[test]
fn suppression_from_the_cli_is_the_same_in_csv_json_and_geojson() {
    let args = [
        "counts",
        "--period",
        "2024-05",
        "--category",
        "robbery",
        "--suppress",
        "5",
    ];
    let (h, csv) = parse_csv(&query(&args));
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&query(&json_args)).expect("json");
    let mut geo_args = args.to_vec();
    geo_args.extend(["--format", "geojson"]);
    let geo: serde_json::Value = serde_json::from_str(&query(&geo_args)).expect("geojson");
    let rows = json["rows"].as_array().expect("rows");
    let features = geo["features"].as_array().expect("features");
    let mut suppressed = 0;
    for (i, row) in rows.iter().enumerate() {
        let text = match &row["count"] {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        assert_eq!(csv[i][col(&h, "count")], text);
        assert_eq!(features[i]["properties"]["count"], row["count"]);
        if text == "<5" {
            suppressed += 1;
            assert!(row["rate_per_1000"].is_null() && row["p_vs_previous"].is_null());
            assert_eq!(csv[i][col(&h, "ratio_vs_previous")], "");
        }
    }
    assert!(suppressed > 1, "the demo has small robbery counts");
}
