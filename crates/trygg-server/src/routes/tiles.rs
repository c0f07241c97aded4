//! Map tiles: `/tiles/{layer}/{z}/{x}/{y}.mvt` (`.png` for `heat`),
//! `/tiles/{layer}/tilejson.json` and `/tiles/heat/legend.json`, with the API's
//! filters as query parameters. A tile carries a strong ETag (data version,
//! layer, tile, role, filters, encoding), is gzipped when the client accepts it,
//! and is kept in the answer cache (bounded in bytes, emptied when a newer
//! snapshot's answers arrive); a tile outside the zoom range or Sweden is an
//! empty tile, not an error.

use std::io::Write;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trygg_query::jobs::tiles::{BasemapRequest, HeatLegend, TileRequest, TILE_AREA};
use trygg_query::{CountsRequest, Job, Role};
use trygg_tiles::{TileId, MAX_ZOOM};

use super::{accepts_gzip, cached, caller, etag, heavy, not_modified};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::{asked_municipality, from_query};
use crate::state::AppState;

/// The layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Grid,
    Hotspots,
    Heat,
    Areas,
    Events,
    Basemap,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Grid,
        Kind::Hotspots,
        Kind::Heat,
        Kind::Areas,
        Kind::Events,
        Kind::Basemap,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Grid => "grid",
            Kind::Hotspots => "hotspots",
            Kind::Heat => "heat",
            Kind::Areas => "areas",
            Kind::Events => "events",
            Kind::Basemap => "basemap",
        }
    }

    fn of(name: &str) -> Result<Kind, ApiError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no tile layer '{name}' (grid, hotspots, heat, areas, events, basemap)"
                ))
                .field("layer")
            })
    }

    /// The tile file's extension.
    fn extension(self) -> &'static str {
        if self == Kind::Heat {
            ".png"
        } else {
            ".mvt"
        }
    }

    fn media_type(self) -> &'static str {
        if self == Kind::Heat {
            "image/png"
        } else {
            "application/vnd.mapbox-vector-tile"
        }
    }
}

/// A tile's request, parsed by its layer's type.
enum Asked {
    /// `grid`, `hotspots`, `heat`, `events`: the tile filters.
    Points(TileRequest),
    /// `areas`: the area statistics of a period.
    Areas(CountsRequest),
    /// `basemap`: which areas are outlined.
    Basemap(BasemapRequest),
}

impl Asked {
    /// Parses and validates `query` for `kind` as `who` may ask it; with the
    /// municipality asked for.
    fn parse(
        state: &AppState,
        who: &Caller,
        kind: Kind,
        query: Option<&str>,
    ) -> Result<(Asked, Option<String>), ApiError> {
        let (asked, extra) = match kind {
            Kind::Areas => {
                let (mut request, extra) = from_query::<CountsRequest>(query, &[])?;
                state.config.policy.protect(who.role, &mut request);
                request.validate()?;
                (Asked::Areas(request), extra)
            }
            Kind::Basemap => {
                let (request, extra) = from_query::<BasemapRequest>(query, &[])?;
                (Asked::Basemap(request), extra)
            }
            _ => {
                let (mut request, extra) = from_query::<TileRequest>(query, &[])?;
                state.config.policy.protect(who.role, &mut request);
                request.hidden = (*state.hidden).clone();
                request.validate()?;
                (Asked::Points(request), extra)
            }
        };
        Ok((asked, asked_municipality(&extra).map(str::to_owned)))
    }

    fn text(&self) -> Result<String, ApiError> {
        match self {
            Asked::Areas(r) => serde_json::to_string(r),
            Asked::Points(r) => serde_json::to_string(r),
            Asked::Basemap(r) => serde_json::to_string(r),
        }
        .map_err(ApiError::internal)
    }
}

fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid(field, format!("'{text}' is not a tile number")))
}

fn gzip(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body).map_err(ApiError::internal)?;
    enc.finish().map_err(ApiError::internal)
}

