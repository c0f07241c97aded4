//! What the generator knows about each stadsdel besides its land: its
//! stadsdelsområde (2020 and 2023 structures, from the shipped `stadsdelar.csv`), a
//! rough character (city centre, inner city, exposed suburb, suburb, villa area,
//! park or industry) that shapes crime volumes and survey answers, how it is written
//! in running Swedish text, and a population derived from published totals.

use crate::land::Land;
use crate::DemoError;

/// The shipped stadsdel → stadsdelsområde table.
const STADSDELAR_CSV: &str = include_str!("../../../data/stockholm/stadsdelar.csv");

/// The character of a stadsdel, as far as the demo data is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The city centre (Norrmalm): many non-residents, nightlife, shopping.
    City,
    /// Dense inner-city residential areas.
    Inner,
    /// Suburbs the police list as (particularly) exposed areas.
    Exposed,
    /// Ordinary suburbs with flats.
    Suburb,
    /// Villa and terraced-house areas.
    Villa,
    /// Parks, islands, industrial areas with few residents.
    Green,
}

impl Kind {
    /// Index into per-kind tables (`[City, Inner, Exposed, Suburb, Villa, Green]`).
    pub fn index(self) -> usize {
        match self {
            Kind::City => 0,
            Kind::Inner => 1,
            Kind::Exposed => 2,
            Kind::Suburb => 3,
            Kind::Villa => 4,
            Kind::Green => 5,
        }
    }

    /// Residents per km² of land used to share out a stadsdelsområde's population
    /// over stadsdelar without a published figure.
    fn density(self) -> f64 {
        [9_000.0, 17_000.0, 8_000.0, 5_000.0, 2_200.0, 150.0][self.index()]
    }
}

const CITY: &[&str] = &["NORRMALM"];
const INNER: &[&str] = &[
    "VASASTADEN",
    "ÖSTERMALM",
    "SÖDERMALM",
    "KUNGSHOLMEN",
    "GAMLA STAN",
    "SÖDRA HAMMARBYHAMNEN",
    "HJORTHAGEN",
    "LADUGÅRDSGÄRDET",
    "MARIEBERG",
    "FREDHÄLL",
    "KRISTINEBERG",
    "STADSHAGEN",
    "REIMERSHOLME",
    "LILJEHOLMEN",
    "LILLA ESSINGEN",
    "STORA ESSINGEN",
];
const EXPOSED: &[&str] = &[
    "RINKEBY",
    "TENSTA",
    "HUSBY",
    "AKALLA",
    "HAGSÄTRA",
    "RÅGSVED",
    "ÖSTBERGA",
    "SKÄRHOLMEN",
    "BREDÄNG",
    "VÅRBERG",
];
const VILLA: &[&str] = &[
    "ÅLSTEN",
    "NOCKEBY",
    "SMEDSLÄTTEN",
    "HÄSSELBY VILLASTAD",
    "SÖDRA ÄNGBY",
    "NORRA ÄNGBY",
    "ÄPPELVIKEN",
    "ÅKESHOV",
    "ÅKESLUND",
    "OLOVSLUND",
    "GAMLA ENSKEDE",
    "ENSKEDEDALEN",
    "STUREBY",
    "LÅNGBRO",
    "HERRÄNGEN",
    "LISEBERG",
    "ÖRBY SLOTT",
    "SKÖNDAL",
    "LARSBODA",
    "TALLKROGEN",
    "ENEBY",
    "BROMSTEN",
    "SOLHEM",
    "FLYSTA",
    "SUNDBY",
    "NÄLSTA",
    "KÄLVESTA",
    "BROMMA KYRKA",
    "STORA MOSSEN",
    "HÖGLANDET",
    "SMEDSLÄTTEN",
    "ENSKEDE GÅRD",
    "SOLBERGA",
];
const GREEN: &[&str] = &[
    "NORRA DJURGÅRDEN",
    "DJURGÅRDEN",
    "ULVSUNDA INDUSTRIOMR",
    "LUNDA",
    "FLATEN",
    "SKRUBBA",
    "ORHEM",
    "FARSTANÄSET",
    "BÄLLSTA",
    "LÅNGHOLMEN",
    "SKEPPSHOLMEN",
    "RIDDARHOLMEN",
    "HANSTA",
];

