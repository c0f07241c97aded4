//! Confirmed shootings (skjutningar), EPSG:4326.
//!
//! Polisregion Stockholm counted 87-148 shootings a year in 2019-2024 (98 in 2024);
//! the city's share is taken as about 55 a year at scale 1 at the start of the period,
//! falling by 10 % a year. Two thirds happen in a dozen exposed areas, the rest by
//! population; about 30 % come in feud bursts: a handful of shootings within a few
//! weeks and a few hundred metres.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::rhythm::{Rhythm, H_SHOOTING, M_SUMMER, W_WEEKEND};
use crate::rng::{chance, poisson, stream, Weighted};
use crate::world::World;
use crate::{csv_error, io_error, DemoError, PoliceSeed};

/// The exact header of `shootings.csv`.
pub const HEADER: [&str; 9] = [
    "id", "datum", "tid", "plats", "lat", "lon", "skadade", "doda", "status",
];

/// Shootings a year at scale 1 at the start of the period.
pub(crate) const PER_YEAR: f64 = 55.0;
/// Yearly change.
const TREND: f64 = -0.10;
/// Share of shootings that come in bursts.
const BURST_SHARE: f64 = 0.3;

/// Stadsdelar where shootings concentrate, with relative weights.
const AREAS: &[(&str, f64)] = &[
    ("RINKEBY", 5.0),
    ("TENSTA", 5.0),
    ("HUSBY", 4.0),
    ("AKALLA", 2.0),
    ("SKÄRHOLMEN", 3.0),
    ("BREDÄNG", 2.0),
    ("VÅRBERG", 2.0),
    ("RÅGSVED", 2.0),
    ("HAGSÄTRA", 2.0),
    ("FARSTA", 1.5),
    ("HÄSSELBY GÅRD", 1.5),
    ("VÄLLINGBY", 1.0),
    ("ÖSTBERGA", 1.5),
    ("FRUÄNGEN", 1.0),
    ("BAGARMOSSEN", 1.0),
];

const RHYTHM: Rhythm = Rhythm {
    hours: &H_SHOOTING,
    week: &W_WEEKEND,
    months: &M_SUMMER,
    party: false,
};

/// A feud burst, recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Burst {
    /// The stadsdel it centres on.
    pub stadsdel: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Centre latitude.
    pub lat: f64,
    /// Standard deviation of the shootings' distance from the centre (metres).
    pub sigma_m: f64,
    /// First day (YYYY-MM-DD).
    pub start: String,
    /// Last day (YYYY-MM-DD).
    pub end: String,
    /// Shootings written for it.
    pub shootings: u64,
}

struct Shot {
    at: NaiveDateTime,
    x: f64,
    y: f64,
    district: usize,
}

/// What the shootings generator reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShootingSummary {
    /// Rows written.
    pub rows: u64,
    /// The bursts.
    pub bursts: Vec<Burst>,
}

