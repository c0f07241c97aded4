//! A store of two municipalities and keys limited to one: every answer a
//! limited key gets (events, exports, counts, hotspots, tiles, charts, area
//! outlines, meta) is of its municipality alone, checked point by point
//! against the municipality's polygons with a point-in-polygon test written
//! here; asking for the other is refused, the whole-store routes are refused,
//! and the same URL asked by an unlimited key is a different answer, never a
//! cached one of the other.
//!
//! The two municipalities are made of the demo's real stadsdelar (west and
//! east of 18.05° E), so the border between them is a real, ragged one with
//! events on both sides.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::http::StatusCode;
use serde_json::{json, Value};
use trygg_query::Role;
use trygg_server::config::{key_hash, ApiKey, Config};
use trygg_server::AppState;

use crate::api::{get_at, read_export, Answer};
use crate::support::{data, demo_store, run, write};

const WEST: (&str, &str) = ("9901", "Västra testkommunen");
pub(crate) const EAST: (&str, &str) = ("9902", "Östra testkommunen");
const EAST_POPULATION: i64 = 550_000;

pub(crate) const EAST_ANALYST: &str = "east-analyst-key";
const EAST_VIEWER: &str = "east-viewer-key";
const ANALYST: &str = "whole-analyst-key";
const ADMIN: &str = "whole-admin-key";

/// One municipality's polygons (WGS 84 rings).
type Polygons = Vec<Vec<Vec<[f64; 2]>>>;

/// Splits the stadsdelar by the mean longitude of their outer ring.
fn municipalities() -> (Polygons, Polygons, Vec<String>) {
    let text = std::fs::read_to_string(data("stockholm/simplified-stadsdelar.geo.json"))
        .expect("stadsdelar");
    let doc: Value = serde_json::from_str(&text).expect("geojson");
    let (mut west, mut east, mut east_names) = (Vec::new(), Vec::new(), Vec::new());
    for f in doc["features"].as_array().expect("features") {
        let g = &f["geometry"];
        let polys: Polygons = match g["type"].as_str() {
            Some("Polygon") => vec![serde_json::from_value(g["coordinates"].clone()).expect("p")],
            _ => serde_json::from_value(g["coordinates"].clone()).expect("mp"),
        };
        let outer = &polys[0][0];
        let lon = outer.iter().map(|c| c[0]).sum::<f64>() / outer.len() as f64;
        if lon < 18.05 {
            west.extend(polys);
        } else {
            east_names.push(f["properties"]["name"].as_str().expect("name").to_owned());
            east.extend(polys);
        }
    }
    (west, east, east_names)
}

/// Even-odd point-in-polygon over every ring (holes included).
fn inside(polys: &Polygons, lon: f64, lat: f64) -> bool {
    let mut odd = false;
    for ring in polys.iter().flatten() {
        let mut j = ring.len() - 1;
        for i in 0..ring.len() {
            let ([xi, yi], [xj, yj]) = (ring[i], ring[j]);
            if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                odd = !odd;
            }
            j = i;
        }
    }
    odd
}

pub(crate) struct World {
    _dir: tempfile::TempDir,
    pub(crate) store: PathBuf,
    pub(crate) state: AppState,
    west: Polygons,
    east: Polygons,
    east_stadsdelar: Vec<String>,
}

pub(crate) fn config(store: &Path) -> Config {
    let key = |name: &str, role, key: &str, municipality: Option<&str>| ApiKey {
        name: name.into(),
        role,
        sha256: key_hash(key),
        municipality: municipality.map(str::to_owned),
    };
    Config {
        store: Some(store.to_owned()),
        keys: vec![
            key(
                "östra-analytiker",
                Role::Analyst,
                EAST_ANALYST,
                Some(EAST.0),
            ),
            // By name, as a coordinator would write it.
            key("östra-läsare", Role::Viewer, EAST_VIEWER, Some(EAST.1)),
            key("anna", Role::Analyst, ANALYST, None),
            key("ada", Role::Admin, ADMIN, None),
        ],
        ..Config::default()
    }
}

/// The demo store with two municipalities, and its API state.
pub(crate) fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("county.gpkg");
        std::fs::copy(demo_store(), &store).expect("copy");
        let (west, east, east_stadsdelar) = municipalities();
        let feature = |(code, name): (&str, &str), polys: &Polygons| {
            json!({"type": "Feature", "properties": {"kod": code, "namn": name},
                   "geometry": {"type": "MultiPolygon", "coordinates": polys}})
        };
        crate::support::load_kommun_layer(
            &store,
            dir.path(),
            &[feature(WEST, &west), feature(EAST, &east)],
        );
        let s = store.to_str().expect("utf-8");
        let population = write(
            dir.path(),
            "kommuner.csv",
            &format!(
                "kommun,year,population\n{},2024,400000\n{},2024,{EAST_POPULATION}\n",
                WEST.0, EAST.1
            ),
        );
        let out = run(&[
            "areas",
            "population",
            "--store",
            s,
            "--layer",
            "kommun",
            population.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state = AppState::open(&store, config(&store)).expect("state");
        World {
            _dir: dir,
            store,
            state,
            west,
            east,
            east_stadsdelar,
        }
    })
}

