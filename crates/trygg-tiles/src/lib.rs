//! Map tiles without HTTP: Web Mercator z/x/y tile maths (WGS 84 ↔ tile pixels),
//! clipping of rings to a tile's buffered square, and Mapbox Vector Tile
//! encoding through `fast-mvt` (integer tile coordinates; projection and rounding
//! are done here). The query layer selects and counts what a tile shows; this
//! crate only places and encodes it.

pub mod heat;

use fast_mvt::{MvtGeomType, MvtLayerBuilder};

/// Tile pixels per side (the MVT default extent).
pub const EXTENT: i32 = 4096;
/// Pixels beyond each edge that geometry may reach (clipped there, not at the
/// edge, so that outlines and cells drawn across tiles meet without seams).
pub const BUFFER: i32 = 64;
/// The deepest zoom served.
pub const MAX_ZOOM: u8 = 22;
/// Web Mercator's latitude limit.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A tile or encoding error.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// z/x/y out of range.
    #[error("tile {z}/{x}/{y} does not exist (zoom 0..={MAX_ZOOM}, x and y below 2^zoom)")]
    NoSuchTile {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
    },
    /// The encoder refused a feature.
    #[error("encoding the tile: {0}")]
    Encode(String),
}

/// A tile of the Web Mercator pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column (0 at the antimeridian, west).
    pub x: u32,
    /// Row (0 at the top, north).
    pub y: u32,
}

impl TileId {
    /// A tile, checked.
    pub fn new(z: u8, x: u32, y: u32) -> Result<TileId, TileError> {
        let n = 1u64 << z.min(MAX_ZOOM);
        if z > MAX_ZOOM || u64::from(x) >= n || u64::from(y) >= n {
            return Err(TileError::NoSuchTile { z, x, y });
        }
        Ok(TileId { z, x, y })
    }

    fn n(self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// Tile pixel coordinates (0..EXTENT inside the tile) of a WGS 84 point.
    pub fn pixel(self, lon: f64, lat: f64) -> (f64, f64) {
        let (wx, wy) = world(lon, lat);
        let n = self.n();
        let e = f64::from(EXTENT);
        (
            (wx * n - f64::from(self.x)) * e,
            (wy * n - f64::from(self.y)) * e,
        )
    }

    /// The WGS 84 point at tile pixel (px, py).
    pub fn lon_lat(self, px: f64, py: f64) -> (f64, f64) {
        let n = self.n();
        let e = f64::from(EXTENT);
        let wx = (f64::from(self.x) + px / e) / n;
        let wy = (f64::from(self.y) + py / e) / n;
        (
            wx * 360.0 - 180.0,
            (std::f64::consts::PI * (1.0 - 2.0 * wy))
                .sinh()
                .atan()
                .to_degrees(),
        )
    }

    /// `[west, south, east, north]` in WGS 84, widened by `buffer` pixels.
    pub fn bounds(self, buffer: i32) -> [f64; 4] {
        let b = f64::from(buffer);
        let (w, n) = self.lon_lat(-b, -b);
        let (e, s) = self.lon_lat(f64::from(EXTENT) + b, f64::from(EXTENT) + b);
        [w, s, e, n]
    }

    /// Metres on the ground per tile pixel at latitude `lat`.
    pub fn metres_per_pixel(self, lat: f64) -> f64 {
        let equator = 2.0 * std::f64::consts::PI * 6_378_137.0;
        equator * lat.to_radians().cos() / (self.n() * f64::from(EXTENT))
    }
}

/// Web Mercator world coordinates in 0..1 (x east, y south) of a WGS 84 point.
fn world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y)
}

/// Clips a closed ring (tile pixels) to the buffered tile square
/// (Sutherland-Hodgman against each edge; the square is convex, so the result
/// is the ring's part inside it). Fewer than 3 points left means nothing shows.
pub fn clip_ring(ring: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let lo = -f64::from(BUFFER);
    let hi = f64::from(EXTENT + BUFFER);
    let mut pts: Vec<(f64, f64)> = ring.to_vec();
    type Edge = (
        fn((f64, f64), f64) -> bool,
        fn((f64, f64), (f64, f64), f64) -> (f64, f64),
        f64,
    );
    let edges: [Edge; 4] = [
        (|p, v| p.0 >= v, |a, b, v| cut_x(a, b, v), lo),
        (|p, v| p.0 <= v, |a, b, v| cut_x(a, b, v), hi),
        (|p, v| p.1 >= v, |a, b, v| cut_y(a, b, v), lo),
        (|p, v| p.1 <= v, |a, b, v| cut_y(a, b, v), hi),
    ];
    for (inside, cut, v) in edges {
        if pts.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            match (inside(cur, v), inside(prev, v)) {
                (true, true) => out.push(cur),
                (true, false) => {
                    out.push(cut(prev, cur, v));
                    out.push(cur);
                }
                (false, true) => out.push(cut(prev, cur, v)),
                (false, false) => {}
            }
        }
        pts = out;
    }
    pts
}

