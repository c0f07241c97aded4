//! Administration (admins only): ingest uploaded files with the CLI's rules and
//! report, list batches and their rejected rows, revert a batch, read the audit log.

use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trygg_ingest::pipeline::{ingest as run_ingest, IngestError, IngestRequest};
use trygg_query::Role;
use trygg_store::BatchRecord;

use super::{blocking, caller};
use crate::error::ApiError;
use crate::state::AppState;

/// Rejections listed in an ingest answer (all are stored).
const LISTED_REJECTIONS: usize = 1_000;

fn batch_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid("id", format!("'{text}' is not a batch id")))
}

/// `GET /api/v1/admin/batches`.
pub(crate) async fn batches(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers)?.require(Role::Admin)?;
    let s = state.clone();
    let list = blocking(move || s.read_store(trygg_store::batches)).await?;
    let rows: Vec<Value> = list.iter().map(BatchRecord::to_json).collect();
    Ok(Json(json!({"batches": rows})))
}

/// `GET /api/v1/admin/batches/{id}/rejections`.
pub(crate) async fn rejections(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers)?.require(Role::Admin)?;
    let id = batch_id(&id)?;
    let s = state.clone();
    let (known, list) = blocking(move || {
        s.read_store(|store| {
            let known = trygg_store::batches(store)?.iter().any(|b| b.id == id);
            Ok((known, trygg_store::rejections(store, id)?))
        })
    })
    .await?;
    if !known {
        return Err(ApiError::not_found(format!("no batch {id}")).field("id"));
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|r| json!({"file": r.file, "row": r.row, "field": r.field, "reason": r.reason, "raw": r.raw}))
        .collect();
    Ok(Json(json!({"batch_id": id, "rejections": rows})))
}

/// `POST /api/v1/admin/batches/{id}/revert`.
pub(crate) async fn revert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, &headers)?;
    who.require(Role::Admin)?;
    let id = batch_id(&id)?;
    let s = state.clone();
    let removed = blocking(move || -> Result<u64, ApiError> {
        let known = s.read_store(|store| {
            Ok(trygg_store::batches(store)?
                .into_iter()
                .find(|b| b.id == id))
        })?;
        match known {
            None => return Err(ApiError::not_found(format!("no batch {id}")).field("id")),
            Some(b) if b.reverted.is_some() => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "already_reverted",
                    format!("batch {id} was already reverted"),
                )
                .field("id"))
            }
            Some(_) => {}
        }
        let removed = s.write_store(|store| store.revert_batch(id, &who.name))?;
        s.refresh()?;
        s.audit(&who, "revert", &format!("batch {id}"), Some(removed), "")?;
        Ok(removed)
    })
    .await?;
    Ok(Json(json!({"batch_id": id, "reverted_events": removed})))
}

/// `GET /api/v1/admin/police`: the police feed's poll log (the latest 100
/// polls, newest first) and its all-time counts, gaps included.
pub(crate) async fn police(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers)?.require(Role::Admin)?;
    let s = state.clone();
    let (counts, polls) = blocking(move || {
        s.read_store(|store| {
            Ok((
                trygg_store::feed_counts(store)?,
                trygg_store::polls(store, 100)?,
            ))
        })
    })
    .await?;
    Ok(Json(json!({
        "url": state.config.police.url,
        "interval_s": state.config.police.interval_s,
        "counts": counts,
        "polls": polls,
    })))
}

/// `GET /api/v1/admin/audit?limit=&before=`.
pub(crate) async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers)?.require(Role::Admin)?;
    let mut limit = 100u32;
    let mut before = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=10_000).contains(l))
                    .ok_or_else(|| ApiError::invalid("limit", format!("'{v}' is not 1..=10000")))?
            }
            "before" => {
                before = Some(
                    v.parse::<i64>()
                        .map_err(|_| ApiError::invalid("before", format!("'{v}' is not an id")))?,
                )
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter (known: limit, before)",
                ))
            }
        }
    }
    let s = state.clone();
    let entries =
        blocking(move || s.read_store(|st| trygg_store::audit_log(st, limit, before))).await?;
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| json!({"id": e.id, "at": e.at, "who": e.who, "role": e.role, "action": e.action, "target": e.target, "rows": e.rows, "detail": e.detail}))
        .collect();
    Ok(Json(json!({"entries": rows})))
}

