//! Real places in Stockholm (squares, centres, stations) with hand-entered WGS 84
//! coordinates, and the hotspots the generator plants around some of them.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::rhythm::Period;

/// A named real place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// Its usual name.
    pub name: &'static str,
    /// Longitude (WGS 84).
    pub lon: f64,
    /// Latitude (WGS 84).
    pub lat: f64,
    /// The stadsdel it lies in (upper case, as in the data).
    pub stadsdel: &'static str,
}

const fn place(name: &'static str, lat: f64, lon: f64, stadsdel: &'static str) -> Place {
    Place {
        name,
        lon,
        lat,
        stadsdel,
    }
}

/// Squares, centres and stations: hotspot centres, local attractors, the places
/// survey respondents mark as unsafe.
pub(crate) const PLACES: &[Place] = &[
    place("Sergels torg", 59.33248, 18.06366, "NORRMALM"),
    place("T-Centralen", 59.33135, 18.05960, "NORRMALM"),
    place("Hötorget", 59.33544, 18.06300, "NORRMALM"),
    place("Stureplan", 59.33557, 18.07388, "ÖSTERMALM"),
    place("Odenplan", 59.34291, 18.04937, "VASASTADEN"),
    place("Medborgarplatsen", 59.31434, 18.07347, "SÖDERMALM"),
    place("Slussen", 59.31990, 18.07200, "SÖDERMALM"),
    place("Fridhemsplan", 59.33200, 18.02900, "KUNGSHOLMEN"),
    place("Rinkeby torg", 59.38813, 17.92786, "RINKEBY"),
    place("Tensta centrum", 59.39456, 17.90165, "TENSTA"),
    place("Hjulsta", 59.39640, 17.88800, "TENSTA"),
    place("Husby centrum", 59.40990, 17.92564, "HUSBY"),
    place("Akalla centrum", 59.41480, 17.91280, "AKALLA"),
    place("Kista centrum", 59.40313, 17.94415, "KISTA"),
    place("Skärholmen centrum", 59.27716, 17.90703, "SKÄRHOLMEN"),
    place("Bredäng centrum", 59.29500, 17.93370, "BREDÄNG"),
    place("Vårberg centrum", 59.27590, 17.89040, "VÅRBERG"),
    place("Farsta centrum", 59.24346, 18.09311, "FARSTA"),
    place("Hökarängsplan", 59.25780, 18.08240, "HÖKARÄNGEN"),
    place("Hagsätra centrum", 59.26250, 18.01270, "HAGSÄTRA"),
    place("Rågsved centrum", 59.25660, 18.02830, "RÅGSVED"),
    place("Högdalen centrum", 59.26370, 18.04300, "HÖGDALEN"),
    place("Gullmarsplan", 59.29900, 18.08060, "JOHANNESHOV"),
    place("Liljeholmstorget", 59.31070, 18.02300, "LILJEHOLMEN"),
    place("Vällingby centrum", 59.36334, 17.87207, "VÄLLINGBY"),
    place("Hässelby gård centrum", 59.36670, 17.84400, "HÄSSELBY GÅRD"),
    place("Bagarmossen centrum", 59.27630, 18.13140, "BAGARMOSSEN"),
    place("Fruängen centrum", 59.28580, 17.96490, "FRUÄNGEN"),
    place("Östberga torg", 59.28770, 18.03550, "ÖSTBERGA"),
];

/// How a planted hotspot develops over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    /// Active all period at a steady level.
    Persistent,
    /// Appears only in the last six weeks, growing.
    Emerging,
    /// Strong at the start, declining, gone in the last year.
    Fading,
}

/// A hotspot to plant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HotspotDef {
    /// The place at its centre (a name in [`PLACES`]).
    pub place: &'static str,
    /// The source it adds events to ("crimes" or "fires").
    pub source: &'static str,
    /// Radius of the disc holding most (86 %) of its events; points are Gaussian
    /// with a standard deviation of half the radius.
    pub radius_m: f64,
    /// Its development.
    pub trend: Trend,
    /// Events per week at scale 1 at full strength.
    pub per_week: f64,
    /// Category keys (crime kinds or fire object types) with relative weights.
    pub categories: &'static [(&'static str, f64)],
}

