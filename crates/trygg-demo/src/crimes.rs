//! Reported crimes (anmälda brott) in the Brå-style CSV layout, EPSG:3006.
//!
//! Volumes: 170 000 reports a year city-wide at scale 1 (published figures put
//! Stockholm city at 150 000-200 000), shared over stadsdelar by population × a
//! character factor plus non-resident activity (the city centre, malls, offices), with
//! category-specific tilts (pickpocketing in the centre, villa burglary in villa
//! areas, drugs in the centre and exposed suburbs). Planted hotspots come on top of
//! the background and are subtracted from it so the total stays on target.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use rand::Rng;
use rand_pcg::Pcg64;
use trygg_model::NormCategory;

use crate::places::{Schedule, CRIME_HOTSPOTS};
use crate::rhythm::{self, Rhythm};
use crate::rng::{chance, poisson, stream, Weighted};
use crate::world::World;
use crate::{csv_error, io_error, DemoError, PoliceSeed};

/// The exact header of `crimes.csv`.
pub const HEADER: [&str; 12] = [
    "anmalan_id",
    "brottskod",
    "brottskategori",
    "fran_datum",
    "fran_tid",
    "till_datum",
    "till_tid",
    "anmald_datum",
    "precision",
    "omrade",
    "x",
    "y",
];

/// Reported crimes per year city-wide at scale 1, hotspots included.
pub(crate) const PER_YEAR: f64 = 170_000.0;

/// How a crime's time is usually known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// Residents away: hours to a long weekend.
    Away,
    /// Parked overnight: evening to morning.
    Overnight,
    /// A few hours.
    Short,
    /// Days to weeks (fraud discovered later).
    Days,
}

/// How long until the crime is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delay {
    /// Mostly the same day.
    Quick,
    /// A day or a few.
    Normal,
    /// Weeks to months.
    Slow,
}

/// One crime category as written in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrimeKind {
    /// Internal key (used by hotspot definitions).
    pub key: &'static str,
    /// Four-digit brottskod.
    pub code: &'static str,
    /// Brottskategori text.
    pub text: &'static str,
    /// The category the classifier must give the text.
    pub norm: NormCategory,
    per_year: f64,
    rhythm: Rhythm,
    /// Growth per year (slow trend).
    trend: f64,
    span: Span,
    interval_p: f64,
    date_only_p: f64,
    delay: Delay,
    /// Multipliers on the activity weight by stadsdel character.
    tilt: [f64; 6],
    /// The police event type some of these become, a detail that picks fitting
    /// summary texts, and the share that become notices.
    pub police: Option<(&'static str, &'static str, f64)>,
}

use rhythm::{
    H_BURGLARY, H_DAY, H_DOMESTIC, H_EVENING, H_NIGHT, H_NIGHTLIFE, H_OFFICE, H_TRAFFIC, M_BIKE,
    M_CHRISTMAS, M_DARK, M_FLAT, M_SUMMER, M_WARM, W_FLAT, W_SHOPPING, W_WEEKEND, W_WORKDAY,
};

const fn r(
    hours: &'static rhythm::Hours,
    week: &'static rhythm::Week,
    months: &'static rhythm::Months,
    party: bool,
) -> Rhythm {
    Rhythm {
        hours,
        week,
        months,
        party,
    }
}

