//! The weekly hotspot report. Its numbers are the query layer's
//! ([`WeeklyRequest`]: the same counts, tests and hotspots the API and the map
//! give), its provenance the store's ([`Provenance`]); this crate only writes
//! them, in Swedish or English:
//!
//! - `report.json`: parameters, provenance, the summary and every number;
//! - `areas.csv`, `areas.xlsx`: the per-area table;
//! - `report.html`: self-contained (inline SVG charts, the static map as an
//!   embedded PNG, the font as a data URI), printable;
//! - `report.pdf`: that HTML printed by headless Chromium (see [`pdf`]).
//!
//! The same store and week give a byte-identical `report.json` and CSV; the
//! HTML and PDF differ only in the generation time they state.

pub mod html;
pub mod map;
pub mod pdf;
pub mod schedule;
pub mod text;

use std::path::{Path, PathBuf};

use serde::Serialize;
use trygg_analytics::window::Period;
use trygg_query::charts::Lang;
use trygg_query::encode::Format;
use trygg_query::jobs::weekly::WeeklyResult;
use trygg_query::{Job, Options, Policy, QueryError, Role, Snapshot, WeeklyRequest};
use trygg_store::{Provenance, SqlRead, StoreError};

/// What went wrong making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request or the query.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing a file.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Rendering the map.
    #[error("static map: {0}")]
    Map(String),
    /// Printing the PDF.
    #[error("report.pdf: {0}")]
    Pdf(String),
}

/// A report's numbers, provenance and language.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `weekly`.
    pub report: &'static str,
    /// The language of the texts.
    pub lang: Lang,
    /// Where the week's events came from.
    pub provenance: Provenance,
    /// The police feed during the week (polls, gaps).
    pub police_feed: trygg_store::FeedSummary,
    /// The summary, one sentence per entry, built from the numbers.
    pub summary: Vec<String>,
    /// Every number.
    pub numbers: WeeklyResult,
    /// The basemap of the static map (not part of the JSON).
    #[serde(skip)]
    pub map: MapData,
}

/// What the static map is drawn on, EPSG:3006.
#[derive(Debug, Clone, Default)]
pub struct MapData {
    /// The layer's areas.
    pub areas: Vec<geo_types::MultiPolygon<f64>>,
    /// The land (the areas without their water), when the store has it.
    pub land: Vec<geo_types::MultiPolygon<f64>>,
}

/// Makes the report of `request` from a snapshot of `store` (at the same data
/// version), suppressed as a viewer would read it under `policy`.
pub fn build(
    store: &mut dyn SqlRead,
    snap: &Snapshot,
    request: &WeeklyRequest,
    policy: &Policy,
    lang: Lang,
) -> Result<Report, ReportError> {
    let mut request = request.clone();
    policy.protect(Role::Viewer, &mut request);
    let numbers = request.run(snap, &Options::default())?;
    let week: Period = numbers
        .week
        .parse()
        .map_err(|e| QueryError::invalid("week", format!("{e}")))?;
    let provenance = provenance(store, snap, week)?;
    let (from, to) = week.utc_bounds();
    let police_feed = trygg_store::feed_summary(store, from, to)?;
    let summary = text::summary(&numbers, &provenance, &police_feed, lang);
    let geometry = |layer: &str| -> Vec<geo_types::MultiPolygon<f64>> {
        snap.layer(layer, "layer")
            .map(|l| l.areas.iter().map(|a| a.geometry.clone()).collect())
            .unwrap_or_default()
    };
    let map = MapData {
        areas: geometry(&numbers.layer),
        land: geometry(trygg_query::snapshot::LAND_LAYER),
    };
    Ok(Report {
        report: "weekly",
        lang,
        provenance,
        police_feed,
        summary,
        numbers,
        map,
    })
}

/// Where the events of `week` that `snap` holds came from: of the
/// municipality alone when the snapshot is limited to one (its events chosen
/// by the same rule), so the provenance counts the events the numbers count.
pub fn provenance(
    store: &mut dyn SqlRead,
    snap: &Snapshot,
    week: Period,
) -> Result<Provenance, ReportError> {
    let (from, to) = week.utc_bounds();
    let scope = snap.scope_rule().map(|r| r as &dyn trygg_store::PointScope);
    Ok(trygg_store::provenance(store, from, to, scope)?)
}

/// Which files to write.
#[derive(Debug, Clone)]
pub struct Output {
    /// The folder (made if missing).
    pub dir: PathBuf,
    /// When the report is made (stated in the HTML and PDF only), RFC 3339.
    pub generated_at: String,
    /// Print `report.pdf` with this Chromium; `None`: no PDF.
    pub chromium: Option<PathBuf>,
}

/// The files written, in order.
pub fn write(report: &Report, out: &Output) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(&out.dir).map_err(|source| ReportError::Write {
        path: out.dir.clone(),
        source,
    })?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<PathBuf, ReportError> {
        let path = out.dir.join(name);
        write_atomically(&path, bytes)?;
        written.push(path.clone());
        Ok(path)
    };
    let mut json = serde_json::to_vec_pretty(report).map_err(|e| ReportError::Write {
        path: out.dir.join("report.json"),
        source: e.into(),
    })?;
    json.push(b'\n');
    put("report.json", &json)?;
    let data = &report.numbers.data;
    for (name, format) in [("areas.csv", Format::Csv), ("areas.xlsx", Format::Xlsx)] {
        let mut bytes = Vec::new();
        trygg_query::encode::write(&mut bytes, format, "weekly", &report.numbers.areas, data)?;
        put(name, &bytes)?;
    }
    let map = map::render(report).map_err(ReportError::Map)?;
    put("map.png", &map)?;
    let page = html::page(report, &map, &out.generated_at);
    let html_path = put("report.html", page.as_bytes())?;
    if let Some(chromium) = &out.chromium {
        let pdf = pdf::print(chromium, &html_path).map_err(ReportError::Pdf)?;
        put("report.pdf", &pdf)?;
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    // Readable by all: a report is served and shared.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
