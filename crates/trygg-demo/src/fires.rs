//! Rescue-service fires (Storstockholms brandförsvar style), EPSG:3011.
//!
//! About 3 000 fires a year at scale 1: building fires by population, container,
//! waste-bin and litter-bin fires by activity, grass and forest fires by land area in
//! the dry spring, and car fires of which 60 % cluster in a few exposed suburbs. New
//! Year's Eve night and Valborg add their own peaks. Points are sampled in EPSG:3006
//! and transformed to EPSG:3011 with PROJ (via `trygg-crs`).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rand::Rng;
use rand_pcg::Pcg64;

use crate::places::{Schedule, FIRE_HOTSPOTS};
use crate::rhythm::{
    local, Rhythm, H_EVENING, H_HOME_FIRE, H_NIGHT, M_FLAT, M_GRASS, M_WARM, M_WINTER, W_FLAT,
    W_WEEKEND,
};
use crate::rng::{chance, normal, poisson, stream, Weighted};
use crate::world::World;
use crate::{csv_error, io_error, DemoError, PoliceSeed};

/// The exact header of `fires.csv`.
pub const HEADER: [&str; 7] = [
    "larmnummer",
    "larmtid",
    "handelsetyp",
    "objekttyp",
    "orsak",
    "e_3011",
    "n_3011",
];

/// Where a kind of fire happens.
#[derive(Debug, Clone, Copy)]
enum Spread {
    /// Where people live.
    Population([f64; 6]),
    /// Where people are about.
    Activity([f64; 6]),
    /// Over the land area.
    Land([f64; 6]),
}

/// One object type.
#[derive(Debug, Clone, Copy)]
struct FireKind {
    objekttyp: &'static str,
    per_year: f64,
    rhythm: Rhythm,
    spread: Spread,
    /// (orsak, weight)
    causes: &'static [(&'static str, f64)],
    /// Share of these fires that become police "Brand" notices.
    police: f64,
}

const KINDS: &[FireKind] = &[
    FireKind {
        objekttyp: "Bil",
        per_year: 160.0, // plus the clustered car fires (FIRE_HOTSPOTS), c. 220 a year
        rhythm: Rhythm {
            hours: &H_NIGHT,
            week: &W_WEEKEND,
            months: &M_FLAT,
            party: true,
        },
        spread: Spread::Activity([0.5, 0.6, 2.0, 1.0, 0.7, 0.5]),
        causes: &[("Anlagd", 0.65), ("Okänd", 0.2), ("Tekniskt fel", 0.15)],
        police: 0.35,
    },
    FireKind {
        objekttyp: "Container",
        per_year: 500.0,
        rhythm: Rhythm {
            hours: &H_EVENING,
            week: &W_WEEKEND,
            months: &M_WARM,
            party: true,
        },
        spread: Spread::Activity([1.3, 1.0, 1.5, 1.0, 0.5, 0.6]),
        causes: &[("Anlagd", 0.45), ("Okänd", 0.45), ("Oförsiktighet", 0.1)],
        police: 0.03,
    },
    FireKind {
        objekttyp: "Papperskorg",
        per_year: 600.0,
        rhythm: Rhythm {
            hours: &H_EVENING,
            week: &W_WEEKEND,
            months: &M_WARM,
            party: true,
        },
        spread: Spread::Activity([1.5, 1.2, 1.5, 0.9, 0.4, 0.8]),
        causes: &[("Anlagd", 0.4), ("Okänd", 0.4), ("Oförsiktighet", 0.2)],
        police: 0.0,
    },
    FireKind {
        objekttyp: "Soptunna",
        per_year: 300.0,
        rhythm: Rhythm {
            hours: &H_EVENING,
            week: &W_WEEKEND,
            months: &M_WARM,
            party: true,
        },
        spread: Spread::Population([0.8, 1.0, 1.5, 1.0, 0.8, 0.3]),
        causes: &[("Anlagd", 0.4), ("Okänd", 0.45), ("Oförsiktighet", 0.15)],
        police: 0.0,
    },
    FireKind {
        objekttyp: "Byggnad",
        per_year: 900.0,
        rhythm: Rhythm {
            hours: &H_HOME_FIRE,
            week: &W_FLAT,
            months: &M_WINTER,
            party: false,
        },
        spread: Spread::Population([1.0, 1.0, 1.2, 1.0, 0.9, 0.5]),
        causes: &[
            ("Tekniskt fel", 0.35),
            ("Oförsiktighet", 0.35),
            ("Okänd", 0.2),
            ("Anlagd", 0.1),
        ],
        police: 0.2,
    },
    FireKind {
        objekttyp: "Skog/mark",
        per_year: 300.0,
        rhythm: Rhythm {
            hours: &H_EVENING,
            week: &W_WEEKEND,
            months: &M_GRASS,
            party: false,
        },
        spread: Spread::Land([0.1, 0.2, 1.0, 1.0, 1.0, 2.0]),
        causes: &[("Oförsiktighet", 0.5), ("Okänd", 0.35), ("Anlagd", 0.15)],
        police: 0.02,
    },
];

