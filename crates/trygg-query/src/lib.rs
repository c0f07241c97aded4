//! Trygg's query layer: the one place where a request becomes an answer, for every
//! front end (the CLI, the HTTP service, the weekly report, the web UI).
//!
//! - Requests ([`jobs`]) are plain data (`Deserialize`): text and numbers as a
//!   requester writes them. Each is validated into typed values before any work,
//!   with errors that name the field ([`QueryError::field`]).
//! - They run on a [`Snapshot`] of the store (events view, areas, population,
//!   survey rows, metadata at one data version); [`LiveSnapshot`] follows the store
//!   as batches land, here or in another process.
//! - Results are typed (`Serialize`), carry their parameters and what the data is
//!   ([`DataInfo`]: version, synthetic), and have their counts already published
//!   under the request's suppression rule ([`disclosure`]), so every encoding
//!   ([`encode`]: CSV, Excel CSV, JSON, GeoJSON) gives the same protection.
//!
//! No HTTP, no command line: only analytics, the store and plain data.

pub mod access;
pub mod charts;
pub mod disclosure;
pub mod encode;
pub mod error;
pub mod jobs;
pub mod params;
pub mod snapshot;

pub use access::{Policy, Role};
pub use error::{ErrorKind, QueryError};
pub use jobs::counts::{CountsRequest, PolygonRequest, TableRequest};
pub use jobs::events::EventsRequest;
pub use jobs::hotspots::{ChangeRequest, EmergingRequest, HotspotsRequest};
pub use jobs::survey::SurveyRequest;
pub use jobs::time::{MatrixRequest, TrendRequest};
pub use jobs::weekly::WeeklyRequest;
pub use jobs::{Job, Options};
pub use snapshot::{DataInfo, LiveSnapshot, Location, Scope, Snapshot, StoreConn};
