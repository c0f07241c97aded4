//! The study area: the grid or hex cells in which events are counted and hotspot
//! statistics are computed, and the counting itself.
//!
//! A cell belongs to the study area when its **centre lies on land** (inside the
//! land layer, normally `land` = the stadsdelar with water removed, looked up with
//! [`AreaIndex`]). Cells whose centre lies in water or outside the municipality are
//! never created, so they never appear in a result, even when events fall in them;
//! such events are counted as `outside_study_area` in the [`BinningSummary`].
//!
//! Only point events (precision exact, address or street) are ever put into cells.
//! Stadsdel- and municipality-precision events sit at a stand-in point (the
//! stadsdel's interior point, the municipality centroid) and would plant false
//! hotspots there; they are counted as excluded instead.
//!
//! Cells are kept in a fixed order (square cells by row, then column, south-west
//! first; hex cells by ascending H3 index), so every result lists them identically.

use std::collections::HashMap;

use h3o::{CellIndex, Resolution};
use serde::Serialize;
use trygg_model::Precision;
use trygg_spatial::AreaIndex;
use trygg_store::EventView;

use crate::grid::{SquareCell, SquareGrid};
use crate::hex::{self, LonLatProjection};

/// Most candidate cells a study area may scan (guards against e.g. a 1 m grid
/// over the whole municipality).
pub const MAX_CANDIDATE_CELLS: usize = 16_000_000;

/// Errors building a study area, its neighbourhoods, or counting events in it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StudyAreaError {
    /// The land layer has no areas.
    #[error("the land layer is empty: no study area")]
    NoLand,
    /// The cell size or resolution would make too many cells.
    #[error("{0} candidate cells exceed the limit of {MAX_CANDIDATE_CELLS}; use larger cells")]
    TooManyCells(usize),
    /// An H3 resolution outside 0-15.
    #[error("H3 resolution must be 0-15, not {0}")]
    InvalidResolution(u8),
    /// Hex cells need the caller's lon/lat projection.
    #[error("H3 cells need a lon/lat projection to place events")]
    ProjectionRequired,
    /// The projection failed for the land layer's extent.
    #[error("the lon/lat projection failed for the study extent")]
    ProjectionFailed,
    /// A neighbourhood definition that cannot be used.
    #[error("invalid neighbourhood: {0}")]
    InvalidNeighbourhood(String),
    /// An event index beyond the view.
    #[error("event index {index} is outside the view of {len} events")]
    EventIndexOutOfRange {
        /// The index given.
        index: u32,
        /// Events in the view.
        len: usize,
    },
}

/// How cells are defined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellSystem {
    /// EPSG:3006-aligned squares of `size_m` metres.
    Square {
        /// Cell edge, metres.
        size_m: f64,
    },
    /// H3 hexagons.
    H3 {
        /// H3 resolution (0-15).
        resolution: u8,
    },
}

/// One cell of the study area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyCell {
    /// Stable id ("250m_674250_6580500" or an H3 index).
    pub id: String,
    /// Centre easting (EPSG:3006).
    pub x: f64,
    /// Centre northing (EPSG:3006).
    pub y: f64,
}

/// Which cells count as each cell's neighbours in Gi* (the cell itself is always
/// added by Gi*, so it is never listed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Neighbourhood {
    /// Queen contiguity: the 8 surrounding squares (the 6 surrounding hexagons).
    #[default]
    Queen,
    /// A distance band in cells: squares whose centres lie within `radius_cells`
    /// cell sizes of the cell's centre (1 = rook, 1.5 = queen, 2 = 12 cells, ...);
    /// hexagons within H3 grid distance floor(`radius_cells`).
    Band {
        /// Radius in cell sizes (at least 1, at most 50).
        radius_cells: f64,
    },
}

/// Neighbour lists of the study cells in compressed form (each list ascending,
/// never containing the cell itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    offsets: Vec<usize>,
    ids: Vec<u32>,
}

impl Neighbours {
    /// Builds neighbour lists from explicit lists (e.g. for tests or other
    /// geometries); rejects out-of-range ids, self-references and duplicates.
    pub fn from_lists(lists: &[Vec<u32>]) -> Result<Neighbours, StudyAreaError> {
        let n = lists.len();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut ids = Vec::new();
        offsets.push(0);
        for (i, list) in lists.iter().enumerate() {
            let mut sorted = list.clone();
            sorted.sort_unstable();
            let before = sorted.len();
            sorted.dedup();
            if sorted.len() != before {
                return Err(StudyAreaError::InvalidNeighbourhood(format!(
                    "cell {i} lists a neighbour twice"
                )));
            }
            if let Some(&bad) = sorted.iter().find(|&&j| j as usize >= n || j as usize == i) {
                return Err(StudyAreaError::InvalidNeighbourhood(format!(
                    "cell {i} lists neighbour {bad} (itself or beyond {n} cells)"
                )));
            }
            ids.extend_from_slice(&sorted);
            offsets.push(ids.len());
        }
        Ok(Neighbours { offsets, ids })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The neighbours of cell `i` (ascending, without `i`).
    pub fn of(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }

    /// All lists, e.g. to hand to a reference implementation.
    pub fn to_lists(&self) -> Vec<Vec<u32>> {
        (0..self.len()).map(|i| self.of(i).to_vec()).collect()
    }
}

/// What happened to the events given to a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BinningSummary {
    /// Events given.
    pub events: u64,
    /// Point events counted in a study cell.
    pub binned: u64,
    /// Point events whose cell is not in the study area (its centre is in water or
    /// outside the land layer).
    pub outside_study_area: u64,
    /// Events excluded because their location is only a stadsdel or the
    /// municipality (sum of the two fields below).
    pub excluded_imprecise: u64,
    /// Of those, stadsdel precision.
    pub excluded_stadsdel_precision: u64,
    /// Of those, municipality precision.
    pub excluded_municipality_precision: u64,
}

