//! Synthetic, seeded fixtures shared by the benchmarks and the end-to-end tests.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use trygg_model::{NormCategory, Precision, Source};
use trygg_spatial::AreaIndex;
use trygg_store::{EventView, EventViewBuilder, StoredArea};

/// The header of the built-in crimes mapping (`data/mappings/crimes.toml`).
pub const CRIMES_HEADER: &str =
    "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y";

const CATEGORIES: [(&str, &str); 6] = [
    ("9301", "Misshandel utomhus"),
    ("9811", "Stöld ur/från motorfordon"),
    ("9821", "Cykelstöld"),
    ("9841", "Bostadsinbrott"),
    ("9901", "Skadegörelse genom klotter"),
    ("9511", "Narkotikabrott, innehav"),
];

/// A crimes CSV of `rows` rows in the built-in mapping's format: ids `{prefix}{i}`,
/// points uniform over central and southern Stockholm (EPSG:3006, land and water
/// alike), a third of them with a from-to interval, one in fifty without a time.
pub fn crimes_csv(rows: u32, seed: u64, prefix: &str) -> String {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut out = String::with_capacity(rows as usize * 96 + CRIMES_HEADER.len() + 1);
    out.push_str(CRIMES_HEADER);
    out.push('\n');
    for i in 0..rows {
        let (code, category) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
        let month = rng.random_range(1..=12u32);
        let day = rng.random_range(1..=28u32);
        let (hour, minute) = (rng.random_range(0..24u32), rng.random_range(0..60u32));
        let time = if i % 50 == 0 {
            String::new()
        } else {
            format!("{hour:02}:{minute:02}")
        };
        let (to_date, to_time) = if i % 3 == 0 {
            (
                format!("2024-{month:02}-{day:02}"),
                format!("{:02}:{minute:02}", (hour + 1).min(23)),
            )
        } else {
            (String::new(), String::new())
        };
        let x = rng.random_range(664_000.0..684_000.0);
        let y = rng.random_range(6_570_000.0..6_588_000.0);
        let precision = ["exact", "address", "street"][i as usize % 3];
        out.push_str(&format!(
            "{prefix}{i},{code},\"{category}\",2024-{month:02}-{day:02},{time},{to_date},{to_time},2024-{month:02}-{day:02},{precision},,{x:.1},{y:.1}\n"
        ));
    }
    out
}

/// Stockholm's shipped stadsdelar and land (stadsdelar without water) as stored
/// areas, the way a new store holds them.
pub fn stockholm_layers() -> (Vec<StoredArea>, Vec<StoredArea>) {
    let areas = trygg_ingest::areas::stockholm_default().expect("shipped Stockholm areas");
    let stored = |features: &[trygg_ingest::areas::AreaFeature]| -> Vec<StoredArea> {
        features
            .iter()
            .map(trygg_ingest::areas::AreaFeature::to_stored)
            .collect()
    };
    (stored(&areas.stadsdelar), stored(&areas.land))
}

/// A synthetic view of `n` events on Stockholm's land over the years
/// `first_year..=last_year`: 30 % in 40 Gaussian clusters, the rest uniform; all
/// five sources and a spread of categories; 80 % point precision, 15 % stadsdel,
/// 5 % municipality (as police events are).
pub fn synthetic_view(n: usize, seed: u64, first_year: i32, last_year: i32) -> EventView {
    let (stadsdelar, land) = stockholm_layers();
    let land = AreaIndex::new(&land.iter().map(|a| a.geometry.clone()).collect::<Vec<_>>());
    let districts = AreaIndex::new(
        &stadsdelar
            .iter()
            .map(|a| a.geometry.clone())
            .collect::<Vec<_>>(),
    );
    let b = land.bounds().expect("land has bounds");
    let mut rng = Pcg64::seed_from_u64(seed);
    let on_land = |rng: &mut Pcg64| loop {
        let x = b.min_x + rng.random::<f64>() * (b.max_x - b.min_x);
        let y = b.min_y + rng.random::<f64>() * (b.max_y - b.min_y);
        if land.locate(x, y).is_some() {
            break (x, y);
        }
    };
    let clusters: Vec<(f64, f64, f64)> = (0..40)
        .map(|_| {
            let (x, y) = on_land(&mut rng);
            (x, y, 100.0 + 300.0 * rng.random::<f64>())
        })
        .collect();
    let start = |year: i32| {
        chrono::NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp())
            .expect("valid year")
    };
    let (t0, t1) = (start(first_year), start(last_year + 1));
    let mut builder = EventViewBuilder::new((b.min_x.floor(), b.min_y.floor()));
    let mut made = 0;
    while made < n {
        let (x, y) = if rng.random::<f64>() < 0.3 {
            let (cx, cy, r) = clusters[rng.random_range(0..clusters.len())];
            // Box-Muller: a Gaussian around the cluster centre.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let rad = r * (-2.0 * u1.ln()).sqrt();
            (
                cx + rad * (std::f64::consts::TAU * u2).cos(),
                cy + rad * (std::f64::consts::TAU * u2).sin(),
            )
        } else {
            on_land(&mut rng)
        };
        let Some(district) = districts.locate(x, y) else {
            continue;
        };
        let time = t0 + (rng.random::<f64>() * (t1 - t0) as f64) as i64;
        let source = Source::ALL[rng.random_range(0..Source::ALL.len())];
        let category = NormCategory::ALL[rng.random_range(0..8)];
        let precision = match rng.random_range(0..20) {
            0 => Precision::Municipality,
            1..=3 => Precision::Stadsdel,
            _ => Precision::Exact,
        };
        let stadsdel =
            (precision != Precision::Municipality).then(|| stadsdelar[district].code.as_str());
        builder.push(
            time,
            x,
            y,
            source,
            category,
            precision,
            category.as_str(),
            stadsdel,
        );
        made += 1;
    }
    builder.build()
}

