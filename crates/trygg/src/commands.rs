//! The subcommands: each validates its arguments, calls one library entry point and
//! formats the result. Exit codes: 0 done, 1 nothing could land, 2 usage or I/O error.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use trygg_ingest::pipeline::{ingest, IngestReport, IngestRequest};
use trygg_ingest::setup::{load_area_layer, open_or_create, AreaLoad};
use trygg_store::{EventFilter, Store};

use crate::cli::{AreasCommand, AreasLoadArgs, Cli, Command, ExportArgs, FormatArg, IngestArgs};
use crate::query::day_start;

/// At most this many rejections are listed in `--json` output and summaries; all
/// are stored in the store's `rejected_rows` table.
const LISTED_REJECTIONS: usize = 1_000;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(args) => run_ingest(&args),
        Command::Areas {
            command: AreasCommand::Load(args),
        } => run_areas_load(&args),
        Command::Areas {
            command: AreasCommand::List { store },
        } => run_areas_list(&store),
        Command::Export(args) => run_export(&args),
        Command::Demo(args) => crate::demo::run_demo(&args),
        Command::Query { command } => crate::query::run_query(&command),
        Command::Info { store } => run_info(&store),
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

fn run_ingest(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let mut store = open_or_create(&args.store, !args.no_default_areas)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let req = IngestRequest {
        source: args.source.into(),
        files: args.files.clone(),
        mapping: args.mapping.clone(),
        strict: args.strict,
    };
    let bar = progress_bar(!args.json);
    let report = ingest(&mut store, &req, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            bar.set_message(format!("{} rows", p.rows));
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print_summary(&req, &report, &args.store);
    }
    Ok(if report.landed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_json(report: &IngestReport) -> serde_json::Value {
    let rejections: Vec<_> = report
        .rejections
        .iter()
        .take(LISTED_REJECTIONS)
        .map(|r| json!({"file": r.file, "row": r.row, "field": r.field, "reason": r.reason}))
        .collect();
    json!({
        "read": report.read,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "skipped": report.skipped,
        "rejected": report.rejected,
        "rejections": rejections,
        "rejections_omitted": report.rejections.len().saturating_sub(LISTED_REJECTIONS),
        "skip_reasons": report.skip_reasons,
        "batch_id": report.batch_id,
        "landed": report.landed(),
        "files": report.files.iter().map(|f| json!({
            "file": f.file, "sha256": f.sha256, "bytes": f.bytes, "read": f.read, "accepted": f.accepted,
            "duplicates": f.duplicates, "skipped": f.skipped, "rejected": f.rejected, "error": f.error,
        })).collect::<Vec<_>>(),
    })
}

fn print_summary(req: &IngestRequest, report: &IngestReport, store: &Path) {
    let mut out = std::io::stdout().lock();
    let verdict = match report.batch_id {
        Some(id) => format!("landed as batch {id} in {}", store.display()),
        None if req.strict && report.rejected > 0 => {
            "NOT landed: --strict and rows were rejected; the store is unchanged".into()
        }
        None => "NOT landed: nothing in the input could be used; the store is unchanged".into(),
    };
    let _ = writeln!(
        out,
        "{} file(s) of source {}: {verdict}",
        req.files.len(),
        req.source
    );
    let _ = writeln!(out, "  {}", counts_line(report));
    for (reason, n) in &report.skip_reasons {
        let _ = writeln!(out, "  skipped {n}: {reason}");
    }
    const SHOWN: usize = 20;
    for r in report.rejections.iter().take(SHOWN) {
        let _ = writeln!(out, "  rejected: {r}");
    }
    if report.rejections.len() > SHOWN {
        let _ = writeln!(
            out,
            "  ... and {} more rejections (all are in the store's rejected_rows table, or use --json)",
            report.rejections.len() - SHOWN
        );
    }
}

/// "read N, accepted N, duplicates N, skipped N, rejected N".
pub(crate) fn counts_line(report: &IngestReport) -> String {
    format!(
        "read {}, accepted {}, duplicates {}, skipped {}, rejected {}",
        report.read, report.accepted, report.duplicates, report.skipped, report.rejected
    )
}

fn run_areas_load(args: &AreasLoadArgs) -> anyhow::Result<ExitCode> {
    let mut store = open_or_create(&args.store, false)
        .with_context(|| format!("opening store {}", args.store.display()))?;
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
    let n = load_area_layer(&mut store, &args.file, &load)?;
    println!(
        "loaded {n} areas from {} as layer '{}'",
        args.file.display(),
        args.layer
    );
    Ok(ExitCode::SUCCESS)
}

fn run_areas_list(path: &Path) -> anyhow::Result<ExitCode> {
    let store = Store::open(path)?;
    for layer in store.area_layers()? {
        let n = store.areas(&layer.name)?.len();
        let date = |d: Option<chrono::NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
        println!(
            "{}\t{} areas\tvalid {} .. {}",
            layer.name,
            n,
            date(layer.valid_from),
            date(layer.valid_to)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.store)?;
    let filter = EventFilter {
        source: args.source.map(Into::into),
        from_utc: args.from.map(day_start),
        to_utc: args.to.and_then(|d| d.succ_opt()).map(day_start),
    };
    let format = match args.format {
        FormatArg::Csv => trygg_export::Format::Csv,
        FormatArg::Geojson => trygg_export::Format::GeoJson,
    };
    let n = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            trygg_export::export(&store, &filter, format, &mut w)?
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            trygg_export::export(&store, &filter, format, &mut w)?
        }
    };
    eprintln!("exported {n} events");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_info(path: &Path) -> anyhow::Result<ExitCode> {
    let store = Store::open(path)?;
    println!("store {}: {} events", path.display(), store.event_count()?);
    if let Some(e) = store.extent()? {
        println!(
            "extent (EPSG:3006): {:.0},{:.0} .. {:.0},{:.0}",
            e.min_x, e.min_y, e.max_x, e.max_y
        );
    }
    for layer in store.area_layers()? {
        println!(
            "area layer {} ({} areas)",
            layer.name,
            store.areas(&layer.name)?.len()
        );
    }
    for b in store.batches()? {
        println!(
            "batch {} {} {}: read {}, accepted {}, duplicates {}, skipped {}, rejected {}",
            b.id, b.started_at, b.source, b.read, b.accepted, b.duplicates, b.skipped, b.rejected
        );
    }
    Ok(ExitCode::SUCCESS)
}