/// Residents per km² of land for stadsdelar whose character alone misleads (large
/// parks, an airport or an office district inside the polygon, or exceptionally
/// dense blocks); used only to share out an area's population.
const DENSITY_OVERRIDES: &[(&str, f64)] = &[
    ("VASASTADEN", 17_000.0),
    ("ÖSTERMALM", 22_000.0),
    ("NORRMALM", 12_000.0),
    ("LADUGÅRDSGÄRDET", 2_500.0),
    ("HJORTHAGEN", 9_000.0),
    ("GAMLA STAN", 8_000.0),
    ("LILJEHOLMEN", 8_000.0),
    ("AKALLA", 2_800.0),
    ("KISTA", 3_000.0),
    ("RIKSBY", 1_500.0),
    ("GRIMSTA", 2_000.0),
    ("SKARPNÄCKS GÅRD", 3_500.0),
    ("VÄSTBERGA", 2_000.0),
];

/// Stadsdelar written with "på" rather than "i" in Swedish ("på Södermalm").
const PA: &[&str] = &[
    "SÖDERMALM",
    "NORRMALM",
    "ÖSTERMALM",
    "KUNGSHOLMEN",
    "LILLA ESSINGEN",
    "STORA ESSINGEN",
    "DJURGÅRDEN",
    "NORRA DJURGÅRDEN",
    "SKEPPSHOLMEN",
    "RIDDARHOLMEN",
    "REIMERSHOLME",
    "LÅNGHOLMEN",
    "LADUGÅRDSGÄRDET",
];

/// Stadsdelar a police summary never names, because their name contains another
/// stadsdel's name as a word ("Farsta strand" contains "Farsta") or is an
/// abbreviation, so a text search could not tell which one is meant.
const NOT_NAMED: &[&str] = &[
    "FARSTA STRAND",
    "NORRA DJURGÅRDEN",
    "ÖRBY SLOTT",
    "ULVSUNDA INDUSTRIOMR",
];

/// Second words that stay in lower case in a stadsdel's name ("Hässelby strand").
const LOWER_WORDS: &[&str] = &[
    "STRAND",
    "GÅRD",
    "VILLASTAD",
    "STAN",
    "KYRKA",
    "SLOTT",
    "MOSSEN",
];

/// One stadsdel's attributes, in the same order as [`Land::districts`].
#[derive(Debug, Clone)]
pub(crate) struct AreaInfo {
    /// The name as in the data (upper case).
    pub name: String,
    /// How it is written in running text ("Hässelby strand").
    pub display: String,
    /// Stadsdelsområde 2020-07-01 to 2023-06-30 (13 areas).
    pub sdo2020: String,
    /// Stadsdelsområde from 2023-07-01 (11 areas).
    pub sdo2023: String,
    /// Its character.
    pub kind: Kind,
    /// Whether a police summary may name it.
    pub nameable: bool,
    /// "i" or "på".
    pub preposition: &'static str,
}

impl AreaInfo {
    /// "i Rinkeby", "på Södermalm".
    pub fn in_place(&self) -> String {
        format!("{} {}", self.preposition, self.display)
    }
}

/// Reads the stadsdel table and matches it to the land polygons.
pub(crate) fn load(land: &Land) -> Result<Vec<AreaInfo>, DemoError> {
    let mut reader = csv::Reader::from_reader(STADSDELAR_CSV.as_bytes());
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DemoError::EmbeddedData(format!("stadsdelar.csv: {e}")))?;
        let field = |i: usize| record.get(i).unwrap_or_default().trim().to_owned();
        rows.push((field(0), field(1), field(2)));
    }
    rows.sort();
    if rows.len() != land.districts.len()
        || rows.iter().zip(&land.districts).any(|(r, d)| r.0 != d.name)
    {
        return Err(DemoError::EmbeddedData(
            "stadsdelar.csv and the stadsdel polygons name different stadsdelar".into(),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(name, sdo2020, sdo2023)| {
            let is = |list: &[&str]| list.contains(&name.as_str());
            let kind = if is(CITY) {
                Kind::City
            } else if is(INNER) {
                Kind::Inner
            } else if is(EXPOSED) {
                Kind::Exposed
            } else if is(GREEN) {
                Kind::Green
            } else if is(VILLA) {
                Kind::Villa
            } else {
                Kind::Suburb
            };
            AreaInfo {
                display: display_name(&name),
                nameable: !is(NOT_NAMED),
                preposition: if is(PA) { "på" } else { "i" },
                name,
                sdo2020,
                sdo2023,
                kind,
            }
        })
        .collect())
}

