//! The weekly reports the schedule made (`[reports]`): `GET /api/v1/reports`
//! lists them, newest first; `GET /api/v1/reports/{week}/{file}` gives one of
//! their files, from the reports folder beside a GeoPackage store or from the
//! database. Reports are suppressed as for viewers, so every role may read
//! them.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trygg_query::Role;
use trygg_report::schedule::Scheduler;

use super::{blocking, caller};
use crate::error::ApiError;
use crate::state::AppState;

/// The files a report folder may hold, with their media types; nothing else is served.
const FILES: [(&str, &str); 6] = [
    ("report.html", "text/html; charset=utf-8"),
    ("report.pdf", "application/pdf"),
    ("report.json", "application/json"),
    ("areas.csv", "text/csv; charset=utf-8"),
    (
        "areas.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("map.png", "image/png"),
];

/// `GET /api/v1/reports`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, &headers)?;
    who.require(Role::Viewer)?;
    who.require_whole_store()?;
    let scheduled = state.config.reports.weekly.clone();
    let s = state.clone();
    let reports = blocking(move || s.with_reports(Scheduler::list)).await?;
    let reports: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "week": r.week, "from": r.from, "to": r.to, "generated_at": r.generated_at,
                "data_version": r.data_version, "lang": r.lang, "revision": r.revision,
                "files": r.files.iter().map(|f| json!({
                    "name": f, "href": format!("/api/v1/reports/{}/{f}", r.week),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"schedule": scheduled, "reports": reports})))
}

/// `GET /api/v1/reports/{week}/{file}`.
pub(crate) async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((week, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    who.require(Role::Viewer)?;
    who.require_whole_store()?;
    let period: trygg_analytics::window::Period = week
        .parse()
        .map_err(|e| ApiError::invalid("week", format!("'{week}': {e}")))?;
    if period.label() != week || period.kind != trygg_analytics::window::WindowKind::IsoWeek {
        return Err(ApiError::invalid(
            "week",
            format!("'{week}' is not an ISO week (YYYY-Www)"),
        ));
    }
    let Some((_, media)) = FILES.iter().find(|(f, _)| *f == name) else {
        return Err(ApiError::not_found(format!(
            "no report file '{name}' ({})",
            FILES.map(|f| f.0).join(", ")
        ))
        .field("file"));
    };
    let s = state.clone();
    let bytes = blocking(move || {
        s.with_reports(|shelf| shelf.report_file(&week, &name))?
            .ok_or_else(|| ApiError::not_found(format!("no {name} for {week}")).field("week"))
    })
    .await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    // The page embeds everything it shows and runs nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'",
        ),
    );
    Ok(r)
}
