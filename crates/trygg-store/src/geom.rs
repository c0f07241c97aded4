//! GeoPackage geometry blobs: the "GP" header followed by ISO WKB (GeoPackage 1.3,
//! section 2.1.3). Encodes the store's points and multipolygons; decodes any 2D
//! point, line string, polygon or multi-geometry (Z and M values are dropped), so that
//! area layers can be read from GeoPackages written by GDAL or QGIS.

use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};

/// A malformed geometry blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid GeoPackage geometry: {0}")]
pub struct GeomError(pub String);

const WKB_POINT: u32 = 1;
const WKB_LINESTRING: u32 = 2;
const WKB_POLYGON: u32 = 3;
const WKB_MULTIPOINT: u32 = 4;
const WKB_MULTILINESTRING: u32 = 5;
const WKB_MULTIPOLYGON: u32 = 6;

/// Encodes a point: header without envelope (points need none), little-endian WKB.
pub fn encode_point(srs_id: i32, x: f64, y: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(29);
    header(&mut out, srs_id, None);
    wkb_point(&mut out, x, y);
    out
}

/// Appends a point's ISO WKB (little-endian).
pub fn wkb_point(out: &mut Vec<u8>, x: f64, y: f64) {
    out.push(1);
    out.extend_from_slice(&WKB_POINT.to_le_bytes());
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&y.to_le_bytes());
}

/// Encodes a multipolygon with its XY envelope in the header.
pub fn encode_multipolygon(srs_id: i32, mp: &MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, srs_id, envelope(mp));
    wkb_multipolygon(&mut out, mp);
    out
}

/// Appends a multipolygon's ISO WKB (little-endian).
pub fn wkb_multipolygon(out: &mut Vec<u8>, mp: &MultiPolygon<f64>) {
    out.push(1);
    out.extend_from_slice(&WKB_MULTIPOLYGON.to_le_bytes());
    put_u32(out, mp.0.len());
    for polygon in &mp.0 {
        out.push(1);
        out.extend_from_slice(&WKB_POLYGON.to_le_bytes());
        put_u32(out, polygon.interiors().len() + 1);
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            put_u32(out, ring.0.len());
            for c in &ring.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Geometries with more than u32::MAX parts cannot be written by anyone.
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
}

fn envelope(mp: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    let mut coords = mp.0.iter().flat_map(|p| p.exterior().0.iter());
    let first = coords.next()?;
    let mut env = [first.x, first.x, first.y, first.y];
    for c in coords {
        env[0] = env[0].min(c.x);
        env[1] = env[1].max(c.x);
        env[2] = env[2].min(c.y);
        env[3] = env[3].max(c.y);
    }
    Some(env)
}

fn header(out: &mut Vec<u8>, srs_id: i32, env: Option<[f64; 4]>) {
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
                 // bit 0: little-endian header; bits 1-3: envelope kind (1 = minx, maxx, miny, maxy).
    let flags = if env.is_some() {
        0b0000_0011
    } else {
        0b0000_0001
    };
    out.push(flags);
    out.extend_from_slice(&srs_id.to_le_bytes());
    for v in env.into_iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A blob as PostGIS extended WKB: the blob's WKB with its SRS id inside (the
/// type's SRID flag set), as a COPY into a `geometry(…, srid)` column takes it.
pub fn to_ewkb(blob: &[u8]) -> Result<Vec<u8>, GeomError> {
    let (srs_id, offset) = header_of(blob)?;
    let wkb = blob
        .get(offset..)
        .filter(|w| w.len() >= 5)
        .ok_or_else(|| GeomError("no WKB after the header".into()))?;
    let little = wkb[0] == 1;
    let ty = [wkb[1], wkb[2], wkb[3], wkb[4]];
    let (ty, srid) = if little {
        (
            (u32::from_le_bytes(ty) | EWKB_SRID).to_le_bytes(),
            srs_id.to_le_bytes(),
        )
    } else {
        (
            (u32::from_be_bytes(ty) | EWKB_SRID).to_be_bytes(),
            srs_id.to_be_bytes(),
        )
    };
    let mut out = Vec::with_capacity(wkb.len() + 4);
    out.push(wkb[0]);
    out.extend_from_slice(&ty);
    out.extend_from_slice(&srid);
    out.extend_from_slice(&wkb[5..]);
    Ok(out)
}

/// The EWKB type flag that says an SRID follows the type.
const EWKB_SRID: u32 = 0x2000_0000;

/// The store's own blob (as [`encode_point`] and [`encode_multipolygon`] write
/// it) of a point or (multi)polygon in ISO WKB, as PostGIS' `ST_AsBinary` gives it.
pub fn from_wkb(srs_id: i32, wkb: &[u8]) -> Result<Vec<u8>, GeomError> {
    let mut reader = Wkb {
        bytes: wkb,
        pos: 0,
        little: true,
    };
    match reader.geometry()? {
        Geometry::Point(p) => Ok(encode_point(srs_id, p.x(), p.y())),
        Geometry::MultiPolygon(mp) => Ok(encode_multipolygon(srs_id, &mp)),
        Geometry::Polygon(p) => Ok(encode_multipolygon(srs_id, &MultiPolygon(vec![p]))),
        other => Err(GeomError(format!(
            "a {} where a point or polygons were expected",
            kind_name(&other)
        ))),
    }
}

fn kind_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::LineString(_) | Geometry::Line(_) => "line string",
        Geometry::MultiPoint(_) => "multipoint",
        Geometry::MultiLineString(_) => "multilinestring",
        _ => "geometry",
    }
}

