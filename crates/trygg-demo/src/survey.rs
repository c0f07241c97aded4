//! The safety survey (trygghetsmätning): respondent rows with design weights, and
//! points respondents marked as unsafe.
//!
//! Rounds follow the city's real schedule (every third year: 2020, 2023, 2026, ...),
//! with fieldwork from 1 September to 15 October; a round is written only if all its
//! fieldwork lies in the period. About 18 000 respondents a round at scale 1 (17 857
//! in 2020), spread over stadsdelar in proportion to the square root of their
//! population, so small areas are over-sampled and carry smaller weights; the young
//! answer less often, so their weights are larger. The share feeling unsafe out alone
//! late in the evening is calibrated to 10 % city-wide (population-weighted, as
//! published for 2017 and 2020), with the exposed Järva stadsdelar near 30 % and villa
//! areas near 4 %; women and the old feel less safe. Between rounds Järva improves
//! and Farsta, Hässelby-Vällingby and Enskede-Årsta-Vantör get somewhat worse, as the
//! 2020 report described.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::areas::Kind;
use crate::rng::{chance, pick, stream, Weighted};
use crate::world::World;
use crate::{csv_error, io_error, DemoError};

/// The exact header of `survey.csv` (the specified columns, then `orolig_brott`).
pub const HEADER: [&str; 12] = [
    "respondent_id",
    "omgang",
    "datum",
    "stadsdel",
    "vikt",
    "aldersgrupp",
    "kon",
    "otrygg_kvall",
    "problem_narkotika",
    "problem_skadegorelse",
    "utsatt_brott",
    "orolig_brott",
];

/// The exact header of `survey-places.csv`.
pub const PLACES_HEADER: [&str; 6] = ["punkt_id", "omgang", "datum", "lon", "lat", "kommentar"];

/// The answers to "how safe do you feel going out alone late in the evening".
pub const ANSWERS: [&str; 5] = [
    "mycket trygg",
    "ganska trygg",
    "ganska otrygg",
    "mycket otrygg",
    "går aldrig ut",
];

/// Respondents per round at scale 1.
const RESPONDENTS: f64 = 18_000.0;
/// Marked unsafe places per round at scale 1.
const PLACES: f64 = 3_000.0;
/// The designed city-wide share feeling unsafe (ganska + mycket otrygg).
pub(crate) const CITY_UNSAFE: f64 = 0.10;
/// Share of the population aged 16-79 (the survey's frame).
const ADULT_SHARE: f64 = 0.78;

const AGE_GROUPS: [&str; 4] = ["16-24", "25-44", "45-64", "65-79"];
/// Response rate by stadsdel character: far lower in the exposed suburbs, which is
/// why unweighted shares understate their unsafe feeling.
const RESPONSE_BY_KIND: [f64; 6] = [0.5, 0.6, 0.3, 0.5, 0.65, 0.5];
const RESPONSE_BY_AGE: [f64; 4] = [0.35, 0.45, 0.6, 0.72];
const UNSAFE_BY_AGE: [f64; 4] = [0.9, 0.95, 1.0, 1.2];
/// Relative unsafe feeling of women and men; the population is half each.
const UNSAFE_WOMAN: f64 = 1.45;
const UNSAFE_MAN: f64 = 0.6;
/// Women answer more often.
const WOMEN_RESPONDENTS: f64 = 0.55;

/// Relative unsafe feeling by stadsdel character before calibration.
const UNSAFE_BY_KIND: [f64; 6] = [0.11, 0.065, 0.2, 0.085, 0.045, 0.06];
const UNSAFE_OVERRIDES: &[(&str, f64)] = &[
    ("RINKEBY", 0.30),
    ("TENSTA", 0.29),
    ("HUSBY", 0.27),
    ("AKALLA", 0.19),
    ("HAGSÄTRA", 0.20),
    ("RÅGSVED", 0.20),
    ("SKÄRHOLMEN", 0.20),
    ("BREDÄNG", 0.18),
    ("VÅRBERG", 0.18),
    ("ÖSTBERGA", 0.17),
    ("FARSTA", 0.12),
    ("HÖKARÄNGEN", 0.11),
];
/// Change per round (every three years from 2020) by stadsdelsområde (2023 names).
const ROUND_TREND: &[(&str, f64)] = &[
    ("Järva", -0.08),
    ("Farsta", 0.08),
    ("Hässelby-Vällingby", 0.08),
    ("Enskede-Årsta-Vantör", 0.08),
];