impl BinningSummary {
    fn add(&mut self, other: &BinningSummary) {
        self.events += other.events;
        self.binned += other.binned;
        self.outside_study_area += other.outside_study_area;
        self.excluded_imprecise += other.excluded_imprecise;
        self.excluded_stadsdel_precision += other.excluded_stadsdel_precision;
        self.excluded_municipality_precision += other.excluded_municipality_precision;
    }
}

/// Event counts per study cell (in the study area's cell order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinnedCounts {
    /// Count per cell.
    pub counts: Vec<u32>,
    /// What happened to the events.
    pub summary: BinningSummary,
}

/// Where an event counts when counting into a dense grid: its cell of the
/// grid with a border column and row (a cell off the grid, below its origin
/// wrapping to a huge value, is clamped onto the border), or one of two slots
/// for the imprecise events. One random write per event, no unpredictable
/// branch; cells off land and the border are what lies outside the study area.
struct DenseSlots {
    col0: i64,
    row0: i64,
    width: usize,
    height: usize,
    /// The stadsdel-precision slot; the municipality one follows.
    stadsdel: usize,
}

impl DenseSlots {
    fn of(dense: &Dense) -> DenseSlots {
        DenseSlots {
            col0: dense.col0,
            row0: dense.row0,
            width: dense.width,
            height: dense.height,
            stadsdel: (dense.width + 1) * (dense.height + 1),
        }
    }

    /// Slots in all.
    fn len(&self) -> usize {
        self.stadsdel + 2
    }

    /// The slot of an event in cell `c` with precision code `precision`.
    #[inline]
    fn slot(&self, c: SquareCell, precision: u8) -> usize {
        let col = (c.col.wrapping_sub(self.col0) as u64).min(self.width as u64) as usize;
        let row = (c.row.wrapping_sub(self.row0) as u64).min(self.height as u64) as usize;
        let mut slot = row * (self.width + 1) + col;
        if precision == Precision::Stadsdel.code() {
            slot = self.stadsdel;
        }
        if precision == Precision::Municipality.code() {
            slot = self.stadsdel + 1;
        }
        slot
    }
}

/// Dense (col, row) → cell lookup over the study cells' bounding box.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    col0: i64,
    row0: i64,
    width: usize,
    height: usize,
    index: Vec<u32>,
}

impl Dense {
    /// The study cell at grid cell `c`, if it is one.
    #[inline]
    fn get(&self, c: SquareCell) -> Option<u32> {
        // Below the origin wraps to a huge unsigned value: one compare each.
        let col = c.col.wrapping_sub(self.col0) as u64;
        let row = c.row.wrapping_sub(self.row0) as u64;
        if col >= self.width as u64 || row >= self.height as u64 {
            return None;
        }
        let v = self.index[row as usize * self.width + col as usize];
        (v != NONE).then_some(v)
    }
}

const NONE: u32 = u32::MAX;
const MAX_DENSE: usize = 4_000_000;

#[derive(Debug, Clone)]
enum Keys {
    Square {
        grid: SquareGrid,
        cells: Vec<SquareCell>,
        dense: Option<Dense>,
        map: HashMap<SquareCell, u32>,
    },
    H3 {
        res: Resolution,
        cells: Vec<CellIndex>,
        map: HashMap<CellIndex, u32>,
    },
}

/// The cells of a study area (see the module documentation).
#[derive(Debug, Clone)]
pub struct StudyArea {
    system: CellSystem,
    cells: Vec<StudyCell>,
    keys: Keys,
}

/// Finds the study cell of a point; built once per count.
pub(crate) enum Locator<'a> {
    Dense(&'a SquareGrid, &'a Dense),
    Map(&'a SquareGrid, &'a HashMap<SquareCell, u32>),
    H3(
        Resolution,
        &'a HashMap<CellIndex, u32>,
        &'a dyn LonLatProjection,
    ),
}