/// The stadsdel's name in normal Swedish capitalisation ("HÄSSELBY STRAND" →
/// "Hässelby strand", "NORRA ÄNGBY" → "Norra Ängby").
pub(crate) fn display_name(name: &str) -> String {
    if name == "ULVSUNDA INDUSTRIOMR" {
        return "Ulvsunda industriområde".to_owned();
    }
    name.split(' ')
        .enumerate()
        .map(|(i, word)| {
            if i > 0 && LOWER_WORDS.contains(&word) {
                word.to_lowercase()
            } else {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Published population figures the derivation starts from.
mod published {
    /// Stockholms kommun, 31 Dec 2020 (SCB, via population.csv).
    pub const KOMMUN_2020: f64 = 975_551.0;
    /// Yearly growth used between published years: 975 551 (2020) grows to
    /// c. 990 000 (2023) and c. 994 000 (2024) at this rate.
    pub const GROWTH: f64 = 0.005;
    /// Stadsdelsområde totals (11-area structure), with their year.
    pub const SDO: &[(&str, i32, f64)] = &[
        ("Bromma", 2022, 82_000.0),
        ("Hässelby-Vällingby", 2022, 77_000.0),
        ("Kungsholmen", 2022, 70_839.0),
        ("Södermalm", 2023, 130_000.0),
        ("Enskede-Årsta-Vantör", 2022, 104_000.0),
        ("Farsta", 2023, 62_000.0),
        ("Skarpnäck", 2023, 46_800.0),
        ("Skärholmen", 2022, 37_151.0),
        ("Hägersten-Älvsjö", 2022, 126_000.0),
        ("Järva", 2022, 92_000.0),
        ("Norra innerstaden", 2023, 154_000.0),
    ];
    /// Per-stadsdel figures, with their year.
    pub const STADSDEL: &[(&str, i32, f64)] = &[
        ("RINKEBY", 2020, 16_829.0),
        ("RINKEBY", 2021, 16_914.0),
        ("TENSTA", 2022, 18_637.0),
        ("HUSBY", 2020, 11_945.0),
        ("SKÄRHOLMEN", 2022, 8_615.0),
        ("BJÖRKHAGEN", 2022, 6_831.0),
        ("SVEDMYRA", 2022, 3_594.0),
        ("ÖRBY", 2021, 5_961.0),
        ("HÄSSELBY VILLASTAD", 2020, 18_852.0),
        ("HÄGERSTEN", 2020, 9_685.0),
        ("DJURGÅRDEN", 2018, 873.0),
        ("FLATEN", 2018, 5.0),
        ("ORHEM", 2018, 68.0),
        ("SKRUBBA", 2018, 14.0),
        ("FARSTANÄSET", 2018, 0.0),
        ("BÄLLSTA", 2018, 807.0),
        ("ENEBY", 2018, 897.0),
        ("OLOVSLUND", 2018, 573.0),
        ("LUNDA", 2018, 170.0),
        ("ÅKESHOV", 2018, 857.0),
    ];
}

/// Population per stadsdel and year: the published figures where they exist, the
/// rest derived.
#[derive(Debug, Clone)]
pub(crate) struct Population {
    /// 2022 base population per district (index as in [`Land::districts`]).
    base_2022: Vec<f64>,
    names: Vec<String>,
}

/// How a population figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Quoted from a published source for that stadsdel and year.
    Published,
    /// Derived (see [`Population::METHOD`]).
    Derived,
}

impl Population {
    /// How derived figures are made, for the manifest.
    pub const METHOD: &'static str = "Stadsdelsområde totals (11-area structure, 2022/2023, \
        population.csv) are moved to 2022 at 0.5 %/year and scaled together to the kommun total \
        (975 551 in 2020 grown at 0.5 %/year, i.e. c. 990 000 in 2023); within each area the \
        published stadsdel figures are kept (moved to 2022) and the remainder is shared out over \
        the other stadsdelar in proportion to land area times a density by the stadsdel's \
        character (inner city 17 000/km², centre 9 000, exposed suburb 8 000, suburb 5 000, \
        villa area 2 200, park/industry 150; a dozen stadsdelar with large parks, an airport \
        or office districts, or very dense blocks, have their own density). Other years grow or shrink at 0.5 %/year. Rows \
        whose stadsdel and year match a published figure carry that figure with derived=false.";

    /// Derives the 2022 base figures.
    pub fn derive(land: &Land, areas: &[AreaInfo]) -> Result<Population, DemoError> {
        let to_2022 = |year: i32, value: f64| value / (1.0 + published::GROWTH).powi(year - 2022);
        let kommun_2022 = published::KOMMUN_2020 * (1.0 + published::GROWTH).powi(2);
        let sdo_sum: f64 = published::SDO.iter().map(|&(_, y, v)| to_2022(y, v)).sum();
        let k = kommun_2022 / sdo_sum;
        let mut base = vec![0.0; areas.len()];
        for &(sdo, year, value) in published::SDO {
            let total = to_2022(year, value) * k;
            let members: Vec<usize> = (0..areas.len())
                .filter(|&i| areas[i].sdo2023 == sdo)
                .collect();
            if members.is_empty() {
                return Err(DemoError::EmbeddedData(format!(
                    "no stadsdel belongs to {sdo}"
                )));
            }
            let mut remainder = total;
            let mut unknown = Vec::new();
            for &i in &members {
                // The latest published figure for the stadsdel, if any.
                let known = published::STADSDEL
                    .iter()
                    .filter(|(n, _, _)| *n == areas[i].name)
                    .max_by_key(|(_, y, _)| *y);
                match known {
                    Some(&(_, y, v)) => {
                        base[i] = to_2022(y, v);
                        remainder -= base[i];
                    }
                    None => unknown.push(i),
                }
            }
            let capacity: Vec<f64> = unknown
                .iter()
                .map(|&i| {
                    let density = DENSITY_OVERRIDES
                        .iter()
                        .find(|(n, _)| *n == areas[i].name)
                        .map_or(areas[i].kind.density(), |&(_, d)| d);
                    land.districts[i].area_m2 / 1e6 * density
                })
                .collect();
            let capacity_sum: f64 = capacity.iter().sum();
            if remainder <= 0.0 || capacity_sum <= 0.0 {
                return Err(DemoError::EmbeddedData(format!(
                    "cannot share out the population of {sdo}"
                )));
            }
            for (&i, c) in unknown.iter().zip(capacity) {
                base[i] = remainder * c / capacity_sum;
            }
        }
        Ok(Population {
            base_2022: base,
            names: areas.iter().map(|a| a.name.clone()).collect(),
        })
    }

    /// Population of district `i` in `year`, and whether it is published or derived.
    pub fn get(&self, i: usize, year: i32) -> (u64, Origin) {
        if let Some(&(_, _, v)) = published::STADSDEL
            .iter()
            .find(|(n, y, _)| *n == self.names[i] && *y == year)
        {
            return (v as u64, Origin::Published);
        }
        let v = self.base_2022[i] * (1.0 + published::GROWTH).powi(year - 2022);
        (v.round().max(0.0) as u64, Origin::Derived)
    }

    /// The 2022 figure as a float, for weighting.
    pub fn base(&self, i: usize) -> f64 {
        self.base_2022[i]
    }

    /// The earliest year with a published per-stadsdel figure (after 2018's
    /// small-area table).
    pub const FIRST_YEAR: i32 = 2020;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_follow_swedish_usage() {
        assert_eq!(display_name("RINKEBY"), "Rinkeby");
        assert_eq!(display_name("HÄSSELBY STRAND"), "Hässelby strand");
        assert_eq!(display_name("GAMLA STAN"), "Gamla stan");
        assert_eq!(display_name("NORRA ÄNGBY"), "Norra Ängby");
        assert_eq!(display_name("SKARPNÄCKS GÅRD"), "Skarpnäcks gård");
        assert_eq!(display_name("ÖSTERMALM"), "Östermalm");
    }

    #[test]
    fn population_adds_up_to_the_kommun_and_keeps_published_figures() {
        let land = Land::load().expect("land");
        let areas = load(&land).expect("areas");
        let pop = Population::derive(&land, &areas).expect("population");
        let total_2023: u64 = (0..areas.len()).map(|i| pop.get(i, 2023).0).sum();
        assert!((985_000..=995_000).contains(&total_2023), "{total_2023}");
        let rinkeby = land.index_of("RINKEBY").expect("Rinkeby");
        assert_eq!(pop.get(rinkeby, 2021), (16_914, Origin::Published));
        assert_eq!(pop.get(rinkeby, 2023).1, Origin::Derived);
        let rk: u64 = (0..areas.len())
            .filter(|&i| areas[i].sdo2020 == "Rinkeby-Kista")
            .map(|i| pop.get(i, 2022).0)
            .sum();
        assert!((42_000..=58_000).contains(&rk), "Rinkeby-Kista {rk}");
        for (i, a) in areas.iter().enumerate() {
            let p = pop.get(i, 2022).0;
            assert!(p <= 110_000, "{} {p}", a.name);
        }
    }
}
