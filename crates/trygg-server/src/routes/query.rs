//! The query layer's jobs over HTTP: GET with query parameters (POST with a JSON
//! body for a drawn polygon), `format` for the encoding.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use trygg_query::{
    ChangeRequest, CountsRequest, EmergingRequest, HotspotsRequest, MatrixRequest, PolygonRequest,
    SurveyRequest, TableRequest, TrendRequest, WeeklyRequest,
};

use super::{answer, caller, format_of};
use crate::error::ApiError;
use crate::params::{asked_municipality, from_body, from_query, post_query};
use crate::state::AppState;

macro_rules! get_job {
    ($($name:ident: $t:ty),* $(,)?) => {
        $(
            #[doc = concat!("GET of a `", stringify!($t), "`.")]
            pub(crate) async fn $name(
                State(state): State<AppState>,
                headers: HeaderMap,
                uri: Uri,
                RawQuery(query): RawQuery,
            ) -> Result<Response, ApiError> {
                let who = caller(&state, &headers)?;
                let (request, extra) = from_query::<$t>(query.as_deref(), &["format"])?;
                let format = format_of(&extra)?;
                let asked = (request, asked_municipality(&extra));
                answer(state, who, &headers, uri.to_string(), asked, format).await
            }
        )*
    };
}

get_job!(
    counts: CountsRequest,
    table: TableRequest,
    hotspots: HotspotsRequest,
    emerging: EmergingRequest,
    change: ChangeRequest,
    survey: SurveyRequest,
    matrix: MatrixRequest,
    trend: TrendRequest,
    weekly: WeeklyRequest,
);

/// POST of a drawn polygon's statistics (`format` in the query string).
pub(crate) async fn polygon(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    let request: PolygonRequest = from_body(&body)?;
    let extra = post_query(query.as_deref(), &["format"])?;
    let format = format_of(&extra)?;
    let asked = (request, asked_municipality(&extra));
    answer(state, who, &headers, uri.to_string(), asked, format).await
}