const COMMENTS: &[&str] = &[
    "Dålig belysning",
    "Narkotikaförsäljning",
    "Stökiga gäng på kvällarna",
    "Mörk gångtunnel",
    "Ensligt och otryggt",
    "Berusade personer",
    "Otrygg busshållplats",
    "Folk som hänger vid entrén",
    "Har blivit hotad här",
    "Skymd av buskar, svårt att se",
    "Otryggt vid tunnelbanan sent",
    "Nedskräpat och klottrat",
];

fn age_shares(kind: Kind) -> [f64; 4] {
    match kind {
        Kind::City | Kind::Inner => [0.12, 0.45, 0.28, 0.15],
        Kind::Exposed => [0.17, 0.38, 0.30, 0.15],
        Kind::Villa => [0.12, 0.28, 0.38, 0.22],
        Kind::Suburb | Kind::Green => [0.13, 0.37, 0.31, 0.19],
    }
}

/// One survey round in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SurveyRound {
    /// The round (its year), as written in `omgang`.
    pub omgang: String,
    /// First fieldwork day (YYYY-MM-DD).
    pub fieldwork_start: String,
    /// Last fieldwork day (YYYY-MM-DD).
    pub fieldwork_end: String,
    /// Respondent rows written.
    pub respondents: u64,
    /// Unsafe-place points written.
    pub places: u64,
    /// The designed population-weighted share feeling unsafe, city-wide.
    pub designed_unsafe_share: f64,
    /// The designed share per stadsdelsområde (2023 structure).
    pub designed_unsafe_share_by_area: BTreeMap<String, f64>,
}

/// The survey rounds whose fieldwork lies wholly in the period.
pub(crate) fn rounds(world: &World) -> Vec<(i32, NaiveDate, NaiveDate)> {
    let p = world.period;
    (p.start.year()..=p.end.year())
        .filter(|y| (y - 2020).rem_euclid(3) == 0)
        .filter_map(|y| {
            let start = NaiveDate::from_ymd_opt(y, 9, 1)?;
            let end = NaiveDate::from_ymd_opt(y, 10, 15)?;
            (start >= p.start && end <= p.end).then_some((y, start, end))
        })
        .collect()
}

/// The calibrated unsafe base per district (before age, gender and round effects).
fn unsafe_base(world: &World) -> Vec<f64> {
    let raw: Vec<f64> = world
        .areas
        .iter()
        .map(|a| {
            UNSAFE_OVERRIDES
                .iter()
                .find(|(n, _)| *n == a.name)
                .map_or(UNSAFE_BY_KIND[a.kind.index()], |&(_, v)| v)
        })
        .collect();
    let (mut num, mut den) = (0.0, 0.0);
    for (i, r) in raw.iter().enumerate() {
        let pop = world.population.base(i);
        let ages = age_shares(world.kind(i));
        let person = (0..4).map(|a| ages[a] * UNSAFE_BY_AGE[a]).sum::<f64>()
            * (UNSAFE_WOMAN + UNSAFE_MAN)
            / 2.0;
        num += pop * r * person;
        den += pop;
    }
    let k = if num > 0.0 {
        CITY_UNSAFE * den / num
    } else {
        1.0
    };
    raw.into_iter().map(|r| r * k).collect()
}

fn round_factor(sdo2023: &str, year: i32) -> f64 {
    let g = ROUND_TREND
        .iter()
        .find(|(n, _)| *n == sdo2023)
        .map_or(0.0, |&(_, g)| g);
    (1.0 + g).powf(f64::from(year - 2020) / 3.0)
}

/// The designed probability of answering ganska or mycket otrygg.
fn p_unsafe(base: f64, factor: f64, age: usize, woman: bool) -> f64 {
    let g = if woman { UNSAFE_WOMAN } else { UNSAFE_MAN };
    (base * factor * UNSAFE_BY_AGE[age] * g).min(0.8)
}

/// What the survey generator reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct SurveySummary {
    /// Respondent rows written.
    pub respondents: u64,
    /// Unsafe-place rows written.
    pub places: u64,
    /// The rounds.
    pub rounds: Vec<SurveyRound>,
}