impl Locator<'_> {
    /// The study cell of a point, `None` when it is in no study cell; a failed
    /// projection is an error, not a point outside the study area.
    #[inline]
    pub(crate) fn locate(&self, x: f64, y: f64) -> Result<Option<u32>, StudyAreaError> {
        Ok(match self {
            Locator::Dense(grid, d) => d.get(grid.cell_of(x, y)),
            Locator::Map(grid, map) => map.get(&grid.cell_of(x, y)).copied(),
            Locator::H3(res, map, proj) => {
                let (lon, lat) = proj
                    .to_lon_lat(x, y)
                    .ok_or(StudyAreaError::ProjectionFailed)?;
                hex::cell_at(lon, lat, *res).and_then(|c| map.get(&c).copied())
            }
        })
    }
}

/// The first and last cell of `grid` over the land's bounding box.
fn square_span(grid: SquareGrid, land: &AreaIndex) -> Option<(SquareCell, SquareCell)> {
    let b = land.bounds()?;
    Some((
        grid.cell_of(b.min_x, b.min_y),
        grid.cell_of(b.max_x, b.max_y),
    ))
}

impl StudyArea {
    /// The square cells of `grid` whose centre lies on `land`.
    pub fn square(grid: SquareGrid, land: &AreaIndex) -> Result<StudyArea, StudyAreaError> {
        let (lo, hi) = square_span(grid, land).ok_or(StudyAreaError::NoLand)?;
        let candidates = StudyArea::square_candidates(grid, land).unwrap_or(0);
        if candidates > MAX_CANDIDATE_CELLS {
            return Err(StudyAreaError::TooManyCells(candidates));
        }
        let mut cells = Vec::new();
        for row in lo.row..=hi.row {
            for col in lo.col..=hi.col {
                let c = SquareCell { col, row };
                let (x, y) = grid.centre(c);
                if land.locate(x, y).is_some() {
                    cells.push(c);
                }
            }
        }
        Ok(StudyArea::from_square_cells(grid, cells))
    }

    /// The cells [`StudyArea::square`] examines (the land's bounding box in cells),
    /// known before any is built: what a request's cost is estimated from.
    /// `None` without land.
    pub fn square_candidates(grid: SquareGrid, land: &AreaIndex) -> Option<usize> {
        let (lo, hi) = square_span(grid, land)?;
        let w = (hi.col - lo.col + 1).max(0) as u128;
        let h = (hi.row - lo.row + 1).max(0) as u128;
        Some(usize::try_from(w * h).unwrap_or(usize::MAX))
    }

    /// About how many cells [`StudyArea::h3`] walks at `resolution` (the land's
    /// bounding box with its margin over a hexagon's area). `None` without land or
    /// for an invalid resolution.
    pub fn h3_candidates(resolution: u8, land: &AreaIndex) -> Option<usize> {
        let res = hex::resolution(resolution)?;
        let b = land.bounds()?;
        let margin = 2.0 * hex::edge_length_m(res);
        let approx = (b.max_x - b.min_x + 2.0 * margin) * (b.max_y - b.min_y + 2.0 * margin)
            / (2.598 * hex::edge_length_m(res).powi(2));
        // Saturating float-to-int conversion: a huge estimate stays huge.
        Some(approx as usize)
    }

    /// A study area of the given square cells (deduplicated and put in row, column
    /// order); for synthetic data and tests, or a land test done elsewhere.
    pub fn from_square_cells(
        grid: SquareGrid,
        cells: impl IntoIterator<Item = SquareCell>,
    ) -> StudyArea {
        let mut keys: Vec<SquareCell> = cells.into_iter().collect();
        keys.sort_unstable_by_key(|c| (c.row, c.col));
        keys.dedup();
        let study: Vec<StudyCell> = keys
            .iter()
            .map(|&c| {
                let (x, y) = grid.centre(c);
                StudyCell {
                    id: grid.cell_id(c),
                    x,
                    y,
                }
            })
            .collect();
        let map: HashMap<SquareCell, u32> = keys
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        let dense = dense_index(&keys);
        StudyArea {
            system: CellSystem::Square {
                size_m: grid.size_m(),
            },
            cells: study,
            keys: Keys::Square {
                grid,
                cells: keys,
                dense,
                map,
            },
        }
    }

