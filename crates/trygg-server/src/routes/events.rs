//! Point-level events (analysts): a page as JSON (`cursor` for the next), or
//! every matching event as an export in any table format, streamed. Sensitive
//! categories never appear; every answer is written to the audit log.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use tokio::sync::mpsc;
use trygg_query::encode::{About, Column, Format, Kind, RowWriter};
use trygg_query::jobs::events::EVENT_COLUMNS;
use trygg_query::{EventsRequest, Job, Options, QueryError, Role};
use trygg_store::feature_file::GeometryType;

use super::{blocking, caller, format_of, respond};
use crate::error::ApiError;
use crate::params::{asked_municipality, from_query};
use crate::state::AppState;

/// `GET /api/v1/events`.
pub(crate) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    who.require(Role::Analyst)?;
    let (mut request, extra) = from_query::<EventsRequest>(query.as_deref(), &["format"])?;
    let format = format_of(&extra)?;
    request.hidden = (*state.hidden).clone();
    let valid = request.validate()?;
    let snap = state.snapshot_for(&who, asked_municipality(&extra)).await?;
    let permit = state.permit().await?;
    let target = uri.to_string();
    if format == Format::Json {
        let worker = state.clone();
        let body = blocking(move || -> Result<Vec<u8>, ApiError> {
            let _permit = permit;
            let page = request.execute(valid, &snap, &Options::default())?;
            worker.audit(
                &who,
                "events",
                &target,
                Some(page.events.len() as u64),
                "json",
            )?;
            serde_json::to_vec(&page).map_err(ApiError::internal)
        })
        .await?;
        return Ok(respond(body, format, "events", None));
    }
    if request.limit.is_some() || request.cursor.is_some() {
        return Err(ApiError::invalid(
            if request.limit.is_some() {
                "limit"
            } else {
                "cursor"
            },
            "an export holds every matching event: give limit and cursor only with format=json",
        ));
    }
    // An export: counted first (so an over-limit export is refused before any
    // byte is sent), then streamed through a channel from a blocking thread.
    let max = state.config.limits.export_rows;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    let worker = state.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let counted = request.for_each(&snap, |_| Ok(()));
        let n = match counted {
            Ok(n) if n > max => {
                let _ = ready_tx.send(Err(ApiError::invalid(
                    "format",
                    format!("{n} events are over the export limit of {max}: narrow the time window or filters"),
                ).field("to")));
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        if format == Format::Xlsx && n > u64::from(trygg_query::encode::XLSX_MAX_ROWS) {
            let _ = ready_tx.send(Err(ApiError::invalid(
                "format",
                format!("{n} events do not fit one xlsx sheet: use csv, gpkg or parquet"),
            )));
            return;
        }
        let result = if format.is_built_whole() {
            built_whole(&request, &snap, format, &tx, ready_tx)
        } else {
            let _ = ready_tx.send(Ok(()));
            write_rows(&request, &snap, format, ChannelWriter::new(tx.clone())).map(|_| ())
        };
        match result {
            Ok(()) => {
                if let Err(e) = worker.audit(&who, "export", &target, Some(n), format.extension()) {
                    tracing::error!(?e, "audit of an export failed");
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    ready_rx.await.map_err(ApiError::internal)??;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = respond(Vec::new(), format, "events", None);
    *response.body_mut() = Body::from_stream(stream);
    Ok(response)
}

/// Writes the export to a temporary file, says whether it worked, then sends it.
fn built_whole(
    request: &EventsRequest,
    snap: &trygg_query::Snapshot,
    format: Format,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    ready: tokio::sync::oneshot::Sender<Result<(), ApiError>>,
) -> Result<(), QueryError> {
    let mut file = match tempfile::tempfile() {
        Ok(f) => f,
        Err(e) => {
            let _ = ready.send(Err(ApiError::internal(e)));
            return Ok(());
        }
    };
    if let Err(e) = write_rows(request, snap, format, &mut file) {
        let _ = ready.send(Err(e.into()));
        return Ok(());
    }
    let _ = ready.send(Ok(()));
    use std::io::{Read, Seek};
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0
            || tx
                .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                .is_err()
        {
            return Ok(());
        }
    }
}

/// The event columns' kinds.
fn columns() -> Vec<Column> {
    EVENT_COLUMNS
        .iter()
        .map(|&name| Column {
            name,
            kind: match name {
                "lon" | "lat" | "x_sweref99tm" | "y_sweref99tm" => Kind::Float,
                _ => Kind::Text,
            },
        })
        .collect()
}

fn write_rows<W: Write + Send>(
    request: &EventsRequest,
    snap: &trygg_query::Snapshot,
    format: Format,
    w: W,
) -> Result<u64, QueryError> {
    let about = About {
        title: "events",
        parameters: serde_json::to_value(request).unwrap_or_default(),
        data: snap.data(),
        suppression: None,
    };
    let geometry = format.wants_geometry().then_some(GeometryType::Point);
    let mut out = RowWriter::new(format, columns(), geometry, &about, w)?;
    request.for_each(snap, |row| {
        let g = row.geometry();
        out.row(&row.cells(), Some(&g))
    })?;
    out.finish()
}

/// A `Write` that sends 64 KiB chunks to the response stream (blocking).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(1 << 16),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 16 {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
