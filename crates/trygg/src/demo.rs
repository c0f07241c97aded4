//! `trygg demo`: generate synthetic Stockholm data with `trygg-demo`, ingest it
//! through the normal ingest path into a store labelled synthetic, and print a
//! summary. The store is created atomically (see [`trygg_store::NewStore`]): it
//! appears under its name only when everything is in, so an existing demo store is
//! always a whole one.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use trygg_demo::{DemoParams, Manifest};
use trygg_ingest::setup::begin_store;
use trygg_store::Store;

use crate::cli::DemoArgs;
use crate::commands::{counts_line, progress_bar, run_info};

fn yesterday() -> chrono::NaiveDate {
    let today = trygg_model::time::to_stockholm(chrono::Utc::now().fixed_offset()).date_naive();
    today.pred_opt().unwrap_or(today)
}

/// Runs `trygg demo`.
pub fn run_demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout();
    if args.store.exists() {
        writeln!(
            out,
            "{} exists; showing it (delete it to generate new demo data)",
            args.store.display()
        )?;
        run_info(&args.store)?;
    } else {
        build(args, &mut out)?;
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    crate::serve::run(crate::serve::demo_config(&args.store, &args.addr))
}

fn build(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let params = DemoParams {
        seed: args.seed,
        years: args.years,
        scale: args.scale,
        end: args.end.unwrap_or_else(yesterday),
    };
    let parent = args
        .store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let data_dir = parent.join("demo-data");

    let started = Instant::now();
    writeln!(
        out,
        "Generating SYNTHETIC demo data: {} year(s) to {}, scale {}, seed {} -> {}",
        params.years,
        params.end,
        params.scale,
        params.seed,
        data_dir.display()
    )?;
    // Progress lines: a failed write here (a closed pipe) shows again, and
    // ends the command, at the next line written outside the callback.
    let manifest = trygg_demo::generate(&params, &data_dir, &mut |line| {
        let _ = writeln!(out, "  {line}");
    })?;
    let generated = started.elapsed();

    let mut store = begin_store(&args.store, true)?;
    let events = ingest_all(&mut store, &data_dir, &manifest, out)?;
    let store = store.persist()?;
    // The view snapshot file, so that the first query reads columns, not rows.
    store.load_view()?;
    let total = started.elapsed();
    writeln!(
        out,
        "Demo store {} ready: {events} events (synthetic); generated in {:.1} s, ingested in {:.1} s, total {:.1} s",
        args.store.display(),
        generated.as_secs_f64(),
        (total - generated).as_secs_f64(),
        total.as_secs_f64()
    )?;
    Ok(())
}

fn ingest_all(
    store: &mut Store,
    data_dir: &Path,
    manifest: &Manifest,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let bar = progress_bar(true);
    let (population, accepted) = trygg_demo::load::fill(
        store,
        data_dir,
        manifest,
        &mut |source, p| {
            if let Some(bar) = &bar {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes_done);
                bar.set_message(format!("{source}: {} rows", p.rows));
            }
        },
        &mut |req, report| {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
                bar.reset();
            }
            let _ = writeln!(
                out,
                "  ingested {} ({} file(s)): {}",
                req.source,
                req.files.len(),
                counts_line(report)
            );
            for r in report.rejections.iter().take(5) {
                let _ = writeln!(out, "    rejected: {r}");
            }
        },
    )?;
    writeln!(out, "  population: {population} rows for layer stadsdel")?;
    Ok(accepted)
}
