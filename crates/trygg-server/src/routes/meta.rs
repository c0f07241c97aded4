//! What the service holds (meta, area layers as GeoJSON), its health, metrics,
//! the OpenAPI document and a readable API page, and a small home page.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use geo::Simplify;
use serde_json::{json, Value};
use trygg_model::{NormCategory, Source};
use trygg_query::encode::Format;
use trygg_query::jobs::Proj;

use super::{blocking, cached, caller, etag, heavy, not_modified, respond};
use crate::error::ApiError;
use crate::params::{asked_municipality, post_query};
use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: a snapshot is loaded (the server only listens once it is).
pub(crate) async fn readyz(State(state): State<AppState>) -> Json<Value> {
    let snap = state.live.current();
    Json(json!({
        "status": "ready",
        "data_version": snap.data().version,
        "events": snap.view().len(),
        "snapshot_age_s": state.snapshot_age().as_secs_f64(),
    }))
}

/// `GET /metrics` (Prometheus text).
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let snap = state.live.current();
    let s = state.clone();
    let feed = blocking(move || s.read_store(trygg_store::feed_counts))
        .await
        .unwrap_or_default();
    let text = state.metrics.render(
        snap.data().version,
        state.snapshot_age(),
        snap.view().len(),
        &feed,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /api/openapi.json`.
pub(crate) async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// `GET /api/docs`: the OpenAPI document as a page (no external scripts).
pub(crate) async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// `GET /api` (and `/` in a binary built without the web map): what is served here.
pub(crate) async fn home(State(state): State<AppState>) -> Html<String> {
    let snap = state.live.current();
    let d = snap.data();
    let banner = if d.synthetic {
        format!(
            "<p class=\"banner\">SYNTETISKA DEMODATA / SYNTHETIC DEMO DATA: {}</p>",
            html_escape(d.notice.as_deref().unwrap_or("not real events"))
        )
    } else {
        String::new()
    };
    Html(format!(
        include_str!("home.html"),
        banner = banner,
        events = snap.view().len(),
        version = d.version,
        map = if super::web::ASSETS.is_empty() {
            "This binary was built without the web map (<code>web/dist</code>): \
             <code>./dev demo</code> builds it, or <code>npm ci &amp;&amp; npm run build</code> \
             in <code>web/</code> before <code>cargo build</code>."
        } else {
            "<a href=\"/\">Kartan / the map</a>."
        },
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `municipality` of a query string that takes nothing else.
fn municipality_only(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let extra = post_query(query, &[])?;
    Ok(asked_municipality(&extra).map(str::to_owned))
}

/// `GET /api/v1/meta`.
pub(crate) async fn meta(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    let asked = municipality_only(query.as_deref())?;
    let snap = state.snapshot_for(&who, asked.as_deref()).await?;
    let version = snap.data().version;
    let limit = who.municipality.as_deref().unwrap_or_default();
    let tag = etag(snap.data(), &["meta", who.role.as_str(), limit]);
    if let Some(r) = not_modified(&state, &headers, &tag) {
        return Ok(r);
    }
    let body = cached(&state, version, &tag, async {
        let study = snap.study_extent();
        let extent = blocking(move || -> Result<Option<[f64; 4]>, ApiError> {
            let Some(e) = study else {
                return Ok(None);
            };
            let proj = Proj::new()?;
            let [a, b] = proj.lon_lat(e.min_x, e.min_y)?;
            let [c, d] = proj.lon_lat(e.max_x, e.max_y)?;
            Ok(Some([a, b, c, d]))
        })
        .await?;
        let view = snap.view();
        let when = trygg_query::jobs::events::rfc3339;
        serde_json::to_vec(&json!({
            "data": snap.data(),
            "role": who.role.as_str(),
            "municipality_limit": who.municipality,
            "events": view.len(),
            "first_event": (!view.is_empty()).then(|| when(view.time(0))),
            "last_event": (!view.is_empty()).then(|| when(view.time(view.len() - 1))),
            "sources": Source::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "incident_sources": Source::INCIDENTS.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "categories": NormCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "layers": snap.layers().map(|l| json!({
                "name": l.name, "valid_from": l.valid_from.map(|d| d.to_string()),
                "valid_to": l.valid_to.map(|d| d.to_string()),
            })).collect::<Vec<_>>(),
            "extent_wgs84": extent,
            "formats": Format::NAMES,
            "viewer_threshold": state.config.policy.viewer_threshold,
            "basemap_style": state.config.ui.basemap_style,
            "labels": labels(),
            "events_min_zoom": state.config.tiles.events_min_zoom,
        }))
        .map_err(ApiError::internal)
    })
    .await?;
    Ok(respond(body, Format::Json, "meta", Some(&tag)))
}

/// The names of sources and categories in each language, as the charts and
/// the report write them (one list: the web map shows these).
fn labels() -> Value {
    use trygg_query::charts::{category_name, source_name, Lang};
    let of = |lang: Lang| {
        json!({
            "sources": Source::ALL.iter().map(|s| (s.as_str().to_owned(), Value::from(source_name(s.as_str(), lang)))).collect::<serde_json::Map<String, Value>>(),
            "categories": NormCategory::ALL.iter().map(|c| (c.as_str().to_owned(), Value::from(category_name(c.as_str(), lang)))).collect::<serde_json::Map<String, Value>>(),
        })
    };
    json!({"sv": of(Lang::Sv), "en": of(Lang::En)})
}

/// `GET /api/v1/layers`.
pub(crate) async fn layers(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, &headers)?;
    let asked = municipality_only(query.as_deref())?;
    let snap = state.snapshot_for(&who, asked.as_deref()).await?;
    Ok(Json(json!({
        "layers": snap.layers().map(|l| json!({"name": l.name, "href": format!("/api/v1/layers/{}", l.name)})).collect::<Vec<_>>()
    })))
}

/// `GET /api/v1/layers/{name}?simplify=METRES`: the layer's areas as GeoJSON
/// (WGS 84), simplified by Douglas-Peucker in SWEREF 99 TM (default 5 m, 0 for
/// the stored outlines).
pub(crate) async fn layer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    // `simplify`, and `municipality` as every endpoint reads it.
    let extra = post_query(query.as_deref(), &["simplify"])?;
    let tolerance = match extra.get("simplify").and_then(Value::as_str) {
        None => 5.0f64,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && (0.0..=5_000.0).contains(t))
            .ok_or_else(|| {
                ApiError::invalid("simplify", format!("'{v}' is not 0..=5000 metres"))
            })?,
    };
    let asked = asked_municipality(&extra);
    let snap = state.snapshot_for(&who, asked).await?;
    let tag = etag(snap.data(), &["layer", &name, &tolerance.to_string()]);
    if let Some(r) = not_modified(&state, &headers, &tag) {
        return Ok(r);
    }
    let version = snap.data().version;
    let body = cached(
        &state,
        version,
        &tag,
        layer_geojson(&state, snap, name, tolerance),
    )
    .await?;
    let mut r = respond(body, Format::GeoJson, "layer", Some(&tag));
    r.headers_mut().remove(header::CONTENT_DISPOSITION);
    Ok(r)
}

/// A layer's areas as GeoJSON bytes.
async fn layer_geojson(
    state: &AppState,
    snap: std::sync::Arc<trygg_query::Snapshot>,
    name: String,
    tolerance: f64,
) -> Result<Vec<u8>, ApiError> {
    heavy(state, move || -> Result<Vec<u8>, ApiError> {
        let layer = snap.layer(&name, "name")?;
        let proj = Proj::new()?;
        let mut features = Vec::with_capacity(layer.areas.len());
        for area in &layer.areas {
            let mut shown = area.clone();
            if tolerance > 0.0 {
                shown.geometry = area.geometry.simplify(tolerance);
            }
            let properties: Value = serde_json::from_str(&area.properties).unwrap_or(json!({}));
            features.push(json!({
                "type": "Feature",
                "id": area.code,
                "geometry": proj.area_geometry(&shown)?,
                "properties": {"code": area.code, "name": area.name, "layer": name, "attributes": properties},
            }));
        }
        let mut fc = json!({"type": "FeatureCollection", "name": name, "simplify_m": tolerance, "features": features});
        if snap.data().synthetic {
            fc["synthetic"] = json!(true);
        }
        serde_json::to_vec(&fc).map_err(ApiError::internal)
    })
    .await
}
