//! Deterministic, realistic **synthetic** demo data for Trygg: all five sources over
//! the real Stockholm stadsdelar, written as files in the real input formats (police
//! API JSON snapshots, Brå-style crime CSV, shootings, rescue-service fires, survey
//! respondents and marked places), plus population per stadsdel and a
//! `manifest.json` that records the parameters, the files and the structure planted
//! in the data (hotspots, shooting bursts, survey design).
//!
//! The generator does not touch the store: the files go through the normal ingest
//! path. The same [`DemoParams`] always give byte-identical files: every random draw
//! comes from a `Pcg64` seeded from the parameters, nothing iterates a hash map,
//! nothing reads the clock, and floats are written with fixed decimals.
//!
//! Events lie only on land inside the real stadsdelar (the districts with water
//! removed), at least a few metres from the shore. Volumes, rhythms and hotspots are
//! calibrated against `data/stockholm/published-figures.md`; each module says how.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod areas;
mod crimes;
mod error;
mod fires;
mod land;
pub mod load;
mod places;
mod police;
mod rhythm;
mod rng;
mod shootings;
mod survey;
mod world;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub use error::DemoError;
pub use places::Trend;
pub use shootings::Burst;
pub use survey::{SurveyRound, ANSWERS};

use areas::Origin;
use places::{Schedule, CRIME_HOTSPOTS, FIRE_HOTSPOTS};
use rhythm::Period;
use shootings::round_to;
use world::World;

/// The default seed (after the law that asks for a lokal lägesbild, 2023:196).
pub const DEFAULT_SEED: u64 = 2_023_196;
/// The default number of years.
pub const DEFAULT_YEARS: u32 = 3;
/// The default volume scale.
pub const DEFAULT_SCALE: f64 = 1.0;

/// The exact CSV headers of the generated files, for tests and documentation.
pub mod headers {
    pub use crate::crimes::HEADER as CRIMES;
    pub use crate::fires::HEADER as FIRES;
    pub use crate::shootings::HEADER as SHOOTINGS;
    pub use crate::survey::HEADER as SURVEY;
    pub use crate::survey::PLACES_HEADER as SURVEY_PLACES;
    /// The header of `population.csv`.
    pub const POPULATION: [&str; 4] = ["stadsdel", "year", "population", "derived"];
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemoParams {
    /// Seed of every random draw.
    pub seed: u64,
    /// Number of years ending at `end`.
    pub years: u32,
    /// Multiplier of all volumes (1.0 = realistic Stockholm volumes).
    pub scale: f64,
    /// Last day of the period (inclusive); the CLI passes yesterday.
    #[serde(with = "date_format")]
    pub end: NaiveDate,
}

impl DemoParams {
    /// The defaults ([`DEFAULT_SEED`], [`DEFAULT_YEARS`], [`DEFAULT_SCALE`]) ending at
    /// `end`.
    pub fn new(end: NaiveDate) -> DemoParams {
        DemoParams {
            seed: DEFAULT_SEED,
            years: DEFAULT_YEARS,
            scale: DEFAULT_SCALE,
            end,
        }
    }

    fn validate(&self) -> Result<Period, DemoError> {
        if !(1..=20).contains(&self.years) {
            return Err(DemoError::InvalidParams(format!(
                "years must be 1 to 20, not {}",
                self.years
            )));
        }
        if !(self.scale.is_finite() && self.scale > 0.0 && self.scale <= 10.0) {
            return Err(DemoError::InvalidParams(format!(
                "scale must be above 0 and at most 10, not {}",
                self.scale
            )));
        }
        if !(2000..=2100).contains(&self.end.year()) {
            return Err(DemoError::InvalidParams(format!(
                "end must be in 2000-2100, not {}",
                self.end
            )));
        }
        Period::ending(self.end, self.years).ok_or_else(|| {
            DemoError::InvalidParams(format!(
                "no period of {} years ends at {}",
                self.years, self.end
            ))
        })
    }
}

/// One generated input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoFile {
    /// The source: "police-events", "crimes", "shootings", "fires" or "survey".
    pub source: String,
    /// Path relative to the output directory.
    pub path: String,
    /// Relative path of a mapping file to pass as `--mapping`; `None` means the
    /// source's built-in default mapping.
    pub mapping: Option<String>,
    /// Data rows (CSV rows without the header, JSON array elements).
    pub rows: u64,
}