    /// The H3 cells at `resolution` whose centre lies on `land`, found by walking
    /// the hexagon grid over the land layer's bounding box; `proj` converts between
    /// EPSG:3006 and lon/lat (see [`crate::hex`]).
    pub fn h3(
        resolution: u8,
        land: &AreaIndex,
        proj: &dyn LonLatProjection,
    ) -> Result<StudyArea, StudyAreaError> {
        let res =
            hex::resolution(resolution).ok_or(StudyAreaError::InvalidResolution(resolution))?;
        let b = land.bounds().ok_or(StudyAreaError::NoLand)?;
        // Walk every cell whose centre lies in the bounding box grown by two edge
        // lengths (so the walk never gets cut off at a corner), then keep the land
        // ones. The box is convex, so its cells are connected.
        let margin = 2.0 * hex::edge_length_m(res);
        let inside = |x: f64, y: f64| {
            x >= b.min_x - margin
                && x <= b.max_x + margin
                && y >= b.min_y - margin
                && y <= b.max_y + margin
        };
        let approx_cells = StudyArea::h3_candidates(resolution, land).unwrap_or(0);
        if approx_cells > MAX_CANDIDATE_CELLS {
            return Err(StudyAreaError::TooManyCells(approx_cells));
        }
        let (clon, clat) = proj
            .to_lon_lat((b.min_x + b.max_x) / 2.0, (b.min_y + b.max_y) / 2.0)
            .ok_or(StudyAreaError::ProjectionFailed)?;
        let seed = hex::cell_at(clon, clat, res).ok_or(StudyAreaError::ProjectionFailed)?;
        let mut seen: HashMap<CellIndex, ()> = HashMap::new();
        let mut queue = vec![seed];
        seen.insert(seed, ());
        let mut land_cells: Vec<(CellIndex, f64, f64)> = Vec::new();
        while let Some(cell) = queue.pop() {
            let (lon, lat) = hex::centre(cell);
            let Some((x, y)) = proj.to_xy(lon, lat) else {
                continue;
            };
            if !inside(x, y) {
                continue;
            }
            if land.locate(x, y).is_some() {
                land_cells.push((cell, x, y));
            }
            for next in hex::disk_without_self(cell, 1) {
                if seen.insert(next, ()).is_none() {
                    if seen.len() > MAX_CANDIDATE_CELLS {
                        return Err(StudyAreaError::TooManyCells(seen.len()));
                    }
                    queue.push(next);
                }
            }
        }
        land_cells.sort_unstable_by_key(|&(c, _, _)| c);
        let cells: Vec<StudyCell> = land_cells
            .iter()
            .map(|&(c, x, y)| StudyCell {
                id: c.to_string(),
                x,
                y,
            })
            .collect();
        let keys: Vec<CellIndex> = land_cells.iter().map(|&(c, _, _)| c).collect();
        let map = keys
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        Ok(StudyArea {
            system: CellSystem::H3 { resolution },
            cells,
            keys: Keys::H3 {
                res,
                cells: keys,
                map,
            },
        })
    }

    /// How the cells are defined.
    pub fn system(&self) -> CellSystem {
        self.system
    }

