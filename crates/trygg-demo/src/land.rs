//! The land the generator may put events on: Stockholm's 117 stadsdelar with water
//! removed, converted once from CRS84 to EPSG:3006, with a bounding-box R-tree for
//! "which stadsdel is this point in" and rejection samplers for points inside one
//! stadsdel or near a centre.
//!
//! Points are kept a few metres away from the shore and the city boundary
//! ([`SHORE_MARGIN_M`]): the simplified polygons differ from the full-size city
//! outline and the separate water layer by a few metres, and a crime drawn on the
//! waterline would look like an event in the water to anyone checking with a
//! different map.

use geo::{BoundingRect, Contains, MapCoords};
use geo_types::{Coord, LineString, MultiPolygon, Point, Rect};
use rand::Rng;
use rand_pcg::Pcg64;
use rstar::primitives::{GeomWithData, Line as RLine, Rectangle};
use rstar::RTree;
use trygg_crs::{Crs, Transformer};

use crate::rng::normal;
use crate::DemoError;

/// Districts with water removed (CRS84), the generator's land.
const LAND_GEOJSON: &str =
    include_str!("../../../data/stockholm/simplified-stadsdelar_utan_vatten.geo.json");

/// Minimum distance in metres from a sampled point to the shore or the city boundary.
pub(crate) const SHORE_MARGIN_M: f64 = 10.0;

/// One stadsdel's land, in EPSG:3006.
#[derive(Debug)]
pub(crate) struct District {
    /// The name as in the data (upper case, e.g. "RINKEBY").
    pub name: String,
    /// Land polygons in EPSG:3006 metres.
    pub shape: MultiPolygon<f64>,
    /// Bounding box of `shape`.
    pub bbox: Rect<f64>,
    /// Land area in square metres.
    pub area_m2: f64,
}

/// All stadsdelar's land with spatial indexes.
#[derive(Debug)]
pub(crate) struct Land {
    /// Districts sorted by name (the order every other table uses).
    pub districts: Vec<District>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    shore: RTree<RLine<[f64; 2]>>,
}

impl Land {
    /// Parses the embedded GeoJSON and converts it to EPSG:3006.
    pub fn load() -> Result<Land, DemoError> {
        let to_store = Transformer::new(&Crs::WGS84, &Crs::STORE)?;
        let collection: geojson::FeatureCollection = LAND_GEOJSON
            .parse::<geojson::GeoJson>()
            .map_err(|e| DemoError::EmbeddedData(format!("stadsdelar GeoJSON: {e}")))
            .and_then(|g| {
                geojson::FeatureCollection::try_from(g)
                    .map_err(|e| DemoError::EmbeddedData(format!("stadsdelar GeoJSON: {e}")))
            })?;
        let mut districts = Vec::with_capacity(collection.features.len());
        for feature in collection.features {
            let name = feature
                .property("name")
                .and_then(|v| v.as_str())
                .ok_or_else(|| DemoError::EmbeddedData("a stadsdel feature has no name".into()))?
                .to_owned();
            let geometry = feature.geometry.ok_or_else(|| {
                DemoError::EmbeddedData(format!("stadsdel {name} has no geometry"))
            })?;
            let shape = multipolygon_from(geometry, &name)?;
            let shape = project(&shape, &to_store)?;
            let bbox = shape
                .bounding_rect()
                .ok_or_else(|| DemoError::EmbeddedData(format!("stadsdel {name} is empty")))?;
            let area_m2 = geo::Area::unsigned_area(&shape);
            districts.push(District {
                name,
                shape,
                bbox,
                area_m2,
            });
        }
        districts.sort_by(|a, b| a.name.cmp(&b.name));
        let boxes = RTree::bulk_load(
            districts
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let r = Rectangle::from_corners(
                        [d.bbox.min().x, d.bbox.min().y],
                        [d.bbox.max().x, d.bbox.max().y],
                    );
                    GeomWithData::new(r, i)
                })
                .collect(),
        );
        let shore = RTree::bulk_load(shore_segments(&districts));
        Ok(Land {
            districts,
            boxes,
            shore,
        })
    }

    /// The index of the district whose land contains the point, if any (ignoring the
    /// shore margin).
    pub fn district_at(&self, x: f64, y: f64) -> Option<usize> {
        let p = Point::new(x, y);
        self.boxes
            .locate_all_at_point(&[x, y])
            .map(|g| g.data)
            .filter(|&i| self.districts[i].shape.contains(&p))
            .min()
    }

    /// Whether the point is on land and at least [`SHORE_MARGIN_M`] from the shore.
    fn well_inside(&self, x: f64, y: f64, district: usize) -> bool {
        self.districts[district].shape.contains(&Point::new(x, y))
            && self
                .shore
                .locate_within_distance([x, y], SHORE_MARGIN_M * SHORE_MARGIN_M)
                .next()
                .is_none()
    }

    /// The district of a point that is on land and clear of the shore, if it is.
    pub fn usable(&self, x: f64, y: f64) -> Option<usize> {
        let district = self.district_at(x, y)?;
        self.well_inside(x, y, district).then_some(district)
    }

    /// A uniformly random usable point inside one district (rejection sampling in its
    /// bounding box). Gives up after many tries, which only a district with no land
    /// clear of the shore would cause.
    pub fn sample_in(&self, district: usize, rng: &mut Pcg64) -> Option<(f64, f64)> {
        let d = &self.districts[district];
        let (min, max) = (d.bbox.min(), d.bbox.max());
        for _ in 0..10_000 {
            let x = rng.random_range(min.x..max.x);
            let y = rng.random_range(min.y..max.y);
            if self.well_inside(x, y, district) {
                return Some((x, y));
            }
        }
        None
    }

    /// A usable point drawn from a circular Gaussian around `(cx, cy)` with standard
    /// deviation `sigma` metres, redrawn while it falls in water; if `within` is given
    /// the point must also lie in that district. Returns the point and its district.
    pub fn sample_near(
        &self,
        cx: f64,
        cy: f64,
        sigma: f64,
        within: Option<usize>,
        rng: &mut Pcg64,
    ) -> Option<(f64, f64, usize)> {
        for _ in 0..60 {
            let x = cx + sigma * normal(rng);
            let y = cy + sigma * normal(rng);
            let found = match within {
                Some(d) => self.well_inside(x, y, d).then_some(d),
                None => self.usable(x, y),
            };
            if let Some(d) = found {
                return Some((x, y, d));
            }
        }
        None
    }

    /// The index of a district by its (upper-case) name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.districts
            .binary_search_by(|d| d.name.as_str().cmp(name))
            .ok()
    }
}

