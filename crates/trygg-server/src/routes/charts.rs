//! Charts: `/api/v1/charts/{name}.svg` or `.png`, with the parameters of the
//! statistics they draw (`trend`: the trend query's, `categories` and `areas`:
//! the counts', `matrix`, `survey`, `change`: theirs) plus `lang`, `measure`,
//! `areas` and `scale` (see [`ChartParams`]). A drawn polygon's trend,
//! categories and matrix are a POST of its polygon request. The role's
//! suppression applies as for the statistics; answers are cached and carry a
//! strong ETag.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use trygg_query::charts::{ChartParams, ChartRequest, DrawnChart, Lang, KINDS};
use trygg_query::jobs::Options;
use trygg_query::{
    ChangeRequest, CountsRequest, MatrixRequest, PolygonRequest, SurveyRequest, TrendRequest,
};

use super::{cached, caller, etag, heavy, not_modified};
use crate::error::ApiError;
use crate::params::{asked_municipality, from_body, from_query, post_query};
use crate::state::AppState;

/// The chart parameters beside the job's.
const CHART_KEYS: [&str; 4] = ["lang", "measure", "areas", "scale"];

fn chart_params(extra: &Map<String, Value>) -> Result<ChartParams, ApiError> {
    let text = |k: &str| extra.get(k).and_then(Value::as_str).map(str::to_owned);
    let lang = text("lang")
        .map(|l| l.parse::<Lang>().map_err(|e| ApiError::invalid("lang", e)))
        .transpose()?
        .unwrap_or_default();
    let scale = text("scale")
        .map(|s| {
            s.parse::<f32>()
                .map_err(|_| ApiError::invalid("scale", format!("'{s}' is not a number")))
        })
        .transpose()?;
    let params = ChartParams {
        lang,
        measure: text("measure"),
        areas: text("areas"),
        scale,
    };
    params.scale()?;
    Ok(params)
}

/// The job's request of chart `name`, the chart's own parameters, and the
/// municipality asked for.
fn parse(
    name: &str,
    query: Option<&str>,
) -> Result<(ChartRequest, ChartParams, Option<String>), ApiError> {
    let (request, extra) = match name {
        "trend" => {
            let (r, e) = from_query::<TrendRequest>(query, &CHART_KEYS)?;
            (ChartRequest::Trend(r), e)
        }
        "categories" | "areas" => {
            let (r, e) = from_query::<CountsRequest>(query, &CHART_KEYS)?;
            if name == "areas" {
                (ChartRequest::Areas(r), e)
            } else {
                (ChartRequest::Categories(r), e)
            }
        }
        "matrix" => {
            let (r, e) = from_query::<MatrixRequest>(query, &CHART_KEYS)?;
            (ChartRequest::Matrix(r), e)
        }
        "survey" => {
            let (r, e) = from_query::<SurveyRequest>(query, &CHART_KEYS)?;
            (ChartRequest::Survey(r), e)
        }
        "change" => {
            let (r, e) = from_query::<ChangeRequest>(query, &CHART_KEYS)?;
            (ChartRequest::Change(r), e)
        }
        other => {
            return Err(
                ApiError::not_found(format!("no chart '{other}' ({})", KINDS.join(", ")))
                    .field("chart"),
            )
        }
    };
    Ok((
        request,
        chart_params(&extra)?,
        asked_municipality(&extra).map(str::to_owned),
    ))
}

/// `NAME.svg` or `NAME.png`: the name and whether PNG.
fn file_kind(file: &str) -> Result<(&str, bool), ApiError> {
    match file.rsplit_once('.') {
        Some((name, "svg")) => Ok((name, false)),
        Some((name, "png")) => Ok((name, true)),
        _ => Err(ApiError::invalid(
            "chart",
            format!("'{file}' is not NAME.svg or NAME.png"),
        )),
    }
}

/// `GET /api/v1/charts/{name}.svg|png`.
pub(crate) async fn chart(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (name, png) = file_kind(&file)?;
    let (request, params, municipality) = parse(name, query.as_deref())?;
    let asked = (request, municipality.as_deref());
    respond(state, &headers, &file, asked, params, png).await
}

/// `POST /api/v1/charts/{trend|categories|matrix}.svg|png` with a drawn
/// polygon's request as the body (that of `POST /api/v1/query/polygon`);
/// `lang` and `scale` in the query string.
pub(crate) async fn drawn(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (name, png) = file_kind(&file)?;
    let kind = DrawnChart::named(name)?;
    let request: PolygonRequest = from_body(&body)?;
    let extra = post_query(query.as_deref(), &["lang", "scale"])?;
    let params = chart_params(&extra)?;
    let asked = (
        ChartRequest::Drawn(kind, request),
        asked_municipality(&extra),
    );
    respond(state, &headers, &file, asked, params, png).await
}

/// Protects, validates, draws (cached by data version, role and request) and
/// answers a chart.
async fn respond(
    state: AppState,
    headers: &HeaderMap,
    file: &str,
    (mut request, municipality): (ChartRequest, Option<&str>),
    params: ChartParams,
    png: bool,
) -> Result<Response, ApiError> {
    let who = caller(&state, headers)?;
    let policy = &state.config.policy;
    match &mut request {
        ChartRequest::Trend(r) => policy.protect(who.role, r),
        ChartRequest::Categories(r) | ChartRequest::Areas(r) => policy.protect(who.role, r),
        ChartRequest::Matrix(r) => policy.protect(who.role, r),
        ChartRequest::Survey(r) => policy.protect(who.role, r),
        ChartRequest::Change(r) => policy.protect(who.role, r),
        ChartRequest::Drawn(_, r) => policy.protect(who.role, r),
    }
    request.validate()?;
    let snap = state.snapshot_for(&who, municipality).await?;
    let version = snap.data().version;
    let asked = serde_json::to_string(&(&request, &params)).map_err(ApiError::internal)?;
    let tag = etag(snap.data(), &["chart", file, who.role.as_str(), &asked]);
    if let Some(r) = not_modified(&state, headers, &tag) {
        return Ok(r);
    }
    let budget = state.config.limits.budget();
    let make = heavy(&state, move || {
        let chart = request.draw(
            &params,
            &snap,
            &Options {
                budget,
                geometry: false,
            },
        )?;
        let comma = params.decimal_comma();
        Ok(if png {
            chart
                .png(params.scale()?, comma)
                .map_err(ApiError::internal)?
        } else {
            chart.svg(true, comma).into_bytes()
        })
    });
    let body = cached(&state, version, &tag, make).await?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if png { "image/png" } else { "image/svg+xml" }),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    Ok(r)
}
