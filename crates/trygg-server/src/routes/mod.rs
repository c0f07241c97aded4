//! The routes, the middleware around them (metrics, limits, panics as JSON
//! errors) and the one helper every query handler goes through ([`answer`]).

mod admin;
mod charts;
mod events;
mod meta;
mod query;
mod reports;
mod tiles;
mod web;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use trygg_query::access::Protected;
use trygg_query::encode::{self, Format};
use trygg_query::{Job, Options};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The service's router.
pub fn router(state: AppState) -> Router {
    let limits = &state.config.limits;
    let api = Router::new()
        .route("/api/v1/meta", get(meta::meta))
        .route("/api/v1/layers", get(meta::layers))
        .route("/api/v1/layers/{name}", get(meta::layer))
        .route("/api/v1/query/counts", get(query::counts))
        .route("/api/v1/query/table", get(query::table))
        .route("/api/v1/query/polygon", post(query::polygon))
        .route("/api/v1/query/hotspots", get(query::hotspots))
        .route("/api/v1/query/emerging", get(query::emerging))
        .route("/api/v1/query/change", get(query::change))
        .route("/api/v1/query/survey", get(query::survey))
        .route("/api/v1/query/matrix", get(query::matrix))
        .route("/api/v1/query/trend", get(query::trend))
        .route("/api/v1/query/weekly", get(query::weekly))
        .route("/api/v1/reports", get(reports::list))
        .route("/api/v1/reports/{week}/{file}", get(reports::file))
        .route("/api/v1/admin/police", get(admin::police))
        .route("/api/v1/events", get(events::events))
        .route(
            "/api/v1/charts/{file}",
            get(charts::chart).post(charts::drawn),
        )
        .route("/api/v1/admin/batches", get(admin::batches))
        .route(
            "/api/v1/admin/batches/{id}/rejections",
            get(admin::rejections),
        )
        .route("/api/v1/admin/batches/{id}/revert", post(admin::revert))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/tiles/heat/legend.json", get(tiles::heat_legend))
        .route("/tiles/{layer}/tilejson.json", get(tiles::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .layer(DefaultBodyLimit::max(limits.body_bytes));
    let upload = Router::new()
        .route("/api/v1/admin/ingest", post(admin::ingest))
        .layer(DefaultBodyLimit::max(limits.upload_bytes));
    Router::new()
        .route("/", get(web::index))
        .route("/app/{*file}", get(web::app))
        .route("/api", get(meta::home))
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/metrics", get(meta::metrics))
        .route("/api/openapi.json", get(meta::openapi))
        .route("/api/docs", get(meta::docs))
        .merge(api)
        .merge(upload)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("a handler panicked").into_response()
            },
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_s.max(1)),
        ))
        // Outermost: every answer, a timeout's included, is counted and has the
        // JSON error shape.
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see /api/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method: see /api/openapi.json",
    )
}

/// Counts and times every request by its route; turns axum's own plain-text
/// rejections (a body over the limit, a timeout) into the JSON error shape.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !json {
        let (code, message) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is over the limit"),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took longer than the limit"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "wrong Content-Type"),
            _ if status.is_server_error() => ("internal", "the server failed to answer"),
            _ => ("bad_request", "the request cannot be read"),
        };
        response = ApiError::new(status, code, message).into_response();
    }
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The caller of a request (401 without a valid key where keys are required).
pub(crate) fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    crate::auth::caller(&state.config, headers)
}

/// Whether the request accepts a gzip-encoded answer.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut bits = part.split(';');
            let coding = bits.next().unwrap_or("").trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        })
}

/// A strong ETag of (data version and scope, what was asked, by which role).
pub(crate) fn etag(data: &trygg_query::DataInfo, parts: &[&str]) -> String {
    let version = data.version;
    let mut h = Sha256::new();
    if let Some(scope) = &data.scope {
        h.update(b"municipality=");
        h.update(scope.code.as_bytes());
        h.update([0]);
    }
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"v{version}-{hex}\"")
}