/// Converts a GeoJSON Polygon or MultiPolygon into a `MultiPolygon`.
pub(crate) fn multipolygon_from(
    geometry: geojson::Geometry,
    name: &str,
) -> Result<MultiPolygon<f64>, DemoError> {
    let geometry: geo_types::Geometry<f64> = geometry
        .try_into()
        .map_err(|e| DemoError::EmbeddedData(format!("geometry of {name}: {e}")))?;
    match geometry {
        geo_types::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(m) => Ok(m),
        other => Err(DemoError::EmbeddedData(format!(
            "geometry of {name} is not a polygon: {other:?}"
        ))),
    }
}

/// Transforms every vertex with `transformer`.
pub(crate) fn project(
    shape: &MultiPolygon<f64>,
    transformer: &Transformer,
) -> Result<MultiPolygon<f64>, DemoError> {
    shape
        .try_map_coords(|c| transformer.convert(c.x, c.y).map(|(x, y)| Coord { x, y }))
        .map_err(DemoError::from)
}

/// The ring segments that are not shared by two districts: the shore and the city
/// boundary. A border between two stadsdelar appears in both polygons with the same
/// vertices, so it is recognised by its (direction-free) endpoints occurring twice.
fn shore_segments(districts: &[District]) -> Vec<RLine<[f64; 2]>> {
    // Centimetre keys: the same CRS84 vertex projects to the same metres exactly, so
    // rounding only guards against formatting noise.
    let key = |c: Coord<f64>| ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64);
    // (first key, second key, from, to), keys ordered so that direction does not matter.
    type Segment = ((i64, i64), (i64, i64), Coord<f64>, Coord<f64>);
    let mut segments: Vec<Segment> = Vec::new();
    let mut push_ring = |ring: &LineString<f64>| {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (ka, kb) = (key(a), key(b));
            if ka == kb {
                continue;
            }
            let (k1, k2) = if ka < kb { (ka, kb) } else { (kb, ka) };
            segments.push((k1, k2, a, b));
        }
    };
    for d in districts {
        for polygon in &d.shape.0 {
            push_ring(polygon.exterior());
            polygon.interiors().iter().for_each(&mut push_ring);
        }
    }
    segments.sort_by_key(|s| (s.0, s.1));
    let mut out = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let mut j = i + 1;
        while j < segments.len() && (segments[j].0, segments[j].1) == (segments[i].0, segments[i].1)
        {
            j += 1;
        }
        if j - i == 1 {
            let (_, _, a, b) = segments[i];
            out.push(RLine::new([a.x, a.y], [b.x, b.y]));
        }
        i = j;
    }
    out
}
