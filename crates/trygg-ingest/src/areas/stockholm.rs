//! Stockholm's shipped area layers, embedded in the binary: the 117 stadsdelar
//! (from `data/stockholm/fullsize-stadsdelar.geo.json`) with their
//! stadsdelsområde in each division (from `data/stockholm/stadsdelar.csv`), and the
//! two stadsdelsområde divisions dissolved from them, each with its validity dates.
//! Also the generic [`dissolve`] and [`interior_point`] they are built with.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use geo::orient::{Direction, Orient};
use geo::{unary_union, Area, BoundingRect, Contains, InteriorPoint};
use geo_types::{MultiPolygon, Polygon};
use serde_json::{Map, Value};
use trygg_model::AreaAssignment;

use super::{geojson_file, AreaError, AreaFeature, AreaIndex, PlaceMatcher, ReadOptions};

const STADSDELAR_GEOJSON: &str =
    include_str!("../../../../data/stockholm/fullsize-stadsdelar.geo.json");
const STADSDELAR_GEOJSON_NAME: &str = "data/stockholm/fullsize-stadsdelar.geo.json";
const LAND_GEOJSON: &str =
    include_str!("../../../../data/stockholm/simplified-stadsdelar_utan_vatten.geo.json");
const LAND_GEOJSON_NAME: &str = "data/stockholm/simplified-stadsdelar_utan_vatten.geo.json";
const STADSDELAR_CSV: &str = include_str!("../../../../data/stockholm/stadsdelar.csv");
const STADSDELAR_CSV_NAME: &str = "data/stockholm/stadsdelar.csv";

/// The CSV columns copied onto every stadsdel as properties.
const DIVISION_COLUMNS: [&str; 3] = [
    "stadsdelsomrade_2020",
    "stadsdelsomrade_2023",
    "stadsdelsomrade_before_2020",
];

/// A date known at compile time (an invalid one fails the build, not a run).
const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// A layer's name in the store and the days it is valid (both inclusive; `None` =
/// open-ended), as [`trygg_store::AreaLayer`] stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerValidity {
    /// The layer's name, e.g. "stadsdel".
    pub name: &'static str,
    /// First day the division is valid, if bounded.
    pub valid_from: Option<NaiveDate>,
    /// Last day the division is valid, if bounded.
    pub valid_to: Option<NaiveDate>,
}

/// The stadsdel layer: the city's map of 2021-04-13, valid from then on.
pub const STADSDEL_VALIDITY: LayerValidity = LayerValidity {
    name: "stadsdel",
    valid_from: Some(date(2021, 4, 13)),
    valid_to: None,
};
/// The 13 stadsdelsområden, valid 2020-07-01 to 2023-06-30.
pub const STADSDELSOMRADE_2020_VALIDITY: LayerValidity = LayerValidity {
    name: "stadsdelsomrade_2020",
    valid_from: Some(date(2020, 7, 1)),
    valid_to: Some(date(2023, 6, 30)),
};
/// The 11 stadsdelsområden, valid from 2023-07-01 (Järva and Norra innerstaden formed).
pub const STADSDELSOMRADE_2023_VALIDITY: LayerValidity = LayerValidity {
    name: "stadsdelsomrade_2023",
    valid_from: Some(date(2023, 7, 1)),
    valid_to: None,
};

/// The land layer (stadsdelar without water), valid like the stadsdel layer.
pub const LAND_VALIDITY: LayerValidity = LayerValidity {
    name: "land",
    valid_from: Some(date(2021, 4, 13)),
    valid_to: None,
};