/// 304 when the client already holds `tag`.
pub(crate) fn not_modified(state: &AppState, headers: &HeaderMap, tag: &str) -> Option<Response> {
    let held = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    if held.split(',').any(|t| t.trim() == tag || t.trim() == "*") {
        state.metrics.cache_hit();
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(tag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Some(r);
    }
    None
}

/// A body with its type, ETag and (for files) a download name.
pub(crate) fn respond(
    body: impl Into<bytes::Bytes>,
    format: Format,
    name: &str,
    tag: Option<&str>,
) -> Response {
    let mut r = body.into().into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Some(tag) = tag.and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, tag);
    }
    if format != Format::Json {
        let file = format!(
            "attachment; filename=\"trygg-{name}.{}\"",
            format.extension()
        );
        if let Ok(v) = HeaderValue::from_str(&file) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    r
}

/// The `format` parameter (default JSON).
pub(crate) fn format_of(
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<Format, ApiError> {
    match extra.get("format").and_then(|v| v.as_str()) {
        None => Ok(Format::Json),
        Some(f) => Ok(f.parse()?),
    }
}

/// Runs an aggregate job for `caller`: the role's suppression applied, the
/// request validated before it waits for a permit, on the snapshot of the
/// municipality asked for or the key's, a 304 when the client holds this
/// answer, then the job and its encoding on a blocking thread. Every export
/// (any format but JSON) is written to the audit log.
pub(crate) async fn answer<J>(
    state: AppState,
    caller: Caller,
    headers: &HeaderMap,
    target: String,
    (mut job, municipality): (J, Option<&str>),
    format: Format,
) -> Result<Response, ApiError>
where
    J: Job + Protected + Serialize + Send + 'static,
    J::Valid: Send + 'static,
    J::Output: Send + 'static,
{
    state.config.policy.protect(caller.role, &mut job);
    let valid = job.validate()?;
    let snap = state.snapshot_for(&caller, municipality).await?;
    let asked = serde_json::to_string(&job).map_err(ApiError::internal)?;
    let tag = etag(
        snap.data(),
        &[J::NAME, caller.role.as_str(), &asked, format.extension()],
    );
    if let Some(r) = not_modified(&state, headers, &tag) {
        return Ok(r);
    }
    let version = snap.data().version;
    let budget = state.config.limits.budget();
    let worker = state.clone();
    let make = heavy(&state, move || {
        let options = Options {
            budget,
            geometry: format.wants_geometry(),
        };
        let result = job.execute(valid, &snap, &options)?;
        let mut out = Vec::new();
        let rows = encode::write(&mut out, format, J::NAME, &result, snap.data())?;
        if format != Format::Json {
            worker.audit(&caller, "export", &target, Some(rows), format.extension())?;
        }
        Ok(out)
    });
    // Exports are audited each time, so only JSON answers are kept.
    let body = if format == Format::Json {
        cached(&state, version, &tag, make).await?
    } else {
        make.await?.into()
    };
    Ok(respond(body, format, J::NAME, Some(&tag)))
}

/// Runs blocking work (SQLite, PROJ, a query) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// Runs heavy work (a query, a tile, an export) on a blocking thread once one
/// of the `heavy_concurrency` permits is free (or refuses with 503).
pub(crate) async fn heavy<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state.permit().await?;
    blocking(move || {
        let _permit = permit;
        f()
    })
    .await
}

/// The body of answer `tag` (of data version `version`): from the answer cache,
/// or made by `make` and kept.
pub(crate) async fn cached(
    state: &AppState,
    version: u64,
    tag: &str,
    make: impl std::future::Future<Output = Result<Vec<u8>, ApiError>>,
) -> Result<bytes::Bytes, ApiError> {
    if let Some(body) = state.answers.get(tag) {
        state.metrics.answer_cached();
        return Ok(body);
    }
    let body = bytes::Bytes::from(make.await?);
    state.answers.put(version, tag.to_owned(), body.clone());
    Ok(body)
}
