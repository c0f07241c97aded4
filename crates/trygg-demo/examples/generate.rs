//! Generates demo data into a directory and prints the time it took:
//! `cargo run --release -p trygg-demo --example generate -- OUT_DIR [YEARS] [SCALE] [END]`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).map_or("demo-out", String::as_str);
    let end = match args.get(4) {
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")?,
        None => chrono::NaiveDate::from_ymd_opt(2026, 11, 25).ok_or("bad default date")?,
    };
    let mut params = trygg_demo::DemoParams::new(end);
    if let Some(years) = args.get(2) {
        params.years = years.parse()?;
    }
    if let Some(scale) = args.get(3) {
        params.scale = scale.parse()?;
    }
    let started = Instant::now();
    let manifest = trygg_demo::generate(&params, std::path::Path::new(out), &mut |line| {
        eprintln!("{:>7.2} s  {line}", started.elapsed().as_secs_f64());
    })?;
    eprintln!(
        "done in {:.2} s; counts {:?}",
        started.elapsed().as_secs_f64(),
        manifest.counts
    );
    Ok(())
}