/// Stockholm's shipped layers, in EPSG:3006; their names and dates are
/// [`STADSDEL_VALIDITY`], [`STADSDELSOMRADE_2020_VALIDITY`] and
/// [`STADSDELSOMRADE_2023_VALIDITY`] (together: [`StockholmAreas::layers`]).
#[derive(Debug, Clone)]
pub struct StockholmAreas {
    /// The 117 stadsdelar, code = name (e.g. "RINKEBY"), with properties
    /// `stadsdelsomrade_2020`, `stadsdelsomrade_2023` and `stadsdelsomrade_before_2020`.
    pub stadsdelar: Vec<AreaFeature>,
    /// The 13 stadsdelsområden of 2020-07-01..2023-06-30, dissolved from the
    /// stadsdelar; code = name (e.g. "Rinkeby-Kista"); property `members` lists
    /// their stadsdelar.
    pub stadsdelsomrade_2020: Vec<AreaFeature>,
    /// The 11 stadsdelsområden from 2023-07-01 (e.g. "Järva", "Norra innerstaden").
    pub stadsdelsomrade_2023: Vec<AreaFeature>,
    /// Land: each stadsdel with its water removed (simplified, 3 m), the study area
    /// of grids and density surfaces, so that no hotspot is invented in a lake.
    pub land: Vec<AreaFeature>,
    /// Per stadsdel, its assignment in all three layers (names shared).
    assignments: Vec<AreaAssignment>,
}

impl StockholmAreas {
    /// The four layers with their names and validity, stadsdel first.
    pub fn layers(&self) -> [(LayerValidity, &[AreaFeature]); 4] {
        [
            (STADSDEL_VALIDITY, &self.stadsdelar),
            (STADSDELSOMRADE_2020_VALIDITY, &self.stadsdelsomrade_2020),
            (STADSDELSOMRADE_2023_VALIDITY, &self.stadsdelsomrade_2023),
            (LAND_VALIDITY, &self.land),
        ]
    }

    /// A point → stadsdel index over [`Self::stadsdelar`]; map its result to all
    /// three layers with [`Self::assignment`].
    pub fn stadsdel_index(&self) -> AreaIndex {
        let geometries: Vec<MultiPolygon<f64>> =
            self.stadsdelar.iter().map(|a| a.geometry.clone()).collect();
        AreaIndex::new(&geometries)
    }

    /// A matcher for stadsdel names in free text; its indices are into
    /// [`Self::stadsdelar`].
    pub fn place_matcher(&self) -> PlaceMatcher {
        let names: Vec<&str> = self.stadsdelar.iter().map(|a| a.name.as_str()).collect();
        PlaceMatcher::new(&names)
    }

    /// The stadsdel with index `stadsdel` (into [`Self::stadsdelar`]) and its
    /// stadsdelsområden, as stored on an event; cheap (shared names). An index out of
    /// range gives the empty assignment.
    pub fn assignment(&self, stadsdel: usize) -> AreaAssignment {
        self.assignments.get(stadsdel).cloned().unwrap_or_default()
    }
}

