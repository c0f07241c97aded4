//! H3 hexagonal cells (via the pure-Rust `h3o`) for the hotspot statistics.
//!
//! H3 lives on WGS 84 longitude/latitude while every Trygg coordinate is SWEREF 99
//! TM (EPSG:3006). This crate must not depend on PROJ, so **the caller supplies the
//! conversion** as a [`LonLatProjection`]: the binary implements it with
//! `trygg_crs::Transformer` (EPSG:3006 ↔ EPSG:4326, x = longitude first), tests
//! may use any accurate implementation. The projection is used to put events into
//! cells (EPSG:3006 → lon/lat) and to place cell centres back on the map and test
//! them against the land layer (lon/lat → EPSG:3006). Events whose conversion
//! fails are counted as outside the study area.
//!
//! A hex cell's id is H3's usual 15-digit hexadecimal index (e.g. `891f1d48863ffff`).

use h3o::{CellIndex, LatLng, Resolution};

/// EPSG:3006 ↔ WGS 84 conversion supplied by the caller (see the module docs).
pub trait LonLatProjection {
    /// EPSG:3006 easting/northing → (longitude, latitude) in degrees.
    fn to_lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)>;
    /// (longitude, latitude) in degrees → EPSG:3006 easting/northing.
    fn to_xy(&self, lon: f64, lat: f64) -> Option<(f64, f64)>;
}

/// A [`LonLatProjection`] made of two closures: `FnProjection(to_lon_lat, to_xy)`.
pub struct FnProjection<F, G>(pub F, pub G);

impl<F, G> LonLatProjection for FnProjection<F, G>
where
    F: Fn(f64, f64) -> Option<(f64, f64)>,
    G: Fn(f64, f64) -> Option<(f64, f64)>,
{
    fn to_lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        (self.0)(x, y)
    }

    fn to_xy(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        (self.1)(lon, lat)
    }
}

/// A validated H3 resolution (0-15).
pub fn resolution(res: u8) -> Option<Resolution> {
    Resolution::try_from(res).ok()
}

/// The H3 cell of a longitude/latitude at `res`; `None` for non-finite input.
pub fn cell_at(lon: f64, lat: f64, res: Resolution) -> Option<CellIndex> {
    LatLng::new(lat, lon).ok().map(|ll| ll.to_cell(res))
}

/// The centre of an H3 cell as (longitude, latitude).
pub fn centre(cell: CellIndex) -> (f64, f64) {
    let ll = LatLng::from(cell);
    (ll.lng(), ll.lat())
}

/// The cells within grid distance `k` of `cell`, without `cell` itself, in
/// ascending index order.
pub fn disk_without_self(cell: CellIndex, k: u32) -> Vec<CellIndex> {
    let mut cells: Vec<CellIndex> = cell.grid_disk::<Vec<_>>(k);
    cells.retain(|&c| c != cell);
    cells.sort_unstable();
    cells.dedup();
    cells
}

/// The boundary of the H3 cell with id `cell_id` as (longitude, latitude) vertices,
/// for drawing; `None` when the id is not an H3 cell index.
pub fn boundary(cell_id: &str) -> Option<Vec<(f64, f64)>> {
    let cell: CellIndex = cell_id.parse().ok()?;
    Some(
        cell.boundary()
            .iter()
            .map(|ll| (ll.lng(), ll.lat()))
            .collect(),
    )
}