/// All crime categories.
pub(crate) const KINDS: &[CrimeKind] = &[
    CrimeKind {
        key: "misshandel_ute",
        code: "0375",
        text: "Misshandel utomhus, mot man, obekant med offret",
        norm: NormCategory::Violence,
        per_year: 5_800.0,
        rhythm: r(&H_NIGHTLIFE, &W_WEEKEND, &M_SUMMER, true),
        trend: -0.02,
        span: Span::Short,
        interval_p: 0.02,
        date_only_p: 0.01,
        delay: Delay::Quick,
        tilt: [1.6, 1.2, 1.3, 0.9, 0.5, 0.8],
        police: Some(("Misshandel", "", 0.07)),
    },
    CrimeKind {
        key: "misshandel_inne",
        code: "0386",
        text: "Misshandel inomhus, mot kvinna, bekant med offret",
        norm: NormCategory::Violence,
        per_year: 4_300.0,
        rhythm: r(&H_DOMESTIC, &W_WEEKEND, &M_FLAT, true),
        trend: -0.01,
        span: Span::Short,
        interval_p: 0.05,
        date_only_p: 0.04,
        delay: Delay::Normal,
        tilt: [0.3, 1.0, 1.3, 1.0, 0.8, 0.5],
        police: Some(("Misshandel", "inne", 0.03)),
    },
    CrimeKind {
        key: "grov_misshandel",
        code: "0393",
        text: "Grov misshandel utomhus, obekant med offret",
        norm: NormCategory::Violence,
        per_year: 750.0,
        rhythm: r(&H_NIGHTLIFE, &W_WEEKEND, &M_SUMMER, true),
        trend: -0.02,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [1.6, 1.0, 1.8, 0.8, 0.4, 0.8],
        police: Some(("Misshandel, grov", "", 0.15)),
    },
    CrimeKind {
        key: "ran",
        code: "0942",
        text: "Rån mot person utomhus, ej grovt",
        norm: NormCategory::Robbery,
        per_year: 1_400.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_FLAT, true),
        trend: -0.03,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [1.5, 1.0, 2.0, 0.9, 0.3, 0.8],
        police: Some(("Rån", "", 0.2)),
    },
    CrimeKind {
        key: "fickstold",
        code: "0857",
        text: "Fickstöld",
        norm: NormCategory::Theft,
        per_year: 8_500.0,
        rhythm: r(&H_DAY, &W_SHOPPING, &M_CHRISTMAS, false),
        trend: -0.02,
        span: Span::Short,
        interval_p: 0.3,
        date_only_p: 0.02,
        delay: Delay::Normal,
        tilt: [4.0, 1.5, 0.5, 0.4, 0.2, 0.8],
        police: Some(("Stöld", "ficka", 0.004)),
    },
    CrimeKind {
        key: "snatteri",
        code: "0901",
        text: "Snatteri (stöld i butik)",
        norm: NormCategory::Theft,
        per_year: 11_500.0,
        rhythm: r(&H_DAY, &W_SHOPPING, &M_CHRISTMAS, false),
        trend: 0.02,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.01,
        delay: Delay::Quick,
        tilt: [2.5, 1.0, 0.9, 0.8, 0.3, 0.5],
        police: Some(("Stöld", "butik", 0.008)),
    },
    CrimeKind {
        key: "stold_bil",
        code: "0824",
        text: "Stöld ur/från motorfordon",
        norm: NormCategory::Theft,
        per_year: 9_000.0,
        rhythm: r(&H_NIGHT, &W_FLAT, &M_DARK, false),
        trend: -0.04,
        span: Span::Overnight,
        interval_p: 0.7,
        date_only_p: 0.02,
        delay: Delay::Normal,
        tilt: [0.6, 0.9, 1.2, 1.1, 1.0, 1.0],
        police: None,
    },
    CrimeKind {
        key: "stold_fordon",
        code: "0821",
        text: "Stöld av motorfordon",
        norm: NormCategory::Theft,
        per_year: 1_900.0,
        rhythm: r(&H_NIGHT, &W_FLAT, &M_FLAT, false),
        trend: -0.03,
        span: Span::Overnight,
        interval_p: 0.8,
        date_only_p: 0.02,
        delay: Delay::Normal,
        tilt: [0.5, 0.8, 1.2, 1.1, 1.2, 1.0],
        police: Some(("Motorfordon, stöld", "", 0.04)),
    },
    CrimeKind {
        key: "cykel",
        code: "0866",
        text: "Stöld av cykel",
        norm: NormCategory::Theft,
        per_year: 10_000.0,
        rhythm: r(&H_DAY, &W_FLAT, &M_BIKE, false),
        trend: -0.03,
        span: Span::Short,
        interval_p: 0.7,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [1.5, 1.8, 0.6, 0.7, 0.6, 0.8],
        police: None,
    },
    CrimeKind {
        key: "stold_ovrig",
        code: "0899",
        text: "Stöld, övrig (ej i butik)",
        norm: NormCategory::Theft,
        per_year: 17_000.0,
        rhythm: r(&H_DAY, &W_SHOPPING, &M_SUMMER, false),
        trend: -0.01,
        span: Span::Short,
        interval_p: 0.25,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [1.6, 1.1, 0.9, 0.9, 0.7, 0.9],
        police: Some(("Stöld", "", 0.006)),
    },
    CrimeKind {
        key: "inbrott_lgh",
        code: "0845",
        text: "Bostadsinbrott, stöld genom inbrott i lägenhet",
        norm: NormCategory::Burglary,
        per_year: 2_900.0,
        rhythm: r(&H_BURGLARY, &W_FLAT, &M_DARK, false),
        trend: -0.05,
        span: Span::Away,
        interval_p: 0.9,
        date_only_p: 0.02,
        delay: Delay::Quick,
        tilt: [0.4, 1.0, 1.0, 1.0, 0.5, 0.3],
        police: Some(("Stöld/inbrott", "lägenhet", 0.05)),
    },
    CrimeKind {
        key: "inbrott_villa",
        code: "0846",
        text: "Bostadsinbrott, stöld genom inbrott i villa",
        norm: NormCategory::Burglary,
        per_year: 950.0,
        rhythm: r(&H_BURGLARY, &W_FLAT, &M_DARK, false),
        trend: -0.05,
        span: Span::Away,
        interval_p: 0.9,
        date_only_p: 0.02,
        delay: Delay::Quick,
        tilt: [0.0, 0.05, 0.3, 0.8, 4.0, 0.5],
        police: Some(("Stöld/inbrott", "villa", 0.12)),
    },
    CrimeKind {
        key: "inbrott_kallare",
        code: "0848",
        text: "Inbrott i källare eller vindsförråd",
        norm: NormCategory::Burglary,
        per_year: 2_700.0,
        rhythm: r(&H_BURGLARY, &W_FLAT, &M_DARK, false),
        trend: -0.03,
        span: Span::Away,
        interval_p: 0.9,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [0.5, 1.3, 1.0, 1.0, 0.4, 0.3],
        police: Some(("Stöld/inbrott", "källare", 0.02)),
    },
    CrimeKind {
        key: "klotter",
        code: "1201",
        text: "Skadegörelse genom klotter",
        norm: NormCategory::Vandalism,
        per_year: 9_000.0,
        rhythm: r(&H_NIGHT, &W_WEEKEND, &M_WARM, false),
        trend: -0.02,
        span: Span::Overnight,
        interval_p: 0.4,
        date_only_p: 0.05,
        delay: Delay::Normal,
        tilt: [1.2, 1.3, 1.3, 1.0, 0.4, 0.8],
        police: None,
    },
    CrimeKind {
        key: "skadegorelse",
        code: "1203",
        text: "Skadegörelse, övrig",
        norm: NormCategory::Vandalism,
        per_year: 8_000.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_WARM, true),
        trend: -0.01,
        span: Span::Overnight,
        interval_p: 0.35,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [0.8, 0.9, 1.5, 1.0, 0.6, 0.8],
        police: Some(("Skadegörelse", "", 0.015)),
    },
    CrimeKind {
        key: "skadegorelse_fordon",
        code: "1204",
        text: "Skadegörelse på motorfordon",
        norm: NormCategory::Vandalism,
        per_year: 2_600.0,
        rhythm: r(&H_NIGHT, &W_WEEKEND, &M_FLAT, false),
        trend: -0.01,
        span: Span::Overnight,
        interval_p: 0.6,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [0.6, 0.9, 1.4, 1.1, 0.9, 0.8],
        police: Some(("Skadegörelse", "fordon", 0.01)),
    },
    CrimeKind {
        key: "narkotika_innehav",
        code: "5010",
        text: "Narkotikabrott, innehav och eget bruk",
        norm: NormCategory::Drugs,
        per_year: 9_000.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_FLAT, true),
        trend: 0.03,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [2.0, 1.0, 2.0, 0.6, 0.3, 0.8],
        police: Some(("Narkotikabrott", "", 0.02)),
    },
    CrimeKind {
        key: "narkotika_overlatelse",
        code: "5011",
        text: "Narkotikabrott, överlåtelse",
        norm: NormCategory::Drugs,
        per_year: 1_300.0,
        rhythm: r(&H_EVENING, &W_FLAT, &M_FLAT, false),
        trend: 0.03,
        span: Span::Short,
        interval_p: 0.1,
        date_only_p: 0.02,
        delay: Delay::Quick,
        tilt: [2.5, 0.8, 2.5, 0.5, 0.2, 0.8],
        police: Some(("Narkotikabrott", "försäljning", 0.05)),
    },
    CrimeKind {
        key: "bedrageri",
        code: "0930",
        text: "Bedrägeri, bl.a. via internet och telefon",
        norm: NormCategory::Fraud,
        per_year: 30_000.0,
        rhythm: r(&H_OFFICE, &W_WORKDAY, &M_CHRISTMAS, false),
        trend: 0.06,
        span: Span::Days,
        interval_p: 0.3,
        date_only_p: 0.25,
        delay: Delay::Slow,
        tilt: [0.6, 1.0, 1.0, 1.0, 1.0, 0.5],
        police: Some(("Bedrägeri", "", 0.002)),
    },
    CrimeKind {
        key: "olaga_hot",
        code: "0401",
        text: "Olaga hot mot person, ej grovt",
        norm: NormCategory::Threats,
        per_year: 7_000.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_SUMMER, true),
        trend: 0.0,
        span: Span::Short,
        interval_p: 0.05,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [1.3, 1.0, 1.4, 0.9, 0.6, 0.6],
        police: Some(("Olaga hot", "", 0.02)),
    },
    CrimeKind {
        key: "ofredande",
        code: "0405",
        text: "Ofredande mot person",
        norm: NormCategory::Threats,
        per_year: 5_500.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_SUMMER, true),
        trend: 0.01,
        span: Span::Short,
        interval_p: 0.05,
        date_only_p: 0.03,
        delay: Delay::Normal,
        tilt: [1.4, 1.0, 1.3, 0.9, 0.6, 0.7],
        police: Some(("Ofredande/förargelse", "", 0.025)),
    },
    CrimeKind {
        key: "sex_ofredande",
        code: "0682",
        text: "Sexuellt ofredande",
        norm: NormCategory::Sexual,
        per_year: 1_400.0,
        rhythm: r(&H_NIGHTLIFE, &W_WEEKEND, &M_SUMMER, true),
        trend: 0.02,
        span: Span::Short,
        interval_p: 0.03,
        date_only_p: 0.05,
        delay: Delay::Slow,
        tilt: [1.5, 1.2, 1.0, 0.8, 0.6, 0.8],
        police: None,
    },
    CrimeKind {
        key: "valdtakt",
        code: "0664",
        text: "Våldtäkt mot person 18 år eller äldre",
        norm: NormCategory::Sexual,
        per_year: 750.0,
        rhythm: r(&H_NIGHTLIFE, &W_WEEKEND, &M_SUMMER, true),
        trend: 0.0,
        span: Span::Short,
        interval_p: 0.05,
        date_only_p: 0.08,
        delay: Delay::Slow,
        tilt: [1.5, 1.2, 1.0, 0.9, 0.7, 0.8],
        police: Some(("Våldtäkt", "", 0.04)),
    },
    CrimeKind {
        key: "vapen",
        code: "5901",
        text: "Vapenbrott, brott mot vapenlagen",
        norm: NormCategory::Weapons,
        per_year: 950.0,
        rhythm: r(&H_EVENING, &W_WEEKEND, &M_FLAT, true),
        trend: 0.0,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [1.5, 0.8, 2.5, 0.8, 0.3, 0.6],
        police: Some(("Vapenlagen", "", 0.06)),
    },
    CrimeKind {
        key: "rattfylleri",
        code: "4001",
        text: "Rattfylleri",
        norm: NormCategory::Traffic,
        per_year: 2_300.0,
        rhythm: r(&H_TRAFFIC, &W_WEEKEND, &M_SUMMER, true),
        trend: -0.01,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [0.8, 0.9, 1.0, 1.2, 1.1, 1.0],
        police: Some(("Rattfylleri", "", 0.08)),
    },
    CrimeKind {
        key: "olovlig_korning",
        code: "4002",
        text: "Olovlig körning",
        norm: NormCategory::Traffic,
        per_year: 1_600.0,
        rhythm: r(&H_TRAFFIC, &W_FLAT, &M_FLAT, false),
        trend: 0.0,
        span: Span::Short,
        interval_p: 0.0,
        date_only_p: 0.0,
        delay: Delay::Quick,
        tilt: [0.8, 0.9, 1.2, 1.2, 1.0, 1.0],
        police: None,
    },
];