    /// The cells, in the fixed order every result uses.
    pub fn cells(&self) -> &[StudyCell] {
        &self.cells
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the study area has no cells.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub(crate) fn locator<'a>(
        &'a self,
        proj: Option<&'a dyn LonLatProjection>,
    ) -> Result<Locator<'a>, StudyAreaError> {
        match &self.keys {
            Keys::Square {
                grid, dense, map, ..
            } => Ok(match dense {
                Some(d) => Locator::Dense(grid, d),
                None => Locator::Map(grid, map),
            }),
            Keys::H3 { res, map, .. } => {
                let proj = proj.ok_or(StudyAreaError::ProjectionRequired)?;
                Ok(Locator::H3(*res, map, proj))
            }
        }
    }

    /// The index of the study cell containing the EPSG:3006 point, if any (H3 cells
    /// need `proj`).
    pub fn cell_index_at(
        &self,
        x: f64,
        y: f64,
        proj: Option<&dyn LonLatProjection>,
    ) -> Result<Option<usize>, StudyAreaError> {
        Ok(self.locator(proj)?.locate(x, y)?.map(|i| i as usize))
    }

    /// Counts point events per square study cell. `events` are indexes into `view`
    /// (e.g. a time range or a selection). Hex study areas need
    /// [`StudyArea::bin_with`].
    pub fn bin<I>(&self, view: &EventView, events: I) -> Result<BinnedCounts, StudyAreaError>
    where
        I: IntoIterator<Item = u32>,
    {
        self.bin_into(view, events, None)
    }

    /// Counts point events per study cell, converting to lon/lat with `proj` for
    /// hex cells (square cells ignore it).
    pub fn bin_with<I>(
        &self,
        view: &EventView,
        events: I,
        proj: &dyn LonLatProjection,
    ) -> Result<BinnedCounts, StudyAreaError>
    where
        I: IntoIterator<Item = u32>,
    {
        self.bin_into(view, events, Some(proj))
    }

    fn bin_into<I>(
        &self,
        view: &EventView,
        events: I,
        proj: Option<&dyn LonLatProjection>,
    ) -> Result<BinnedCounts, StudyAreaError>
    where
        I: IntoIterator<Item = u32>,
    {
        let locator = self.locator(proj)?;
        let mut counts = vec![0u32; self.len()];
        let mut summary = BinningSummary::default();
        for_each_point(view, events, &mut summary, |_, x, y, summary| {
            match locator.locate(x, y)? {
                Some(c) => {
                    counts[c as usize] += 1;
                    summary.binned += 1;
                }
                None => summary.outside_study_area += 1,
            }
            Ok(())
        })?;
        Ok(BinnedCounts { counts, summary })
    }

    /// Counts the point events of `selection` per study cell, and how many
    /// matching events an hour/weekday filter left out for an unknown time of
    /// day. Equal to [`StudyArea::bin_with`] over the selection's indices; on a
    /// dense square grid with no hour or weekday filter it is one branch-free
    /// pass over the raw columns of the time range, on every core.
    pub fn bin_selection(
        &self,
        view: &EventView,
        selection: &crate::selection::Selection,
        proj: &dyn LonLatProjection,
    ) -> Result<(BinnedCounts, u64), StudyAreaError> {
        let mut matcher = selection.matcher();
        if let (
            Some(masks),
            Keys::Square {
                grid,
                dense: Some(dense),
                ..
            },
        ) = (matcher.masks(), &self.keys)
        {
            let range = matcher.clip(view, 0..view.len());
            return Ok((self.tally_dense(view, range, masks, grid, dense), 0));
        }
        let mut events = Vec::new();
        matcher.for_each(view, 0..view.len(), |i| {
            events.push(u32::try_from(i).unwrap_or(u32::MAX));
        });
        let binned = self.bin_into(view, events, Some(proj))?;
        Ok((binned, matcher.left_out()))
    }

    /// [`StudyArea::bin_selection`]'s fast path: a match is a bit of the source
    /// and category masks, added (0 or 1) to the event's slot: its study cell,
    /// or one of three slots for outside the study area, stadsdel and
    /// municipality precision.
    fn tally_dense(
        &self,
        view: &EventView,
        range: std::ops::Range<usize>,
        (source_mask, category_mask): (u32, u32),
        grid: &SquareGrid,
        dense: &Dense,
    ) -> BinnedCounts {
        let (source, category, precision, _) = view.code_columns();
        let slots = DenseSlots::of(dense);
        let part = |r: std::ops::Range<usize>| -> Vec<u32> {
            let mut out = vec![0u32; slots.len()];
            for i in r {
                let hit = (source_mask >> source[i]) & (category_mask >> category[i]) & 1;
                let (x, y) = view.xy(i);
                out[slots.slot(grid.cell_of(x, y), precision[i])] += hit;
            }
            out
        };
        // Parts of at most 2^31 events each, so that no u32 counter can wrap.
        let parts = crate::par::map_range(range.len(), 1 << 18, |chunk| {
            chunk
                .clone()
                .step_by(1 << 31)
                .map(|s| part(range.start + s..range.start + (s + (1 << 31)).min(chunk.end)))
                .collect()
        });
        let mut total = vec![0u64; slots.len()];
        for p in parts {
            for (t, v) in total.iter_mut().zip(p) {
                *t += u64::from(v);
            }
        }
        self.binned_from_slots(dense, &slots, &total)
    }

    /// Counts per study cell from counts the store made per square grid cell
    /// and location precision ([`trygg_store::grid_counts`] on this study
    /// area's grid): what [`StudyArea::bin_selection`] finds from the view for
    /// the same events. `None` for cells other than square ones.
    pub fn binned_from_grid(&self, groups: &[trygg_store::GridCount]) -> Option<BinnedCounts> {
        let Keys::Square {
            dense: Some(dense), ..
        } = &self.keys
        else {
            return None;
        };
        let slots = DenseSlots::of(dense);
        let mut total = vec![0u64; slots.len()];
        for g in groups {
            let cell = SquareCell {
                col: g.col,
                row: g.row,
            };
            total[slots.slot(cell, g.precision.code())] += g.count;
        }
        Some(self.binned_from_slots(dense, &slots, &total))
    }

    /// The binned counts from the slots' totals ([`DenseSlots`]).
    fn binned_from_slots(&self, dense: &Dense, slots: &DenseSlots, total: &[u64]) -> BinnedCounts {
        let (w, h) = (dense.width, dense.height);
        let mut counts = vec![0u32; self.cells.len()];
        let mut binned = 0u64;
        for row in 0..h {
            for col in 0..w {
                let v = dense.index[row * w + col];
                if v != NONE {
                    let c = total[row * (w + 1) + col];
                    counts[v as usize] = u32::try_from(c).unwrap_or(u32::MAX);
                    binned += c;
                }
            }
        }
        let (stadsdel, municipality) = (slots.stadsdel, slots.stadsdel + 1);
        let excluded_stadsdel_precision = total[stadsdel];
        let excluded_municipality_precision = total[municipality];
        let excluded_imprecise = excluded_stadsdel_precision + excluded_municipality_precision;
        let outside = total[..stadsdel].iter().sum::<u64>() - binned;
        BinnedCounts {
            counts,
            summary: BinningSummary {
                events: binned + outside + excluded_imprecise,
                binned,
                outside_study_area: outside,
                excluded_imprecise,
                excluded_stadsdel_precision,
                excluded_municipality_precision,
            },
        }
    }

    /// Queen or distance-band neighbour lists over the study cells (a neighbour
    /// must itself be a study cell).
    pub fn neighbours(&self, nb: Neighbourhood) -> Result<Neighbours, StudyAreaError> {
        let lists: Vec<Vec<u32>> = match &self.keys {
            Keys::Square { cells, .. } => {
                let offsets = square_offsets(nb)?;
                let locate = |c: SquareCell| -> Option<u32> {
                    match &self.keys {
                        Keys::Square { dense: Some(d), .. } => d.get(c),
                        Keys::Square { map, .. } => map.get(&c).copied(),
                        Keys::H3 { .. } => None,
                    }
                };
                cells
                    .iter()
                    .map(|c| {
                        offsets
                            .iter()
                            .filter_map(|&(dc, dr)| {
                                locate(SquareCell {
                                    col: c.col + dc,
                                    row: c.row + dr,
                                })
                            })
                            .collect()
                    })
                    .collect()
            }
            Keys::H3 { cells, map, .. } => {
                let k = hex_rings(nb)?;
                cells
                    .iter()
                    .map(|&c| {
                        hex::disk_without_self(c, k)
                            .into_iter()
                            .filter_map(|n| map.get(&n).copied())
                            .collect()
                    })
                    .collect()
            }
        };
        Neighbours::from_lists(&lists)
    }
}

