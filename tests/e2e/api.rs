//! The HTTP service: in-process through the router (`tower::ServiceExt::oneshot`)
//! for every endpoint × role, suppression in every format, the CLI's numbers,
//! exports read by independent readers (openpyxl, ogrinfo, pyarrow), errors,
//! ETags, uploads and the audit log; and the real `trygg serve` on loopback for
//! graceful shutdown and an OpenAPI-driven fuzz run (schemathesis).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use trygg_query::Role;
use trygg_server::config::{key_hash, ApiKey, Config};
use trygg_server::{router, AppState};

use crate::support::{demo_store, fixture, run};

pub(crate) const VIEWER: &str = "viewer-key";
pub(crate) const ANALYST: &str = "analyst-key";
pub(crate) const ADMIN: &str = "admin-key";

pub(crate) fn config(store: &Path) -> Config {
    Config {
        store: Some(store.to_owned()),
        keys: [
            ("vera", Role::Viewer, VIEWER),
            ("anna", Role::Analyst, ANALYST),
            ("ada", Role::Admin, ADMIN),
        ]
        .into_iter()
        .map(|(name, role, key)| ApiKey {
            name: name.into(),
            role,
            sha256: key_hash(key),
            municipality: None,
        })
        .collect(),
        ..Config::default()
    }
}

/// A private copy of the shared demo store (the API writes its audit log).
pub(crate) fn store_copy(dir: &Path) -> PathBuf {
    let path = dir.join("api.gpkg");
    std::fs::copy(demo_store(), &path).expect("copy store");
    path
}

/// The shared API state over one copy of the demo store.
fn shared() -> &'static (tempfile::TempDir, AppState) {
    static STATE: OnceLock<(tempfile::TempDir, AppState)> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = store_copy(dir.path());
        let state = AppState::open(&path, config(&path)).expect("state");
        (dir, state)
    })
}

/// The state every in-process test shares.
pub(crate) fn shared_state() -> AppState {
    shared().1.clone()
}

fn app() -> Router {
    router(shared().1.clone())
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn error_field(&self) -> Option<String> {
        let j = self.json();
        assert!(j["error"]["code"].is_string(), "error shape: {j}");
        assert!(j["error"]["message"].is_string(), "error shape: {j}");
        j["error"]["field"].as_str().map(str::to_owned)
    }
}