/// A planted hotspot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotspot {
    /// The real place at its centre.
    pub name: String,
    /// The source it adds events to.
    pub source: String,
    /// The stadsdel of the centre.
    pub stadsdel: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
    /// Centre longitude (WGS 84).
    pub lon: f64,
    /// Centre latitude (WGS 84).
    pub lat: f64,
    /// Radius of the disc holding about 86 % of its events (Gaussian, σ = radius/2).
    pub radius_m: f64,
    /// First active day (YYYY-MM-DD).
    pub start: String,
    /// Last active day (YYYY-MM-DD).
    pub end: String,
    /// Its development over the period.
    pub trend: Trend,
    /// Category texts as written in the source's file.
    pub categories: Vec<String>,
    /// Normalised categories (trygg-model names).
    pub categories_norm: Vec<String>,
    /// Events per week at full strength at scale 1.
    pub intensity_per_week: f64,
    /// Events expected over its schedule at this run's scale.
    pub expected_events: f64,
    /// Events actually written for it (on top of the background).
    pub planted_events: u64,
}

/// Population figures written to `population.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationInfo {
    /// Path relative to the output directory.
    pub path: String,
    /// First year.
    pub first_year: i32,
    /// Last year.
    pub last_year: i32,
    /// Rows written.
    pub rows: u64,
    /// Rows with `derived=true`.
    pub derived_rows: u64,
    /// Rows carrying a published figure (`derived=false`), as "STADSDEL year".
    pub published: Vec<String>,
    /// How derived figures are made.
    pub method: String,
}

/// Facts about the crimes file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrimeInfo {
    /// Designed reports per year city-wide at this scale (hotspots included).
    pub designed_per_year: f64,
    /// Rows per stadsdelsområde (2020 structure) of the row's stadsdel.
    pub by_stadsdelsomrade: BTreeMap<String, u64>,
    /// Rows with a from-to interval.
    pub intervals: u64,
    /// Rows with only a stadsdel (`omrade`), no coordinates.
    pub area_only: u64,
}

/// Facts about the police snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoliceInfo {
    /// Distinct notices over all snapshots.
    pub notices: u64,
    /// Notices whose summary names one stadsdel.
    pub naming_a_stadsdel: u64,
    /// "Sammanfattning natt" notices (not events).
    pub night_summaries: u64,
    /// Snapshot files.
    pub snapshots: u64,
}

/// Everything about one generated data set; also written as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always true: this data is synthetic.
    pub synthetic: bool,
    /// A human-readable warning.
    pub notice: String,
    /// "trygg-demo".
    pub generator: String,
    /// The generator's version.
    pub generator_version: String,
    /// The parameters.
    pub params: DemoParams,
    /// First day of the period (YYYY-MM-DD).
    pub start: String,
    /// Last day of the period (YYYY-MM-DD).
    pub end: String,
    /// The input files, in the order to ingest them.
    pub files: Vec<DemoFile>,
    /// Rows per source (police: distinct notices).
    pub counts: BTreeMap<String, u64>,
    /// The planted hotspots.
    pub hotspots: Vec<Hotspot>,
    /// The planted shooting bursts.
    pub shooting_bursts: Vec<Burst>,
    /// The survey rounds.
    pub survey_rounds: Vec<SurveyRound>,
    /// Crime facts.
    pub crimes: CrimeInfo,
    /// Police snapshot facts.
    pub police: PoliceInfo,
    /// Fires in New Year's nights (31 Dec 18:00 to 1 Jan 06:00).
    pub new_year_fires: u64,
    /// The population file.
    pub population: PopulationInfo,
}

/// The mapping for `survey-places.csv`, copied verbatim next to it from the shipped
/// `data/mappings/survey-places.toml`.
const SURVEY_PLACES_MAPPING: &str = include_str!("../../../data/mappings/survey-places.toml");

/// A police notice to be: when, where (district index, if known), its type, and a
/// detail that picks fitting summary texts ("villa" for a villa burglary, "Bil" for a
/// car fire; "" for none).
#[derive(Debug, Clone)]
pub(crate) struct PoliceSeed {
    at: NaiveDateTime,
    district: Option<usize>,
    kind: &'static str,
    detail: &'static str,
}

