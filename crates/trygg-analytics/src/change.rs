//! Hotspot change between two periods: each study cell's Gi* class (−3..3) in the
//! earlier and the later period, and a transition label. "Hot" and "cold" mean a
//! significant class of either sign (≥ 90 % confidence, on whatever p-value basis
//! the two hotspot maps used); both maps must cover the same study cells.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::gistar::{ClassCounts, HotspotResult};

/// Errors comparing two hotspot maps.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChangeError {
    /// The maps do not cover the same cells in the same order.
    #[error("the two hotspot maps cover different cells (first difference at position {0})")]
    DifferentCells(usize),
}

/// How a cell's hot/cold status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Not significant, then hot.
    NewHot,
    /// Hot, then not significant.
    NoLongerHot,
    /// Hot in both periods.
    PersistingHot,
    /// Not significant, then cold.
    NewCold,
    /// Cold, then not significant.
    NoLongerCold,
    /// Cold in both periods.
    PersistingCold,
    /// Hot, then cold.
    HotToCold,
    /// Cold, then hot.
    ColdToHot,
    /// Not significant in either period.
    NotSignificant,
}

/// The transition between two Gi_Bin classes.
pub fn transition(before: i8, after: i8) -> Transition {
    match (before.signum(), after.signum()) {
        (0, 0) => Transition::NotSignificant,
        (0, 1) => Transition::NewHot,
        (0, _) => Transition::NewCold,
        (1, 0) => Transition::NoLongerHot,
        (1, 1) => Transition::PersistingHot,
        (1, _) => Transition::HotToCold,
        (_, 0) => Transition::NoLongerCold,
        (_, 1) => Transition::ColdToHot,
        _ => Transition::PersistingCold,
    }
}

/// One cell's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeCell {
    /// Cell id.
    pub cell_id: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
    /// Events in the earlier period.
    pub count_before: u32,
    /// Events in the later period.
    pub count_after: u32,
    /// Class in the earlier period.
    pub class_before: i8,
    /// Class in the later period.
    pub class_after: i8,
    /// Gi* z in the earlier period.
    pub gi_z_before: f64,
    /// Gi* z in the later period.
    pub gi_z_after: f64,
    /// The transition.
    pub transition: Transition,
}

/// Hotspot change between two maps of the same study cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeResult {
    /// Cells per class, earlier period.
    pub before: ClassCounts,
    /// Cells per class, later period.
    pub after: ClassCounts,
    /// Cells per transition (only transitions that occur).
    pub transitions: BTreeMap<Transition, u32>,
    /// One entry per study cell.
    pub cells: Vec<ChangeCell>,
}

/// Compares two hotspot maps (earlier first) cell by cell.
pub fn hotspot_change(
    before: &HotspotResult,
    after: &HotspotResult,
) -> Result<ChangeResult, ChangeError> {
    if let Some(i) = (0..before.cells.len().max(after.cells.len())).find(|&i| {
        before.cells.get(i).map(|c| &c.cell_id) != after.cells.get(i).map(|c| &c.cell_id)
    }) {
        return Err(ChangeError::DifferentCells(i));
    }
    let mut transitions = BTreeMap::new();
    let cells = before
        .cells
        .iter()
        .zip(&after.cells)
        .map(|(b, a)| {
            let t = transition(b.class, a.class);
            *transitions.entry(t).or_insert(0) += 1;
            ChangeCell {
                cell_id: b.cell_id.clone(),
                x: b.x,
                y: b.y,
                count_before: b.count,
                count_after: a.count,
                class_before: b.class,
                class_after: a.class,
                gi_z_before: b.gi_z,
                gi_z_after: a.gi_z,
                transition: t,
            }
        })
        .collect();
    Ok(ChangeResult {
        before: before.classes,
        after: after.classes,
        transitions,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gistar::{hotspots, HotspotParams};
    use crate::grid::{SquareCell, SquareGrid};
    use crate::study_area::{BinnedCounts, BinningSummary, StudyArea};

    #[test]
    fn transitions() {
        assert_eq!(transition(0, 0), Transition::NotSignificant);
        assert_eq!(transition(0, 2), Transition::NewHot);
        assert_eq!(transition(0, -1), Transition::NewCold);
        assert_eq!(transition(3, 0), Transition::NoLongerHot);
        assert_eq!(transition(1, 3), Transition::PersistingHot);
        assert_eq!(transition(2, -2), Transition::HotToCold);
        assert_eq!(transition(-3, 0), Transition::NoLongerCold);
        assert_eq!(transition(-1, 1), Transition::ColdToHot);
        assert_eq!(transition(-1, -3), Transition::PersistingCold);
    }

    #[test]
    fn a_moving_cluster() {
        let grid = SquareGrid::new(250.0).unwrap();
        let study = StudyArea::from_square_cells(
            grid,
            (0..20).flat_map(|r| (0..20).map(move |c| SquareCell { col: c, row: r })),
        );
        let map = |centre: usize| {
            let mut counts = vec![1u32; 400];
            for dr in 0..3 {
                for dc in 0..3 {
                    counts[centre + dr * 20 + dc] = 25;
                }
            }
            hotspots(
                &study,
                &BinnedCounts {
                    counts,
                    summary: BinningSummary::default(),
                },
                &HotspotParams::default(),
            )
            .unwrap()
        };
        let before = map(2 * 20 + 2);
        let after = map(14 * 20 + 14);
        let change = hotspot_change(&before, &after).unwrap();
        assert_eq!(change.cells[3 * 20 + 3].transition, Transition::NoLongerHot);
        assert_eq!(change.cells[15 * 20 + 15].transition, Transition::NewHot);
        assert!(change.transitions[&Transition::NotSignificant] > 300);
        assert_eq!(change.transitions.values().sum::<u32>(), 400);
        let mut other = after.clone();
        other.cells.pop();
        assert_eq!(
            hotspot_change(&before, &other),
            Err(ChangeError::DifferentCells(399))
        );
    }
}