/// Average hexagon edge length at `res`, metres.
pub fn edge_length_m(res: Resolution) -> f64 {
    res.edge_length_m()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// SWEREF 99 TM ↔ WGS 84 with Lantmäteriet's Gauss-Krüger formulas (GRS 80,
    /// central meridian 15°, scale 0.9996, false easting 500 km): millimetre
    /// accuracy over Sweden, enough to test H3 binning without PROJ.
    pub(crate) struct Sweref99Tm;

    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_222_101;
    const K0: f64 = 0.9996;
    const FE: f64 = 500_000.0;
    const LON0: f64 = 15.0;

    impl LonLatProjection for Sweref99Tm {
        fn to_lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
            let e2 = F * (2.0 - F);
            let n = F / (2.0 - F);
            let a_roof = A / (1.0 + n) * (1.0 + n * n / 4.0 + n.powi(4) / 64.0);
            let d1 = n / 2.0 - 2.0 * n * n / 3.0 + 37.0 * n.powi(3) / 96.0 - n.powi(4) / 360.0;
            let d2 = n * n / 48.0 + n.powi(3) / 15.0 - 437.0 * n.powi(4) / 1440.0;
            let d3 = 17.0 * n.powi(3) / 480.0 - 37.0 * n.powi(4) / 840.0;
            let d4 = 4397.0 * n.powi(4) / 161_280.0;
            let xi = y / (K0 * a_roof);
            let eta = (x - FE) / (K0 * a_roof);
            let xi_p = xi
                - d1 * (2.0 * xi).sin() * (2.0 * eta).cosh()
                - d2 * (4.0 * xi).sin() * (4.0 * eta).cosh()
                - d3 * (6.0 * xi).sin() * (6.0 * eta).cosh()
                - d4 * (8.0 * xi).sin() * (8.0 * eta).cosh();
            let eta_p = eta
                - d1 * (2.0 * xi).cos() * (2.0 * eta).sinh()
                - d2 * (4.0 * xi).cos() * (4.0 * eta).sinh()
                - d3 * (6.0 * xi).cos() * (6.0 * eta).sinh()
                - d4 * (8.0 * xi).cos() * (8.0 * eta).sinh();
            let phi_star = (xi_p.sin() / eta_p.cosh()).asin();
            let dlon = (eta_p.sinh() / xi_p.cos()).atan();
            let a_ = e2 + e2.powi(2) + e2.powi(3) + e2.powi(4);
            let b_ = -(7.0 * e2.powi(2) + 17.0 * e2.powi(3) + 30.0 * e2.powi(4)) / 6.0;
            let c_ = (224.0 * e2.powi(3) + 889.0 * e2.powi(4)) / 120.0;
            let d_ = -4279.0 * e2.powi(4) / 1260.0;
            let s = phi_star.sin();
            let phi =
                phi_star + s * phi_star.cos() * (a_ + b_ * s * s + c_ * s.powi(4) + d_ * s.powi(6));
            Some((LON0 + dlon.to_degrees(), phi.to_degrees()))
        }

        fn to_xy(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
            let e2 = F * (2.0 - F);
            let n = F / (2.0 - F);
            let a_roof = A / (1.0 + n) * (1.0 + n * n / 4.0 + n.powi(4) / 64.0);
            let a_ = e2;
            let b_ = (5.0 * e2 * e2 - e2.powi(3)) / 6.0;
            let c_ = (104.0 * e2.powi(3) - 45.0 * e2.powi(4)) / 120.0;
            let d_ = (1237.0 * e2.powi(4)) / 1260.0;
            let b1 =
                n / 2.0 - 2.0 * n * n / 3.0 + 5.0 * n.powi(3) / 16.0 + 41.0 * n.powi(4) / 180.0;
            let b2 = 13.0 * n * n / 48.0 - 3.0 * n.powi(3) / 5.0 + 557.0 * n.powi(4) / 1440.0;
            let b3 = 61.0 * n.powi(3) / 240.0 - 103.0 * n.powi(4) / 140.0;
            let b4 = 49561.0 * n.powi(4) / 161_280.0;
            let phi = lat.to_radians();
            let dl = (lon - LON0).to_radians();
            let s = phi.sin();
            let phi_star =
                phi - s * phi.cos() * (a_ + b_ * s * s + c_ * s.powi(4) + d_ * s.powi(6));
            let xi_p = (phi_star.tan() / dl.cos()).atan();
            let eta_p = (phi_star.cos() * dl.sin()).atanh();
            let y = K0
                * a_roof
                * (xi_p
                    + b1 * (2.0 * xi_p).sin() * (2.0 * eta_p).cosh()
                    + b2 * (4.0 * xi_p).sin() * (4.0 * eta_p).cosh()
                    + b3 * (6.0 * xi_p).sin() * (6.0 * eta_p).cosh()
                    + b4 * (8.0 * xi_p).sin() * (8.0 * eta_p).cosh());
            let x = K0
                * a_roof
                * (eta_p
                    + b1 * (2.0 * xi_p).cos() * (2.0 * eta_p).sinh()
                    + b2 * (4.0 * xi_p).cos() * (4.0 * eta_p).sinh()
                    + b3 * (6.0 * xi_p).cos() * (6.0 * eta_p).sinh()
                    + b4 * (8.0 * xi_p).cos() * (8.0 * eta_p).sinh())
                + FE;
            Some((x, y))
        }
    }

    #[test]
    fn test_projection_matches_proj_reference() {
        // build-notes.md: lon 18.0686, lat 59.3293 → E 674571.866449 N 6580743.008331.
        let (x, y) = Sweref99Tm.to_xy(18.0686, 59.3293).unwrap();
        assert!((x - 674_571.866_449).abs() < 1e-3, "{x}");
        assert!((y - 6_580_743.008_331).abs() < 1e-3, "{y}");
        let (lon, lat) = Sweref99Tm.to_lon_lat(x, y).unwrap();
        assert!((lon - 18.0686).abs() < 1e-9 && (lat - 59.3293).abs() < 1e-9);
    }

    #[test]
    fn cells_and_neighbours() {
        let res = resolution(9).unwrap();
        assert!(resolution(16).is_none());
        let c = cell_at(18.0686, 59.3293, res).unwrap();
        assert_eq!(c.resolution(), res);
        assert_eq!(c.to_string().len(), 15);
        let (lon, lat) = centre(c);
        assert!((lon - 18.0686).abs() < 0.01 && (lat - 59.3293).abs() < 0.01);
        assert_eq!(disk_without_self(c, 1).len(), 6);
        assert_eq!(disk_without_self(c, 2).len(), 18);
        assert!(cell_at(f64::NAN, 59.0, res).is_none());
    }
}