/// The index of a crime kind by key.
pub(crate) fn kind_index(key: &str) -> Option<usize> {
    KINDS.iter().position(|k| k.key == key)
}

/// How a crime's location is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Exact,
    Address,
    Street,
    /// No coordinates: only the stadsdel is known.
    Area,
}

impl Precision {
    fn as_str(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Address => "address",
            Precision::Street => "street",
            Precision::Area => "stadsdel",
        }
    }
}

/// One generated crime report.
#[derive(Debug, Clone)]
struct Crime {
    from: NaiveDateTime,
    till: Option<NaiveDateTime>,
    date_only: bool,
    reported: NaiveDate,
    kind: u8,
    district: u16,
    x: f64,
    y: f64,
    precision: Precision,
    /// Generation order, the final tie-break for a stable sort.
    seq: u32,
}

/// What the crimes generator reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct CrimeSummary {
    /// Rows written.
    pub rows: u64,
    /// Rows per hotspot (index into [`CRIME_HOTSPOTS`]).
    pub per_hotspot: Vec<u64>,
    /// Rows per stadsdelsområde (2020 structure) of the row's stadsdel.
    pub per_sdo: BTreeMap<String, u64>,
    /// Rows with a from-to interval.
    pub intervals: u64,
    /// Rows with only a stadsdel.
    pub area_only: u64,
}

