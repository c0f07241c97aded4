//! The subcommands: each validates its arguments, calls one library entry point and
//! formats the result. Exit codes: 0 done, 1 nothing could land, 2 usage or I/O error.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use trygg_ingest::pipeline::{ingest, IngestReport, IngestRequest, Progress};
use trygg_ingest::setup::{begin_store, load_area_layer, AreaLoad};
use trygg_query::{Location, Snapshot, StoreConn};
use trygg_store::{BatchRecord, EventFilter, IngestStore, Store};

use crate::cli::{
    AreasCommand, AreasLoadArgs, BatchesCommand, Cli, Command, ExportArgs, FormatArg, IngestArgs,
};
use crate::output::Sink;
use crate::query::day_range;

/// At most this many rejections are listed in `--json` output and summaries; all
/// are stored in the store's `rejected_rows` table.
const LISTED_REJECTIONS: usize = 1_000;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(args) => run_ingest(&args),
        Command::Serve(args) => crate::serve::run(crate::serve::config(&args)?),
        Command::ApiKey {
            name,
            role,
            municipality,
        } => crate::serve::api_key(&name, &role, municipality.as_deref()),
        Command::Areas {
            command: AreasCommand::Load(args),
        } => run_areas_load(&args),
        Command::Areas {
            command: AreasCommand::List { store },
        } => run_areas_list(&store),
        Command::Areas {
            command: AreasCommand::Population { store, layer, file },
        } => run_areas_population(&store, &layer, &file),
        Command::Export(args) => run_export(&args),
        Command::Demo(args) => crate::demo::run_demo(&args),
        Command::Query { command } => crate::query::run_query(&command),
        Command::Info { store } => run_info(&store),
        Command::Batches { command } => run_batches(&command),
        Command::Report { command } => crate::report::run(&command),
        Command::Police { command } => crate::report::police(&command),
        Command::Migrate { store } => crate::pg::migrate(&store),
        Command::Copy { from, to } => crate::pg::copy(&from, &to),
    }
}