pub(crate) async fn call(
    app: Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Body,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// A GET through the router of `state`.
pub(crate) async fn get_at(state: &AppState, uri: &str, key: &str) -> Answer {
    call(
        router(state.clone()),
        "GET",
        uri,
        Some(key),
        Body::empty(),
        &[],
    )
    .await
}

pub(crate) async fn get(uri: &str, key: Option<&str>) -> Answer {
    call(app(), "GET", uri, key, Body::empty(), &[]).await
}

/// A POST of a JSON body through the shared router.
pub(crate) async fn post(uri: &str, key: Option<&str>, body: &str) -> Answer {
    call(
        app(),
        "POST",
        uri,
        key,
        Body::from(body.to_owned()),
        &[("content-type", "application/json")],
    )
    .await
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn python() -> PathBuf {
    std::env::var_os("TRYGG_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

/// An export read by openpyxl or pyarrow (tests/reference/read_export.py).
pub(crate) fn read_export(kind: &str, bytes: &[u8]) -> Value {
    let file = tempfile::Builder::new()
        .suffix(&format!(".{kind}"))
        .tempfile()
        .expect("temp");
    std::fs::write(file.path(), bytes).expect("write");
    let out = Command::new(python())
        .arg(repo().join("tests/reference/read_export.py"))
        .args([kind, file.path().to_str().expect("path")])
        .output()
        .expect("python runs (./dev setup installs openpyxl and pyarrow into .venv)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A GeoPackage export read by GDAL.
fn ogrinfo(bytes: &[u8], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.gpkg");
    std::fs::write(&path, bytes).expect("write");
    let out = Command::new("ogrinfo")
        .args(["-ro"])
        .arg(&path)
        .args(args)
        .output()
        .expect("ogrinfo runs (./dev setup installs gdal-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const COUNTS: &str =
    "/api/v1/query/counts?period=2024-Q1&layer=stadsdel&source=crimes&category=robbery";

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_each_role_as_its_rights_say() {
    let polygon = r#"{"geometry":{"type":"Polygon","coordinates":[[[18.03,59.32],[18.09,59.32],[18.09,59.35],[18.03,59.35],[18.03,59.32]]]},"period":"2024-Q1"}"#;
    // (method, uri, body, lowest role that may)
    let routes: Vec<(&str, &str, &str, Role)> = vec![
        ("GET", "/api/v1/meta", "", Role::Viewer),
        ("GET", "/api/v1/layers", "", Role::Viewer),
        ("GET", "/api/v1/layers/stadsdelsomrade_2023?simplify=50", "", Role::Viewer),
        ("GET", COUNTS, "", Role::Viewer),
        ("GET", "/api/v1/query/table?from=2024-01-01&to=2024-03-31&window=month&layer=stadsdelsomrade_2023", "", Role::Viewer),
        ("POST", "/api/v1/query/polygon", polygon, Role::Viewer),
        ("POST", "/api/v1/charts/trend.svg", polygon, Role::Viewer),
        ("GET", "/api/v1/query/hotspots?from=2024-01-01&to=2024-03-31&grid=500", "", Role::Viewer),
        ("GET", "/api/v1/query/emerging?slices=10&grid=1000", "", Role::Viewer),
        ("GET", "/api/v1/query/change?from=2024-04-01&to=2024-06-30&before_from=2024-01-01&before_to=2024-03-31&grid=1000", "", Role::Viewer),
        ("GET", "/api/v1/query/survey?layer=stadsdelsomrade_2023", "", Role::Viewer),
        ("GET", "/api/v1/query/matrix?from=2024-01-01&to=2024-03-31", "", Role::Viewer),
        ("GET", "/api/v1/query/trend?from=2023-07-01&to=2024-06-30", "", Role::Viewer),
        ("GET", "/api/v1/events?from=2024-03-01&to=2024-03-02&limit=5", "", Role::Analyst),
        ("GET", "/api/v1/events?from=2024-03-01&to=2024-03-02&format=csv", "", Role::Analyst),
        ("GET", "/api/v1/admin/batches", "", Role::Admin),
        ("GET", "/api/v1/admin/batches/1/rejections", "", Role::Admin),
        ("GET", "/api/v1/admin/audit?limit=5", "", Role::Admin),
    ];
    for (method, uri, body, needs) in routes {
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("content-type", "application/json")]
        };
        let none = call(
            app(),
            method,
            uri,
            None,
            Body::from(body.to_owned()),
            headers,
        )
        .await;
        assert_eq!(
            none.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} without a key"
        );
        none.error_field();
        let wrong = call(
            app(),
            method,
            uri,
            Some("not-a-key"),
            Body::from(body.to_owned()),
            headers,
        )
        .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with a wrong key"
        );
        for (key, role) in [
            (VIEWER, Role::Viewer),
            (ANALYST, Role::Analyst),
            (ADMIN, Role::Admin),
        ] {
            let a = call(
                app(),
                method,
                uri,
                Some(key),
                Body::from(body.to_owned()),
                headers,
            )
            .await;
            if role.can(needs) {
                assert_eq!(
                    a.status,
                    StatusCode::OK,
                    "{method} {uri} as {role:?}: {}",
                    a.text()
                );
            } else {
                assert_eq!(
                    a.status,
                    StatusCode::FORBIDDEN,
                    "{method} {uri} as {role:?}"
                );
                a.error_field();
            }
        }
    }
    for open in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/docs",
        "/",
    ] {
        assert_eq!(get(open, None).await.status, StatusCode::OK, "{open}");
    }
}

/// Every published count of a result in `format`, as text (`"<5"` or a number).
fn published_counts(format: &str, a: &Answer) -> Vec<String> {
    let count_cols = ["count", "previous_count", "year_earlier_count"];
    match format {
        "json" => a.json()["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .flat_map(|r| {
                count_cols.map(|c| match &r[c] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
            })
            .collect(),
        "geojson" => a.json()["features"]
            .as_array()
            .expect("features")
            .iter()
            .flat_map(|f| {
                count_cols.map(|c| match &f["properties"][c] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
            })
            .collect(),
        "csv" | "excel" => {
            let text = a.text();
            let delimiter = if format == "excel" { b';' } else { b',' };
            let mut r = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            let header: Vec<String> = r
                .headers()
                .expect("header")
                .iter()
                .map(str::to_owned)
                .collect();
            let idx: Vec<usize> = count_cols
                .iter()
                .map(|c| header.iter().position(|h| h == c).expect("count column"))
                .collect();
            r.records()
                .flat_map(|rec| {
                    let rec = rec.expect("row");
                    idx.iter().map(|&i| rec[i].to_owned()).collect::<Vec<_>>()
                })
                .collect()
        }
        "xlsx" => {
            let x = read_export("xlsx", &a.body);
            let header: Vec<String> = x["header"]
                .as_array()
                .expect("header")
                .iter()
                .map(|h| h.as_str().unwrap_or("").to_owned())
                .collect();
            let idx: Vec<usize> = count_cols
                .iter()
                .map(|c| header.iter().position(|h| h == c).expect("col"))
                .collect();
            x["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .flat_map(|r| {
                    idx.iter()
                        .map(|&i| match &r[i] {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n
                                .as_f64()
                                .map_or_else(String::new, |f| format!("{}", f as i64)),
                            v => v.to_string(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        "parquet" => {
            let p = read_export("parquet", &a.body);
            count_cols
                .iter()
                .flat_map(|c| {
                    p["data"][c]
                        .as_array()
                        .expect("column")
                        .iter()
                        .map(|v| match v {
                            Value::Null => "<suppressed>".to_owned(),
                            v => v.to_string(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        "gpkg" => {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("x.gpkg");
            std::fs::write(&path, &a.body).expect("write");
            let conn = rusqlite::Connection::open(&path).expect("open");
            let mut stmt = conn
                .prepare("SELECT count, previous_count, year_earlier_count FROM counts")
                .expect("sql");
            let rows = stmt
                .query_map([], |r| {
                    Ok([r.get::<_, Option<i64>>(0)?, r.get(1)?, r.get(2)?])
                })
                .expect("query");
            rows.flat_map(|r| {
                r.expect("row")
                    .map(|v| v.map_or("<suppressed>".to_owned(), |n| n.to_string()))
            })
            .collect()
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_never_read_a_small_count_in_any_format() {
    let mut small_seen_by_analyst = false;
    for format in ["json", "csv", "excel", "geojson", "xlsx", "gpkg", "parquet"] {
        let uri = format!("{COUNTS}&format={format}");
        let viewer = get(&uri, Some(VIEWER)).await;
        assert_eq!(viewer.status, StatusCode::OK, "{format}: {}", viewer.text());
        let counts = published_counts(format, &viewer);
        assert!(!counts.is_empty(), "{format}");
        let mut suppressed = 0;
        for c in &counts {
            match c.parse::<i64>() {
                Ok(n) => assert!(n >= 5, "{format}: a viewer reads the count {n}"),
                Err(_) => {
                    assert!(c == "<5" || c == "<suppressed>", "{format}: {c}");
                    suppressed += 1;
                }
            }
        }
        assert!(
            suppressed > 0,
            "{format}: robbery per stadsdel in one quarter has small counts"
        );
        // A viewer asking for no suppression (or less) still gets the threshold.
        let asked = get(&format!("{uri}&suppress=1"), Some(VIEWER)).await;
        assert_eq!(
            published_counts(format, &asked),
            counts,
            "{format}: suppress=1 as viewer"
        );
        let analyst = get(&uri, Some(ANALYST)).await;
        small_seen_by_analyst |= published_counts(format, &analyst)
            .iter()
            .any(|c| c.parse::<i64>().is_ok_and(|n| n < 5));
    }
    assert!(
        small_seen_by_analyst,
        "the analyst's unsuppressed answer has small counts, so the test can fail"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_gives_the_cli_numbers() {
    for (api, cli) in [
        (
            "/api/v1/query/counts?period=2024-Q1&layer=stadsdelsomrade_2023&source=crimes&suppress=5",
            vec!["counts", "--period", "2024-Q1", "--layer", "stadsdelsomrade_2023", "--source", "crimes", "--suppress", "5"],
        ),
        (
            "/api/v1/query/matrix?from=2024-01-01&to=2024-03-31&category=violence",
            vec!["matrix", "--from", "2024-01-01", "--to", "2024-03-31", "--category", "violence"],
        ),
        (
            "/api/v1/query/hotspots?from=2024-01-01&to=2024-06-30&grid=500",
            vec!["hotspots", "--from", "2024-01-01", "--to", "2024-06-30", "--grid", "500"],
        ),
    ] {
        let a = get(api, Some(ANALYST)).await;
        assert_eq!(a.status, StatusCode::OK, "{api}: {}", a.text());
        let store = shared().1.live.path().to_str().expect("path").to_owned();
        let mut args = vec!["query"];
        args.extend(cli.iter().copied());
        args.extend(["--store", &store, "--format", "json"]);
        let out = run(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cli: Value = serde_json::from_slice(&out.stdout).expect("cli json");
        let mut api_json = a.json();
        // The same request, the same data: the same answer, field for field.
        api_json["request"] = Value::Null;
        let mut cli = cli;
        cli["request"] = Value::Null;
        assert_eq!(api_json, cli, "{api}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_open_in_independent_readers_and_name_the_synthetic_data() {
    let uri = "/api/v1/query/counts?period=2024-Q1&layer=stadsdelsomrade_2023";
    let json = get(uri, Some(ANALYST)).await.json();
    let rows = json["rows"].as_array().expect("rows").len();

    let x = get(&format!("{uri}&format=xlsx"), Some(ANALYST)).await;
    assert_eq!(
        x.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(x.headers["content-disposition"]
        .to_str()
        .expect("text")
        .contains(".xlsx"));
    let book = read_export("xlsx", &x.body);
    assert_eq!(book["sheets"], serde_json::json!(["Data", "Parametrar"]));
    assert_eq!(book["rows"].as_array().expect("rows").len(), rows);
    let header: Vec<&str> = book["header"]
        .as_array()
        .expect("h")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let count = header
        .iter()
        .position(|h| *h == "count")
        .expect("count column");
    assert!(
        book["types"]
            .as_array()
            .expect("types")
            .iter()
            .all(|t| t[count] == "int" || t[count] == "float"),
        "typed numbers: {}",
        book["types"]
    );
    assert_eq!(book["parameters"]["synthetic"], "true");
    assert!(book["parameters"]["notice"]
        .as_str()
        .expect("notice")
        .contains("SYNTHETIC"));
    assert_eq!(book["parameters"]["parameter.period"], "2024-Q1");

    let g = get(&format!("{uri}&format=gpkg"), Some(ANALYST)).await;
    let listed = ogrinfo(&g.body, &["-q"]);
    assert!(listed.contains("counts (Multi Polygon)"), "{listed}");
    let summary = ogrinfo(&g.body, &["-so", "counts"]);
    assert!(
        summary.contains(&format!("Feature Count: {rows}")),
        "{summary}"
    );
    assert!(summary.contains("WGS 84"), "{summary}");
    let info = ogrinfo(
        &g.body,
        &[
            "-sql",
            "SELECT value FROM export_info WHERE key = 'synthetic'",
        ],
    );
    assert!(info.contains("value (String) = true"), "{info}");

    let p = get(&format!("{uri}&format=parquet"), Some(ANALYST)).await;
    let table = read_export("parquet", &p.body);
    assert_eq!(table["rows"], rows);
    assert!(table["columns"]
        .as_array()
        .expect("c")
        .contains(&Value::from("geometry")));
    let geo: Value = serde_json::from_str(table["metadata"]["geo"].as_str().expect("geo metadata"))
        .expect("json");
    assert_eq!(geo["primary_column"], "geometry");
    let trygg: Value =
        serde_json::from_str(table["metadata"]["trygg"].as_str().expect("provenance"))
            .expect("json");
    assert_eq!(trygg["synthetic"], "true");

    // Events, streamed: every format holds the same events.
    let ev = "/api/v1/events?from=2024-02-01&to=2024-02-07&source=crimes";
    let csv = get(&format!("{ev}&format=csv"), Some(ANALYST)).await.text();
    let csv_rows = csv.lines().count() - 1;
    assert!(csv_rows > 10, "{csv_rows}");
    assert!(csv
        .lines()
        .nth(1)
        .expect("row")
        .ends_with("SYNTHETIC DEMO DATA"));
    let parquet = read_export(
        "parquet",
        &get(&format!("{ev}&format=parquet"), Some(ANALYST))
            .await
            .body,
    );
    assert_eq!(parquet["rows"], csv_rows);
    let gpkg = get(&format!("{ev}&format=gpkg"), Some(ANALYST)).await;
    assert!(ogrinfo(&gpkg.body, &["-so", "events"]).contains(&format!("Feature Count: {csv_rows}")));
    let geojson = get(&format!("{ev}&format=geojson"), Some(ANALYST))
        .await
        .json();
    assert_eq!(
        geojson["features"].as_array().expect("features").len(),
        csv_rows
    );
    assert_eq!(geojson["synthetic"], true);
    let xlsx = read_export(
        "xlsx",
        &get(&format!("{ev}&format=xlsx"), Some(ANALYST)).await.body,
    );
    assert_eq!(xlsx["rows"].as_array().expect("rows").len(), csv_rows);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_have_one_shape_and_name_the_parameter() {
    for (uri, field, status) in [
        (
            "/api/v1/query/counts?period=2024-W54",
            "period",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/query/counts?period=2024&colour=red",
            "colour",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/query/counts?period=2024&suppress=0",
            "suppress",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/query/counts?period=2024&format=docx",
            "format",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/query/counts?period=2024&layer=nowhere",
            "layer",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/query/hotspots?grid=1",
            "grid",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/query/hotspots?h3=300",
            "h3",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/events?bbox=1,2,3", "bbox", StatusCode::BAD_REQUEST),
        (
            "/api/v1/events?cursor=nonsense",
            "cursor",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/events?limit=100000",
            "limit",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/layers/stadsdel?simplify=-1",
            "simplify",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/admin/batches/x/rejections",
            "id",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/admin/batches/999999/rejections",
            "id",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let a = get(uri, Some(ADMIN)).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
        assert_eq!(a.error_field().as_deref(), Some(field), "{uri}");
    }
    let missing = get("/api/v1/nothing", Some(ADMIN)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.error_field();
    let method = call(
        app(),
        "DELETE",
        "/api/v1/meta",
        Some(ADMIN),
        Body::empty(),
        &[],
    )
    .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    method.error_field();
    let body = call(
        app(),
        "POST",
        "/api/v1/query/polygon",
        Some(ADMIN),
        Body::from("{\"period\": 2024}"),
        &[],
    )
    .await;
    assert_eq!(body.error_field().as_deref(), Some("period"));
    let huge = vec![b' '; 3 << 20];
    let big = call(
        app(),
        "POST",
        "/api/v1/query/polygon",
        Some(ADMIN),
        Body::from(huge),
        &[],
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    big.error_field();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let mut c = config(&path);
    c.limits.heavy_concurrency = 1;
    c.limits.queue_wait_ms = 50;
    let state = AppState::open(&path, c).expect("state");
    let held = state.heavy.clone().acquire_owned().await.expect("permit");
    let busy = get_at(&state, COUNTS, VIEWER).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.headers["retry-after"], "1");
    busy.error_field();
    drop(held);
    let ok = get_at(&state, COUNTS, VIEWER).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn etags_give_304_until_the_data_or_the_role_changes() {
    let a = get(COUNTS, Some(VIEWER)).await;
    let tag = a.headers["etag"].to_str().expect("etag").to_owned();
    let again = call(
        app(),
        "GET",
        COUNTS,
        Some(VIEWER),
        Body::empty(),
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let analyst = call(
        app(),
        "GET",
        COUNTS,
        Some(ANALYST),
        Body::empty(),
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(
        analyst.status,
        StatusCode::OK,
        "another role gets another answer"
    );
    let metrics = get("/metrics", None).await.text();
    assert!(metrics.contains("trygg_cache_hits_total "), "{metrics}");
    assert!(metrics.contains("trygg_http_requests_total{method=\"GET\",route=\"/api/v1/query/counts\",status=\"304\"}"), "{metrics}");
    assert!(metrics.contains("trygg_snapshot_version "), "{metrics}");
}

/// Regression: a bbox in WGS 84 was matched as its SWEREF 99 TM envelope, so
/// events up to ~100 m outside the box came back (the web map's "events in the
/// view" export held points outside the view).
#[tokio::test(flavor = "multi_thread")]
async fn events_in_a_bbox_are_exactly_the_events_inside_it() {
    let base = "/api/v1/events?from=2024-01-01&to=2024-06-30&limit=10000";
    let all = get(base, Some(ANALYST)).await.json();
    let coords = |v: &Value| -> Vec<(f64, f64)> {
        v["events"]
            .as_array()
            .expect("events")
            .iter()
            // A bbox keeps events placed at a point (not at an area's centre).
            .filter(|e| {
                matches!(
                    e["precision"].as_str(),
                    Some("exact" | "address" | "street")
                )
            })
            .filter_map(|e| Some((e["lon"].as_f64()?, e["lat"].as_f64()?)))
            .collect()
    };
    let everywhere = coords(&all);
    // Boxes of a few hundred metres in the centre, edges not on round numbers.
    for [w, s, e, n] in [
        [18.05123, 59.31077, 18.08911, 59.32031],
        [18.02, 59.33, 18.0713, 59.3421],
        [17.99, 59.28, 18.1, 59.3],
    ] {
        let inside: Vec<(f64, f64)> = coords(
            &get(&format!("{base}&bbox={w},{s},{e},{n}"), Some(ANALYST))
                .await
                .json(),
        );
        assert!(!inside.is_empty());
        for (x, y) in &inside {
            assert!(
                (w..=e).contains(x) && (s..=n).contains(y),
                "({x}, {y}) outside {w},{s},{e},{n}"
            );
        }
        let want = everywhere
            .iter()
            .filter(|(x, y)| (w..=e).contains(x) && (s..=n).contains(y))
            .count();
        assert_eq!(inside.len(), want);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_page_by_cursor_hide_sensitive_categories_and_are_audited() {
    let base = "/api/v1/events?from=2024-03-01&to=2024-03-08";
    let all = get(&format!("{base}&format=csv"), Some(ANALYST))
        .await
        .text();
    let total = all.lines().count() - 1;
    assert!(
        all.lines().skip(1).all(|l| !l.contains(",sexual,")),
        "no sexual offences as points"
    );
    assert!(
        !all.to_lowercase().contains("bekant med offret"),
        "no violence in close relationships as points"
    );
    let mut cursor: Option<String> = None;
    let mut paged = 0;
    loop {
        let uri = match &cursor {
            Some(c) => format!("{base}&limit=100&cursor={c}"),
            None => format!("{base}&limit=100"),
        };
        let page = get(&uri, Some(ANALYST)).await.json();
        paged += page["events"].as_array().expect("events").len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, total);
    let audit = get("/api/v1/admin/audit?limit=500", Some(ADMIN))
        .await
        .json();
    let entries = audit["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["who"] == "anna" && e["action"] == "export" && e["rows"] == total),
        "{audit}"
    );
    assert!(entries
        .iter()
        .any(|e| e["who"] == "anna" && e["action"] == "events"));
}

pub(crate) fn multipart(source: &str, file: &Path) -> (String, Vec<u8>) {
    let boundary = "trygg-test-boundary";
    let mut body = Vec::new();
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\n{source}\r\n"
    )
    .expect("write");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").expect("write");
    body.extend(std::fs::read(file).expect("read"));
    write!(body, "\r\n--{boundary}--\r\n").expect("write");
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST /api/v1/admin/ingest` of a multipart body (from [`multipart`]) as `key`.
pub(crate) async fn upload(
    state: &AppState,
    key: &str,
    (ctype, body): &(String, Vec<u8>),
) -> Answer {
    call(
        router(state.clone()),
        "POST",
        "/api/v1/admin/ingest",
        Some(key),
        Body::from(body.clone()),
        &[("content-type", ctype)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_uploaded_batch_is_visible_at_once_and_can_be_reverted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let state = AppState::open(&path, config(&path)).expect("state");
    let before = state.live.current().view().len();
    let form = multipart("police-events", &fixture("polisen-events-sample.json"));
    let viewer = upload(&state, ANALYST, &form).await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let a = upload(&state, ADMIN, &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let report = a.json();
    assert_eq!(report["landed"], true);
    assert!(report["accepted"].as_u64().expect("accepted") > 0);
    assert_eq!(report["files"][0]["file"], "polisen-events-sample.json");
    let after = state.live.current().view().len();
    assert_eq!(
        after as u64,
        before as u64 + report["accepted"].as_u64().expect("n")
    );
    // Again: nothing new (idempotent), still a landed batch of duplicates.
    let again = upload(&state, ADMIN, &form).await;
    assert_eq!(again.json()["accepted"], 0);
    let batch = report["batch_id"].as_i64().expect("batch");
    let r = call(
        router(state.clone()),
        "POST",
        &format!("/api/v1/admin/batches/{batch}/revert"),
        Some(ADMIN),
        Body::empty(),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(state.live.current().view().len(), before);
    let twice = call(
        router(state.clone()),
        "POST",
        &format!("/api/v1/admin/batches/{batch}/revert"),
        Some(ADMIN),
        Body::empty(),
        &[],
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    // A file nothing can be read from: 422 and the store unchanged.
    let junk = crate::support::write(dir.path(), "junk.json", "this is not json");
    let form = multipart("police-events", &junk);
    let bad = upload(&state, ADMIN, &form).await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad.text()
    );
    assert_eq!(bad.json()["landed"], false);
    assert_eq!(state.live.current().view().len(), before);
    let audit = get_at(&state, "/api/v1/admin/audit", ADMIN).await.json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("e")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"ingest") && actions.contains(&"revert"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_during_another_process_ingest_are_from_one_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let state = AppState::open(&path, config(&path)).expect("state");
    let total = |j: &Value| -> (u64, u64) {
        let rows = j["rows"].as_array().expect("rows");
        let city = rows.last().expect("municipality");
        (
            j["data"]["version"].as_u64().expect("v"),
            city["count"].as_u64().expect("count"),
        )
    };
    let uri = "/api/v1/query/counts?period=2024-02&layer=stadsdel&source=police-events";
    let (v0, n0) = total(&get_at(&state, uri, ANALYST).await.json());
    let mut child = crate::support::trygg()
        .args(["ingest", "--json", "--source", "police-events", "--store"])
        .arg(&path)
        .arg(fixture("polisen-events-sample.json"))
        .stdout(Stdio::null())
        .spawn()
        .expect("ingest");
    let refresher = {
        let s = state.clone();
        std::thread::spawn(move || {
            for _ in 0..400 {
                let _ = s.refresh();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let (v, n) = total(&get_at(&state, uri, ANALYST).await.json());
        assert_eq!(*seen.entry(v).or_insert(n), n, "one version, one answer");
        if v > v0 && child.try_wait().expect("wait").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(child.wait().expect("ingest").success());
    refresher.join().expect("refresher");
    let (v1, n1) = total(&get_at(&state, uri, ANALYST).await.json());
    assert!(
        v1 > v0,
        "the other process's batch is visible without a restart"
    );
    assert!(n1 > n0, "February 2024 police events arrived: {n0} -> {n1}");
    assert!(
        seen.keys().all(|v| *v == v0 || *v == v1),
        "only the old and the new state: {seen:?}"
    );
}

/// `trygg serve` on an ephemeral port: (child, base URL).
pub(crate) fn serve(
    store: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut child = crate::support::trygg()
        .args(["serve", "--addr", "127.0.0.1:0", "--store"])
        .arg(store)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (child, url)
}

pub(crate) fn http_get(url: &str, path: &str) -> String {
    http_request(url, "GET", path)
}

/// `METHOD path` with no body on a running server: the whole answer as text.
pub(crate) fn http_request(url: &str, method: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn trygg_serve_answers_on_loopback_and_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let (mut child, url) = serve(&path, &["--log-json"], &[]);
    let health = http_get(&url, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let meta = http_get(&url, "/api/v1/meta");
    assert!(meta.contains("\"synthetic\":true"), "{meta}");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

#[test]
fn a_fuzz_run_from_the_openapi_document_finds_no_server_error_and_no_answer_off_its_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let keys = format!("fuzz:admin:{}", key_hash(ADMIN));
    let (mut child, url) = serve(&path, &[], &[("TRYGG_API_KEYS", &keys)]);
    let schemathesis = python().with_file_name("schemathesis");
    let out = Command::new(&schemathesis)
        .args(["run", &format!("{url}/api/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--seed",
            "1",
        ])
        .args([
            "--exclude-path",
            "/api/v1/admin/ingest",
            "--exclude-path-regex",
            "revert",
        ])
        .args(["--header", &format!("Authorization: Bearer {ADMIN}")])
        .output()
        .expect("schemathesis runs (./dev setup installs it into .venv)");
    let _ = child.kill();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