/// A blob's SRS id and where its WKB starts.
fn header_of(blob: &[u8]) -> Result<(i32, usize), GeomError> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(GeomError("missing 'GP' magic".into()));
    }
    let flags = blob[3];
    let srs_bytes = [blob[4], blob[5], blob[6], blob[7]];
    let srs_id = if flags & 1 == 1 {
        i32::from_le_bytes(srs_bytes)
    } else {
        i32::from_be_bytes(srs_bytes)
    };
    let env_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(GeomError(format!("envelope indicator {other}"))),
    };
    Ok((srs_id, 8 + env_len))
}

/// Decodes a GeoPackage blob into its SRS id and geometry. An empty geometry
/// (flag bit 4) is returned as an empty geometry collection.
pub fn decode(blob: &[u8]) -> Result<(i32, Geometry<f64>), GeomError> {
    let (srs_id, offset) = header_of(blob)?;
    if blob[3] & 0b1_0000 != 0 {
        return Ok((srs_id, Geometry::GeometryCollection(Default::default())));
    }
    let mut reader = Wkb {
        bytes: blob,
        pos: offset,
        little: true,
    };
    let geometry = reader.geometry()?;
    Ok((srs_id, geometry))
}

/// Whether a blob holds an empty geometry (flag bit 4 of its header).
pub fn is_empty(blob: &[u8]) -> bool {
    blob.len() >= 4 && blob[3] & 0b1_0000 != 0
}

/// A blob's envelope `[min_x, max_x, min_y, max_y]`: the header's when it has
/// one, else the geometry's own (a point's is the point); `None` for an empty
/// geometry or one that cannot be read.
pub fn blob_envelope(blob: &[u8]) -> Option<[f64; 4]> {
    if blob.len() < 8 || &blob[..2] != b"GP" || is_empty(blob) {
        return None;
    }
    let flags = blob[3];
    if (flags >> 1) & 0b111 != 0 {
        let little = flags & 1 == 1;
        let mut env = [0.0; 4];
        for (k, v) in env.iter_mut().enumerate() {
            let b: [u8; 8] = blob.get(8 + 8 * k..16 + 8 * k)?.try_into().ok()?;
            *v = if little {
                f64::from_le_bytes(b)
            } else {
                f64::from_be_bytes(b)
            };
        }
        return Some(env);
    }
    let (_, g) = decode(blob).ok()?;
    let mut env: Option<[f64; 4]> = None;
    let mut add = |c: &geo_types::Coord<f64>| {
        let e = env.get_or_insert([c.x, c.x, c.y, c.y]);
        *e = [e[0].min(c.x), e[1].max(c.x), e[2].min(c.y), e[3].max(c.y)];
    };
    fn walk(g: &Geometry<f64>, add: &mut dyn FnMut(&geo_types::Coord<f64>)) {
        let ring = |l: &geo_types::LineString<f64>, add: &mut dyn FnMut(&geo_types::Coord<f64>)| {
            l.0.iter().for_each(&mut *add);
        };
        let polygon = |p: &geo_types::Polygon<f64>, add: &mut dyn FnMut(&geo_types::Coord<f64>)| {
            ring(p.exterior(), add);
            p.interiors().iter().for_each(|r| ring(r, add));
        };
        match g {
            Geometry::Point(p) => add(&p.0),
            Geometry::MultiPoint(m) => m.0.iter().for_each(|p| add(&p.0)),
            Geometry::LineString(l) => ring(l, add),
            Geometry::MultiLineString(m) => m.0.iter().for_each(|l| ring(l, add)),
            Geometry::Polygon(p) => polygon(p, add),
            Geometry::MultiPolygon(m) => m.0.iter().for_each(|p| polygon(p, add)),
            Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| walk(g, add)),
            Geometry::Line(l) => {
                add(&l.start);
                add(&l.end);
            }
            Geometry::Rect(r) => {
                add(&r.min());
                add(&r.max());
            }
            Geometry::Triangle(t) => t.to_array().iter().for_each(add),
        }
    }
    walk(&g, &mut add);
    env
}