/// Generates and writes `crimes.csv`; returns the summary and the seeds of the police
/// events some crimes become.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    scale: f64,
    path: &Path,
) -> Result<(CrimeSummary, Vec<PoliceSeed>), DemoError> {
    let period = world.period;
    let mut rng = stream(seed, "crimes");
    let schedules: Vec<Schedule> = CRIME_HOTSPOTS
        .iter()
        .map(|h| Schedule::new(h.trend, &period))
        .collect();
    let hotspot_per_year: f64 = CRIME_HOTSPOTS
        .iter()
        .zip(&schedules)
        .map(|(h, s)| s.expected(h.per_week))
        .sum::<f64>()
        / period.years();
    let background_per_year = (PER_YEAR - hotspot_per_year).max(0.0);
    let relative_sum: f64 = KINDS.iter().map(|k| k.per_year).sum();
    let weights: Vec<Weighted> = KINDS
        .iter()
        .map(|k| world.activity_weights(&k.tilt))
        .collect();

    let mut crimes: Vec<Crime> = Vec::new();
    let mut seq = 0u32;
    let mut per_hotspot = vec![0u64; CRIME_HOTSPOTS.len()];
    for day in period.each_day() {
        let drift = period.years_from_middle(day);
        for (k, kind) in KINDS.iter().enumerate() {
            let mean = background_per_year * kind.per_year / relative_sum / 365.25;
            let lambda =
                mean * scale * kind.rhythm.day_factor(day) * (1.0 + kind.trend).powf(drift);
            for _ in 0..poisson(&mut rng, lambda) {
                let district = weights[k].draw(&mut rng);
                let Some((x, y)) = world.point_in(district, &mut rng) else {
                    continue;
                };
                crimes.push(make(world, k, day, district, x, y, seq, &mut rng));
                seq += 1;
            }
        }
        for (h, (def, schedule)) in CRIME_HOTSPOTS.iter().zip(&schedules).enumerate() {
            let strength = schedule.strength(day);
            if strength <= 0.0 {
                continue;
            }
            let Some(centre) = world.place(def.place) else {
                continue;
            };
            let table = Weighted::new(def.categories.iter().map(|c| c.1));
            for _ in 0..poisson(&mut rng, def.per_week / 7.0 * strength * scale) {
                let Some(k) = kind_index(def.categories[table.draw(&mut rng)].0) else {
                    continue;
                };
                let Some((x, y, district)) =
                    world.point_near(centre.x, centre.y, def.radius_m / 2.0, &mut rng)
                else {
                    continue;
                };
                let mut crime = make(world, k, day, district, x, y, seq, &mut rng);
                // Hotspot events are points by nature: never area-only.
                if crime.precision == Precision::Area {
                    crime.precision = Precision::Address;
                }
                crimes.push(crime);
                per_hotspot[h] += 1;
                seq += 1;
            }
        }
    }
    crimes.sort_by_key(|c| (c.reported, c.from, c.seq));

    let mut summary = CrimeSummary {
        per_hotspot,
        ..CrimeSummary::default()
    };
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
    out.write_record(HEADER).map_err(|e| csv_error(path, e))?;
    let mut ids: BTreeMap<i32, u64> = BTreeMap::new();
    for c in &crimes {
        let kind = &KINDS[usize::from(c.kind)];
        let area = &world.areas[usize::from(c.district)];
        let year = c.reported.year();
        let counter = ids.entry(year).or_insert(100_000);
        *counter += rng.random_range(1..=4);
        let id = format!("5000-K{}-{:02}", counter, year.rem_euclid(100));
        let date = |t: NaiveDateTime| t.format("%Y-%m-%d").to_string();
        let time = |t: NaiveDateTime| {
            if c.date_only {
                String::new()
            } else {
                t.format("%H:%M").to_string()
            }
        };
        let (till_date, till_time) = c
            .till
            .map_or((String::new(), String::new()), |t| (date(t), time(t)));
        let (omrade, x, y) = if c.precision == Precision::Area {
            (area.name.as_str(), String::new(), String::new())
        } else {
            ("", format!("{:.1}", c.x), format!("{:.1}", c.y))
        };
        out.write_record([
            id.as_str(),
            kind.code,
            kind.text,
            &date(c.from),
            &time(c.from),
            &till_date,
            &till_time,
            &c.reported.format("%Y-%m-%d").to_string(),
            c.precision.as_str(),
            omrade,
            &x,
            &y,
        ])
        .map_err(|e| csv_error(path, e))?;
        summary.rows += 1;
        summary.intervals += u64::from(c.till.is_some());
        summary.area_only += u64::from(c.precision == Precision::Area);
        *summary.per_sdo.entry(area.sdo2020.clone()).or_insert(0) += 1;
    }
    out.flush().map_err(|e| io_error(path, e))?;

    // Police events: a few crimes of each kind become notices, chosen by their own
    // stream so that the police files never change the crimes file.
    let mut pick = stream(seed, "crimes-to-police");
    let seeds = crimes
        .iter()
        .filter_map(|c| {
            let (kind_name, detail, p) = KINDS[usize::from(c.kind)].police?;
            chance(&mut pick, p).then_some(PoliceSeed {
                at: c.from,
                district: Some(usize::from(c.district)),
                kind: kind_name,
                detail,
            })
        })
        .collect();
    Ok((summary, seeds))
}