/// The crime hotspots.
pub(crate) const CRIME_HOTSPOTS: &[HotspotDef] = &[
    HotspotDef {
        place: "Sergels torg",
        source: "crimes",
        radius_m: 250.0,
        trend: Trend::Persistent,
        per_week: 45.0,
        categories: &[
            ("narkotika_innehav", 4.0),
            ("narkotika_overlatelse", 2.0),
            ("fickstold", 3.0),
            ("ran", 1.0),
            ("misshandel_ute", 2.0),
            ("ofredande", 1.0),
        ],
    },
    HotspotDef {
        place: "Medborgarplatsen",
        source: "crimes",
        radius_m: 200.0,
        trend: Trend::Persistent,
        per_week: 20.0,
        categories: &[
            ("misshandel_ute", 3.0),
            ("fickstold", 2.0),
            ("ofredande", 1.0),
            ("narkotika_innehav", 1.0),
        ],
    },
    HotspotDef {
        place: "Stureplan",
        source: "crimes",
        radius_m: 150.0,
        trend: Trend::Persistent,
        per_week: 18.0,
        categories: &[
            ("misshandel_ute", 4.0),
            ("sex_ofredande", 1.0),
            ("fickstold", 2.0),
            ("narkotika_innehav", 1.0),
        ],
    },
    HotspotDef {
        place: "Rinkeby torg",
        source: "crimes",
        radius_m: 250.0,
        trend: Trend::Persistent,
        per_week: 15.0,
        categories: &[
            ("narkotika_innehav", 3.0),
            ("narkotika_overlatelse", 2.0),
            ("skadegorelse", 2.0),
            ("olaga_hot", 1.0),
            ("misshandel_ute", 1.0),
            ("vapen", 0.5),
        ],
    },
    HotspotDef {
        place: "Tensta centrum",
        source: "crimes",
        radius_m: 250.0,
        trend: Trend::Persistent,
        per_week: 10.0,
        categories: &[
            ("narkotika_innehav", 2.0),
            ("skadegorelse", 2.0),
            ("ran", 1.0),
            ("misshandel_ute", 1.0),
        ],
    },
    HotspotDef {
        place: "Skärholmen centrum",
        source: "crimes",
        radius_m: 300.0,
        trend: Trend::Persistent,
        per_week: 14.0,
        categories: &[
            ("snatteri", 4.0),
            ("ran", 1.0),
            ("misshandel_ute", 1.0),
            ("narkotika_innehav", 1.0),
        ],
    },
    HotspotDef {
        place: "Kista centrum",
        source: "crimes",
        radius_m: 250.0,
        trend: Trend::Persistent,
        per_week: 12.0,
        categories: &[("snatteri", 4.0), ("fickstold", 2.0), ("bedrageri", 1.0)],
    },
    HotspotDef {
        place: "Farsta centrum",
        source: "crimes",
        radius_m: 250.0,
        trend: Trend::Fading,
        per_week: 24.0,
        categories: &[
            ("ran", 2.0),
            ("skadegorelse", 2.0),
            ("misshandel_ute", 1.0),
            ("narkotika_innehav", 2.0),
        ],
    },
    HotspotDef {
        place: "Hökarängsplan",
        source: "crimes",
        radius_m: 200.0,
        trend: Trend::Emerging,
        per_week: 40.0,
        categories: &[
            ("narkotika_innehav", 3.0),
            ("narkotika_overlatelse", 2.0),
            ("misshandel_ute", 1.5),
            ("olaga_hot", 1.0),
            ("skadegorelse", 1.0),
            ("ran", 0.5),
        ],
    },
];

/// Car-fire clusters.
pub(crate) const FIRE_HOTSPOTS: &[HotspotDef] = &[
    HotspotDef {
        place: "Rinkeby torg",
        source: "fires",
        radius_m: 500.0,
        trend: Trend::Persistent,
        per_week: 1.2,
        categories: &[("Bil", 1.0)],
    },
    HotspotDef {
        place: "Tensta centrum",
        source: "fires",
        radius_m: 500.0,
        trend: Trend::Persistent,
        per_week: 1.0,
        categories: &[("Bil", 1.0)],
    },
    HotspotDef {
        place: "Husby centrum",
        source: "fires",
        radius_m: 500.0,
        trend: Trend::Persistent,
        per_week: 0.8,
        categories: &[("Bil", 1.0)],
    },
    HotspotDef {
        place: "Bredäng centrum",
        source: "fires",
        radius_m: 500.0,
        trend: Trend::Persistent,
        per_week: 0.6,
        categories: &[("Bil", 1.0)],
    },
    HotspotDef {
        place: "Rågsved centrum",
        source: "fires",
        radius_m: 500.0,
        trend: Trend::Persistent,
        per_week: 0.6,
        categories: &[("Bil", 1.0)],
    },
];

/// When a hotspot is active and how strong it is on a given day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// First active day.
    pub start: NaiveDate,
    /// Last active day.
    pub end: NaiveDate,
    trend: Trend,
}

/// Length of the emerging hotspot's life, ending on the period's last day.
pub(crate) const EMERGING_DAYS: i64 = 42;

impl Schedule {
    /// The schedule of a hotspot with `trend` in `period`.
    pub fn new(trend: Trend, period: &Period) -> Schedule {
        let (start, end) = match trend {
            Trend::Persistent => (period.start, period.end),
            Trend::Emerging => {
                let start = (period.end - Duration::days(EMERGING_DAYS - 1)).max(period.start);
                (start, period.end)
            }
            Trend::Fading => {
                // Gone in the last year; with a one-year period, gone after the first half.
                let last_year = period.end - Duration::days(365);
                let half = period.start + Duration::days(period.days() / 2);
                let end = if last_year > half { last_year } else { half };
                (period.start, end)
            }
        };
        Schedule { start, end, trend }
    }

    /// Multiplier of the full weekly strength on `day` (0 outside the schedule).
    pub fn strength(&self, day: NaiveDate) -> f64 {
        if day < self.start || day > self.end {
            return 0.0;
        }
        let span = (self.end - self.start).num_days().max(1) as f64;
        let t = (day - self.start).num_days() as f64 / span;
        match self.trend {
            Trend::Persistent => 1.0,
            Trend::Emerging => 0.4 + 0.6 * t,
            Trend::Fading => (1.3 * (1.0 - t)).min(1.0),
        }
    }

    /// Expected events at scale 1 over the schedule for `per_week` at full strength.
    pub fn expected(&self, per_week: f64) -> f64 {
        let mut day = self.start;
        let mut sum = 0.0;
        while day <= self.end {
            sum += self.strength(day);
            day += Duration::days(1);
        }
        sum * per_week / 7.0
    }
}
