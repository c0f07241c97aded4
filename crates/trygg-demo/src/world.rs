//! The generator's shared context: land, stadsdelar with population and a crime
//! "activity" weight, local attractors that give points a realistic texture (events
//! gather along centres and streets, not uniformly over parks), resolved named places,
//! coordinate transformers and the period.

use rand::Rng;
use rand_pcg::Pcg64;
use trygg_crs::{Crs, Transformer};

use crate::areas::{self, AreaInfo, Kind, Population};
use crate::land::Land;
use crate::places::{Place, Trend, CRIME_HOTSPOTS, PLACES};
use crate::rhythm::Period;
use crate::rng::{chance, stream, Weighted};
use crate::DemoError;

/// Relative crime per resident by stadsdel character (`[City, Inner, Exposed,
/// Suburb, Villa, Green]`).
const ACTIVITY_PER_RESIDENT: [f64; 6] = [1.6, 1.05, 1.05, 0.9, 0.65, 0.8];

/// Crime that does not follow residents (shopping, night life, offices, tourists),
/// in resident equivalents.
const EXTRA_ACTIVITY: &[(&str, f64)] = &[
    ("NORRMALM", 140_000.0),
    ("GAMLA STAN", 15_000.0),
    ("ÖSTERMALM", 12_000.0),
    ("SÖDERMALM", 15_000.0),
    ("KUNGSHOLMEN", 6_000.0),
    ("VASASTADEN", 6_000.0),
    ("KISTA", 2_000.0),
    ("SKÄRHOLMEN", 8_000.0),
    ("FARSTA", 7_000.0),
    ("VÄLLINGBY", 7_000.0),
    ("LILJEHOLMEN", 5_000.0),
    ("JOHANNESHOV", 6_000.0),
    ("DJURGÅRDEN", 6_000.0),
    ("NORRA DJURGÅRDEN", 2_500.0),
    ("ULVSUNDA INDUSTRIOMR", 3_000.0),
    ("LUNDA", 2_500.0),
    ("VÄSTBERGA", 2_500.0),
    ("ÄLVSJÖ", 2_500.0),
    ("SÖDRA HAMMARBYHAMNEN", 2_000.0),
    ("HÖGDALEN", 2_000.0),
    ("RINKEBY", 1_000.0),
    ("TENSTA", 2_000.0),
];

/// A local centre of activity inside one stadsdel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attractor {
    x: f64,
    y: f64,
    sigma: f64,
}

/// A named place resolved to EPSG:3006.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlacePoint {
    /// The place.
    pub place: &'static Place,
    /// Easting (EPSG:3006).
    pub x: f64,
    /// Northing (EPSG:3006).
    pub y: f64,
    /// Index of the district it lies in.
    pub district: usize,
}

/// Everything the source generators share.
pub(crate) struct World {
    /// Land polygons and samplers.
    pub land: Land,
    /// Per-district attributes (same order as `land.districts`).
    pub areas: Vec<AreaInfo>,
    /// Population per district and year.
    pub population: Population,
    /// Crime activity weight per district (resident equivalents).
    pub activity: Vec<f64>,
    /// Named places in EPSG:3006.
    pub places: Vec<PlacePoint>,
    attractors: Vec<(Vec<Attractor>, Weighted)>,
    /// EPSG:3006 → WGS 84 (lon, lat).
    pub to_wgs84: Transformer,
    /// EPSG:3006 → EPSG:3011.
    pub to_3011: Transformer,
    /// The generated period.
    pub period: Period,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("districts", &self.areas.len())
            .field("period", &self.period)
            .finish()
    }
}