fn tile_response(
    kind: Kind,
    body: bytes::Bytes,
    tag: &str,
    max_age: u32,
    gzipped: bool,
) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::VARY,
        HeaderValue::from_static("accept-encoding, authorization, x-api-key"),
    );
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt` (or `.png`).
pub(crate) async fn tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((layer, z, x, file)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    let kind = Kind::of(&layer)?;
    if kind == Kind::Events {
        who.require(Role::Analyst)?;
    }
    let y = file
        .strip_suffix(kind.extension())
        .ok_or_else(|| ApiError::invalid("y", format!("'{file}' is not Y{}", kind.extension())))?;
    let (z, x, y): (u32, u32, u32) = (number("z", &z)?, number("x", &x)?, number("y", y)?);
    let (asked, municipality) = Asked::parse(&state, &who, kind, query.as_deref())?;
    let snap = state.snapshot_for(&who, municipality.as_deref()).await?;
    let version = snap.data().version;
    let max_age = state.config.tiles.max_age_s;
    // PNG is compressed already.
    let gzipped = kind != Kind::Heat && accepts_gzip(&headers);
    let tag = etag(
        snap.data(),
        &[
            "tile",
            kind.name(),
            &format!("{z}/{x}/{y}"),
            who.role.as_str(),
            &asked.text()?,
            if gzipped { "gzip" } else { "identity" },
        ],
    );
    if let Some(r) = not_modified(&state, &headers, &tag) {
        return Ok(r);
    }
    let zooms = (
        state.config.tiles.events_min_zoom,
        state.config.tiles.sensitive_min_zoom,
    );
    let budget = state.config.limits.budget();
    let tile = u8::try_from(z).ok().and_then(|z| TileId::new(z, x, y).ok());
    let make = heavy(&state, move || {
        let Some(tile) = tile else {
            // Outside the pyramid: an empty tile.
            return Ok(match kind {
                Kind::Heat => trygg_tiles::heat::png(&[], &[], 0.0).map_err(ApiError::internal)?,
                _ => Vec::new(),
            });
        };
        let body = match asked {
            Asked::Areas(r) => r.area_tile(tile, &snap, &budget)?,
            Asked::Basemap(r) => r.tile(tile, &snap)?,
            Asked::Points(r) => match kind {
                Kind::Grid => r.grid(tile, &snap, &budget)?,
                Kind::Hotspots => r.hotspots(tile, &snap, &budget)?,
                Kind::Heat => r.heat(tile, &snap, &budget)?,
                _ => r.events(tile, &snap, zooms)?,
            },
        };
        if gzipped {
            gzip(&body)
        } else {
            Ok(body)
        }
    });
    let body = cached(&state, version, &tag, make).await?;
    Ok(tile_response(kind, body, &tag, max_age, gzipped))
}

/// `GET /tiles/heat/legend.json?z=…`: the heat tiles' scale at a zoom.
pub(crate) async fn heat_legend(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<HeatLegend>, ApiError> {
    let who = caller(&state, &headers)?;
    let (mut request, extra) = from_query::<TileRequest>(query.as_deref(), &["z"])?;
    let z = match extra.get("z").and_then(Value::as_str) {
        Some(z) => number::<u8>("z", z)?.min(MAX_ZOOM),
        None => 12,
    };
    state.config.policy.protect(who.role, &mut request);
    request.validate()?;
    let snap = state.snapshot_for(&who, asked_municipality(&extra)).await?;
    let budget = state.config.limits.budget();
    let legend = heavy(&state, move || Ok(request.heat_legend(z, &snap, &budget)?)).await?;
    Ok(Json(legend))
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
    let kind = Kind::of(&layer)?;
    if kind == Kind::Events {
        who.require(Role::Analyst)?;
    }
    // The filters and the municipality are checked now, so a map never asks
    // for tiles that all fail.
    let (_, municipality) = Asked::parse(&state, &who, kind, query.as_deref())?;
    let snap = state.snapshot_for(&who, municipality.as_deref()).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let suffix = query.map(|q| format!("?{q}")).unwrap_or_default();
    let cell = json!({"cell_id": "String: a SWEREF 99 TM square (<size>m_<x0>_<y0>) or an H3 index", "cell_m": "Number: the square's side in metres (squares)", "h3": "Number: the H3 resolution (hexagons)", "aggregated": "Boolean: cells coarser than asked, to keep the tile small"});
    let with = |extra: Value| {
        let mut all = cell.clone();
        if let (Some(a), Some(e)) = (all.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        all
    };
    let (minzoom, layers) = match kind {
        Kind::Grid => (
            0,
            json!([{"id": "grid", "fields": with(json!({"count": "Number: matching point events (cells below the suppression threshold are not drawn)"}))}]),
        ),
        Kind::Hotspots => (
            0,
            json!([{"id": "hotspots", "fields": with(json!({"class": "Number: -3..3, cold/hot at 99/95/90 % (FDR-adjusted)", "count": "Number", "count_text": "String: \"<5\" when suppressed", "gi_z": "Number (absent under suppression)", "p": "Number", "p_fdr": "Number"}))}]),
        ),
        Kind::Heat => (0, json!([])),
        Kind::Areas => (
            0,
            json!([{"id": "areas", "fields": {"area_code": "String", "area_name": "String", "count": "Number (absent when suppressed)", "count_text": "String: \"<5\" when suppressed", "previous_count": "Number", "year_earlier_count": "Number", "rate_per_1000": "Number", "ratio_vs_previous": "Number", "p_vs_previous": "Number", "ratio_vs_year_earlier": "Number", "p_vs_year_earlier": "Number", "generalised": "Number: extra simplification factor, when the tile needed it"}}]),
        ),
        Kind::Events => (
            state.config.tiles.events_min_zoom,
            json!([{"id": "events", "fields": {"source": "String", "category_norm": "String", "category": "String", "precision": "String", "occurred_at": "String (UTC, RFC 3339)", "thinned": "Boolean: the tile shows every n-th point", "represents": "Number: points each drawn one stands for"}}]),
        ),
        Kind::Basemap => (
            0,
            json!([
                {"id": "water", "fields": {"generalised": "Number"}},
                {"id": "land", "fields": {"generalised": "Number"}},
                {"id": "areas", "fields": {"code": "String", "name": "String"}},
                {"id": "outlines", "fields": {"code": "String", "name": "String"}},
                {"id": "labels", "fields": {"code": "String", "name": "String"}}
            ]),
        ),
    };
    let mut doc = json!({
        "tilejson": "3.0.0",
        "name": format!("trygg-{}", kind.name()),
        "description": if snap.data().synthetic { "SYNTHETIC DEMO DATA" } else { "" },
        "version": snap.data().version.to_string(),
        "scheme": "xyz",
        "tiles": [format!("http://{host}/tiles/{}/{{z}}/{{x}}/{{y}}{}{suffix}", kind.name(), kind.extension())],
        "minzoom": minzoom,
        "maxzoom": MAX_ZOOM,
        "bounds": TILE_AREA,
        "suppression": if who.role == Role::Viewer { Some(state.config.policy.viewer_threshold) } else { None },
    });
    if kind == Kind::Heat {
        doc["format"] = json!("png");
        doc["legend"] = json!(format!("http://{host}/tiles/heat/legend.json{suffix}"));
    } else {
        if let Some(list) = layers.as_array() {
            doc["vector_layers"] = Value::Array(
                list.iter()
                    .map(|l| {
                        let mut l = l.clone();
                        l["minzoom"] = json!(minzoom);
                        l["maxzoom"] = json!(MAX_ZOOM);
                        l
                    })
                    .collect(),
            );
        }
    }
    Ok(Json(doc))
}