fn cut_x(a: (f64, f64), b: (f64, f64), x: f64) -> (f64, f64) {
    let t = (x - a.0) / (b.0 - a.0);
    (x, a.1 + t * (b.1 - a.1))
}

fn cut_y(a: (f64, f64), b: (f64, f64), y: f64) -> (f64, f64) {
    let t = (y - a.1) / (b.1 - a.1);
    (a.0 + t * (b.0 - a.0), y)
}

/// Clips a line (tile pixels) to the buffered tile square: the runs of it
/// inside (Liang-Barsky per segment; a line leaving and re-entering gives two
/// runs).
pub fn clip_line(line: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let lo = -f64::from(BUFFER);
    let hi = f64::from(EXTENT + BUFFER);
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut inside = true;
        for (p, q) in [
            (-dx, a.0 - lo),
            (dx, hi - a.0),
            (-dy, a.1 - lo),
            (dy, hi - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    inside = false;
                    break;
                }
                continue;
            }
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                inside = false;
                break;
            }
        }
        if !inside {
            if run.len() >= 2 {
                runs.push(std::mem::take(&mut run));
            }
            run.clear();
            continue;
        }
        let start = (a.0 + t0 * dx, a.1 + t0 * dy);
        let end = (a.0 + t1 * dx, a.1 + t1 * dy);
        if run.last() != Some(&start) {
            if run.len() >= 2 {
                runs.push(std::mem::take(&mut run));
            }
            run.clear();
            run.push(start);
        }
        run.push(end);
        if t1 < 1.0 {
            runs.push(std::mem::take(&mut run));
        }
    }
    if run.len() >= 2 {
        runs.push(run);
    }
    runs
}

/// A property value of a feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// True or false.
    Bool(bool),
}

/// A ring or line of tile pixels.
pub type Ring = Vec<(f64, f64)>;

/// A polygon: its exterior ring, then its holes.
pub type Polygon = Vec<Ring>;

/// What a feature is drawn as (tile pixels).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A point.
    Point(f64, f64),
    /// Polygons, each an exterior ring then its holes.
    Polygons(Vec<Polygon>),
    /// Lines (e.g. outlines), each a run of points.
    Lines(Vec<Ring>),
}

/// One layer of a tile being written.
pub struct Layer {
    builder: Option<MvtLayerBuilder>,
    features: usize,
}

pub(crate) fn err(e: impl std::fmt::Debug) -> TileError {
    TileError::Encode(format!("{e:?}"))
}

