//! SWEREF 99 TM (EPSG:3006) aligned square grids: cell edges lie on multiples of
//! the cell size counted from (0, 0), so a 250 m grid and a 1 km grid nest, and a
//! cell's id ("250m_674250_6580500": size, then the lower-left corner) is the same
//! in every result, every run and every client.

use std::fmt;

use serde::Serialize;

/// Errors of grid definitions and cell ids.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// The cell size is not a positive, finite number of metres.
    #[error("grid cell size must be a positive number of metres, not {0}")]
    InvalidSize(f64),
    /// A cell id does not have the form `<size>m_<x>_<y>`.
    #[error("'{0}' is not a grid cell id (expected e.g. 250m_674250_6580500)")]
    InvalidCellId(String),
}

/// `q.floor() as i64`, without a call into libm (the baseline x86-64 target
/// has no rounding instruction, and binning loops call this per event).
#[inline]
fn floor_i64(q: f64) -> i64 {
    let t = q as i64;
    t - i64::from((t as f64) > q)
}

/// A square grid aligned to EPSG:3006's origin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SquareGrid {
    size_m: f64,
}

/// The integer position of a square cell: its lower-left corner is
/// `(col · size, row · size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SquareCell {
    /// Column: floor(x / size).
    pub col: i64,
    /// Row: floor(y / size).
    pub row: i64,
}

impl SquareGrid {
    /// The fine default grid: 250 m cells.
    pub const FINE_M: f64 = 250.0;
    /// The coarse default grid: 1 km cells.
    pub const COARSE_M: f64 = 1000.0;

    /// A grid of `size_m`-metre cells.
    pub fn new(size_m: f64) -> Result<SquareGrid, GridError> {
        if size_m.is_finite() && size_m > 0.0 {
            Ok(SquareGrid { size_m })
        } else {
            Err(GridError::InvalidSize(size_m))
        }
    }

    /// The cell size in metres.
    pub fn size_m(&self) -> f64 {
        self.size_m
    }

    /// The cell containing `(x, y)`; a point on an edge belongs to the cell above
    /// / to the right of it (cells are half-open `[x0, x0 + size)`).
    #[inline]
    pub fn cell_of(&self, x: f64, y: f64) -> SquareCell {
        SquareCell {
            col: floor_i64(x / self.size_m),
            row: floor_i64(y / self.size_m),
        }
    }

    /// The lower-left corner of a cell (EPSG:3006).
    pub fn lower_left(&self, c: SquareCell) -> (f64, f64) {
        (c.col as f64 * self.size_m, c.row as f64 * self.size_m)
    }

    /// The centre of a cell (EPSG:3006).
    pub fn centre(&self, c: SquareCell) -> (f64, f64) {
        (
            (c.col as f64 + 0.5) * self.size_m,
            (c.row as f64 + 0.5) * self.size_m,
        )
    }

    /// The stable id of a cell: `<size>m_<x0>_<y0>` with the lower-left corner in
    /// metres, numbers in their shortest exact decimal form ("250m_674250_6580500",
    /// "12.5m_674237.5_6580500").
    pub fn cell_id(&self, c: SquareCell) -> String {
        let (x0, y0) = self.lower_left(c);
        format!("{}m_{}_{}", Num(self.size_m), Num(x0), Num(y0))
    }

    /// Parses a cell id back into its grid and cell.
    pub fn parse_cell_id(id: &str) -> Result<(SquareGrid, SquareCell), GridError> {
        let bad = || GridError::InvalidCellId(id.to_owned());
        let mut parts = id.split('_');
        let size = parts
            .next()
            .and_then(|s| s.strip_suffix('m'))
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(bad)?;
        let x0 = parts
            .next()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(bad)?;
        let y0 = parts
            .next()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(bad)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        let grid = SquareGrid::new(size).map_err(|_| bad())?;
        let cell = SquareCell {
            col: (x0 / size).round() as i64,
            row: (y0 / size).round() as i64,
        };
        // Only ids this grid would itself write are accepted (corner on the lattice).
        if grid.cell_id(cell) != id {
            return Err(bad());
        }
        Ok((grid, cell))
    }
}

/// Formats a float without a trailing ".0" for whole numbers.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == self.0.trunc() && self.0.abs() < 1e15 {
            write!(f, "{}", self.0 as i64)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_without_libm_is_floor() {
        for q in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999_999,
            -2.000_001,
            6_580_743.25,
            -1e15,
            1e15,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            4_503_599_627_370_495.5,
        ] {
            assert_eq!(floor_i64(q), q.floor() as i64, "{q}");
        }
        let mut state = 3u64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let q = (state >> 11) as f64 / (1u64 << 53) as f64 * 2e7 - 1e7;
            assert_eq!(floor_i64(q), q.floor() as i64, "{q}");
        }
    }

    #[test]
    fn cells_are_aligned_to_the_origin() {
        let g = SquareGrid::new(250.0).unwrap();
        let c = g.cell_of(674_300.2, 6_580_743.0);
        assert_eq!(
            c,
            SquareCell {
                col: 2697,
                row: 26322
            }
        );
        assert_eq!(g.lower_left(c), (674_250.0, 6_580_500.0));
        assert_eq!(g.centre(c), (674_375.0, 6_580_625.0));
        assert_eq!(g.cell_id(c), "250m_674250_6580500");
        // Edges belong to the cell above/right.
        assert_eq!(g.cell_of(674_250.0, 6_580_500.0), c);
        // Coarse cells contain whole fine cells.
        let k = SquareGrid::new(1000.0).unwrap();
        assert_eq!(
            k.cell_id(k.cell_of(674_300.2, 6_580_743.0)),
            "1000m_674000_6580000"
        );
    }

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        for size in [250.0, 1000.0, 12.5, 100.0] {
            let g = SquareGrid::new(size).unwrap();
            let c = g.cell_of(674_571.87, 6_580_743.0);
            let id = g.cell_id(c);
            assert_eq!(SquareGrid::parse_cell_id(&id).unwrap(), (g, c), "{id}");
        }
        assert_eq!(
            SquareGrid::parse_cell_id("12.5m_674562.5_6580737.5")
                .unwrap()
                .1,
            SquareCell {
                col: 53965,
                row: 526459
            }
        );
        for bad in [
            "",
            "250_1_2",
            "250m_674260_6580500",
            "250m_1",
            "xm_0_0",
            "0m_0_0",
            "250m_0_0_0",
        ] {
            assert!(SquareGrid::parse_cell_id(bad).is_err(), "{bad}");
        }
        assert!(SquareGrid::new(0.0).is_err());
        assert!(SquareGrid::new(f64::NAN).is_err());
        assert!(SquareGrid::new(-5.0).is_err());
    }
}
