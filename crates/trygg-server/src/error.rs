//! The API's one error shape, `{"error": {"code", "message", "field"}}`, and the
//! mapping of the query layer's errors to HTTP statuses (only here). Client
//! errors say what was wrong; server errors hide the cause and log it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trygg_query::{ErrorKind, QueryError};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// A stable code (`invalid_parameter`, `not_found`, …).
    pub code: &'static str,
    /// What was wrong.
    pub message: String,
    /// The parameter at fault.
    pub field: Option<String>,
    /// Seconds to wait before asking again (503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A 400 naming the parameter.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).field(field)
    }

    /// Any status and code.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl std::fmt::Display,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.to_string(),
            field: None,
            retry_after: None,
        }
    }

    /// With the parameter at fault.
    pub fn field(mut self, field: &str) -> ApiError {
        self.field = Some(field.to_owned());
        self
    }

    /// A 500 whose cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the cause is in its log",
        )
    }

    /// 401.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub fn forbidden(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 with Retry-After.
    pub fn busy(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many queries are running; try again shortly",
            )
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        let field = e.field().map(str::to_owned);
        let (status, code) = match e.kind() {
            ErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::TooLarge => (StatusCode::UNPROCESSABLE_ENTITY, "over_budget"),
            ErrorKind::Unavailable => {
                return ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e)
                }
            }
            ErrorKind::Internal => return ApiError::internal(e),
        };
        ApiError {
            field,
            ..ApiError::new(status, code, e)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}