/// Loads the shipped Stockholm layers (embedded in the binary). Takes a fraction of
/// a second (PROJ transforms and two polygon unions); call once.
pub fn stockholm_default() -> Result<StockholmAreas, AreaError> {
    let opts = ReadOptions {
        name_field: Some("name".into()),
        ..ReadOptions::default()
    };
    let mut stadsdelar = geojson_file::read_str(
        STADSDELAR_GEOJSON,
        Path::new(STADSDELAR_GEOJSON_NAME),
        &opts,
    )?;
    let mut rows = division_rows()?;
    for area in &mut stadsdelar {
        let Some((_, values)) = rows.remove(&area.code) else {
            return Err(data_error(
                STADSDELAR_CSV_NAME,
                format!(
                    "stadsdel '{}' of {STADSDELAR_GEOJSON_NAME} has no row",
                    area.code
                ),
            ));
        };
        for (column, value) in DIVISION_COLUMNS.iter().zip(values) {
            area.properties
                .insert((*column).to_owned(), Value::String(value));
        }
    }
    if !rows.is_empty() {
        let mut extra: Vec<(usize, String)> = rows
            .into_iter()
            .map(|(name, (line, _))| (line, name))
            .collect();
        extra.sort();
        let list: Vec<String> = extra
            .iter()
            .map(|(line, name)| format!("'{name}' (line {line})"))
            .collect();
        return Err(data_error(
            STADSDELAR_CSV_NAME,
            format!(
                "rows for stadsdelar that {STADSDELAR_GEOJSON_NAME} lacks: {}",
                list.join(", ")
            ),
        ));
    }
    let sdo_2020 = dissolve(&stadsdelar, DIVISION_COLUMNS[0])?;
    let sdo_2023 = dissolve(&stadsdelar, DIVISION_COLUMNS[1])?;

    let mut shared: HashMap<String, Arc<str>> = HashMap::new();
    let mut arc = |s: &str| {
        shared
            .entry(s.to_owned())
            .or_insert_with(|| Arc::from(s))
            .clone()
    };
    let assignments = stadsdelar
        .iter()
        .map(|a| {
            let division = |column: &str| {
                a.properties
                    .get(column)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let (d2020, d2023) = (division(DIVISION_COLUMNS[0]), division(DIVISION_COLUMNS[1]));
            AreaAssignment {
                stadsdel: Some(arc(&a.code)),
                stadsdelsomrade_2020: d2020.map(|d| arc(&d)),
                stadsdelsomrade_2023: d2023.map(|d| arc(&d)),
                outside_areas: false,
            }
        })
        .collect();
    let land = geojson_file::read_str(LAND_GEOJSON, Path::new(LAND_GEOJSON_NAME), &opts)?;
    Ok(StockholmAreas {
        stadsdelar,
        stadsdelsomrade_2020: sdo_2020,
        stadsdelsomrade_2023: sdo_2023,
        land,
        assignments,
    })
}

fn data_error(file: &str, reason: String) -> AreaError {
    AreaError::Data {
        file: PathBuf::from(file),
        reason,
    }
}

/// `stadsdelar.csv` as stadsdel → (line, [2020, 2023, before 2020] stadsdelsområde).
fn division_rows() -> Result<HashMap<String, (usize, [String; 3])>, AreaError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(STADSDELAR_CSV.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| data_error(STADSDELAR_CSV_NAME, format!("unreadable header: {e}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| data_error(STADSDELAR_CSV_NAME, format!("no column '{name}'")))
    };
    let name_at = column("stadsdel")?;
    let at = [
        column(DIVISION_COLUMNS[0])?,
        column(DIVISION_COLUMNS[1])?,
        column(DIVISION_COLUMNS[2])?,
    ];
    let mut rows = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record =
            record.map_err(|e| data_error(STADSDELAR_CSV_NAME, format!("line {line}: {e}")))?;
        let field = |index: usize, name: &str| {
            record
                .get(index)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    data_error(
                        STADSDELAR_CSV_NAME,
                        format!("line {line}: field '{name}' is empty"),
                    )
                })
        };
        let name = field(name_at, "stadsdel")?;
        let values = [
            field(at[0], DIVISION_COLUMNS[0])?,
            field(at[1], DIVISION_COLUMNS[1])?,
            field(at[2], DIVISION_COLUMNS[2])?,
        ];
        if let Some((first, _)) = rows.insert(name.clone(), (line, values)) {
            return Err(data_error(
                STADSDELAR_CSV_NAME,
                format!("lines {first} and {line} both describe '{name}'"),
            ));
        }
    }
    Ok(rows)
}

/// Merges areas by the text value of `property`: one area per distinct value (in
/// byte order), code and name = the value, geometry = the union of the members',
/// property `members` = the members' codes. An area without a text `property` is
/// an error.
pub fn dissolve(areas: &[AreaFeature], property: &str) -> Result<Vec<AreaFeature>, AreaError> {
    let mut groups: BTreeMap<&str, Vec<&AreaFeature>> = BTreeMap::new();
    for area in areas {
        let key = area
            .properties
            .get(property)
            .and_then(Value::as_str)
            .ok_or_else(|| AreaError::Dissolve {
                code: area.code.clone(),
                property: property.to_owned(),
            })?;
        groups.entry(key).or_default().push(area);
    }
    Ok(groups
        .into_iter()
        .map(|(key, members)| {
            let geometry =
                unary_union(members.iter().map(|m| &m.geometry)).orient(Direction::Default);
            let codes = members
                .iter()
                .map(|m| Value::String(m.code.clone()))
                .collect();
            let mut properties = Map::new();
            properties.insert("members".into(), Value::Array(codes));
            AreaFeature {
                code: key.to_owned(),
                name: key.to_owned(),
                properties,
                geometry,
            }
        })
        .collect())
}