/// Generates and writes `survey.csv` and `survey-places.csv`.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    scale: f64,
    path: &Path,
    places_path: &Path,
) -> Result<SurveySummary, DemoError> {
    let mut rng = stream(seed, "survey");
    let mut place_rng = stream(seed, "survey-places");
    let base = unsafe_base(world);
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    out.write_record(HEADER).map_err(|e| csv_error(path, e))?;
    let file = File::create(places_path).map_err(|e| io_error(places_path, e))?;
    let mut places_out = csv::Writer::from_writer(BufWriter::new(file));
    places_out
        .write_record(PLACES_HEADER)
        .map_err(|e| csv_error(places_path, e))?;

    let mut summary = SurveySummary::default();
    for (year, start, end) in rounds(world) {
        let fieldwork_days = (end - start).num_days() + 1;
        let day = |rng: &mut Pcg64| start + Duration::days(rng.random_range(0..fieldwork_days));
        let omgang = year.to_string();

        // Gross sample proportional to the square root of the population, thinned by
        // the area's response rate.
        let frame: Vec<f64> = (0..world.areas.len())
            .map(|i| {
                let pop = world.population.get(i, year).0 as f64 * ADULT_SHARE;
                if pop >= 300.0 {
                    pop
                } else {
                    0.0
                }
            })
            .collect();
        let response = |i: usize| RESPONSE_BY_KIND[world.kind(i).index()];
        let root_sum: f64 = frame
            .iter()
            .enumerate()
            .map(|(i, p)| p.sqrt() * response(i))
            .sum();
        let mut respondents = 0u64;
        let mut designed_num = 0.0;
        let mut designed_den = 0.0;
        let mut by_area: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for (i, &adults) in frame.iter().enumerate() {
            if adults <= 0.0 {
                continue;
            }
            let area = &world.areas[i];
            let factor = round_factor(&area.sdo2023, year);
            let ages = age_shares(area.kind);
            // The design's expected share, population-weighted.
            let designed: f64 = (0..4)
                .map(|a| {
                    ages[a]
                        * (p_unsafe(base[i], factor, a, true) + p_unsafe(base[i], factor, a, false))
                        / 2.0
                })
                .sum();
            designed_num += adults * designed;
            designed_den += adults;
            let e = by_area.entry(area.sdo2023.clone()).or_insert((0.0, 0.0));
            e.0 += adults * designed;
            e.1 += adults;

            let target = RESPONDENTS * scale * adults.sqrt() * response(i) / root_sum;
            let n = target.floor() as usize + usize::from(chance(&mut rng, target.fract()));
            let age_table = Weighted::new((0..4).map(|a| ages[a] * RESPONSE_BY_AGE[a]));
            let people: Vec<(usize, bool)> = (0..n)
                .map(|_| {
                    (
                        age_table.draw(&mut rng),
                        chance(&mut rng, WOMEN_RESPONDENTS),
                    )
                })
                .collect();
            // Design weights: the cell's population over its respondents, cells being
            // age group × gender within the stadsdel.
            let mut per_cell = [[0u32; 2]; 4];
            for &(a, woman) in &people {
                per_cell[a][usize::from(woman)] += 1;
            }
            let q_very_safe = (0.55 - 1.2 * base[i] * factor).clamp(0.15, 0.7);
            let p_problem_drugs = (0.08 + 1.6 * base[i] * factor).min(0.85);
            let p_problem_damage = (0.15 + 1.2 * base[i] * factor).min(0.85);
            let p_victim = 0.12 + 0.3 * base[i] * factor;
            for (a, woman) in people {
                respondents += 1;
                let weight =
                    adults * ages[a] * 0.5 / f64::from(per_cell[a][usize::from(woman)].max(1));
                let p = p_unsafe(base[i], factor, a, woman);
                let never = if a == 3 { 0.06 } else { 0.02 };
                let u: f64 = rng.random();
                let answer = if u < never {
                    4
                } else if u < never + 0.3 * p {
                    3
                } else if u < never + p {
                    2
                } else if chance(&mut rng, q_very_safe) {
                    0
                } else {
                    1
                };
                let yes = |rng: &mut Pcg64, p: f64| if chance(rng, p) { "ja" } else { "nej" };
                let record = [
                    format!("{year}-{respondents:05}"),
                    omgang.clone(),
                    day(&mut rng).format("%Y-%m-%d").to_string(),
                    area.name.clone(),
                    format!("{weight:.3}"),
                    AGE_GROUPS[a].to_owned(),
                    if woman { "kvinna" } else { "man" }.to_owned(),
                    ANSWERS[answer].to_owned(),
                    yes(&mut rng, p_problem_drugs).to_owned(),
                    yes(&mut rng, p_problem_damage).to_owned(),
                    yes(&mut rng, p_victim).to_owned(),
                    yes(&mut rng, 0.9 * p + 0.01).to_owned(),
                ];
                out.write_record(&record).map_err(|e| csv_error(path, e))?;
            }
        }

        // Marked unsafe places: mostly around centres and squares, weighted by how
        // unsafe their stadsdel feels.
        let centre_table = Weighted::new(world.places.iter().map(|p| base[p.district]));
        let district_table = Weighted::new((0..world.areas.len()).map(|i| frame[i] * base[i]));
        let target = PLACES * scale;
        let n = target.floor() as usize + usize::from(chance(&mut place_rng, target.fract()));
        let mut places = 0u64;
        for _ in 0..n {
            let point = if chance(&mut place_rng, 0.75) {
                let c = &world.places[centre_table.draw(&mut place_rng)];
                world
                    .point_near(c.x, c.y, 150.0, &mut place_rng)
                    .map(|(x, y, _)| (x, y))
            } else {
                world.point_in(district_table.draw(&mut place_rng), &mut place_rng)
            };
            let Some((x, y)) = point else { continue };
            let (lon, lat) = world.lon_lat(x, y)?;
            places += 1;
            places_out
                .write_record([
                    format!("P{places:05}"),
                    omgang.clone(),
                    day(&mut place_rng).format("%Y-%m-%d").to_string(),
                    format!("{lon:.6}"),
                    format!("{lat:.6}"),
                    (*pick(&mut place_rng, COMMENTS)).to_owned(),
                ])
                .map_err(|e| csv_error(places_path, e))?;
        }

        summary.respondents += respondents;
        summary.places += places;
        summary.rounds.push(SurveyRound {
            omgang,
            fieldwork_start: start.to_string(),
            fieldwork_end: end.to_string(),
            respondents,
            places,
            designed_unsafe_share: round4(designed_num / designed_den.max(1.0)),
            designed_unsafe_share_by_area: by_area
                .into_iter()
                .map(|(k, (num, den))| (k, round4(num / den.max(1.0))))
                .collect(),
        });
    }
    out.flush().map_err(|e| io_error(path, e))?;
    places_out.flush().map_err(|e| io_error(places_path, e))?;
    Ok(summary)
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rhythm::Period;

    #[test]
    fn weighted_unsafe_share_is_about_ten_percent_with_large_area_differences() {
        let end = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let world = World::build(5, Period::ending(end, 3).expect("period")).expect("world");
        let dir = tempfile::tempdir().expect("tmp");
        let (path, places) = (dir.path().join("survey.csv"), dir.path().join("places.csv"));
        let summary = generate(&world, 5, 1.0, &path, &places).expect("generate");
        assert_eq!(
            summary.rounds.len(),
            1,
            "a three-year period holds one round"
        );
        assert_eq!(summary.rounds[0].omgang, "2026");
        let sdo: BTreeMap<&str, &str> = world
            .areas
            .iter()
            .map(|a| (a.name.as_str(), a.sdo2023.as_str()))
            .collect();
        let mut reader = csv::Reader::from_path(&path).expect("csv");
        // (weighted unsafe, weight, unweighted unsafe, n) per area and city-wide.
        let mut by: BTreeMap<String, (f64, f64, f64, f64)> = BTreeMap::new();
        for row in reader.records() {
            let row = row.expect("row");
            let w: f64 = row[4].parse().expect("vikt");
            let unsafe_ = f64::from(u8::from(row[7] == *ANSWERS[2] || row[7] == *ANSWERS[3]));
            for key in ["city", sdo[&row[3]]] {
                let e = by.entry(key.to_owned()).or_insert((0.0, 0.0, 0.0, 0.0));
                *e = (e.0 + w * unsafe_, e.1 + w, e.2 + unsafe_, e.3 + 1.0);
            }
        }
        let share = |k: &str| by[k].0 / by[k].1;
        let city = share("city");
        assert!((0.085..=0.115).contains(&city), "city {city}");
        let unweighted = by["city"].2 / by["city"].3;
        assert!(
            (unweighted - city).abs() > 0.003,
            "weights change nothing: {unweighted} vs {city}"
        );
        assert!(share("Järva") > 2.0 * share("Norra innerstaden"), "{by:?}");
        assert!(share("Järva") > 2.0 * share("Bromma"), "{by:?}");
        // Weights add up to the adult population.
        let population: f64 = (0..world.areas.len())
            .map(|i| world.population.get(i, 2026).0 as f64)
            .sum();
        let weights = by["city"].1;
        assert!(
            weights > 0.7 * population && weights < 0.8 * population,
            "{weights} vs {population}"
        );
        assert_eq!(summary.places, 3_000);
    }
}