/// The [`AreaIndex`] of an area layer (e.g. `store.areas("land")`), to build study
/// areas from.
pub fn land_index(areas: &[trygg_store::StoredArea]) -> AreaIndex {
    let geoms: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    AreaIndex::new(&geoms)
}

/// Calls `f(index, x, y, summary)` for each point event, counting the others in
/// `summary`.
pub(crate) fn for_each_point<I, F>(
    view: &EventView,
    events: I,
    summary: &mut BinningSummary,
    mut f: F,
) -> Result<(), StudyAreaError>
where
    I: IntoIterator<Item = u32>,
    F: FnMut(usize, f64, f64, &mut BinningSummary) -> Result<(), StudyAreaError>,
{
    let len = view.len();
    let mut local = BinningSummary::default();
    for index in events {
        let i = index as usize;
        if i >= len {
            return Err(StudyAreaError::EventIndexOutOfRange { index, len });
        }
        local.events += 1;
        match view.precision(i) {
            Precision::Stadsdel => {
                local.excluded_imprecise += 1;
                local.excluded_stadsdel_precision += 1;
            }
            Precision::Municipality => {
                local.excluded_imprecise += 1;
                local.excluded_municipality_precision += 1;
            }
            Precision::Exact | Precision::Address | Precision::Street => {
                let (x, y) = view.xy(i);
                f(i, x, y, &mut local)?;
            }
        }
    }
    summary.add(&local);
    Ok(())
}

fn dense_index(keys: &[SquareCell]) -> Option<Dense> {
    let col0 = keys.iter().map(|c| c.col).min()?;
    let row0 = keys.iter().map(|c| c.row).min()?;
    let col1 = keys.iter().map(|c| c.col).max()?;
    let row1 = keys.iter().map(|c| c.row).max()?;
    let width = usize::try_from(col1.checked_sub(col0)?.checked_add(1)?).ok()?;
    let height = usize::try_from(row1.checked_sub(row0)?.checked_add(1)?).ok()?;
    if width.checked_mul(height)? > MAX_DENSE {
        return None;
    }
    let mut index = vec![NONE; width * height];
    for (i, c) in keys.iter().enumerate() {
        let col = (c.col - col0) as usize;
        let row = (c.row - row0) as usize;
        index[row * width + col] = i as u32;
    }
    Some(Dense {
        col0,
        row0,
        width,
        height,
        index,
    })
}

fn check_radius(r: f64) -> Result<(), StudyAreaError> {
    if r.is_finite() && (1.0..=50.0).contains(&r) {
        Ok(())
    } else {
        Err(StudyAreaError::InvalidNeighbourhood(format!(
            "band radius must be 1 to 50 cells, not {r}"
        )))
    }
}

/// (dcol, drow) offsets of a square neighbourhood, without (0, 0).
fn square_offsets(nb: Neighbourhood) -> Result<Vec<(i64, i64)>, StudyAreaError> {
    let (reach, keep): (i64, Box<dyn Fn(i64, i64) -> bool>) = match nb {
        Neighbourhood::Queen => (1, Box::new(|_, _| true)),
        Neighbourhood::Band { radius_cells } => {
            check_radius(radius_cells)?;
            // A small tolerance so that radius 2.236… includes (2, 1) despite rounding.
            let r2 = radius_cells * radius_cells * (1.0 + 1e-12);
            (
                radius_cells.floor() as i64,
                Box::new(move |dc, dr| ((dc * dc + dr * dr) as f64) <= r2),
            )
        }
    };
    let mut out = Vec::new();
    for dr in -reach..=reach {
        for dc in -reach..=reach {
            if (dc, dr) != (0, 0) && keep(dc, dr) {
                out.push((dc, dr));
            }
        }
    }
    Ok(out)
}