/// Builds one crime: interval, date-only flag, report date and precision.
#[allow(clippy::too_many_arguments)]
fn make(
    world: &World,
    k: usize,
    day: NaiveDate,
    district: usize,
    x: f64,
    y: f64,
    seq: u32,
    rng: &mut Pcg64,
) -> Crime {
    let kind = &KINDS[k];
    let period = world.period;
    let from = kind.rhythm.time_on(day, rng);
    let date_only = chance(rng, kind.date_only_p);
    let till = if chance(rng, kind.interval_p) {
        let till = rhythm::skip_gap(interval_end(kind.span, from, rng));
        Some(till.min(period.end_moment()))
    } else {
        None
    };
    let discovered = till.unwrap_or(from).date();
    let delay_days = match kind.delay {
        Delay::Quick => match rng.random::<f64>() {
            u if u < 0.7 => 0,
            u if u < 0.9 => 1,
            _ => rng.random_range(2..=10),
        },
        Delay::Normal => match rng.random::<f64>() {
            u if u < 0.5 => 0,
            u if u < 0.75 => 1,
            u if u < 0.95 => rng.random_range(2..=14),
            _ => rng.random_range(15..=60),
        },
        Delay::Slow => match rng.random::<f64>() {
            u if u < 0.25 => 0,
            u if u < 0.7 => rng.random_range(1..=14),
            _ => rng.random_range(15..=120),
        },
    };
    let reported = (discovered + Duration::days(delay_days)).min(period.end);
    let precision = match rng.random::<f64>() {
        u if u < 0.62 => Precision::Exact,
        u if u < 0.90 => Precision::Address,
        u if u < 0.98 => Precision::Street,
        _ => Precision::Area,
    };
    let (mut x, mut y) = (x, y);
    if precision == Precision::Street {
        // Street-level geocoding lands on a coarse grid along the street.
        let (sx, sy) = ((x / 20.0).round() * 20.0, (y / 20.0).round() * 20.0);
        if world.land.usable(sx, sy) == Some(district) {
            (x, y) = (sx, sy);
        }
    }
    Crime {
        from,
        till,
        date_only,
        reported,
        kind: k as u8,
        district: district as u16,
        x,
        y,
        precision,
        seq,
    }
}

