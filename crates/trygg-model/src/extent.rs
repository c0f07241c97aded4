//! The study extent: the rectangle (in the store's CRS) that events must fall in.

use serde::{Deserialize, Serialize};

/// An axis-aligned rectangle in EPSG:3006 metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Extent {
    /// Smallest easting.
    pub min_x: f64,
    /// Smallest northing.
    pub min_y: f64,
    /// Largest easting.
    pub max_x: f64,
    /// Largest northing.
    pub max_y: f64,
}

impl Extent {
    /// Margin around the stadsdelar that still counts as the study extent: points
    /// in it but in no stadsdel are kept and flagged, points beyond it rejected.
    pub const STUDY_MARGIN_M: f64 = 5_000.0;

    /// Whether the point lies inside or on the border of the rectangle.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.min_x && x <= self.max_x && y >= self.min_y && y <= self.max_y
    }

    /// The rectangle grown by `margin` metres on every side.
    pub fn expanded(&self, margin: f64) -> Extent {
        Extent {
            min_x: self.min_x - margin,
            min_y: self.min_y - margin,
            max_x: self.max_x + margin,
            max_y: self.max_y + margin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_is_inclusive_and_expansion_grows_every_side() {
        let e = Extent {
            min_x: 0.0,
            min_y: 10.0,
            max_x: 5.0,
            max_y: 20.0,
        };
        assert!(e.contains(0.0, 10.0) && e.contains(5.0, 20.0));
        assert!(!e.contains(-0.1, 15.0) && !e.contains(2.0, 20.1));
        let g = e.expanded(1.0);
        assert!(g.contains(-1.0, 9.0) && g.contains(6.0, 21.0) && !g.contains(6.1, 15.0));
    }
}
