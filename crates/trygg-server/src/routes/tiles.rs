//! Map tiles: `/tiles/{layer}/{z}/{x}/{y}.mvt` and `/tiles/{layer}/tilejson.json`,
//! with the API's filters as query parameters. A tile carries a strong ETag
//! (data version, layer, tile, role, filters) and is kept in the answer cache;
//! a tile outside the zoom range or Sweden is an empty tile, not an error.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trygg_query::jobs::tiles::{TileRequest, TILE_AREA};
use trygg_query::{CountsRequest, Job, Role};
use trygg_tiles::{TileId, MAX_ZOOM};

use super::{cached, caller, etag, heavy, not_modified};
use crate::error::ApiError;
use crate::params::from_query;
use crate::state::AppState;

/// A tile's request.
enum Asked {
    /// `grid` and `events`: the tile filters.
    Points(TileRequest),
    /// `areas`: the area statistics of a period.
    Areas(CountsRequest),
}

/// The layers.
const LAYERS: [&str; 3] = ["grid", "events", "areas"];

fn layer_of(name: &str) -> Result<&'static str, ApiError> {
    LAYERS.iter().find(|l| **l == name).copied().ok_or_else(|| {
        ApiError::not_found(format!("no tile layer '{name}' (grid, events, areas)")).field("layer")
    })
}

fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid(field, format!("'{text}' is not a tile number")))
}

fn mvt(body: Vec<u8>, tag: &str, max_age: u32) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`.
pub(crate) async fn tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((layer, z, x, file)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    let layer = layer_of(&layer)?;
    if layer == "events" {
        who.require(Role::Analyst)?;
    }
    let y = file
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::invalid("y", format!("'{file}' is not Y.mvt")))?;
    let (z, x, y): (u32, u32, u32) = (number("z", &z)?, number("x", &x)?, number("y", y)?);
    // What the tile is asked: the tile filters, or for `areas` a counts request.
    let asked = if layer == "areas" {
        let (mut request, _) = from_query::<CountsRequest>(query.as_deref(), &[])?;
        state.config.policy.protect(who.role, &mut request);
        request.validate()?;
        Asked::Areas(request)
    } else {
        let (mut request, _) = from_query::<TileRequest>(query.as_deref(), &[])?;
        state.config.policy.protect(who.role, &mut request);
        request.hidden = (*state.hidden).clone();
        // Validate before anything else: a bad filter is an error at every tile.
        request.selection.validate(Some(&request.range))?;
        request.disclosure.threshold()?;
        Asked::Points(request)
    };
    let snap = state.live.current();
    let version = snap.data().version;
    let max_age = state.config.tiles.max_age_s;
    let asked_text = match &asked {
        Asked::Areas(r) => serde_json::to_string(r),
        Asked::Points(r) => serde_json::to_string(r),
    }
    .map_err(ApiError::internal)?;
    let tag = etag(
        version,
        &[
            "tile",
            layer,
            &format!("{z}/{x}/{y}"),
            who.role.as_str(),
            &asked_text,
        ],
    );
    let Some(tile) = u8::try_from(z).ok().and_then(|z| TileId::new(z, x, y).ok()) else {
        // Outside the pyramid: an empty tile, cheaply.
        return Ok(mvt(Vec::new(), &tag, max_age));
    };
    if let Some(r) = not_modified(&state, &headers, &tag) {
        return Ok(r);
    }
    let min_zoom = state.config.tiles.events_min_zoom;
    let budget = state.config.limits.budget();
    let make = heavy(&state, move || {
        Ok(match (layer, asked) {
            (_, Asked::Areas(r)) => r.area_tile(tile, &snap, &budget)?,
            ("grid", Asked::Points(r)) => r.grid(tile, &snap)?,
            (_, Asked::Points(r)) => r.events(tile, &snap, min_zoom)?,
        })
    });
    let body = cached(&state, version, &tag, make).await?;
    Ok(mvt(body, &tag, max_age))
}

/// `GET /tiles/{layer}/tilejson.json` (TileJSON 3.0; the query string is
/// passed on to the tile URL).
pub(crate) async fn tilejson(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(layer): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, &headers)?;
    let layer = layer_of(&layer)?;
    if layer == "events" {
        who.require(Role::Analyst)?;
    }
    // The filters are checked now, so a map never asks for tiles that all fail.
    if layer == "areas" {
        from_query::<CountsRequest>(query.as_deref(), &[])?
            .0
            .validate()?;
    } else {
        let (request, _) = from_query::<TileRequest>(query.as_deref(), &[])?;
        request.selection.validate(Some(&request.range))?;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let suffix = query.map(|q| format!("?{q}")).unwrap_or_default();
    let (minzoom, fields) = match layer {
        "grid" => (
            0,
            json!({"cell_id": "String: the SWEREF 99 TM square (<size>m_<x0>_<y0>)", "count": "Number: matching point events", "cell_m": "Number: the square's side in metres"}),
        ),
        "areas" => (
            0,
            json!({"area_code": "String", "area_name": "String", "count": "Number (absent when suppressed)", "count_text": "String: \"<5\" when suppressed", "previous_count": "Number", "year_earlier_count": "Number", "rate_per_1000": "Number", "ratio_vs_previous": "Number", "p_vs_previous": "Number", "ratio_vs_year_earlier": "Number", "p_vs_year_earlier": "Number"}),
        ),
        _ => (
            state.config.tiles.events_min_zoom,
            json!({"source": "String", "category_norm": "String", "category": "String", "precision": "String", "occurred_at": "String (UTC, RFC 3339)", "thinned": "Boolean: the tile shows every n-th point", "represents": "Number: points each drawn one stands for"}),
        ),
    };
    let snap = state.live.current();
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": format!("trygg-{layer}"),
        "description": if snap.data().synthetic { "SYNTHETIC DEMO DATA" } else { "" },
        "version": snap.data().version.to_string(),
        "scheme": "xyz",
        "tiles": [format!("http://{host}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{suffix}")],
        "minzoom": minzoom,
        "maxzoom": MAX_ZOOM,
        "bounds": TILE_AREA,
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": minzoom, "maxzoom": MAX_ZOOM}],
        "suppression": if who.role == Role::Viewer { Some(state.config.policy.viewer_threshold) } else { None },
    })))
}