/// `POST /api/v1/admin/ingest` (multipart: `source`, optional `mapping` file,
/// optional `strict`, one or more `file` parts). The answer is the CLI's
/// `--json` report; 200 when the batch landed, 422 when nothing could land (the
/// store unchanged: the CLI's exit 1), 400 for a usage or mapping error (exit 2).
pub(crate) async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers)?;
    who.require(Role::Admin)?;
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let mut source = None;
    let mut strict = false;
    let mut mapping = None;
    let mut files = Vec::new();
    let mut names = Vec::new();
    let bad =
        |e: axum::extract::multipart::MultipartError| ApiError::invalid("body", e.body_text());
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "source" => source = Some(field.text().await.map_err(bad)?),
            "strict" => {
                strict = matches!(
                    field.text().await.map_err(bad)?.trim(),
                    "true" | "1" | "yes" | ""
                )
            }
            "mapping" | "file" => {
                let given = field.file_name().unwrap_or("upload").to_owned();
                // Keep the file name (rejections name it) without any path in it.
                let base: String = std::path::Path::new(&given)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("upload")
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                let sub = dir
                    .path()
                    .join(format!("{}", files.len() + usize::from(mapping.is_some())));
                std::fs::create_dir_all(&sub).map_err(ApiError::internal)?;
                let base = if base.is_empty() {
                    "upload".to_owned()
                } else {
                    base
                };
                let path = sub.join(&base);
                let bytes = field.bytes().await.map_err(bad)?;
                std::fs::write(&path, &bytes).map_err(ApiError::internal)?;
                if name == "mapping" {
                    mapping = Some(path);
                } else {
                    files.push(path);
                    names.push(base);
                }
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown part (source, strict, mapping, file)",
                ))
            }
        }
    }
    let source = source
        .ok_or_else(|| ApiError::invalid("source", "give the source of the files"))?
        .trim()
        .parse::<trygg_model::Source>()
        .map_err(|e| ApiError::invalid("source", e))?;
    if files.is_empty() {
        return Err(ApiError::invalid("file", "give at least one file part"));
    }
    let request = IngestRequest {
        source,
        files,
        mapping,
        strict,
        names,
    };
    let s = state.clone();
    let location = state.live.location().clone();
    let (status, report) = blocking(move || -> Result<(StatusCode, Value), ApiError> {
        let _dir = dir;
        // Either backend takes the batch through the same pipeline.
        let mut store: Box<dyn trygg_store::IngestStore> = match &location {
            trygg_query::Location::File(path) => {
                Box::new(trygg_store::Store::open(path).map_err(ApiError::internal)?)
            }
            trygg_query::Location::Postgres(url) => {
                Box::new(trygg_pg::PgStore::open(url).map_err(ApiError::internal)?)
            }
        };
        let report = match run_ingest(store.as_mut(), &request, &mut |_| {}) {
            Ok(r) => r,
            // The store failing is the server's problem; anything else is the
            // upload's (a mapping, a CRS, a file: the CLI's exit 2).
            Err(e @ (IngestError::Store(_) | IngestError::Locator(_))) => {
                return Err(ApiError::internal(e))
            }
            Err(e @ IngestError::Mapping(_)) => return Err(ApiError::invalid("mapping", e)),
            Err(e) => return Err(ApiError::invalid("file", e)),
        };
        drop(store);
        if report.landed() {
            s.refresh()?;
        }
        s.audit(
            &who,
            "ingest",
            &request.names.join(", "),
            Some(report.accepted),
            source.as_str(),
        )?;
        let status = if report.landed() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Ok((status, report.to_json(LISTED_REJECTIONS)))
    })
    .await?;
    Ok((status, Json(report)).into_response())
}