async fn get(uri: &str, key: &str) -> Answer {
    get_at(&world().state, uri, key).await
}

fn ok(a: &Answer) -> Value {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    a.json()
}

pub(crate) const Q1: &str = "from=2024-01-01&to=2024-03-31";

/// The events of Q1 as `key` sees them through the API.
async fn events(key: &str, extra: &str) -> Vec<Value> {
    let page = ok(&get(&format!("/api/v1/events?{Q1}&limit=10000{extra}"), key).await);
    assert!(page["next_cursor"].is_null(), "one page");
    page["events"].as_array().expect("events").clone()
}

/// A query-string value, percent-encoded.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn lon_lat(e: &Value) -> (f64, f64) {
    (
        e["lon"].as_f64().expect("lon"),
        e["lat"].as_f64().expect("lat"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limited_key_sees_the_events_of_its_municipality_and_none_of_the_other() {
    let w = world();
    let all = events(ANALYST, "").await;
    let mine = events(EAST_ANALYST, "").await;
    assert!(mine.len() > 100, "{}", mine.len());
    assert!(mine.len() < all.len());
    for e in &mine {
        let (lon, lat) = lon_lat(e);
        assert!(inside(&w.east, lon, lat), "outside its municipality: {e}");
        assert!(!inside(&w.west, lon, lat), "in the other municipality: {e}");
    }
    // Every event of the whole store inside the east polygons, and only those
    // (a point within centimetres of the border may fall either way).
    let expected = all
        .iter()
        .filter(|e| {
            let (lon, lat) = lon_lat(e);
            inside(&w.east, lon, lat)
        })
        .count();
    assert!(
        (expected as i64 - mine.len() as i64).abs() <= 2,
        "{expected} inside the polygons, {} answered",
        mine.len()
    );
    // Police notices known only to the municipality sit at its centroid:
    // they are in the municipality that holds it, here the eastern one.
    assert!(mine.iter().any(|e| e["precision"] == "municipality"));
    // The unlimited key asking for the municipality gets the same events.
    let asked = events(ANALYST, &format!("&municipality={}", EAST.0)).await;
    assert_eq!(asked, mine);
    // Its own municipality may be asked for, by code or name; the other not.
    assert_eq!(
        events(EAST_ANALYST, &format!("&municipality={}", encoded(EAST.1))).await,
        mine
    );
    let refused = get(
        &format!("/api/v1/events?{Q1}&municipality={}", WEST.0),
        EAST_ANALYST,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    // An export holds the same rows.
    let csv = get(&format!("/api/v1/events?{Q1}&format=csv"), EAST_ANALYST).await;
    assert_eq!(csv.status, StatusCode::OK);
    let (header, rows) = crate::support::parse_csv(&csv.text());
    assert_eq!(rows.len(), mine.len());
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (lon, lat) = (col("lon"), col("lat"));
    for r in &rows {
        let p: (f64, f64) = (r[lon].parse().expect("lon"), r[lat].parse().expect("lat"));
        assert!(
            inside(&w.east, p.0, p.1) && !inside(&w.west, p.0, p.1),
            "{r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limited_key_counts_its_areas_with_its_population_and_the_totals_agree() {
    let w = world();
    let uri = "/api/v1/query/counts?period=2024-Q1&layer=stadsdel";
    let mine = ok(&get(uri, EAST_ANALYST).await);
    assert_eq!(mine["data"]["scope"]["code"], EAST.0);
    assert_eq!(mine["data"]["municipality"], EAST.1);
    let rows = mine["rows"].as_array().expect("rows");
    let areas: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["area_code"].as_str())
        .filter(|c| *c != "municipality")
        .collect();
    let mut expected: Vec<&str> = w.east_stadsdelar.iter().map(String::as_str).collect();
    let mut got = areas.clone();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected, "the stadsdelar of the municipality");
    let total = rows
        .iter()
        .find(|r| r["area_code"] == "municipality")
        .expect("total");
    assert_eq!(total["population"], EAST_POPULATION);
    // The total is the municipality's events, as the kommun layer counts them
    // for the whole store, and as many as the events the key may list.
    let whole = ok(&get("/api/v1/query/counts?period=2024-Q1&layer=kommun", ANALYST).await);
    let east_row = whole["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area_code"] == EAST.0)
        .expect("east")
        .clone();
    assert_eq!(total["count"], east_row["count"]);
    assert_eq!(east_row["population"], EAST_POPULATION);
    // (Events never list the sensitive categories: thefts are none.)
    let thefts = ok(&get(&format!("{uri}&category=theft"), EAST_ANALYST).await);
    let theft_total = thefts["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area_code"] == "municipality")
        .expect("total")["count"]
        .as_u64();
    assert!(theft_total > Some(0));
    assert_eq!(
        theft_total,
        Some(events(EAST_ANALYST, "&category=theft").await.len() as u64)
    );
    // The same URL for the whole store is another answer (no shared cache).
    let theirs = ok(&get(uri, ANALYST).await);
    assert!(theirs["data"]["scope"].is_null());
    assert!(theirs["rows"].as_array().expect("rows").len() > rows.len());
    assert_ne!(
        get(uri, ANALYST).await.headers["etag"],
        get(uri, EAST_ANALYST).await.headers["etag"]
    );
    // A viewer limited by name: the same municipality, suppressed.
    let viewer = ok(&get(uri, EAST_VIEWER).await);
    assert_eq!(viewer["data"]["scope"]["code"], EAST.0);
    assert_eq!(viewer["request"]["suppress"], 5);
    // The kommun layer, for a limited key, is its municipality alone.
    let own = ok(&get(
        "/api/v1/query/counts?period=2024-Q1&layer=kommun",
        EAST_ANALYST,
    )
    .await);
    let codes: Vec<&str> = own["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["area_code"].as_str())
        .collect();
    assert_eq!(codes, [EAST.0, "municipality"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hotspots_tiles_outlines_and_charts_of_a_limited_key_stay_inside_its_municipality() {
    let w = world();
    // Hotspot cells (as GeoJSON, WGS 84): no cell centre in the other
    // municipality (the study area is the municipality's land).
    let uri = format!("/api/v1/query/hotspots?{Q1}&grid=500&format=geojson");
    let hot = ok(&get(&uri, EAST_ANALYST).await);
    let cells = hot["features"].as_array().expect("features");
    assert!(!cells.is_empty());
    for c in cells {
        let ring = c["geometry"]["coordinates"][0][0].as_array().expect("ring");
        let corners = &ring[..ring.len() - 1];
        let mean = |k: usize| {
            corners.iter().filter_map(|p| p[k].as_f64()).sum::<f64>() / corners.len() as f64
        };
        let (lon, lat) = (mean(0), mean(1));
        assert!(
            !inside(&w.west, lon, lat),
            "a cell of the other municipality: {c}"
        );
    }
    let whole = ok(&get(&uri, ANALYST).await);
    assert!(whole["features"].as_array().expect("cells").len() > cells.len());
    // Event tiles along the border at zoom 13: every point on the east side.
    let (z, n) = (13u32, f64::from(1u32 << 13));
    let tx = ((18.05 + 180.0) / 360.0 * n) as u32;
    let lat: f64 = 59.33;
    let r = lat.to_radians();
    let ty = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let (mut points, mut whole_points) = (0, 0);
    for (x, y) in [(tx - 1, ty), (tx, ty), (tx, ty + 1), (tx - 1, ty + 1)] {
        let uri = format!("/tiles/events/{z}/{x}/{y}.mvt?{Q1}");
        let tile = read_export("mvt", &get(&uri, EAST_ANALYST).await.body);
        whole_points += read_export("mvt", &get(&uri, ANALYST).await.body)["events"]["features"]
            .as_array()
            .map_or(0, Vec::len);
        for p in tile["events"]["features"].as_array().into_iter().flatten() {
            let c = &p["geometry"]["coordinates"];
            let (px, py) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
            let lon = (f64::from(x) + px / 4096.0) / n * 360.0 - 180.0;
            let m = std::f64::consts::PI * (1.0 - 2.0 * (f64::from(y) + py / 4096.0) / n);
            let lat = m.sinh().atan().to_degrees();
            // A tile pixel is a few metres: only points clearly west count.
            assert!(
                !inside(&w.west, lon + 0.0002, lat) || !inside(&w.west, lon - 0.0002, lat),
                "a point of the other municipality in a tile: {lon},{lat}"
            );
            points += 1;
        }
    }
    assert!(
        points > 0 && points < whole_points,
        "{points} of {whole_points}"
    );
    // The area outlines: its stadsdelar, its municipality.
    let outlines = ok(&get("/api/v1/layers/stadsdel?simplify=0", EAST_VIEWER).await);
    assert_eq!(
        outlines["features"].as_array().expect("features").len(),
        w.east_stadsdelar.len()
    );
    let kommun = ok(&get("/api/v1/layers/kommun", EAST_VIEWER).await);
    let names: Vec<&str> = kommun["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["name"].as_str())
        .collect();
    assert_eq!(names, [EAST.1]);
    // Meta says which municipality and how many events.
    let meta = ok(&get("/api/v1/meta", EAST_VIEWER).await);
    assert_eq!(meta["data"]["scope"]["name"], EAST.1);
    assert_eq!(meta["municipality_limit"], EAST.1);
    let whole_meta = ok(&get("/api/v1/meta", ANALYST).await);
    assert!(meta["events"].as_u64() < whole_meta["events"].as_u64());
    // A chart of the limited key differs from the whole store's.
    let chart = |key| {
        get(
            "/api/v1/charts/trend.svg?from=2024-01-01&to=2024-06-30&window=month",
            key,
        )
    };
    let (mine, theirs) = (chart(EAST_VIEWER).await, chart(ANALYST).await);
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    assert_ne!(mine.body, theirs.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn whole_store_routes_and_unknown_municipalities_are_refused_and_nothing_fails_open() {
    for uri in [
        "/api/v1/reports",
        "/api/v1/admin/audit",
        "/api/v1/admin/batches",
    ] {
        let a = get(uri, EAST_ANALYST).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri}: {}", a.text());
    }
    assert_eq!(get("/api/v1/reports", ANALYST).await.status, StatusCode::OK);
    let unknown = get(
        "/api/v1/query/counts?period=2024-Q1&municipality=0000",
        ANALYST,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text());
    assert_eq!(unknown.error_field().as_deref(), Some("municipality"));
    // A key limited to a municipality the store does not have gets nothing,
    // not the whole store.
    let store = &world().store;
    let mut elsewhere = config(store);
    elsewhere.keys[0].municipality = Some("Solna".into());
    let state = AppState::open(store, elsewhere).expect("state");
    for uri in [
        "/api/v1/meta".to_owned(),
        format!("/api/v1/events?{Q1}"),
        "/api/v1/query/counts?period=2024-Q1".to_owned(),
        format!("/tiles/grid/10/562/300.mvt?{Q1}"),
    ] {
        let a = get_at(&state, &uri, EAST_ANALYST).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}: {}", a.text());
    }
    // Regression: the meta of a limited key and of an unlimited key asking for
    // the same municipality differ in what they say of the key, and neither is
    // served from the other's cache.
    let asked = format!("/api/v1/meta?municipality={}", EAST.0);
    assert!(ok(&get(&asked, ANALYST).await)["municipality_limit"].is_null());
    assert_eq!(
        ok(&get("/api/v1/meta", EAST_ANALYST).await)["municipality_limit"],
        EAST.0
    );
    assert!(ok(&get(&asked, ANALYST).await)["municipality_limit"].is_null());
    // An admin key cannot be limited.
    let mut admin = config(store);
    admin.keys[3].municipality = Some(EAST.0.into());
    assert!(admin.validate().is_err());
}

#[test]
fn the_cli_limits_a_query_to_a_municipality_with_the_numbers_the_api_gives() {
    let w = world();
    let s = w.store.to_str().expect("utf-8");
    let out = run(&[
        "query",
        "counts",
        "--store",
        s,
        "--layer",
        "stadsdel",
        "--period",
        "2024-Q1",
        "--format",
        "json",
        "--municipality",
        EAST.1,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).expect("json");
    let api = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(get(
            "/api/v1/query/counts?period=2024-Q1&layer=stadsdel",
            EAST_ANALYST,
        ))
        .json();
    assert_eq!(cli["rows"], api["rows"]);
    assert_eq!(cli["data"]["scope"], api["data"]["scope"]);
    let pushed = run(&[
        "query",
        "counts",
        "--store",
        s,
        "--period",
        "2024-Q1",
        "--push-down",
        "--municipality",
        EAST.0,
    ]);
    assert!(!pushed.status.success());
    assert!(String::from_utf8_lossy(&pushed.stderr).contains("municipality"));
}

/// The events of `period` `key` may count (every category, where the events
/// list leaves the sensitive ones out): the API's total row.
async fn total(key: &str, period: &str) -> u64 {
    let all = ok(&get(
        &format!("/api/v1/query/counts?period={period}&layer=kommun"),
        key,
    )
    .await);
    all["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area_code"] == "municipality")
        .expect("total")["count"]
        .as_u64()
        .expect("a count")
}

fn provenance_total(report: &Value) -> (u64, u64) {
    let prov = &report["provenance"];
    let sum = |list: &str| -> u64 {
        prov[list]
            .as_array()
            .expect("list")
            .iter()
            .map(|b| b["events"].as_u64().expect("events"))
            .sum()
    };
    (sum("by_source"), sum("batches"))
}

#[test]
fn the_weekly_report_of_a_municipality_counts_its_areas_and_events_alone() {
    let w = world();
    let (dir, east) = crate::report::report_of(
        &w.store,
        "2024-W10",
        &["--no-pdf", "--municipality", EAST.1],
    );
    let (_whole_dir, whole) = crate::report::report_of(&w.store, "2024-W10", &["--no-pdf"]);
    assert_eq!(east["numbers"]["data"]["scope"]["code"], EAST.0);
    assert!(whole["numbers"]["data"]["scope"].is_null());
    // Its table is of the east stadsdelar alone.
    let rows = east["numbers"]["areas"]["rows"].as_array().expect("rows");
    assert!(rows.len() > 10, "{}", rows.len());
    for row in rows {
        let code = row["area_code"].as_str().expect("code");
        assert!(
            code == "municipality" || w.east_stadsdelar.iter().any(|s| s == code),
            "{row}"
        );
    }
    // The provenance counts the events the report counts: the municipality's
    // (as the limited key counts them), where the whole store's has more.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (mine, all) = (
        rt.block_on(total(EAST_ANALYST, "2024-W10")),
        rt.block_on(total(ANALYST, "2024-W10")),
    );
    assert!(mine > 20 && all > mine, "{mine} of {all}");
    assert_eq!(provenance_total(&east), (mine, mine));
    assert_eq!(provenance_total(&whole), (all, all));
    // The page names the municipality.
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains(EAST.1));
}

/// `trygg export` of Q1, with `extra` arguments: its header and rows.
fn exported(extra: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let w = world();
    let mut args = vec![
        "export",
        "--store",
        w.store.to_str().expect("utf-8"),
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
        "--format",
        "csv",
    ];
    args.extend(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::support::parse_csv(&String::from_utf8(out.stdout).expect("utf-8"))
}

#[test]
fn an_export_of_a_municipality_holds_its_events_alone_as_many_as_it_counts() {
    let w = world();
    let (header, mine) = exported(&["--municipality", EAST.0]);
    let (_, all) = exported(&[]);
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (lon, lat) = (col("lon"), col("lat"));
    let point = |r: &Vec<String>| -> (f64, f64) {
        (r[lon].parse().expect("lon"), r[lat].parse().expect("lat"))
    };
    assert!(mine.len() > 100 && mine.len() < all.len(), "{}", mine.len());
    for r in &mine {
        let (x, y) = point(r);
        assert!(inside(&w.east, x, y) && !inside(&w.west, x, y), "{r:?}");
    }
    // Every category (an export is not an events list): as many rows as the
    // limited key counts for the quarter.
    let quarter = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(total(EAST_ANALYST, "2024-Q1"));
    assert_eq!(quarter, mine.len() as u64);
    // The whole store's rows inside the east polygons are these (a point
    // within centimetres of the border may fall either way).
    let expected = all
        .iter()
        .filter(|r| {
            let (x, y) = point(r);
            inside(&w.east, x, y)
        })
        .count();
    assert!((expected as i64 - mine.len() as i64).abs() <= 2);
    // By name too; a municipality the store lacks is an error.
    assert_eq!(exported(&["--municipality", EAST.1]).1, mine);
    let unknown = run(&[
        "export",
        "--store",
        w.store.to_str().expect("utf-8"),
        "--format",
        "csv",
        "--municipality",
        "Ingenstans",
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Ingenstans"));
}

/// Regression: the limited snapshot was kept among a snapshot's other derived
/// results (32), so a map's worth of tiles evicted it and a limited key's next
/// request made it again.
#[test]
fn a_municipality_snapshot_is_kept_however_many_other_results_are_made() {
    let snap = std::sync::Arc::new(trygg_query::Snapshot::open(&world().store).expect("snapshot"));
    let first = snap.within(Some(EAST.0)).expect("east");
    for i in 0..100u32 {
        snap.memo(&format!("another result {i}"), || Ok(i))
            .expect("memo");
    }
    // Asked by name: the same municipality, the same snapshot.
    let again = snap.within(Some(EAST.1)).expect("east");
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    assert_eq!(
        again.data().scope.as_ref().map(|s| s.code.as_str()),
        Some(EAST.0)
    );
}