/// A point strictly inside the multipolygon (not on its boundary), used as the
/// location of events known only to the precision of an area; `None` for an empty
/// or zero-area multipolygon.
pub fn interior_point(mp: &MultiPolygon<f64>) -> Option<(f64, f64)> {
    if let Some(p) = mp.interior_point() {
        if mp.contains(&p) {
            return Some((p.x(), p.y()));
        }
    }
    // geo's choice can fall on the boundary of degenerate shapes; fall back to the
    // middle of the widest span on a horizontal line between two vertex heights.
    let mut polygons: Vec<&Polygon<f64>> = mp.0.iter().collect();
    polygons.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
    polygons.into_iter().find_map(|p| scanline_point(mp, p))
}

fn scanline_point(mp: &MultiPolygon<f64>, polygon: &Polygon<f64>) -> Option<(f64, f64)> {
    polygon.bounding_rect()?;
    let rings: Vec<_> = std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .collect();
    let mut ys: Vec<f64> = rings
        .iter()
        .flat_map(|r| r.0.iter().map(|c| c.y))
        .filter(|y| y.is_finite())
        .collect();
    ys.sort_by(f64::total_cmp);
    ys.dedup();
    let mut lines: Vec<(f64, f64)> = ys
        .windows(2)
        .map(|w| (w[1] - w[0], (w[0] + w[1]) / 2.0))
        .collect();
    lines.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, y) in lines {
        let mut xs: Vec<f64> = rings
            .iter()
            .flat_map(|r| r.lines())
            .filter(|l| (l.start.y > y) != (l.end.y > y))
            .map(|l| l.start.x + (y - l.start.y) * (l.end.x - l.start.x) / (l.end.y - l.start.y))
            .collect();
        xs.sort_by(f64::total_cmp);
        let widest = xs
            .chunks_exact(2)
            .max_by(|a, b| (a[1] - a[0]).total_cmp(&(b[1] - b[0])));
        if let Some(&[x0, x1]) = widest {
            let point = geo_types::Point::new((x0 + x1) / 2.0, y);
            if mp.contains(&point) {
                return Some((point.x(), point.y()));
            }
        }
    }
    None
}