/// Generates every file into `out_dir` (created if missing) and returns the manifest,
/// which is also written as `out_dir/manifest.json`. `progress` receives one line per
/// step.
pub fn generate(
    params: &DemoParams,
    out_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, DemoError> {
    let period = params.validate()?;
    fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    remove_old_snapshots(out_dir)?;
    progress("loading stadsdelar and population");
    let world = World::build(params.seed, period)?;
    let (seed, scale) = (params.seed, params.scale);
    let mut files = Vec::new();
    let mut counts = BTreeMap::new();

    progress("crimes");
    let (crime_summary, mut police_seeds) =
        crimes::generate(&world, seed, scale, &out_dir.join("crimes.csv"))?;
    files.push(file("crimes", "crimes.csv", None, crime_summary.rows));
    counts.insert("crimes".to_owned(), crime_summary.rows);
    progress(&format!("crimes: {} rows", crime_summary.rows));

    let (shooting_summary, seeds) =
        shootings::generate(&world, seed, scale, &out_dir.join("shootings.csv"))?;
    police_seeds.extend(seeds);
    files.push(file(
        "shootings",
        "shootings.csv",
        None,
        shooting_summary.rows,
    ));
    counts.insert("shootings".to_owned(), shooting_summary.rows);
    progress(&format!("shootings: {} rows", shooting_summary.rows));

    let (fire_summary, seeds) = fires::generate(&world, seed, scale, &out_dir.join("fires.csv"))?;
    police_seeds.extend(seeds);
    files.push(file("fires", "fires.csv", None, fire_summary.rows));
    counts.insert("fires".to_owned(), fire_summary.rows);
    progress(&format!("fires: {} rows", fire_summary.rows));

    let survey_summary = survey::generate(
        &world,
        seed,
        scale,
        &out_dir.join("survey.csv"),
        &out_dir.join("survey-places.csv"),
    )?;
    let mapping_path = out_dir.join("survey-places.toml");
    fs::write(&mapping_path, SURVEY_PLACES_MAPPING).map_err(|e| io_error(&mapping_path, e))?;
    files.push(file(
        "survey",
        "survey.csv",
        None,
        survey_summary.respondents,
    ));
    files.push(file(
        "survey",
        "survey-places.csv",
        Some("survey-places.toml"),
        survey_summary.places,
    ));
    counts.insert(
        "survey".to_owned(),
        survey_summary.respondents + survey_summary.places,
    );
    progress(&format!(
        "survey: {} respondents, {} marked places in {} round(s)",
        survey_summary.respondents,
        survey_summary.places,
        survey_summary.rounds.len()
    ));

    let police_summary = police::generate(&world, seed, scale, police_seeds, out_dir)?;
    // Police snapshots first: the feed is what a new user loads first.
    let police_files: Vec<DemoFile> = police_summary
        .files
        .iter()
        .map(|(name, rows)| file("police-events", name, None, *rows))
        .collect();
    files.splice(0..0, police_files);
    counts.insert("police-events".to_owned(), police_summary.notices);
    progress(&format!(
        "police events: {} notices in {} snapshots",
        police_summary.notices,
        police_summary.files.len()
    ));

    let population = write_population(&world, &out_dir.join("population.csv"))?;
    progress(&format!("population: {} rows", population.rows));

    let mut hotspots = Vec::new();
    for (defs, planted) in [
        (CRIME_HOTSPOTS, &crime_summary.per_hotspot),
        (FIRE_HOTSPOTS, &fire_summary.per_hotspot),
    ] {
        for (def, &planted) in defs.iter().zip(planted.iter()) {
            hotspots.push(hotspot(&world, def, planted, scale)?);
        }
    }

    let manifest = Manifest {
        synthetic: true,
        notice: "SYNTHETIC DEMO DATA generated by trygg-demo: not real crimes, shootings, fires or survey \
                 answers. Places, stadsdelar and published totals are real; every event is invented."
            .to_owned(),
        generator: "trygg-demo".to_owned(),
        generator_version: env!("CARGO_PKG_VERSION").to_owned(),
        params: *params,
        start: period.start.to_string(),
        end: period.end.to_string(),
        files,
        counts,
        hotspots,
        shooting_bursts: shooting_summary.bursts,
        survey_rounds: survey_summary.rounds,
        crimes: CrimeInfo {
            designed_per_year: crimes::PER_YEAR * scale,
            by_stadsdelsomrade: crime_summary.per_sdo,
            intervals: crime_summary.intervals,
            area_only: crime_summary.area_only,
        },
        police: PoliceInfo {
            notices: police_summary.notices,
            naming_a_stadsdel: police_summary.named,
            night_summaries: police_summary.summaries,
            snapshots: police_summary.files.len() as u64,
        },
        new_year_fires: fire_summary.new_year,
        population,
    };
    let path = out_dir.join("manifest.json");
    let f = File::create(&path).map_err(|e| io_error(&path, e))?;
    let mut w = BufWriter::new(f);
    serde_json::to_writer_pretty(&mut w, &manifest).map_err(|e| json_error(&path, e))?;
    w.write_all(b"\n").map_err(|e| io_error(&path, e))?;
    w.flush().map_err(|e| io_error(&path, e))?;
    let readme = out_dir.join("README.txt");
    fs::write(
        &readme,
        format!(
            "{}\nSee manifest.json for the parameters and the planted structure.\n",
            manifest.notice
        ),
    )
    .map_err(|e| io_error(&readme, e))?;
    progress("manifest.json written");
    Ok(manifest)
}

fn file(source: &str, path: &str, mapping: Option<&str>, rows: u64) -> DemoFile {
    DemoFile {
        source: source.to_owned(),
        path: path.to_owned(),
        mapping: mapping.map(str::to_owned),
        rows,
    }
}

/// Removes `police-events-NNN.json` files of an earlier run, which a smaller run
/// would otherwise leave behind next to its own snapshots.
fn remove_old_snapshots(dir: &Path) -> Result<(), DemoError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_snapshot = name
            .strip_prefix("police-events-")
            .and_then(|rest| rest.strip_suffix(".json"))
            .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()));
        if is_snapshot {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        }
    }
    Ok(())
}