/// Ingests a crimes CSV with the built-in mapping (the normal pipeline).
pub fn ingest_crimes(store: &mut trygg_store::Store, file: &std::path::Path) {
    let report = trygg_ingest::pipeline::ingest(
        store,
        &trygg_ingest::pipeline::IngestRequest {
            source: Source::Crimes,
            files: vec![file.to_owned()],
            mapping: None,
            strict: false,
            names: Vec::new(),
        },
        &mut |_| {},
    )
    .expect("ingest");
    assert!(report.landed());
}

/// Events in the benchmark stores and views: `TRYGG_BENCH_EVENTS`, or 10M.
pub fn bench_events() -> u32 {
    std::env::var("TRYGG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

/// A copy of the benchmark store `path` (with its view file) named `name` beside
/// it, for benchmarks that add batches; [`remove_work_copy`] deletes it.
pub fn work_copy(path: &std::path::Path, name: &str) -> std::path::PathBuf {
    let work = path.with_file_name(name);
    std::fs::copy(path, &work).expect("copy the store");
    std::fs::copy(
        trygg_store::view_file_path(path),
        trygg_store::view_file_path(&work),
    )
    .expect("copy the view file");
    work
}

/// Deletes a [`work_copy`].
pub fn remove_work_copy(work: &std::path::Path) {
    let _ = std::fs::remove_file(work);
    let _ = std::fs::remove_file(trygg_store::view_file_path(work));
}

/// A demo store of `years` years to 2024-06-30 at `scale` (1.0: Stockholm's
/// volumes) under `target/bench-data/`, generated and ingested once (as
/// `trygg demo` does) and then reused.
pub fn demo_store(years: u32, scale: f64) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../target/bench-data/demo-{years}y-{scale}"));
    let path = dir.join("trygg.gpkg");
    if path.exists() {
        return path;
    }
    let params = trygg_demo::DemoParams {
        seed: 2_023_196,
        years,
        scale,
        end: chrono::NaiveDate::from_ymd_opt(2024, 6, 30).expect("date"),
    };
    let data = dir.join("demo-data");
    let manifest = trygg_demo::generate(&params, &data, &mut |_| {}).expect("generate");
    let mut store = trygg_ingest::setup::begin_store(&path, true).expect("store");
    trygg_demo::load::fill(&mut store, &data, &manifest, &mut |_, _| {}, &mut |_, _| {})
        .expect("ingest");
    store.persist().expect("persist").load_view().expect("view");
    path
}

/// The benchmark store of `n` synthetic crime events under `target/bench-data/`
/// (built once through the normal ingest, 1M rows a batch, then reused).
pub fn bench_store(n: u32) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(format!("snapshot-{n}.gpkg"));
    if path.exists() {
        return path;
    }
    let building = dir.join(format!("building-{n}.gpkg"));
    let _ = std::fs::remove_file(&building);
    let mut store = trygg_ingest::setup::open_or_create(&building, true).expect("store");
    let chunk = 1_000_000.min(n);
    let csv = dir.join("chunk.csv");
    let mut done = 0;
    let started = std::time::Instant::now();
    while done < n {
        let rows = chunk.min(n - done);
        std::fs::write(
            &csv,
            crimes_csv(rows, u64::from(done), &format!("b{done}-")),
        )
        .expect("write");
        ingest_crimes(&mut store, &csv);
        done += rows;
    }
    drop(store);
    std::fs::rename(&building, &path).expect("rename");
    println!(
        "built {n} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field counts per line, honouring double quotes (categories may hold commas).
    fn csv_width(text: &str) -> impl Iterator<Item = usize> + '_ {
        text.lines().map(|l| {
            l.split('"')
                .step_by(2)
                .map(|outside| outside.matches(',').count())
                .sum::<usize>()
                + 1
        })
    }

    #[test]
    fn synthetic_views_are_seeded_on_land_and_in_their_years() {
        let a = synthetic_view(2_000, 3, 2024, 2025);
        let b = synthetic_view(2_000, 3, 2024, 2025);
        assert_eq!(a.len(), 2_000);
        assert!((0..a.len()).all(|i| a.xy(i) == b.xy(i) && a.time(i) == b.time(i)));
        let (first, last) = (a.time(0), a.time(a.len() - 1));
        assert!(
            first >= 1_704_067_200 && last < 1_767_225_600,
            "{first} {last}"
        );
    }

    #[test]
    fn same_seed_same_file_and_every_row_has_the_header_width() {
        let a = crimes_csv(500, 7, "x");
        assert_eq!(a, crimes_csv(500, 7, "x"));
        assert_ne!(a, crimes_csv(500, 8, "x"));
        let width = CRIMES_HEADER.split(',').count();
        let mut reader = csv_width(&a);
        assert!(reader.all(|w| w == width));
        assert_eq!(a.lines().count(), 501);
    }
}