/// Extra fires on New Year's Eve night at scale 1 (18:00 to 03:00).
pub(crate) const NEW_YEAR_FIRES: f64 = 150.0;
/// Extra fires on Valborg evening at scale 1.
const VALBORG_FIRES: f64 = 25.0;

struct Fire {
    at: NaiveDateTime,
    kind: usize,
    cause: &'static str,
    x: f64,
    y: f64,
    district: usize,
}

/// What the fires generator reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct FireSummary {
    /// Rows written.
    pub rows: u64,
    /// Rows per car-fire cluster (index into [`FIRE_HOTSPOTS`]).
    pub per_hotspot: Vec<u64>,
    /// Rows in New Year's nights (31 Dec 18:00 to 1 Jan 06:00).
    pub new_year: u64,
}

/// Generates and writes `fires.csv`.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    scale: f64,
    path: &Path,
) -> Result<(FireSummary, Vec<PoliceSeed>), DemoError> {
    let period = world.period;
    let mut rng = stream(seed, "fires");
    let tables: Vec<Weighted> = KINDS
        .iter()
        .map(|k| match k.spread {
            Spread::Population(t) => world.population_weights(&t),
            Spread::Activity(t) => world.activity_weights(&t),
            Spread::Land(t) => Weighted::new(
                world
                    .land
                    .districts
                    .iter()
                    .enumerate()
                    .map(|(i, d)| d.area_m2 * t[world.kind(i).index()]),
            ),
        })
        .collect();
    let causes: Vec<Weighted> = KINDS
        .iter()
        .map(|k| Weighted::new(k.causes.iter().map(|c| c.1)))
        .collect();
    let car = 0;
    let schedules: Vec<Schedule> = FIRE_HOTSPOTS
        .iter()
        .map(|h| Schedule::new(h.trend, &period))
        .collect();
    let mut per_hotspot = vec![0u64; FIRE_HOTSPOTS.len()];
    let mut fires = Vec::new();
    let place = |fires: &mut Vec<Fire>,
                 rng: &mut Pcg64,
                 kind: usize,
                 at: NaiveDateTime,
                 cause: Option<&'static str>| {
        let district = tables[kind].draw(rng);
        if let Some((x, y)) = world.point_in(district, rng) {
            let cause = cause.unwrap_or_else(|| KINDS[kind].causes[causes[kind].draw(rng)].0);
            fires.push(Fire {
                at,
                kind,
                cause,
                x,
                y,
                district,
            });
        }
    };
    for day in period.each_day() {
        for (k, kind) in KINDS.iter().enumerate() {
            let lambda = kind.per_year / 365.25 * scale * kind.rhythm.day_factor(day);
            for _ in 0..poisson(&mut rng, lambda) {
                let at = kind.rhythm.time_on(day, &mut rng);
                place(&mut fires, &mut rng, k, at, None);
            }
        }
        for (h, (def, schedule)) in FIRE_HOTSPOTS.iter().zip(&schedules).enumerate() {
            let Some(centre) = world.place(def.place) else {
                continue;
            };
            let lambda = def.per_week / 7.0 * schedule.strength(day) * scale;
            for _ in 0..poisson(&mut rng, lambda) {
                if let Some((x, y, district)) =
                    world.point_near(centre.x, centre.y, def.radius_m / 2.0, &mut rng)
                {
                    let at = KINDS[car].rhythm.time_on(day, &mut rng);
                    let cause = KINDS[car].causes[causes[car].draw(&mut rng)].0;
                    fires.push(Fire {
                        at,
                        kind: car,
                        cause,
                        x,
                        y,
                        district,
                    });
                    per_hotspot[h] += 1;
                }
            }
        }
        if day.month() == 12 && day.day() == 31 {
            // Fireworks: containers, bins and grass, peaking around midnight.
            let mix = Weighted::new([0.05, 0.3, 0.35, 0.2, 0.0, 0.1]);
            for _ in 0..poisson(&mut rng, NEW_YEAR_FIRES * scale) {
                // Minutes after 18:00: most around midnight (360), the rest spread to 03:00.
                let offset = if chance(&mut rng, 0.7) {
                    (360.0 + 60.0 * normal(&mut rng)).clamp(0.0, 539.0)
                } else {
                    rng.random_range(0.0..540.0)
                };
                let at = local(day, 18 * 3600) + Duration::minutes(offset as i64);
                if at > period.end_moment() {
                    continue;
                }
                let kind = mix.draw(&mut rng);
                let cause = if chance(&mut rng, 0.7) {
                    Some("Fyrverkerier")
                } else {
                    None
                };
                place(&mut fires, &mut rng, kind, at, cause);
            }
        }
        if day.month() == 4 && day.day() == 30 {
            for _ in 0..poisson(&mut rng, VALBORG_FIRES * scale) {
                let at = local(day, rng.random_range(19 * 3600..24 * 3600));
                let kind = if chance(&mut rng, 0.7) { 5 } else { 1 };
                place(&mut fires, &mut rng, kind, at, Some("Oförsiktighet"));
            }
        }
    }
    fires.sort_by_key(|f| f.at);

    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    out.write_record(HEADER).map_err(|e| csv_error(path, e))?;
    let mut seeds = Vec::new();
    let mut counters = std::collections::BTreeMap::new();
    let mut new_year = 0;
    for f in &fires {
        let year = f.at.year();
        let n = counters.entry(year).or_insert(0u32);
        *n += rng.random_range(1..=12); // other incidents (not fires) share the series
        let (e, n3011) = world.to_3011.convert(f.x, f.y)?;
        let kind = &KINDS[f.kind];
        let handelsetyp = if kind.objekttyp == "Byggnad" {
            "Brand i byggnad"
        } else {
            "Brand ej i byggnad"
        };
        out.write_record([
            format!("{year}-{n:06}"),
            f.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            handelsetyp.to_owned(),
            kind.objekttyp.to_owned(),
            f.cause.to_owned(),
            format!("{e:.1}"),
            format!("{n3011:.1}"),
        ])
        .map_err(|e| csv_error(path, e))?;
        new_year += u64::from(is_new_year_night(f.at));
        if chance(&mut rng, kind.police) {
            seeds.push(PoliceSeed {
                at: f.at,
                district: Some(f.district),
                kind: "Brand",
                detail: kind.objekttyp,
            });
        }
    }
    out.flush().map_err(|e| io_error(path, e))?;
    Ok((
        FireSummary {
            rows: fires.len() as u64,
            per_hotspot,
            new_year,
        },
        seeds,
    ))
}

/// 31 December 18:00 to 1 January 06:00.
pub(crate) fn is_new_year_night(t: NaiveDateTime) -> bool {
    let d: NaiveDate = t.date();
    let h = chrono::Timelike::hour(&t);
    (d.month() == 12 && d.day() == 31 && h >= 18) || (d.month() == 1 && d.day() == 1 && h < 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trygg_model::NormCategory;

    #[test]
    fn incident_types_classify_as_fire() {
        for t in ["Brand i byggnad", "Brand ej i byggnad"] {
            assert_eq!(NormCategory::classify(t), NormCategory::Fire, "{t}");
        }
        assert_eq!(KINDS[0].objekttyp, "Bil");
    }
}