fn hotspot(
    world: &World,
    def: &places::HotspotDef,
    planted: u64,
    scale: f64,
) -> Result<Hotspot, DemoError> {
    let centre = world
        .place(def.place)
        .ok_or_else(|| DemoError::EmbeddedData(format!("unknown hotspot place {}", def.place)))?;
    let schedule = Schedule::new(def.trend, &world.period);
    let (lon, lat) = world.lon_lat(centre.x, centre.y)?;
    let (categories, categories_norm) = if def.source == "crimes" {
        def.categories
            .iter()
            .filter_map(|(key, _)| crimes::kind_index(key))
            .map(|k| {
                (
                    crimes::KINDS[k].text.to_owned(),
                    crimes::KINDS[k].norm.as_str().to_owned(),
                )
            })
            .unzip()
    } else {
        (
            def.categories
                .iter()
                .map(|(k, _)| (*k).to_owned())
                .collect(),
            vec!["fire".to_owned()],
        )
    };
    Ok(Hotspot {
        name: def.place.to_owned(),
        source: def.source.to_owned(),
        stadsdel: world.areas[centre.district].name.clone(),
        x: round_to(centre.x, 1),
        y: round_to(centre.y, 1),
        lon: round_to(lon, 6),
        lat: round_to(lat, 6),
        radius_m: def.radius_m,
        start: schedule.start.to_string(),
        end: schedule.end.to_string(),
        trend: def.trend,
        categories,
        categories_norm,
        intensity_per_week: def.per_week,
        expected_events: round_to(schedule.expected(def.per_week) * scale, 1),
        planted_events: planted,
    })
}

/// Writes `population.csv` for every year from 2020 (or the period's first year, if
/// earlier) to the period's last year.
fn write_population(world: &World, path: &Path) -> Result<PopulationInfo, DemoError> {
    let first_year = world.period.start.year().min(areas::Population::FIRST_YEAR);
    let last_year = world.period.end.year();
    let f = File::create(path).map_err(|e| io_error(path, e))?;
    let mut out = csv::Writer::from_writer(BufWriter::new(f));
    out.write_record(headers::POPULATION)
        .map_err(|e| csv_error(path, e))?;
    let mut info = PopulationInfo {
        path: "population.csv".to_owned(),
        first_year,
        last_year,
        rows: 0,
        derived_rows: 0,
        published: Vec::new(),
        method: areas::Population::METHOD.to_owned(),
    };
    for (i, area) in world.areas.iter().enumerate() {
        for year in first_year..=last_year {
            let (population, origin) = world.population.get(i, year);
            let derived = origin == Origin::Derived;
            out.write_record([
                area.name.clone(),
                year.to_string(),
                population.to_string(),
                derived.to_string(),
            ])
            .map_err(|e| csv_error(path, e))?;
            info.rows += 1;
            if derived {
                info.derived_rows += 1;
            } else {
                info.published.push(format!("{} {year}", area.name));
            }
        }
    }
    out.flush().map_err(|e| io_error(path, e))?;
    Ok(info)
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> DemoError {
    DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn csv_error(path: &Path, source: csv::Error) -> DemoError {
    DemoError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn json_error(path: &Path, source: serde_json::Error) -> DemoError {
    DemoError::Json {
        path: path.to_path_buf(),
        source,
    }
}

/// `NaiveDate` as "YYYY-MM-DD" without chrono's serde feature.
mod date_format {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&date.format("%Y-%m-%d").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(serde::de::Error::custom)
    }
}
