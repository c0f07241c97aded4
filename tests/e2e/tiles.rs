//! Map tiles through the router: every layer decoded by an independent decoder
//! (mapbox-vector-tile for MVT, Pillow for PNG) and compared with the API's
//! numbers for the same cells, areas and filters; positions back-projected with
//! the slippy-map formulas written here; suppression for viewers; edges of the
//! pyramid; gzip; the size guard; invalidation when a batch lands.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::Value;
use trygg_server::{router, AppState};

use crate::api::{
    call, config, get, get_at, multipart, read_export, store_copy, upload, Answer, ADMIN, ANALYST,
    VIEWER,
};

/// Tile pixel of a WGS 84 point (the slippy-map formulas, written here apart
/// from `trygg-tiles`).
fn tile_pixel(z: u32, x: u32, y: u32, lon: f64, lat: f64) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let wx = (lon + 180.0) / 360.0 * n;
    let r = lat.to_radians();
    let wy = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    ((wx - f64::from(x)) * 4096.0, (wy - f64::from(y)) * 4096.0)
}

fn decoded(a: &Answer) -> Value {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    read_export("mvt", &a.body)
}

/// Central Stockholm at zoom 12 (18.0686 E, 59.3293 N).
const TILE: (u32, u32, u32) = (12, 2253, 1204);

#[tokio::test(flavor = "multi_thread")]
async fn grid_tiles_hold_the_api_counts_of_their_cells_at_their_positions() {
    let (z, x, y) = TILE;
    let filters = "from=2024-01-01&to=2024-03-31&source=crimes";
    let tile = decoded(
        &get(
            &format!("/tiles/grid/{z}/{x}/{y}.mvt?{filters}"),
            Some(ANALYST),
        )
        .await,
    );
    let features = tile["grid"]["features"].as_array().expect("grid layer");
    assert!(features.len() > 50, "{}", features.len());
    // The API's counts of the same 250 m cells (zoom 12's size), with geometry.
    let api = get(
        "/api/v1/query/counts?period=2024-01-01..2024-03-31&layer=grid:250&source=crimes&format=geojson",
        Some(ANALYST),
    )
    .await
    .json();
    let by_cell: std::collections::HashMap<String, &Value> = api["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"]["area_code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                f,
            )
        })
        .collect();
    let mut checked = 0;
    for f in features {
        let id = f["properties"]["cell_id"].as_str().expect("cell_id");
        let cell = by_cell
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the API's cells"));
        assert_eq!(
            f["properties"]["count"], cell["properties"]["count"],
            "{id}"
        );
        // Every corner of the tile's square is within a pixel of the API's cell
        // corner (where it is not cut at the tile's buffered edge).
        let ring = f["geometry"]["coordinates"][0].as_array().expect("ring");
        let corners = outer(&cell["geometry"]);
        for p in ring {
            let (px, py) = (p[0].as_f64().expect("x"), p[1].as_f64().expect("y"));
            if px <= -64.0 || px >= 4160.0 || py <= -64.0 || py >= 4160.0 {
                continue;
            }
            let near = corners.iter().any(|c| {
                let (ex, ey) = tile_pixel(
                    z,
                    x,
                    y,
                    c[0].as_f64().unwrap_or(0.0),
                    c[1].as_f64().unwrap_or(0.0),
                );
                (ex - px).abs() <= 1.0 && (ey - py).abs() <= 1.0
            });
            assert!(near, "{id}: ({px}, {py}) is no corner of the API's cell");
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked}");
    // Viewers: no drawn cell below the threshold; the analyst's tile has some.
    let viewer = decoded(
        &get(
            &format!("/tiles/grid/{z}/{x}/{y}.mvt?{filters}"),
            Some(VIEWER),
        )
        .await,
    );
    let counts = |t: &Value| -> Vec<i64> {
        t["grid"]["features"].as_array().map_or_else(Vec::new, |f| {
            f.iter()
                .filter_map(|f| f["properties"]["count"].as_i64())
                .collect()
        })
    };
    assert!(
        counts(&viewer).iter().all(|&c| c >= 5),
        "{:?}",
        counts(&viewer)
    );
    assert!(
        counts(&tile).iter().any(|&c| c < 5),
        "the analyst's tile has small cells, so the test can fail"
    );
    assert!(counts(&viewer).len() < counts(&tile).len());
}

