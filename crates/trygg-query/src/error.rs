//! The query layer's one error type. Every client error names the request field
//! at fault, so the CLI can say `--period: …` and the server `{"field":"period"}`.

use trygg_analytics::budget::BudgetError;
use trygg_store::StoreError;

/// What kind of failure an error is, for a front end to map (e.g. to an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (a value cannot be read, a combination is invalid).
    BadRequest,
    /// The request names something the store does not have (a layer, an area).
    NotFound,
    /// The request would cost more than the budget allows.
    TooLarge,
    /// Try again (the store changed under the request).
    Unavailable,
    /// The store or the machine failed; not the requester's fault.
    Internal,
}

/// A failed query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A request field cannot be read or does not fit the others.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (e.g. `period`, `hours`).
        field: String,
        /// What is wrong, naming the value.
        message: String,
    },
    /// The store has no such layer, area or data.
    #[error("{field}: {message}")]
    NotFound {
        /// The field naming it.
        field: String,
        /// What is missing.
        message: String,
    },
    /// Over the request budget.
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A transformation (PROJ) failed.
    #[error("coordinate transformation failed: {0}")]
    Crs(#[from] trygg_crs::CrsError),
    /// The data asked for is not available in this snapshot any more (the store
    /// moved on); asking again answers from the new state.
    #[error("{0}")]
    Unavailable(String),
    /// Writing an encoding failed.
    #[error("writing the result: {0}")]
    Io(#[from] std::io::Error),
}

impl QueryError {
    /// An invalid value of `field`.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> QueryError {
        QueryError::Invalid {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }

    /// Something `field` names that the store lacks.
    pub fn not_found(field: &str, message: impl std::fmt::Display) -> QueryError {
        QueryError::NotFound {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }

    /// The request field at fault, if the error is the requester's.
    pub fn field(&self) -> Option<&str> {
        match self {
            QueryError::Invalid { field, .. } | QueryError::NotFound { field, .. } => Some(field),
            QueryError::Budget(b) => Some(b.parameter),
            _ => None,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::Invalid { .. } => ErrorKind::BadRequest,
            QueryError::NotFound { .. } => ErrorKind::NotFound,
            QueryError::Budget(_) => ErrorKind::TooLarge,
            QueryError::Unavailable(_) => ErrorKind::Unavailable,
            QueryError::Store(_) | QueryError::Crs(_) | QueryError::Io(_) => ErrorKind::Internal,
        }
    }
}

/// Attaches a field name to an error from below (a parser, an analysis step).
pub(crate) trait Field<T> {
    fn field(self, field: &str) -> Result<T, QueryError>;
}

impl<T, E: std::fmt::Display> Field<T> for Result<T, E> {
    fn field(self, field: &str) -> Result<T, QueryError> {
        self.map_err(|e| QueryError::invalid(field, e))
    }
}