fn hex_rings(nb: Neighbourhood) -> Result<u32, StudyAreaError> {
    match nb {
        Neighbourhood::Queen => Ok(1),
        Neighbourhood::Band { radius_cells } => {
            check_radius(radius_cells)?;
            Ok(radius_cells.floor() as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use trygg_model::{NormCategory, Source};
    use trygg_store::EventViewBuilder;

    use crate::hex::tests::Sweref99Tm;

    /// A 1 km × 1 km square of land at 674000..675000, 6580000..6581000 with a
    /// 250 m × 250 m lake cut out of its south-west quarter's corner.
    fn land() -> AreaIndex {
        let poly = polygon![
            exterior: [
                (x: 674_000.0, y: 6_580_000.0),
                (x: 675_000.0, y: 6_580_000.0),
                (x: 675_000.0, y: 6_581_000.0),
                (x: 674_000.0, y: 6_581_000.0),
            ],
            interiors: [[
                (x: 674_010.0, y: 6_580_010.0),
                (x: 674_240.0, y: 6_580_010.0),
                (x: 674_240.0, y: 6_580_240.0),
                (x: 674_010.0, y: 6_580_240.0),
            ]],
        ];
        AreaIndex::new(&[MultiPolygon(vec![poly])])
    }

    #[test]
    fn cells_with_centres_on_land_only() {
        let grid = SquareGrid::new(250.0).unwrap();
        let study = StudyArea::square(grid, &land()).unwrap();
        // 16 cells minus the lake cell.
        assert_eq!(study.len(), 15);
        assert_eq!(study.cells()[0].id, "250m_674250_6580000");
        assert!(study.cells().iter().all(|c| c.id != "250m_674000_6580000"));
        assert_eq!(study.cells()[0].x, 674_375.0);
        let coarse = StudyArea::square(SquareGrid::new(1000.0).unwrap(), &land()).unwrap();
        assert_eq!(coarse.len(), 1);
    }

    #[test]
    fn binning_honours_precision_and_the_study_area() {
        let grid = SquareGrid::new(250.0).unwrap();
        let study = StudyArea::square(grid, &land()).unwrap();
        let mut b = EventViewBuilder::new((670_000.0, 6_570_000.0));
        let mut push = |x: f64, y: f64, p: Precision| {
            b.push(0, x, y, Source::Crimes, NormCategory::Other, p, "x", None);
        };
        push(674_300.0, 6_580_100.0, Precision::Exact); // cell 250_000
        push(674_310.0, 6_580_110.0, Precision::Address);
        push(674_320.0, 6_580_120.0, Precision::Street);
        push(674_320.0, 6_580_120.0, Precision::Stadsdel);
        push(674_320.0, 6_580_120.0, Precision::Municipality);
        push(674_100.0, 6_580_100.0, Precision::Exact); // lake cell
        push(680_000.0, 6_580_100.0, Precision::Exact); // outside
        let view = b.build();
        let counts = study.bin(&view, 0..view.len() as u32).unwrap();
        assert_eq!(counts.counts[0], 3);
        assert_eq!(counts.counts.iter().sum::<u32>(), 3);
        assert_eq!(
            counts.summary,
            BinningSummary {
                events: 7,
                binned: 3,
                outside_study_area: 2,
                excluded_imprecise: 2,
                excluded_stadsdel_precision: 1,
                excluded_municipality_precision: 1,
            }
        );
        assert_eq!(
            study.bin(&view, [7]),
            Err(StudyAreaError::EventIndexOutOfRange { index: 7, len: 7 })
        );
    }

    #[test]
    fn binning_a_selection_equals_binning_its_indices() {
        // Seeded events around and inside the land square, all precisions and
        // sources, over ten days; the fast path (no clock filter) and the
        // general one (an hour filter) must both equal `bin_with` on the
        // selection's indices.
        let grid = SquareGrid::new(100.0).unwrap();
        let study = StudyArea::square(grid, &land()).unwrap();
        let mut b = EventViewBuilder::new((670_000.0, 6_570_000.0));
        let mut state = 7u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % m
        };
        for k in 0..5_000i64 {
            let x = 673_800.0 + next(1_400) as f64;
            let y = 6_579_800.0 + next(1_400) as f64;
            let p = Precision::ALL[next(Precision::ALL.len() as u64) as usize];
            let s = [Source::Crimes, Source::PoliceEvents, Source::Fires][next(3) as usize];
            let c = [NormCategory::Violence, NormCategory::Other][next(2) as usize];
            b.push(k * 173, x, y, s, c, p, "x", None);
        }
        let view = b.build();
        let selections = [
            crate::selection::Selection::all(),
            crate::selection::Selection {
                sources: Some(vec![Source::Crimes, Source::Fires]),
                categories: Some(vec![NormCategory::Violence]),
                from_utc: Some(100_000),
                to_utc: Some(600_000),
                ..Default::default()
            },
            crate::selection::Selection {
                hours: Some(crate::selection::HourFilter::range(22, 4).unwrap()),
                ..Default::default()
            },
        ];
        for selection in &selections {
            let (indices, left_out) = selection.indices_and_left_out(&view);
            let expected = study.bin_with(&view, indices, &Sweref99Tm).unwrap();
            let got = study.bin_selection(&view, selection, &Sweref99Tm).unwrap();
            assert_eq!(got, (expected, left_out), "{selection:?}");
            assert!(got.0.summary.binned > 0 && got.0.summary.outside_study_area > 0);
        }
    }

    #[test]
    fn counts_a_store_made_per_grid_cell_bin_as_the_view_does() {
        // Seeded events with fractional coordinates, some on cell edges, of
        // every precision: the store's per-cell, per-precision groups (a plain
        // grouping here) give exactly what binning the view's events gives.
        let grid = SquareGrid::new(100.0).unwrap();
        let study = StudyArea::square(grid, &land()).unwrap();
        let mut b = EventViewBuilder::new((670_000.0, 6_570_000.0));
        let mut state = 11u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % m
        };
        for k in 0..4_000i64 {
            let edge = next(4) == 0;
            let x = 673_800.0 + next(1_400) as f64 + if edge { 0.0 } else { 0.37 };
            let y = 6_579_800.0 + next(1_400) as f64 + if edge { 0.0 } else { 0.61 };
            let p = Precision::ALL[next(Precision::ALL.len() as u64) as usize];
            b.push(k, x, y, Source::Crimes, NormCategory::Other, p, "x", None);
        }
        let view = b.build();
        let mut groups: std::collections::BTreeMap<(Precision, i64, i64), u64> =
            std::collections::BTreeMap::new();
        for i in 0..view.len() {
            let (x, y) = view.xy(i);
            let c = grid.cell_of(x, y);
            *groups.entry((view.precision(i), c.col, c.row)).or_default() += 1;
        }
        let groups: Vec<trygg_store::GridCount> = groups
            .into_iter()
            .map(|((precision, col, row), count)| trygg_store::GridCount {
                precision,
                col,
                row,
                count,
            })
            .collect();
        let expected = study
            .bin_with(&view, 0..view.len() as u32, &Sweref99Tm)
            .unwrap();
        assert_eq!(study.binned_from_grid(&groups), Some(expected.clone()));
        assert!(expected.summary.binned > 0 && expected.summary.outside_study_area > 0);
        assert!(expected.summary.excluded_imprecise > 0);
        let hex = StudyArea::h3(9, &land(), &Sweref99Tm).unwrap();
        assert_eq!(
            hex.binned_from_grid(&groups),
            None,
            "hexagons are not grid cells"
        );
    }

    #[test]
    fn queen_and_band_neighbours() {
        let grid = SquareGrid::new(100.0).unwrap();
        let cells = (0..5).flat_map(|r| (0..5).map(move |c| SquareCell { col: c, row: r }));
        let study = StudyArea::from_square_cells(grid, cells);
        let centre = 12; // (2, 2)
        let q = study.neighbours(Neighbourhood::Queen).unwrap();
        assert_eq!(q.of(centre), &[6, 7, 8, 11, 13, 16, 17, 18]);
        assert_eq!(q.of(0), &[1, 5, 6]);
        let rook = study
            .neighbours(Neighbourhood::Band { radius_cells: 1.0 })
            .unwrap();
        assert_eq!(rook.of(centre), &[7, 11, 13, 17]);
        let two = study
            .neighbours(Neighbourhood::Band { radius_cells: 2.0 })
            .unwrap();
        assert_eq!(two.of(centre).len(), 12);
        let sqrt5 = study
            .neighbours(Neighbourhood::Band {
                radius_cells: 5f64.sqrt(),
            })
            .unwrap();
        assert_eq!(sqrt5.of(centre).len(), 20);
        assert!(study
            .neighbours(Neighbourhood::Band { radius_cells: 0.5 })
            .is_err());
    }

    #[test]
    fn neighbour_lists_are_validated() {
        assert!(Neighbours::from_lists(&[vec![1], vec![0]]).is_ok());
        assert!(Neighbours::from_lists(&[vec![0], vec![]]).is_err());
        assert!(Neighbours::from_lists(&[vec![2], vec![]]).is_err());
        assert!(Neighbours::from_lists(&[vec![1, 1], vec![]]).is_err());
    }

    #[test]
    fn hex_study_area_over_land() {
        let study = StudyArea::h3(9, &land(), &Sweref99Tm).unwrap();
        // Res 9 hexagons are ~0.1 km²: about 9-11 centres on 0.94 km² of land.
        assert!((7..=13).contains(&study.len()), "{}", study.len());
        for c in study.cells() {
            assert!(land().locate(c.x, c.y).is_some());
        }
        let nb = study.neighbours(Neighbourhood::Queen).unwrap();
        assert!((0..study.len()).all(|i| nb.of(i).len() <= 6));
        let mut b = EventViewBuilder::new((670_000.0, 6_570_000.0));
        let c = &study.cells()[0];
        b.push(
            0,
            c.x,
            c.y,
            Source::Crimes,
            NormCategory::Other,
            Precision::Exact,
            "x",
            None,
        );
        let view = b.build();
        assert_eq!(
            study.bin(&view, [0]),
            Err(StudyAreaError::ProjectionRequired)
        );
        let counts = study.bin_with(&view, [0], &Sweref99Tm).unwrap();
        assert_eq!(counts.counts[0], 1);
        assert!(matches!(
            StudyArea::h3(16, &land(), &Sweref99Tm),
            Err(StudyAreaError::InvalidResolution(16))
        ));
    }
}