#[tokio::test(flavor = "multi_thread")]
async fn event_tiles_are_for_analysts_from_their_zoom_with_sensitive_categories_only_close_up() {
    let filters = "from=2024-01-01&to=2024-06-30";
    // Zoom 14 tile of central Stockholm (Norrmalm/Gamla stan).
    let (z, x, y) = (14u32, 9014u32, 4817u32);
    assert_eq!(
        get(
            &format!("/tiles/events/{z}/{x}/{y}.mvt?{filters}"),
            Some(VIEWER)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let tile = decoded(
        &get(
            &format!("/tiles/events/{z}/{x}/{y}.mvt?{filters}"),
            Some(ANALYST),
        )
        .await,
    );
    let points = tile["events"]["features"].as_array().expect("events layer");
    assert!(points.len() > 20, "{}", points.len());
    assert!(points
        .iter()
        .all(|p| p["properties"]["category_norm"] != "sexual"));
    assert!(points.iter().all(|p| matches!(
        p["properties"]["precision"].as_str(),
        Some("exact" | "address" | "street")
    )));
    // The same events through the API, by the tile's bounds: as many, at their pixels.
    let lon = |px: f64| (f64::from(x) + px / 4096.0) / f64::from(1u32 << z) * 360.0 - 180.0;
    let lat = |py: f64| {
        let n = std::f64::consts::PI
            * (1.0 - 2.0 * (f64::from(y) + py / 4096.0) / f64::from(1u32 << z));
        n.sinh().atan().to_degrees()
    };
    let bbox = format!("{},{},{},{}", lon(0.0), lat(4096.0), lon(4096.0), lat(0.0));
    let api = get(
        &format!("/api/v1/events?{filters}&bbox={bbox}&limit=10000"),
        Some(ANALYST),
    )
    .await
    .json();
    let events = api["events"].as_array().expect("events");
    let inside: Vec<&Value> = points
        .iter()
        .filter(|p| {
            let c = &p["geometry"]["coordinates"];
            let (px, py) = (c[0].as_f64().unwrap_or(-1.0), c[1].as_f64().unwrap_or(-1.0));
            (0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py)
        })
        .collect();
    let in_api = events.iter().filter(|e| {
        let (px, py) = tile_pixel(
            z,
            x,
            y,
            e["lon"].as_f64().unwrap_or(0.0),
            e["lat"].as_f64().unwrap_or(0.0),
        );
        (0.5..4095.5).contains(&px) && (0.5..4095.5).contains(&py)
    });
    let n_api = in_api.clone().count();
    assert!(
        (inside.len() as i64 - n_api as i64).abs() <= 2,
        "tile {} vs API {n_api}",
        inside.len()
    );
    for e in in_api.take(50) {
        let (ex, ey) = tile_pixel(
            z,
            x,
            y,
            e["lon"].as_f64().unwrap_or(0.0),
            e["lat"].as_f64().unwrap_or(0.0),
        );
        assert!(
            points.iter().any(|p| {
                let c = &p["geometry"]["coordinates"];
                (c[0].as_f64().unwrap_or(-1e9) - ex).abs() <= 1.0
                    && (c[1].as_f64().unwrap_or(-1e9) - ey).abs() <= 1.0
            }),
            "no point within a pixel of {e}"
        );
    }
    // Below the layer's zoom: an empty layer.
    let low = decoded(
        &get(
            &format!("/tiles/events/12/2253/1204.mvt?{filters}"),
            Some(ANALYST),
        )
        .await,
    );
    assert_eq!(low["events"]["features"].as_array().map_or(0, Vec::len), 0);
    // The sensitive categories appear only from `sensitive_min_zoom` (17): none
    // in the 16 zoom-16 tiles of this tile, some in its 64 zoom-17 tiles.
    let sexual = |t: &Value| {
        t["events"]["features"].as_array().map_or(0, |f| {
            f.iter()
                .filter(|p| p["properties"]["category_norm"] == "sexual")
                .count()
        })
    };
    for (zoom, expect_some) in [(16u32, false), (17, true)] {
        let k = 1u32 << (zoom - z);
        let mut n = 0;
        for dx in 0..k {
            for dy in 0..k {
                let uri = format!(
                    "/tiles/events/{zoom}/{}/{}.mvt?{filters}",
                    x * k + dx,
                    y * k + dy
                );
                n += sexual(&decoded(&get(&uri, Some(ANALYST)).await));
            }
        }
        assert_eq!(n > 0, expect_some, "zoom {zoom}: {n} sensitive points");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tiles_at_the_edges_of_the_pyramid_and_the_world_are_cheap_empty_answers() {
    for (uri, expect_features) in [
        ("/tiles/grid/0/0/0.mvt", true),
        ("/tiles/grid/3/7/2.mvt", false), // antimeridian, north-east
        ("/tiles/grid/5/0/15.mvt", false), // antimeridian, west
        ("/tiles/grid/8/30/100.mvt", false), // the Atlantic
        ("/tiles/grid/22/2307000/1233000.mvt", false), // z22, outside the data
        ("/tiles/grid/23/0/0.mvt", false), // beyond the pyramid
        ("/tiles/grid/3/9/0.mvt", false), // x beyond 2^z
    ] {
        let a = get(uri, Some(ANALYST)).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        let t = read_export("mvt", &a.body);
        let n = t["grid"]["features"].as_array().map_or(0, Vec::len);
        assert_eq!(n > 0, expect_features, "{uri}: {n}");
    }
    for (uri, field) in [
        ("/tiles/grid/x/0/0.mvt", "z"),
        ("/tiles/grid/1/0/0.png", "y"),
        ("/tiles/grid/12/2253/1204.mvt?hours=99", "hours"),
        ("/tiles/grid/12/2253/1204.mvt?cell=1", "cell"),
        ("/tiles/rivers/1/0/0.mvt", "layer"),
    ] {
        let a = get(uri, Some(ANALYST)).await;
        assert!(a.status.is_client_error(), "{uri}: {}", a.status);
        assert_eq!(a.error_field().as_deref(), Some(field), "{uri}");
    }
    let tj = get("/tiles/grid/tilejson.json?source=crimes", Some(VIEWER))
        .await
        .json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert!(tj["tiles"][0]
        .as_str()
        .expect("url")
        .ends_with("/tiles/grid/{z}/{x}/{y}.mvt?source=crimes"));
    assert_eq!(tj["vector_layers"][0]["id"], "grid");
    assert_eq!(tj["suppression"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tile_changes_with_the_batch_that_lands_and_its_etag_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = store_copy(dir.path());
    let state = AppState::open(&path, config(&path)).expect("state");
    let (z, x, y) = TILE;
    let uri = format!("/tiles/grid/{z}/{x}/{y}.mvt?from=2024-01-01&to=2024-12-31&source=crimes");
    let total = |a: &Answer| -> i64 {
        read_export("mvt", &a.body)["grid"]["features"]
            .as_array()
            .map_or(0, |f| {
                f.iter()
                    .filter_map(|f| f["properties"]["count"].as_i64())
                    .sum()
            })
    };
    let before = get_at(&state, &uri, ANALYST).await;
    let tag = before.headers["etag"].to_str().expect("etag").to_owned();
    let cached = call(
        router(state.clone()),
        "GET",
        &uri,
        Some(ANALYST),
        Body::empty(),
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let csv = crate::support::write(
        dir.path(),
        "more.csv",
        &trygg_benches::crimes_csv(2_000, 77, "tile-"),
    );
    let form = multipart("crimes", &csv);
    let up = upload(&state, ADMIN, &form).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    let after = call(
        router(state.clone()),
        "GET",
        &uri,
        Some(ANALYST),
        Body::empty(),
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the old ETag no longer matches"
    );
    assert_ne!(after.headers["etag"], before.headers["etag"]);
    assert!(
        total(&after) > total(&before),
        "{} -> {}",
        total(&before),
        total(&after)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn area_tiles_carry_the_api_statistics_of_their_areas_with_the_same_suppression() {
    let q = "period=2024-Q1&layer=stadsdelsomrade_2023&category=robbery";
    for key in [VIEWER, ANALYST] {
        let api = get(&format!("/api/v1/query/counts?{q}"), Some(key))
            .await
            .json();
        let rows: std::collections::HashMap<String, &Value> = api["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| (r["area_code"].as_str().unwrap_or("").to_owned(), r))
            .collect();
        let tile = decoded(&get(&format!("/tiles/areas/9/281/150.mvt?{q}"), Some(key)).await);
        let features = tile["areas"]["features"].as_array().expect("areas layer");
        assert!(features.len() >= 5, "{}", features.len());
        let mut suppressed = 0;
        for f in features {
            let p = &f["properties"];
            let row = rows[p["area_code"].as_str().expect("code")];
            match (&p["count"], &p["count_text"]) {
                (Value::Number(n), Value::Null) => {
                    assert_eq!(row["count"], Value::Number(n.clone()))
                }
                (Value::Null, Value::String(t)) => {
                    assert_eq!(row["count"], Value::String(t.clone()));
                    assert!(p["rate_per_1000"].is_null() && p["ratio_vs_previous"].is_null());
                    suppressed += 1;
                }
                other => panic!("{other:?}"),
            }
            if key == VIEWER {
                assert!(p["count"].as_i64().is_none_or(|c| c >= 5), "{p}");
            }
            assert_eq!(
                f["geometry"]["type"]
                    .as_str()
                    .map(|t| t.ends_with("Polygon")),
                Some(true)
            );
        }
        if key == VIEWER {
            assert!(
                suppressed > 0,
                "robbery per stadsdelsområde in a quarter has small counts"
            );
        } else {
            assert_eq!(suppressed, 0);
        }
    }
}

/// Central Stockholm at zoom 13.
const TILE13: (u32, u32, u32) = (13, 4507, 2409);

/// The API's GeoJSON features by a property.
fn features_by(api: &Value, key: &str) -> std::collections::HashMap<String, Value> {
    api["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"][key].as_str().unwrap_or("").to_owned(),
                f.clone(),
            )
        })
        .collect()
}

/// The outer ring of a GeoJSON (Multi)Polygon.
fn outer(g: &Value) -> &Vec<Value> {
    let ring = if g["type"] == "MultiPolygon" {
        &g["coordinates"][0][0]
    } else {
        &g["coordinates"][0]
    };
    ring.as_array().expect("ring")
}

/// Ray casting: whether (lon, lat) is inside a ring of [lon, lat] pairs.
/// The outer rings of a GeoJSON Polygon or MultiPolygon.
fn outer_rings(g: &Value) -> Vec<&Vec<Value>> {
    if g["type"] == "MultiPolygon" {
        g["coordinates"]
            .as_array()
            .expect("polygons")
            .iter()
            .map(|p| p[0].as_array().expect("ring"))
            .collect()
    } else {
        vec![g["coordinates"][0].as_array().expect("ring")]
    }
}

fn inside(ring: &[Value], lon: f64, lat: f64) -> bool {
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0)))
        .collect();
    let mut odd = false;
    for i in 0..pts.len() {
        let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
        if (a.1 > lat) != (b.1 > lat) && lon < a.0 + (lat - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            odd = !odd;
        }
    }
    odd
}

/// WGS 84 of a tile pixel (the inverse slippy-map formulas, written here).
fn tile_lon_lat(z: u32, x: u32, y: u32, px: f64, py: f64) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let wx = (f64::from(x) + px / 4096.0) / n;
    let wy = (f64::from(y) + py / 4096.0) / n;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * wy))
        .sinh()
        .atan()
        .to_degrees();
    (wx * 360.0 - 180.0, lat)
}

#[tokio::test(flavor = "multi_thread")]
async fn hotspot_tiles_are_the_api_hotspots_of_their_cells() {
    let (z, x, y) = TILE13;
    let filters = "from=2024-01-01&to=2024-06-30&category=violence";
    for key in [ANALYST, VIEWER] {
        let tile = decoded(
            &get(
                &format!("/tiles/hotspots/{z}/{x}/{y}.mvt?{filters}"),
                Some(key),
            )
            .await,
        );
        let features = tile["hotspots"]["features"]
            .as_array()
            .expect("hotspots layer");
        // Zoom 13's cells are 250 m squares; the API's hotspots on them.
        let api = get(
            &format!("/api/v1/query/hotspots?{filters}&grid=250&format=geojson"),
            Some(key),
        )
        .await
        .json();
        let cells = features_by(&api, "cell_id");
        let mut hot = 0;
        for f in features {
            let p = &f["properties"];
            let id = p["cell_id"].as_str().expect("cell_id");
            let cell = &cells[id];
            let q = &cell["properties"];
            assert_eq!(p["class"], q["class"], "{id}");
            assert_ne!(p["class"], 0, "{id}: only significant cells are drawn");
            match (&p["count"], &p["count_text"]) {
                (Value::Number(n), _) => assert_eq!(q["count"], Value::Number(n.clone()), "{id}"),
                (_, Value::String(t)) => assert_eq!(q["count"], Value::String(t.clone()), "{id}"),
                other => panic!("{id}: no count: {other:?}"),
            }
            if key == VIEWER {
                assert!(p["gi_z"].is_null() && p["p"].is_null(), "{id}: {p}");
            } else {
                let (a, b) = (
                    p["gi_z"].as_f64().expect("gi_z"),
                    q["gi_z"].as_f64().expect("gi_z"),
                );
                assert!((a - b).abs() < 1e-9, "{id}: {a} vs {b}");
            }
            // Unclipped corners lie within a pixel of the API's polygon corners.
            let corners = outer(&cell["geometry"]);
            for v in f["geometry"]["coordinates"][0].as_array().expect("ring") {
                let (px, py) = (v[0].as_f64().expect("x"), v[1].as_f64().expect("y"));
                if !(-63.0..4159.0).contains(&px) || !(-63.0..4159.0).contains(&py) {
                    continue;
                }
                assert!(
                    corners.iter().any(|c| {
                        let (ex, ey) = tile_pixel(
                            z,
                            x,
                            y,
                            c[0].as_f64().unwrap_or(0.0),
                            c[1].as_f64().unwrap_or(0.0),
                        );
                        (ex - px).abs() <= 1.0 && (ey - py).abs() <= 1.0
                    }),
                    "{id}: ({px}, {py})"
                );
            }
            if p["class"].as_i64().unwrap_or(0) > 0 {
                hot += 1;
            }
        }
        // And every significant API cell whose centre is in the tile is drawn.
        let drawn: std::collections::HashSet<&str> = features
            .iter()
            .filter_map(|f| f["properties"]["cell_id"].as_str())
            .collect();
        for (id, cell) in &cells {
            if cell["properties"]["class"] == 0 {
                continue;
            }
            let ring = outer(&cell["geometry"]);
            let n = (ring.len() - 1) as f64;
            let (lon, lat) = ring[..ring.len() - 1].iter().fold((0.0, 0.0), |(a, b), c| {
                (
                    a + c[0].as_f64().unwrap_or(0.0) / n,
                    b + c[1].as_f64().unwrap_or(0.0) / n,
                )
            });
            let (px, py) = tile_pixel(z, x, y, lon, lat);
            if (0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py) {
                assert!(
                    drawn.contains(id.as_str()),
                    "{id} is significant but not drawn"
                );
            }
        }
        assert!(hot > 3, "central Stockholm has hot cells: {hot}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn heat_tiles_peak_over_the_densest_cell_and_are_clear_off_land() {
    // Zoom 12's tile of central Stockholm holds the city's densest spot.
    let (z, x, y) = TILE;
    let filters = "from=2024-01-01&to=2024-06-30&source=crimes";
    let legend = get(
        &format!("/tiles/heat/legend.json?z={z}&{filters}"),
        Some(ANALYST),
    )
    .await
    .json();
    let h = legend["bandwidth_m"].as_f64().expect("bandwidth");
    assert!(legend["suppression"].is_null());
    assert_eq!(legend["stops"].as_array().map(Vec::len), Some(5));
    // The API's quartic density of the same bandwidth, from the events
    // themselves, at 100 m cell centres; its peak (over the whole map) is
    // inside the tile.
    let api = get(
        &format!("/api/v1/query/hotspots?{filters}&grid=100&kde={h}&format=geojson"),
        Some(ANALYST),
    )
    .await
    .json();
    let mut best = (f64::MIN, 0.0, 0.0);
    for f in api["features"].as_array().expect("features") {
        let ring = outer(&f["geometry"]);
        let n = (ring.len() - 1) as f64;
        let (lon, lat) = ring[..ring.len() - 1].iter().fold((0.0, 0.0), |(a, b), c| {
            (
                a + c[0].as_f64().unwrap_or(0.0) / n,
                b + c[1].as_f64().unwrap_or(0.0) / n,
            )
        });
        let (px, py) = tile_pixel(z, x, y, lon, lat);
        let d = f["properties"]["kde_per_km2"].as_f64().expect("kde");
        if d > best.0 {
            best = (d, px / 16.0, py / 16.0);
        }
    }
    assert!(
        (16.0..240.0).contains(&best.1) && (16.0..240.0).contains(&best.2),
        "{best:?}"
    );
    // The top of the ramp at the API's peak: the hottest pixel is yellow.
    let top = best.0;
    let a = get(
        &format!("/tiles/heat/{z}/{x}/{y}.png?{filters}&top={top}"),
        Some(ANALYST),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "image/png");
    let png = read_export("png", &a.body);
    assert_eq!(
        (png["width"].as_u64(), png["height"].as_u64()),
        (Some(256), Some(256))
    );
    let rgba: Vec<u8> = png["rgba"]
        .as_array()
        .expect("pixels")
        .iter()
        .map(|v| v.as_u64().unwrap_or(0) as u8)
        .collect();
    // Hotness: closeness to the ramp's top colour (#fde725), opaque pixels only.
    let mut hottest = (f64::MAX, 0usize);
    let mut clear = 0;
    for (k, p) in rgba.chunks(4).enumerate() {
        if p[3] == 0 {
            clear += 1;
            continue;
        }
        let d = (f64::from(p[0]) - 253.0).powi(2)
            + (f64::from(p[1]) - 231.0).powi(2)
            + (f64::from(p[2]) - 37.0).powi(2);
        if d < hottest.0 {
            hottest = (d, k);
        }
    }
    let (hx, hy) = (
        (hottest.1 % 256) as f64 + 0.5,
        (hottest.1 / 256) as f64 + 0.5,
    );
    // Within the bandwidth's half of the API's peak (pixels of a 256 tile at z12
    // are about 19 m).
    let metres = ((hx - best.1).powi(2) + (hy - best.2).powi(2)).sqrt() * 19.1;
    assert!(
        metres < h / 2.0,
        "hottest pixel {metres:.0} m from the API's peak"
    );
    assert!(
        hottest.0 < 60.0 * 60.0,
        "the peak reaches the ramp's top: {}",
        hottest.0
    );
    // Water in central Stockholm is clear; most of the tile is not.
    assert!(
        clear > 256 * 256 / 20 && clear < 256 * 256 * 3 / 4,
        "{clear}"
    );
    // Viewers: the legend names the threshold the cells were published under.
    let viewer = get(
        &format!("/tiles/heat/legend.json?z={z}&{filters}"),
        Some(VIEWER),
    )
    .await
    .json();
    assert_eq!(viewer["suppression"], 5);
    let tj = get("/tiles/heat/tilejson.json?source=crimes", Some(VIEWER))
        .await
        .json();
    assert!(tj["tiles"][0]
        .as_str()
        .expect("url")
        .ends_with("/tiles/heat/{z}/{x}/{y}.png?source=crimes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn basemap_tiles_draw_land_water_area_polygons_outlines_and_labels_inside_their_areas() {
    let (z, x, y) = (12u32, 2253u32, 1204u32);
    let tile = decoded(&get(&format!("/tiles/basemap/{z}/{x}/{y}.mvt"), Some(VIEWER)).await);
    for layer in ["water", "land", "outlines", "labels"] {
        let n = tile[layer]["features"].as_array().map_or(0, Vec::len);
        assert!(n > 3, "{layer}: {n}");
    }
    let api = get("/api/v1/layers/stadsdel", Some(VIEWER)).await.json();
    let areas = features_by(&api, "code");
    let outlined: std::collections::HashSet<&str> = tile["outlines"]["features"]
        .as_array()
        .expect("outlines")
        .iter()
        .filter_map(|f| f["properties"]["code"].as_str())
        .collect();
    for f in tile["labels"]["features"].as_array().expect("labels") {
        let code = f["properties"]["code"].as_str().expect("code");
        assert!(outlined.contains(code), "{code}");
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = tile_lon_lat(
            z,
            x,
            y,
            c[0].as_f64().expect("x"),
            c[1].as_f64().expect("y"),
        );
        assert!(
            outer_rings(&areas[code]["geometry"])
                .iter()
                .any(|r| inside(r, lon, lat)),
            "{code}'s label is outside it"
        );
        // The tile's own polygon of the area (what a click hits) holds the label too.
        let (px, py) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        let shape = tile["areas"]["features"]
            .as_array()
            .expect("areas")
            .iter()
            .find(|f| f["properties"]["code"] == code)
            .unwrap_or_else(|| panic!("no polygon of {code}"));
        assert!(
            outer_rings(&shape["geometry"])
                .iter()
                .any(|r| inside(r, px, py)),
            "{code}'s label is outside its tile polygon"
        );
    }
    let shaped: std::collections::HashSet<&str> = tile["areas"]["features"]
        .as_array()
        .expect("areas")
        .iter()
        .filter_map(|f| f["properties"]["code"].as_str())
        .collect();
    assert_eq!(shaped, outlined, "one polygon per outlined area");
    assert!(
        get("/tiles/basemap/12/2253/1204.mvt?layer=nope", Some(VIEWER))
            .await
            .status
            .is_client_error()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tiles_are_gzipped_when_asked_small_always_and_hexagons_on_request() {
    let (z, x, y) = TILE;
    let uri = format!("/tiles/grid/{z}/{x}/{y}.mvt?source=crimes");
    let plain = get(&uri, Some(ANALYST)).await;
    let zipped = call(
        router(crate::api::shared_state()),
        "GET",
        &uri,
        Some(ANALYST),
        Body::empty(),
        &[("accept-encoding", "br;q=1.0, gzip;q=0.8")],
    )
    .await;
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert!(plain.headers.get("content-encoding").is_none());
    assert_ne!(zipped.headers["etag"], plain.headers["etag"]);
    assert!(zipped.headers["vary"]
        .to_str()
        .expect("vary")
        .contains("accept-encoding"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut unzipped,
    )
    .expect("gunzip");
    assert_eq!(unzipped, plain.body);
    assert!(zipped.body.len() < plain.body.len());
    // 10 m cells asked at zoom 10: aggregated to coarser ones, under 500 KB.
    let big = get("/tiles/grid/10/563/301.mvt?cell=10", Some(ANALYST)).await;
    assert!(big.body.len() < 500_000, "{}", big.body.len());
    let t = read_export("mvt", &big.body);
    let features = t["grid"]["features"].as_array().expect("grid");
    assert!(!features.is_empty());
    for f in features {
        assert_eq!(f["properties"]["aggregated"], true);
        assert!(f["properties"]["cell_m"].as_f64().expect("cell_m") > 10.0);
    }
    // Hexagons: resolution 9 at zoom 12, counts equal to the API's.
    let hex = decoded(
        &get(
            &format!("/tiles/grid/{z}/{x}/{y}.mvt?source=crimes&hex=true"),
            Some(ANALYST),
        )
        .await,
    );
    let api = get("/api/v1/query/hotspots?source=crimes&h3=9", Some(ANALYST))
        .await
        .json();
    let counts: std::collections::HashMap<&str, &Value> = api["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| (c["cell_id"].as_str().unwrap_or(""), &c["count"]))
        .collect();
    let features = hex["grid"]["features"].as_array().expect("grid");
    assert!(features.len() > 20);
    for f in features {
        let p = &f["properties"];
        assert_eq!(p["h3"], 9);
        let id = p["cell_id"].as_str().expect("id");
        assert_eq!(&p["count"], counts[id], "{id}");
    }
    // Hexagons: six corners and the closing one (where not cut at the edge).
    let whole = features
        .iter()
        .filter(|f| {
            f["geometry"]["coordinates"][0]
                .as_array()
                .map_or(0, Vec::len)
                == 7
        })
        .count();
    assert!(whole * 2 > features.len(), "{whole} of {}", features.len());
}