fn rounded(ring: &[(f64, f64)]) -> Vec<fast_mvt::MvtCoord> {
    let mut out: Vec<fast_mvt::MvtCoord> = Vec::with_capacity(ring.len());
    for &(x, y) in ring {
        let c = fast_mvt::MvtCoord {
            x: x.round() as i32,
            y: y.round() as i32,
        };
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    out
}

impl Layer {
    /// A layer named `name`.
    pub fn new(name: &str) -> Result<Layer, TileError> {
        Ok(Layer {
            builder: Some(MvtLayerBuilder::new(name).map_err(err)?),
            features: 0,
        })
    }

    /// Features written so far.
    pub fn len(&self) -> usize {
        self.features
    }

    /// Whether none was written.
    pub fn is_empty(&self) -> bool {
        self.features == 0
    }

    /// Adds a feature; polygons are clipped to the buffered tile, and a feature
    /// with nothing left in it is not written. Returns whether it was.
    pub fn add(&mut self, shape: &Shape, properties: &[(&str, Value)]) -> Result<bool, TileError> {
        // The geometry first: the encoder commits every feature it starts.
        let (kind, rings) = match shape {
            Shape::Lines(lines) => (
                MvtGeomType::LineString,
                lines
                    .iter()
                    .flat_map(|l| clip_line(l))
                    .map(|run| (rounded(&run), true))
                    .filter(|(run, _)| run.len() >= 2)
                    .collect(),
            ),
            Shape::Point(x, y) => (
                MvtGeomType::Point,
                vec![(
                    vec![fast_mvt::MvtCoord {
                        x: x.round() as i32,
                        y: y.round() as i32,
                    }],
                    true,
                )],
            ),
            Shape::Polygons(polygons) => {
                let mut rings = Vec::new();
                for polygon in polygons {
                    for (k, ring) in polygon.iter().enumerate() {
                        let clipped = rounded(&clip_ring(ring));
                        if clipped.len() >= 3 {
                            rings.push((clipped, k == 0));
                        } else if k == 0 {
                            break; // no exterior left: the polygon is outside
                        }
                    }
                }
                (MvtGeomType::Polygon, rings)
            }
        };
        if rings.is_empty() {
            return Ok(false);
        }
        let Some(layer) = self.builder.take() else {
            return Err(TileError::Encode("layer already encoded".into()));
        };
        let mut feature = layer.feature_of(kind);
        for (ring, exterior) in rings {
            match kind {
                MvtGeomType::Point => feature.points(ring),
                MvtGeomType::LineString => feature.line(ring),
                _ => feature.ring(ring, exterior),
            }
            .map_err(err)?;
        }
        for (k, v) in properties {
            match v {
                Value::Text(s) => feature.tag_string(*k, s.as_str()),
                Value::Int(i) => feature.tag_sint(*k, *i),
                Value::Float(f) => feature.tag_double(*k, *f),
                Value::Bool(b) => feature.tag_bool(*k, *b),
            }
            .map_err(err)?;
        }
        self.features += 1;
        self.builder = Some(feature.end());
        Ok(true)
    }

    /// The tile's bytes (this one layer). Tiles concatenate: the bytes of
    /// several one-layer tiles, one after the other, are one tile with all
    /// their layers (a protobuf repeated field).
    pub fn encode(mut self) -> Vec<u8> {
        self.builder
            .take()
            .map(MvtLayerBuilder::encode)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_and_lon_lat_are_inverse_and_known_tiles_line_up() {
        // Stockholm's centre (18.0686 E, 59.3293 N) at zoom 12 is in tile 2253/1204.
        let t = TileId::new(12, 2253, 1204).expect("tile");
        let (px, py) = t.pixel(18.0686, 59.3293);
        assert!(
            (0.0..4096.0).contains(&px) && (0.0..4096.0).contains(&py),
            "{px} {py}"
        );
        let (lon, lat) = t.lon_lat(px, py);
        assert!((lon - 18.0686).abs() < 1e-9 && (lat - 59.3293).abs() < 1e-9);
        let z0 = TileId::new(0, 0, 0).expect("z0");
        let [w, s, e, n] = z0.bounds(0);
        assert!((w + 180.0).abs() < 1e-9 && (e - 180.0).abs() < 1e-9);
        assert!((n - MAX_LAT).abs() < 1e-6 && (s + MAX_LAT).abs() < 1e-6);
        assert!(TileId::new(23, 0, 0).is_err());
        assert!(TileId::new(3, 8, 0).is_err());
        assert!(TileId::new(22, (1 << 22) - 1, 0).is_ok());
    }

    #[test]
    fn rings_are_clipped_to_the_buffered_tile() {
        let big = [
            (-1000.0, -1000.0),
            (5000.0, -1000.0),
            (5000.0, 5000.0),
            (-1000.0, 5000.0),
        ];
        let c = clip_ring(&big);
        let lo = -f64::from(BUFFER);
        let hi = f64::from(EXTENT + BUFFER);
        assert_eq!(c.len(), 4);
        assert!(c
            .iter()
            .all(|&(x, y)| (lo..=hi).contains(&x) && (lo..=hi).contains(&y)));
        let outside = [(6000.0, 0.0), (7000.0, 0.0), (7000.0, 100.0)];
        // A line across the tile, out and back in: two runs, each ending on
        // the buffered edge.
        let runs = clip_line(&[
            (-500.0, 100.0),
            (5000.0, 100.0),
            (5000.0, 200.0),
            (100.0, 200.0),
        ]);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!(runs[0], vec![(lo, 100.0), (hi, 100.0)]);
        assert_eq!(runs[1], vec![(hi, 200.0), (100.0, 200.0)]);
        assert!(clip_line(&[(-500.0, -500.0), (-400.0, 9000.0)]).is_empty());
        assert_eq!(clip_line(&[(1.0, 1.0), (2.0, 2.0), (3.0, 1.0)]).len(), 1);
        assert!(clip_ring(&outside).len() < 3);
        let inside = [(10.0, 10.0), (20.0, 10.0), (20.0, 20.0)];
        assert_eq!(clip_ring(&inside), inside.to_vec());
    }
}