/// The end of a crime's time interval starting at `from`.
fn interval_end(span: Span, from: NaiveDateTime, rng: &mut Pcg64) -> NaiveDateTime {
    let minutes = |lo: i64, hi: i64, rng: &mut Pcg64| Duration::minutes(rng.random_range(lo..=hi));
    match span {
        Span::Away => {
            // Left on Friday or Saturday: back on Sunday evening or Monday morning.
            let wd = from.weekday();
            if matches!(wd, Weekday::Fri | Weekday::Sat) && chance(rng, 0.6) {
                let days_to_sunday = if wd == Weekday::Fri { 2 } else { 1 };
                let back =
                    from.date() + Duration::days(days_to_sunday + i64::from(chance(rng, 0.5)));
                back.and_hms_opt(rng.random_range(7..22), rng.random_range(0..60), 0)
                    .unwrap_or(from)
            } else {
                from + minutes(90, 60 * 30, rng)
            }
        }
        Span::Overnight => {
            let next = if from.hour() >= 12 {
                from.date() + Duration::days(1)
            } else {
                from.date()
            };
            let t = next
                .and_hms_opt(rng.random_range(6..10), rng.random_range(0..60), 0)
                .unwrap_or(from);
            if t > from + Duration::minutes(30) {
                t
            } else {
                from + minutes(60, 8 * 60, rng)
            }
        }
        Span::Short => from + minutes(20, 6 * 60, rng),
        Span::Days => from + Duration::days(rng.random_range(1..=30)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_texts_classify_as_intended_and_codes_are_distinct() {
        for k in KINDS {
            assert_eq!(NormCategory::classify(k.text), k.norm, "{}", k.text);
            assert_eq!(
                KINDS.iter().filter(|o| o.code == k.code).count(),
                1,
                "{}",
                k.code
            );
            assert!(
                k.code.len() == 4 && k.code.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                k.code
            );
            assert_eq!(
                KINDS.iter().filter(|o| o.key == k.key).count(),
                1,
                "{}",
                k.key
            );
        }
        for h in CRIME_HOTSPOTS {
            for (key, _) in h.categories {
                assert!(kind_index(key).is_some(), "{key}");
            }
        }
    }
}
