//! A request's cost, estimated before any work starts, against a budget.
//!
//! Every analysis whose memory or time grows with its parameters (grid cells,
//! time slices, permutations, areas of a layer) is estimated from the request and
//! the study area's bounds alone, and refused when it exceeds the budget, with an
//! error naming the parameter and how far to move it. The defaults keep one
//! request within about 1 GB and a few seconds on a 2-core machine; a server or CLI
//! user can raise or lower each limit (see `docs/analytics.md`).

use serde::Serialize;

/// Limits on one request's work. The defaults are [`Budget::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Cells a grid or H3 study area may examine (the land's bounding box in cells).
    pub max_cells: u64,
    /// Cells × time slices of an emerging-hotspot analysis.
    pub max_cell_slices: u64,
    /// Cells × permutations of a Gi* permutation test.
    pub max_permutation_cells: u64,
    /// Areas (polygons) of a layer an area statistic is computed for, grid cells
    /// used as areas included.
    pub max_areas: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_cells: 2_000_000,
            max_cell_slices: 20_000_000,
            max_permutation_cells: 500_000_000,
            max_areas: 250_000,
        }
    }
}

/// A request over budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {what} would be about {estimate}, over the limit of {limit} ({limit_name}); {hint}")]
pub struct BudgetError {
    /// The request parameter to change (e.g. `grid`, `slices`, `permutations`).
    pub parameter: &'static str,
    /// What was estimated.
    pub what: &'static str,
    /// The estimate.
    pub estimate: u64,
    /// The limit it exceeds.
    pub limit: u64,
    /// The budget field holding the limit.
    pub limit_name: &'static str,
    /// How to get under it.
    pub hint: &'static str,
}

fn check(
    estimate: u64,
    limit: u64,
    parameter: &'static str,
    what: &'static str,
    limit_name: &'static str,
    hint: &'static str,
) -> Result<(), BudgetError> {
    if estimate <= limit {
        Ok(())
    } else {
        Err(BudgetError {
            parameter,
            what,
            estimate,
            limit,
            limit_name,
            hint,
        })
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Budget {
    /// Checks the cells a study area would examine; `parameter` names the request
    /// field that chose the cells (`grid` or `h3`).
    pub fn check_cells(&self, cells: usize, parameter: &'static str) -> Result<(), BudgetError> {
        check(
            as_u64(cells),
            self.max_cells,
            parameter,
            "the cells to examine",
            "max_cells",
            "use larger cells (a larger grid size or a coarser H3 resolution)",
        )
    }

    /// Checks cells × slices of an emerging-hotspot analysis.
    pub fn check_cell_slices(&self, cells: usize, slices: usize) -> Result<(), BudgetError> {
        check(
            as_u64(cells).saturating_mul(as_u64(slices)),
            self.max_cell_slices,
            "slices",
            "cells × time slices",
            "max_cell_slices",
            "use fewer or longer slices, or larger cells",
        )
    }

    /// Checks cells × permutations of a permutation test.
    pub fn check_permutations(&self, cells: usize, permutations: u32) -> Result<(), BudgetError> {
        check(
            as_u64(cells).saturating_mul(u64::from(permutations)),
            self.max_permutation_cells,
            "permutations",
            "cells × permutations",
            "max_permutation_cells",
            "use fewer permutations (999 is usual) or larger cells",
        )
    }

    /// Checks the areas of a layer an area statistic is computed for.
    pub fn check_areas(&self, areas: usize, parameter: &'static str) -> Result<(), BudgetError> {
        check(
            as_u64(areas),
            self.max_areas,
            parameter,
            "the areas to compute statistics for",
            "max_areas",
            "use a coarser layer or a larger grid size",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_passes_and_over_names_the_parameter() {
        let b = Budget {
            max_cells: 100,
            max_cell_slices: 1_000,
            max_permutation_cells: 10_000,
            max_areas: 10,
        };
        assert!(b.check_cells(100, "grid").is_ok());
        let e = b.check_cells(101, "grid").expect_err("over");
        assert_eq!(e.parameter, "grid");
        assert!(e.to_string().starts_with("grid: "), "{e}");
        assert!(b.check_cell_slices(10, 100).is_ok());
        assert_eq!(
            b.check_cell_slices(10, 101).expect_err("over").parameter,
            "slices"
        );
        // Saturates instead of overflowing.
        assert!(b.check_cell_slices(usize::MAX, usize::MAX).is_err());
        assert_eq!(
            b.check_permutations(11, 999).expect_err("over").parameter,
            "permutations"
        );
        assert_eq!(
            b.check_areas(11, "layer").expect_err("over").parameter,
            "layer"
        );
    }
}