impl World {
    /// Builds the context for `period`, with attractors drawn from `seed`.
    pub fn build(seed: u64, period: Period) -> Result<World, DemoError> {
        let land = Land::load()?;
        let areas = areas::load(&land)?;
        let population = Population::derive(&land, &areas)?;
        let from_wgs84 = Transformer::new(&Crs::WGS84, &Crs::STORE)?;
        let to_wgs84 = Transformer::new(&Crs::STORE, &Crs::WGS84)?;
        let to_3011 = Transformer::new(&Crs::STORE, &Crs::Epsg(3011))?;

        let activity = (0..areas.len())
            .map(|i| {
                let extra = EXTRA_ACTIVITY
                    .iter()
                    .find(|(n, _)| *n == areas[i].name)
                    .map_or(0.0, |&(_, e)| e);
                population.base(i) * ACTIVITY_PER_RESIDENT[areas[i].kind.index()] + extra
            })
            .collect();

        let mut places = Vec::with_capacity(PLACES.len());
        for place in PLACES {
            let (x, y) = from_wgs84.convert(place.lon, place.lat)?;
            let district = land
                .usable(x, y)
                .filter(|&d| land.districts[d].name == place.stadsdel)
                .ok_or_else(|| {
                    DemoError::EmbeddedData(format!(
                        "{} is not on the land of {}",
                        place.name, place.stadsdel
                    ))
                })?;
            places.push(PlacePoint {
                place,
                x,
                y,
                district,
            });
        }

        let mut rng = stream(seed, "attractors");
        let mut attractors = Vec::with_capacity(areas.len());
        for i in 0..areas.len() {
            let count = (1.0 + (population.base(i) / 1_500.0).sqrt())
                .round()
                .clamp(1.0, 8.0) as usize;
            let mut list = Vec::new();
            let mut weights = Vec::new();
            for _ in 0..count {
                if let Some((x, y)) = land.sample_in(i, &mut rng) {
                    list.push(Attractor {
                        x,
                        y,
                        sigma: rng.random_range(80.0..250.0),
                    });
                    weights.push(-(1.0 - rng.random::<f64>()).ln());
                }
            }
            // Named places draw everyday crime, except the emerging hotspot's square,
            // which is quiet until it emerges.
            let quiet = |name: &str| {
                CRIME_HOTSPOTS
                    .iter()
                    .any(|h| h.trend == Trend::Emerging && h.place == name)
            };
            for p in places
                .iter()
                .filter(|p| p.district == i && !quiet(p.place.name))
            {
                list.push(Attractor {
                    x: p.x,
                    y: p.y,
                    sigma: 150.0,
                });
                weights.push(2.0);
            }
            let table = Weighted::new(weights);
            attractors.push((list, table));
        }
        Ok(World {
            land,
            areas,
            population,
            activity,
            places,
            attractors,
            to_wgs84,
            to_3011,
            period,
        })
    }

    /// A point in district `i`: near one of its attractors (55 %) or anywhere on its
    /// land.
    pub fn point_in(&self, i: usize, rng: &mut Pcg64) -> Option<(f64, f64)> {
        let (list, table) = &self.attractors[i];
        if !list.is_empty() && chance(rng, 0.55) {
            let a = list[table.draw(rng)];
            if let Some((x, y, _)) = self.land.sample_near(a.x, a.y, a.sigma, Some(i), rng) {
                return Some((x, y));
            }
        }
        self.land.sample_in(i, rng)
    }

    /// A point near `(cx, cy)` with standard deviation `sigma`, anywhere on land.
    pub fn point_near(
        &self,
        cx: f64,
        cy: f64,
        sigma: f64,
        rng: &mut Pcg64,
    ) -> Option<(f64, f64, usize)> {
        self.land.sample_near(cx, cy, sigma, None, rng)
    }

    /// A named place by name.
    pub fn place(&self, name: &str) -> Option<&PlacePoint> {
        self.places.iter().find(|p| p.place.name == name)
    }

    /// Per-district weights: activity × a multiplier by character.
    pub fn activity_weights(&self, tilt: &[f64; 6]) -> Weighted {
        Weighted::new(
            (0..self.areas.len()).map(|i| self.activity[i] * tilt[self.areas[i].kind.index()]),
        )
    }

    /// Per-district weights: population × a multiplier by character.
    pub fn population_weights(&self, tilt: &[f64; 6]) -> Weighted {
        Weighted::new(
            (0..self.areas.len())
                .map(|i| self.population.base(i) * tilt[self.areas[i].kind.index()]),
        )
    }

    /// The district's character.
    pub fn kind(&self, i: usize) -> Kind {
        self.areas[i].kind
    }

    /// A point's WGS 84 longitude and latitude.
    pub fn lon_lat(&self, x: f64, y: f64) -> Result<(f64, f64), DemoError> {
        Ok(self.to_wgs84.convert(x, y)?)
    }
}