/// Generates and writes `shootings.csv`.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    scale: f64,
    path: &Path,
) -> Result<(ShootingSummary, Vec<PoliceSeed>), DemoError> {
    let period = world.period;
    let mut rng = stream(seed, "shootings");
    let hot: Vec<(usize, f64)> = AREAS
        .iter()
        .filter_map(|(n, w)| world.land.index_of(n).map(|i| (i, *w)))
        .collect();
    let hot_table = Weighted::new(hot.iter().map(|h| h.1));
    let everywhere = world.population_weights(&[1.0, 0.8, 1.5, 1.0, 0.5, 0.2]);

    let mut shots = Vec::new();
    // Background shootings.
    let mut expected_total = 0.0;
    for day in period.each_day() {
        let years_in = (day - period.start).num_days() as f64 / 365.25;
        let daily = PER_YEAR * (1.0 + TREND).powf(years_in) / 365.25 * scale;
        expected_total += daily;
        let lambda = daily * (1.0 - BURST_SHARE) * RHYTHM.day_factor(day);
        for _ in 0..poisson(&mut rng, lambda) {
            let district = if chance(&mut rng, 0.67) {
                hot[hot_table.draw(&mut rng)].0
            } else {
                everywhere.draw(&mut rng)
            };
            if let Some((x, y)) = world.point_in(district, &mut rng) {
                shots.push(Shot {
                    at: RHYTHM.time_on(day, &mut rng),
                    x,
                    y,
                    district,
                });
            }
        }
    }
    // Bursts.
    let burst_count = (expected_total * BURST_SHARE / 7.0).round() as usize;
    let mut bursts = Vec::new();
    for _ in 0..burst_count {
        let district = hot[hot_table.draw(&mut rng)].0;
        let Some((cx, cy)) = world.point_in(district, &mut rng) else {
            continue;
        };
        let length = rng.random_range(10..=30);
        let latest_start = (period.days() - length).max(1);
        let start = period.start + Duration::days(rng.random_range(0..latest_start));
        let end = (start + Duration::days(length - 1)).min(period.end);
        let sigma = 400.0;
        let n = rng.random_range(4..=10);
        let mut written = 0;
        for _ in 0..n {
            let day = start + Duration::days(rng.random_range(0..=(end - start).num_days()));
            if let Some((x, y, d)) = world.point_near(cx, cy, sigma, &mut rng) {
                shots.push(Shot {
                    at: RHYTHM.time_on(day, &mut rng),
                    x,
                    y,
                    district: d,
                });
                written += 1;
            }
        }
        let (lon, lat) = world.lon_lat(cx, cy)?;
        bursts.push(Burst {
            stadsdel: world.areas[district].name.clone(),
            x: round_to(cx, 1),
            y: round_to(cy, 1),
            lon: round_to(lon, 6),
            lat: round_to(lat, 6),
            sigma_m: sigma,
            start: start.to_string(),
            end: end.to_string(),
            shootings: written,
        });
    }
    shots.sort_by_key(|s| s.at);

    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    out.write_record(HEADER).map_err(|e| csv_error(path, e))?;
    let mut seeds = Vec::new();
    let mut per_year = std::collections::BTreeMap::new();
    let preliminary_from = period.end - Duration::days(45);
    for s in &shots {
        let year = chrono::Datelike::year(&s.at);
        let n = per_year.entry(year).or_insert(0u32);
        *n += 1;
        let (lon, lat) = world.lon_lat(s.x, s.y)?;
        let (injured, dead) = casualties(&mut rng);
        let status = if s.at.date() >= preliminary_from || chance(&mut rng, 0.03) {
            "preliminär"
        } else {
            "bekräftad"
        };
        out.write_record([
            format!("SK-{year}-{n:04}"),
            s.at.format("%Y-%m-%d").to_string(),
            s.at.format("%H:%M").to_string(),
            plats(world, s),
            format!("{lat:.6}"),
            format!("{lon:.6}"),
            injured.to_string(),
            dead.to_string(),
            status.to_owned(),
        ])
        .map_err(|e| csv_error(path, e))?;
        if chance(&mut rng, 0.95) {
            seeds.push(PoliceSeed {
                at: s.at,
                district: Some(s.district),
                kind: "Skottlossning",
                detail: "",
            });
        }
    }
    out.flush().map_err(|e| io_error(path, e))?;
    Ok((
        ShootingSummary {
            rows: shots.len() as u64,
            bursts,
        },
        seeds,
    ))
}

/// Injured and dead: most shootings hit no one.
fn casualties(rng: &mut Pcg64) -> (u32, u32) {
    let injured = match rng.random::<f64>() {
        u if u < 0.6 => 0,
        u if u < 0.9 => 1,
        u if u < 0.97 => 2,
        _ => 3,
    };
    let dead = match rng.random::<f64>() {
        u if u < 0.8 => 0,
        u if u < 0.98 => 1,
        _ => 2,
    };
    (injured, dead)
}

/// "Rinkeby torg, Rinkeby" near a named place, otherwise the stadsdel.
fn plats(world: &World, s: &Shot) -> String {
    let area = &world.areas[s.district];
    let near = world
        .places
        .iter()
        .filter(|p| p.district == s.district)
        .map(|p| (p, (p.x - s.x).hypot(p.y - s.y)))
        .filter(|(_, d)| *d < 400.0)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match near {
        Some((p, _)) => format!("{}, {}", p.place.name, area.display),
        None => area.display.clone(),
    }
}

/// Rounds to `decimals` places (for the manifest).
pub(crate) fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rhythm::Period;

    #[test]
    fn yearly_counts_match_published_levels_and_cluster_in_exposed_areas() {
        let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let world = World::build(11, Period::ending(end, 3).expect("period")).expect("world");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("shootings.csv");
        let (summary, seeds) = generate(&world, 11, 1.0, &path).expect("generate");
        let mut reader = csv::Reader::from_path(&path).expect("csv");
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len() as u64, summary.rows);
        let per_year = rows.len() as f64 / world.period.years();
        assert!((40.0..=90.0).contains(&per_year), "{per_year} a year");
        assert!(!summary.bursts.is_empty());
        for b in &summary.bursts {
            assert!(b.shootings >= 3 && b.start <= b.end, "{b:?}");
        }
        // Most shootings are in the listed areas (by plats, which names the stadsdel).
        let hot: Vec<String> = AREAS
            .iter()
            .map(|(n, _)| crate::areas::display_name(n))
            .collect();
        let in_hot = rows
            .iter()
            .filter(|r| hot.iter().any(|h| r[3].ends_with(h.as_str())))
            .count();
        assert!(in_hot * 10 >= rows.len() * 6, "{in_hot} of {}", rows.len());
        assert!(seeds.len() * 10 >= rows.len() * 8);
        // Nights: most between 18:00 and 04:00.
        let night = rows
            .iter()
            .filter(|r| !("04:00".."18:00").contains(&&r[2]))
            .count();
        assert!(night * 10 >= rows.len() * 6, "{night} of {}", rows.len());
    }
}