/// The stadsdel names in `stadsdelar.csv` (cheap; for tests that need no geometry).
#[cfg(test)]
pub(crate) fn embedded_names() -> Vec<String> {
    STADSDELAR_CSV
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    pub(crate) fn shared() -> &'static StockholmAreas {
        static AREAS: OnceLock<StockholmAreas> = OnceLock::new();
        AREAS.get_or_init(|| match stockholm_default() {
            Ok(areas) => areas,
            Err(e) => panic!("shipped Stockholm data: {e}"),
        })
    }

    #[test]
    fn layers_have_the_right_counts_names_and_dates() {
        let s = shared();
        assert_eq!(s.stadsdelar.len(), 117);
        assert_eq!(s.stadsdelsomrade_2020.len(), 13);
        assert_eq!(s.stadsdelsomrade_2023.len(), 11);
        let [(v0, l0), (v1, l1), (v2, l2), (v3, l3)] = s.layers();
        assert_eq!(
            (v0.name, v1.name, v2.name, v3.name),
            (
                "stadsdel",
                "stadsdelsomrade_2020",
                "stadsdelsomrade_2023",
                "land"
            )
        );
        assert_eq!((l0.len(), l1.len(), l2.len(), l3.len()), (117, 13, 11, 117));
        // Land is the stadsdelar less water: smaller in total, by the water's area.
        let total = |l: &[AreaFeature]| l.iter().map(|a| a.geometry.unsigned_area()).sum::<f64>();
        let (all, land) = (total(l0), total(l3));
        assert!(land < all * 0.95 && land > all * 0.6, "{land} of {all} m²");
        assert_eq!(
            (v0.valid_from, v0.valid_to),
            (NaiveDate::from_ymd_opt(2021, 4, 13), None)
        );
        assert_eq!(
            (v1.valid_from, v1.valid_to),
            (
                NaiveDate::from_ymd_opt(2020, 7, 1),
                NaiveDate::from_ymd_opt(2023, 6, 30)
            )
        );
        assert_eq!(
            (v2.valid_from, v2.valid_to),
            (NaiveDate::from_ymd_opt(2023, 7, 1), None)
        );
        let codes: Vec<&str> = s
            .stadsdelsomrade_2023
            .iter()
            .map(|a| a.code.as_str())
            .collect();
        assert!(
            codes.contains(&"Järva") && codes.contains(&"Norra innerstaden"),
            "{codes:?}"
        );
        assert!(!codes.contains(&"Rinkeby-Kista"), "{codes:?}");
    }

    #[test]
    fn stadsdelar_carry_their_divisions() {
        let s = shared();
        let rinkeby = s
            .stadsdelar
            .iter()
            .position(|a| a.code == "RINKEBY")
            .expect("RINKEBY");
        let props = &s.stadsdelar[rinkeby].properties;
        assert_eq!(props["stadsdelsomrade_2020"], "Rinkeby-Kista");
        assert_eq!(props["stadsdelsomrade_2023"], "Järva");
        assert_eq!(props["stadsdelsomrade_before_2020"], "Rinkeby-Kista");
        assert!(
            !props.contains_key("name"),
            "the name is not repeated in properties"
        );
        let a = s.assignment(rinkeby);
        assert_eq!(a.stadsdel.as_deref(), Some("RINKEBY"));
        assert_eq!(a.stadsdelsomrade_2020.as_deref(), Some("Rinkeby-Kista"));
        assert_eq!(a.stadsdelsomrade_2023.as_deref(), Some("Järva"));
        assert_eq!(s.assignment(10_000), AreaAssignment::default());
    }

    #[test]
    fn each_union_has_the_area_of_its_members() {
        let s = shared();
        for (validity, layer) in &s.layers()[1..3] {
            let mut members_total = 0;
            for area in *layer {
                let members: Vec<&str> = area.properties["members"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                members_total += members.len();
                let sum: f64 = s
                    .stadsdelar
                    .iter()
                    .filter(|a| members.contains(&a.code.as_str()))
                    .map(|a| a.geometry.unsigned_area())
                    .sum();
                let union = area.geometry.unsigned_area();
                let diff = (union - sum).abs() / sum;
                assert!(
                    diff < 0.005,
                    "{} {}: union {union:.0} m² vs members {sum:.0} m²",
                    validity.name,
                    area.code
                );
            }
            assert_eq!(members_total, 117, "{}", validity.name);
        }
    }

    #[test]
    fn interior_points_are_strictly_inside() {
        let s = shared();
        for area in s.layers().iter().flat_map(|(_, l)| l.iter()) {
            let (x, y) = interior_point(&area.geometry).expect("interior point");
            assert!(
                area.geometry.contains(&geo_types::Point::new(x, y)),
                "{}",
                area.code
            );
        }
        assert_eq!(interior_point(&MultiPolygon(vec![])), None);
    }

    #[test]
    fn interior_point_fallback_handles_shapes_with_a_boundary_centre_line() {
        // A U shape: the scanline fallback must pick a span inside an arm.
        let u = Polygon::new(
            geo_types::LineString::from(vec![
                (0.0, 0.0),
                (3.0, 0.0),
                (3.0, 3.0),
                (2.0, 3.0),
                (2.0, 1.0),
                (1.0, 1.0),
                (1.0, 3.0),
                (0.0, 3.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        let mp = MultiPolygon(vec![u.clone()]);
        let (x, y) = scanline_point(&mp, &u).expect("point");
        assert!(mp.contains(&geo_types::Point::new(x, y)));
    }

    #[test]
    fn dissolve_names_an_area_without_the_property() {
        let mut areas = shared().stadsdelar[..2].to_vec();
        areas[1].properties.remove("stadsdelsomrade_2023");
        let err = dissolve(&areas, "stadsdelsomrade_2023")
            .expect_err("missing property")
            .to_string();
        assert!(
            err.contains(&areas[1].code) && err.contains("stadsdelsomrade_2023"),
            "{err}"
        );
    }
}