pub(crate) fn progress_bar(enabled: bool) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{spinner} {bar:40} {bytes}/{total_bytes} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// Runs `work` on the store at `path`: the existing one, or a new one (with
/// Stockholm's areas when `default_areas`) that appears under its name only if
/// `work` succeeds and `keep` accepts its result.
pub(crate) fn in_store<T>(
    path: &Path,
    default_areas: bool,
    keep: impl Fn(&T) -> bool,
    work: impl FnOnce(&mut Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let opening = || format!("opening store {}", path.display());
    if path.exists() {
        return work(&mut Store::open(path).with_context(opening)?);
    }
    let mut store = begin_store(path, default_areas).with_context(opening)?;
    let result = work(&mut store)?;
    if keep(&result) {
        store.persist().with_context(opening)?;
    }
    Ok(result)
}

fn run_ingest(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let req = IngestRequest {
        source: args.source.into(),
        files: args.files.clone(),
        mapping: args.mapping.clone(),
        strict: args.strict,
        names: Vec::new(),
    };
    let bar = progress_bar(!args.json);
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            bar.set_message(format!("{} rows", p.rows));
        }
    };
    // A new store exists only once its first batch has landed: a failed or empty
    // first ingest leaves nothing behind.
    let report = match Location::of(&args.store) {
        // A database gets its schema and areas with `trygg migrate`/`trygg copy`.
        Location::Postgres(url) => {
            ingest(&mut trygg_pg::PgStore::open(&url)?, &req, &mut on_progress)?
        }
        Location::File(_) => in_store(
            &args.store,
            !args.no_default_areas,
            IngestReport::landed,
            |store| Ok(ingest(store, &req, &mut on_progress)?),
        )?,
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut out = std::io::stdout().lock();
    let shown = if args.json {
        writeln!(out, "{}", report.to_json(LISTED_REJECTIONS))
    } else {
        print_summary(&mut out, &req, &report, &args.store)
    };
    // The exit code reports the batch even when nobody reads the summary.
    match shown {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(if report.landed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(
    out: &mut dyn Write,
    req: &IngestRequest,
    report: &IngestReport,
    store: &Path,
) -> std::io::Result<()> {
    let verdict = match report.batch_id {
        Some(id) => format!("landed as batch {id} in {}", Location::of(store)),
        None if req.strict && report.rejected > 0 => {
            "NOT landed: --strict and rows were rejected; the store is unchanged".into()
        }
        None => "NOT landed: nothing in the input could be used; the store is unchanged".into(),
    };
    writeln!(
        out,
        "{} file(s) of source {}: {verdict}",
        req.files.len(),
        req.source
    )?;
    writeln!(out, "  {}", counts_line(report))?;
    for (reason, n) in &report.skip_reasons {
        writeln!(out, "  skipped {n}: {reason}")?;
    }
    for (note, n) in &report.time_notes {
        writeln!(out, "  time note, {n} event(s): {note}")?;
    }
    const SHOWN: usize = 20;
    for r in report.rejections.iter().take(SHOWN) {
        writeln!(out, "  rejected: {r}")?;
    }
    if report.rejections.len() > SHOWN {
        writeln!(
            out,
            "  ... and {} more rejections (all are in the store's rejected_rows table, or use --json)",
            report.rejections.len() - SHOWN
        )?;
    }
    Ok(())
}

/// "read N, accepted N, updated N, duplicates N, skipped N, rejected N".
pub(crate) fn counts_line(report: &IngestReport) -> String {
    format!(
        "read {}, accepted {}, updated {}, duplicates {}, skipped {}, rejected {}",
        report.read,
        report.accepted,
        report.updated,
        report.duplicates,
        report.skipped,
        report.rejected
    )
}

fn run_areas_load(args: &AreasLoadArgs) -> anyhow::Result<ExitCode> {
    let crs = args.crs.as_deref().map(trygg_crs::Crs::parse).transpose()?;
    let load = AreaLoad {
        layer: args.layer.clone(),
        valid_from: args.valid_from,
        valid_to: args.valid_to,
        crs,
        name_field: args.name_field.clone(),
        code_field: args.code_field.clone(),
        source_layer: args.source_layer.clone(),
        replace: args.replace,
    };
    let n = on_areas(&args.store, |store| {
        Ok(load_area_layer(store, &args.file, &load)?)
    })?;
    writeln!(
        std::io::stdout(),
        "loaded {n} areas from {} as layer '{}'",
        args.file.display(),
        args.layer
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `work` on the store at `path` for a change of its areas: a database,
/// or a file (created without default areas when missing).
fn on_areas<T>(
    path: &Path,
    work: impl FnOnce(&mut dyn trygg_store::IngestStore) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match Location::of(path) {
        Location::Postgres(url) => work(&mut trygg_pg::PgStore::open(&url)?),
        Location::File(_) => in_store(path, false, |_| true, |store| work(store)),
    }
}

fn run_areas_population(store: &Path, layer: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let n = on_areas(store, |store| {
        if store.layer_areas(layer)?.is_empty() {
            anyhow::bail!(
                "{}: the store has no area layer '{layer}' (load it first with `trygg areas load --layer {layer}`)",
                file.display()
            );
        }
        Ok(trygg_ingest::setup::load_population_csv(
            store, file, layer, &source,
        )?)
    })?;
    writeln!(
        std::io::stdout(),
        "loaded {n} population figures from {} for layer '{layer}'",
        file.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn run_areas_list(path: &Path) -> anyhow::Result<ExitCode> {
    let mut store = StoreConn::open(&Location::of(path))?;
    let mut out = std::io::stdout().lock();
    for (layer, n) in store.layers()? {
        let date = |d: Option<chrono::NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
        writeln!(
            out,
            "{}\t{} areas\tvalid {} .. {}",
            layer.name,
            n,
            date(layer.valid_from),
            date(layer.valid_to)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (from_utc, to_utc) = day_range(args.from, args.to)?;
    // The output is checked (never the store) and opened before the store is.
    let mut w = Sink::open(args.out.as_deref(), &args.store)?;
    let mut store = StoreConn::open(&Location::of(&args.store))?;
    let filter = EventFilter {
        source: args.source.map(Into::into),
        from_utc,
        to_utc,
    };
    let format = match args.format {
        FormatArg::Csv => trygg_export::Format::Csv,
        FormatArg::Geojson => trygg_export::Format::GeoJson,
    };
    // A municipality is located by its scoped snapshot's rule; the areas and
    // the view's origin are all it needs (the events are not loaded from a
    // database).
    let scoped = match &args.municipality {
        Some(m) => {
            let (areas, _) = Snapshot::open_pushed_down(&args.store)?;
            Some(std::sync::Arc::new(areas).within(Some(m))?)
        }
        None => None,
    };
    let scope = scoped
        .as_ref()
        .and_then(|s| s.scope_rule())
        .map(|r| r as &dyn trygg_store::PointScope);
    let n = trygg_export::export(store.sql(), &filter, scope, format, &mut w)?;
    w.finish()?;
    let _ = writeln!(std::io::stderr(), "exported {n} events");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_info(path: &Path) -> anyhow::Result<ExitCode> {
    let location = Location::of(path);
    let mut store = StoreConn::open(&location)?;
    let (events, extent) = store.events_summary()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "store {location}: {events} events")?;
    if let Some(e) = extent {
        writeln!(
            out,
            "extent (EPSG:3006): {:.0},{:.0} .. {:.0},{:.0}",
            e.min_x, e.min_y, e.max_x, e.max_y
        )?;
    }
    for (layer, n) in store.layers()? {
        writeln!(out, "area layer {} ({n} areas)", layer.name)?;
    }
    for b in trygg_store::batches(store.sql())? {
        writeln!(out, "{}", batch_line(&b))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One batch as `info` and `batches list` show it.
fn batch_line(b: &BatchRecord) -> String {
    let mut line = format!(
        "batch {} {} {}: read {}, accepted {}, updated {}, duplicates {}, skipped {}, rejected {}",
        b.id,
        b.started_at,
        b.source,
        b.read,
        b.accepted,
        b.updated,
        b.duplicates,
        b.skipped,
        b.rejected
    );
    if let Some(r) = &b.reverted {
        line.push_str(&format!(
            "; REVERTED {} by {} ({} events removed or given back their earlier version)",
            r.at, r.by, r.events
        ));
    }
    line
}

fn run_batches(command: &BatchesCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        BatchesCommand::List { store, json } => {
            let batches = trygg_store::batches(StoreConn::open(&Location::of(store))?.sql())?;
            if *json {
                let list: Vec<_> = batches.iter().map(BatchRecord::to_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                for b in &batches {
                    writeln!(out, "{}", batch_line(b))?;
                    for (file, sha) in &b.files {
                        writeln!(out, "  {file} (sha256 {sha})")?;
                    }
                }
            }
        }
        BatchesCommand::Revert { store, batch, by } => {
            let by = match by {
                Some(by) => by.clone(),
                None => std::env::var("USER")
                    .or_else(|_| std::env::var("LOGNAME"))
                    .unwrap_or_else(|_| "unknown".to_owned()),
            };
            let removed = match Location::of(store) {
                Location::Postgres(url) => {
                    trygg_pg::PgStore::open(&url)?.revert_batch(*batch, &by)?
                }
                Location::File(path) => Store::open(&path)?.revert_batch(*batch, &by)?,
            };
            writeln!(
                out,
                "reverted batch {batch}: {removed} events removed or given back the version the batch replaced; the batch stays listed as reverted by {by}"
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
