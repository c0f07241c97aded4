//! `trygg demo`: generate synthetic Stockholm data with `trygg-demo`, ingest it
//! through the normal ingest path into a store labelled synthetic, and print a
//! summary. The store is built under a temporary name and renamed when complete, so
//! an existing demo store is always a whole one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use trygg_demo::{DemoParams, Manifest};
use trygg_ingest::setup::{load_population_csv, open_or_create};
use trygg_store::meta;

use crate::cli::DemoArgs;
use crate::commands::{counts_line, progress_bar, run_info};

fn yesterday() -> chrono::NaiveDate {
    let today = trygg_model::time::to_stockholm(chrono::Utc::now().fixed_offset()).date_naive();
    today.pred_opt().unwrap_or(today)
}

fn remove_store(path: &Path) {
    for suffix in ["", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Runs `trygg demo`.
pub fn run_demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if args.store.exists() {
        println!(
            "{} exists; showing it (delete it to generate new demo data)",
            args.store.display()
        );
        run_info(&args.store)?;
    } else {
        build(args)?;
    }
    if !args.no_serve {
        println!("The map server is not part of Trygg yet: stopping after the summary.");
    }
    Ok(ExitCode::SUCCESS)
}

fn build(args: &DemoArgs) -> anyhow::Result<()> {
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
    println!(
        "Generating SYNTHETIC demo data: {} year(s) to {}, scale {}, seed {} -> {}",
        params.years,
        params.end,
        params.scale,
        params.seed,
        data_dir.display()
    );
    let manifest = trygg_demo::generate(&params, &data_dir, &mut |line| println!("  {line}"))?;
    let generated = started.elapsed();

    let partial = PathBuf::from(format!("{}.partial", args.store.display()));
    remove_store(&partial);
    let result = ingest_all(&partial, &data_dir, &manifest);
    if result.is_err() {
        remove_store(&partial);
    }
    let events = result?;
    std::fs::rename(&partial, &args.store)
        .with_context(|| format!("renaming {} to {}", partial.display(), args.store.display()))?;
    let total = started.elapsed();
    println!(
        "Demo store {} ready: {events} events (synthetic); generated in {:.1} s, ingested in {:.1} s, total {:.1} s",
        args.store.display(),
        generated.as_secs_f64(),
        (total - generated).as_secs_f64(),
        total.as_secs_f64()
    );
    Ok(())
}

fn ingest_all(store_path: &Path, data_dir: &Path, manifest: &Manifest) -> anyhow::Result<u64> {
    let mut store = open_or_create(store_path, true)?;
    store.set_meta(meta::SYNTHETIC, "true")?;
    store.set_meta(meta::NOTICE, &manifest.notice)?;
    store.set_meta(meta::DEMO_MANIFEST, &serde_json::to_string(manifest)?)?;
    let population = data_dir.join(&manifest.population.path);
    let n = load_population_csv(
        &mut store,
        &population,
        "stadsdel",
        "trygg-demo (synthetic figures; see manifest.json)",
    )?;
    println!("  population: {n} rows for layer stadsdel");

    let bar = progress_bar(true);
    let accepted = trygg_demo::load::load(
        &mut store,
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
            println!(
                "  ingested {} ({} file(s)): {}",
                req.source,
                req.files.len(),
                counts_line(report)
            );
            for r in report.rejections.iter().take(5) {
                println!("    rejected: {r}");
            }
        },
    )?;
    Ok(accepted)
}