/// Decodes a point blob quickly (the store's own events); `None` for anything else.
pub fn decode_point(blob: &[u8]) -> Option<(f64, f64)> {
    match decode(blob) {
        Ok((_, Geometry::Point(p))) => Some((p.x(), p.y())),
        _ => None,
    }
}

struct Wkb<'a> {
    bytes: &'a [u8],
    pos: usize,
    little: bool,
}

impl Wkb<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], GeomError> {
        let end = self.pos + N;
        let slice = self.bytes.get(self.pos..end).ok_or_else(|| {
            GeomError(format!(
                "blob ends at byte {} inside the WKB",
                self.bytes.len()
            ))
        })?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, GeomError> {
        let b = self.take::<4>()?;
        Ok(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Result<f64, GeomError> {
        let b = self.take::<8>()?;
        Ok(if self.little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn count(&mut self) -> Result<usize, GeomError> {
        let n = self.u32()? as usize;
        // Every element needs at least 8 bytes; a larger count is a corrupt blob.
        if n > self.bytes.len() / 8 + 1 {
            return Err(GeomError(format!(
                "element count {n} exceeds the blob size"
            )));
        }
        Ok(n)
    }

    /// Reads a byte order and a type, returning (base type, coordinate dimension).
    fn type_header(&mut self) -> Result<(u32, usize), GeomError> {
        let [order] = self.take::<1>()?;
        self.little = match order {
            0 => false,
            1 => true,
            other => return Err(GeomError(format!("byte order {other}"))),
        };
        let raw = self.u32()?;
        // EWKB flags (PostGIS) and ISO offsets (1000 = Z, 2000 = M, 3000 = ZM).
        let ewkb_z = raw & 0x8000_0000 != 0;
        let ewkb_m = raw & 0x4000_0000 != 0;
        let iso = raw & 0x0FFF_FFFF;
        let (base, iso_dims) = (iso % 1000, iso / 1000);
        let dims = match iso_dims {
            0 => 2 + usize::from(ewkb_z) + usize::from(ewkb_m),
            1 | 2 => 3,
            3 => 4,
            other => return Err(GeomError(format!("geometry type {}", other * 1000 + base))),
        };
        Ok((base, dims))
    }

    fn coord(&mut self, dims: usize) -> Result<Coord<f64>, GeomError> {
        let x = self.f64()?;
        let y = self.f64()?;
        for _ in 2..dims {
            self.f64()?;
        }
        Ok(Coord { x, y })
    }

    fn line(&mut self, dims: usize) -> Result<LineString<f64>, GeomError> {
        let n = self.count()?;
        (0..n)
            .map(|_| self.coord(dims))
            .collect::<Result<Vec<_>, _>>()
            .map(LineString)
    }

    fn polygon(&mut self, dims: usize) -> Result<Polygon<f64>, GeomError> {
        let rings = self.count()?;
        let mut all = (0..rings)
            .map(|_| self.line(dims))
            .collect::<Result<Vec<_>, _>>()?;
        if all.is_empty() {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let exterior = all.remove(0);
        Ok(Polygon::new(exterior, all))
    }

    fn parts<T>(
        &mut self,
        want: u32,
        what: &str,
        read: impl Fn(&mut Self, usize) -> Result<T, GeomError>,
    ) -> Result<Vec<T>, GeomError> {
        let n = self.count()?;
        (0..n)
            .map(|_| {
                let (base, dims) = self.type_header()?;
                if base != want {
                    return Err(GeomError(format!("{what} holds a part of type {base}")));
                }
                read(self, dims)
            })
            .collect()
    }

    fn geometry(&mut self) -> Result<Geometry<f64>, GeomError> {
        let (base, dims) = self.type_header()?;
        Ok(match base {
            WKB_POINT => Geometry::Point(Point(self.coord(dims)?)),
            WKB_LINESTRING => Geometry::LineString(self.line(dims)?),
            WKB_POLYGON => Geometry::Polygon(self.polygon(dims)?),
            WKB_MULTIPOINT => Geometry::MultiPoint(MultiPoint(self.parts(
                WKB_POINT,
                "multipoint",
                |r, d| r.coord(d).map(Point),
            )?)),
            WKB_MULTILINESTRING => Geometry::MultiLineString(MultiLineString(self.parts(
                WKB_LINESTRING,
                "multilinestring",
                Self::line,
            )?)),
            WKB_MULTIPOLYGON => Geometry::MultiPolygon(MultiPolygon(self.parts(
                WKB_POLYGON,
                "multipolygon",
                Self::polygon,
            )?)),
            other => return Err(GeomError(format!("unsupported WKB geometry type {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn point_round_trips_and_has_the_gpkg_layout() {
        let blob = encode_point(3006, 674_571.87, 6_580_743.01);
        assert_eq!(&blob[..4], &[b'G', b'P', 0, 1]);
        assert_eq!(
            i32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]),
            3006
        );
        assert_eq!(blob.len(), 8 + 21);
        assert_eq!(decode_point(&blob), Some((674_571.87, 6_580_743.01)));
    }

    #[test]
    fn multipolygon_with_hole_round_trips_with_envelope() {
        let outer =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 0.0)];
        let mut with_hole = polygon![(x: 20.0, y: 20.0), (x: 30.0, y: 20.0), (x: 30.0, y: 30.0), (x: 20.0, y: 20.0)];
        with_hole.interiors_push(vec![(25.0, 21.0), (29.0, 21.0), (29.0, 25.0), (25.0, 21.0)]);
        let mp = MultiPolygon(vec![outer, with_hole]);
        let blob = encode_multipolygon(3006, &mp);
        assert_eq!(blob[3], 0b11);
        let min_x = f64::from_le_bytes(blob[8..16].try_into().expect("8 bytes"));
        let max_y = f64::from_le_bytes(blob[32..40].try_into().expect("8 bytes"));
        assert_eq!((min_x, max_y), (0.0, 30.0));
        assert_eq!(
            decode(&blob).expect("decodes"),
            (3006, Geometry::MultiPolygon(mp))
        );
    }

    #[test]
    fn decodes_big_endian_iso_z_polygons_and_rejects_garbage() {
        // A big-endian ISO "Polygon Z" (1003) with one ring of three points.
        let mut blob = vec![b'G', b'P', 0, 0, 0, 0, 0x0b, 0xbe];
        blob.push(0);
        blob.extend_from_slice(&1003u32.to_be_bytes());
        blob.extend_from_slice(&1u32.to_be_bytes());
        blob.extend_from_slice(&3u32.to_be_bytes());
        for (x, y) in [(1.0f64, 2.0f64), (3.0, 4.0), (1.0, 2.0)] {
            for v in [x, y, 99.0] {
                blob.extend_from_slice(&v.to_be_bytes());
            }
        }
        let (srs, g) = decode(&blob).expect("decodes");
        assert_eq!(srs, 3006);
        let Geometry::Polygon(p) = g else {
            panic!("not a polygon: {g:?}")
        };
        assert_eq!(p.exterior().0[1], Coord { x: 3.0, y: 4.0 });
        assert!(decode(b"XX\0\x01\0\0\0\0").is_err());
        assert!(decode(&blob[..blob.len() - 3]).is_err());
    }
}
