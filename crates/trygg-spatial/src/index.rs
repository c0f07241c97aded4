//! Point → area lookup for millions of points: a uniform grid over the areas'
//! bounding box where each cell is precomputed as "inside area k", "outside all
//! areas" or "boundary: test these candidates", so most points cost one array read.
//!
//! Points in boundary cells run an exact even-odd test with robust orientation
//! predicates, but only over the edges of the candidate area that cross the point's
//! grid row (each area's edges are pre-sorted into row bands), which keeps the test
//! to a handful of edges even for detailed polygons.
//!
//! Areas are closed sets: a point on an area's boundary is in the area, and a point
//! on a border shared by several areas gets the lowest index. Areas may overlap (the
//! lowest index wins there too); each multipolygon is expected to be valid (its own
//! polygons do not overlap).
//!
//! Exactness rests on one monotone function per axis, `row(y) = floor((y - min_y) /
//! cell)`: an edge is filed under every row between `row` of its lowest and highest
//! vertex, and a point is tested against the edges filed under `row` of its own y, so
//! no edge that could cross the point's horizontal ray is ever skipped. Cells are
//! marked "pure" only when no edge comes within one cell column (and a small margin
//! vertically) of them, and a pure cell takes the status of its centre.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo_types::{Coord, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use trygg_model::Extent;

/// Cell value: no area covers the cell.
const OUTSIDE: u32 = u32::MAX;
/// Cell value flag: the low 31 bits index a candidate list.
const BOUNDARY: u32 = 1 << 31;
/// Candidate flag: the area covers the whole cell, no test needed.
const ALWAYS: u32 = 1 << 31;
/// Candidate flag: the last candidate of its cell.
const LAST: u32 = 1 << 30;
/// Candidate mask for the area index (areas beyond 2^30 - 1 are not indexed).
const AREA: u32 = LAST - 1;
/// Default number of grid cells: 16 per edge, at most 256 Ki cells (1 MiB, ~48 m
/// cells over Stockholm's 117 stadsdelar, which measured fastest among 20-250 m),
/// at least 4 Ki.
const CELLS_PER_EDGE: f64 = 16.0;
const MAX_DEFAULT_CELLS: f64 = 262_144.0;
const MIN_DEFAULT_CELLS: f64 = 4_096.0;
/// Upper bound on grid cells whatever the requested cell size (64 MiB of cells).
const MAX_CELLS: f64 = 16_777_216.0;

/// One polygon edge from `a` to `b` (any ring, any direction).
#[derive(Debug, Clone, Copy)]
struct Edge {
    ax: f64,
    ay: f64,
    bx: f64,
    by: f64,
}

/// Where an area's row bands start: band `r` (for grid row `row0 + r`) is
/// `edges[band_start[base + r]..band_start[base + r + 1]]`.
#[derive(Debug, Clone, Copy, Default)]
struct Bands {
    row0: usize,
    rows: usize,
    base: usize,
}

/// The grid geometry and the monotone coordinate → column/row functions.
#[derive(Debug, Clone, Copy)]
struct Grid {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    cell: f64,
    inv: f64,
    nx: usize,
    ny: usize,
}

impl Grid {
    /// Column of an x within `[min_x, max_x]` (values a little outside clamp).
    #[inline]
    fn col(&self, x: f64) -> usize {
        // `as` saturates: negatives become 0, which only happens for values outside
        // the grid during rasterisation, where clamping is what we want.
        (((x - self.min_x) * self.inv) as usize).min(self.nx - 1)
    }

    /// Row of a y within `[min_y, max_y]`.
    #[inline]
    fn row(&self, y: f64) -> usize {
        (((y - self.min_y) * self.inv) as usize).min(self.ny - 1)
    }

    #[inline]
    fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.min_x && x <= self.max_x && y >= self.min_y && y <= self.max_y
    }
}

/// The areas' edges, banded by grid row, and the exact point-in-area test.
#[derive(Debug, Clone)]
struct Polys {
    grid: Grid,
    bands: Vec<Bands>,
    band_start: Vec<usize>,
    edges: Vec<Edge>,
}

impl Polys {
    /// The edges of area `k` filed under grid row `row`, as a range of `edges`.
    fn band_of(&self, k: usize, row: usize) -> Option<(usize, usize)> {
        let b = self.bands.get(k)?;
        let r = row.checked_sub(b.row0).filter(|r| *r < b.rows)?;
        Some((
            *self.band_start.get(b.base + r)?,
            *self.band_start.get(b.base + r + 1)?,
        ))
    }

    /// Whether `(x, y)`, which lies in grid row `row`, is in area `k` or on its
    /// boundary.
    fn contains(&self, k: usize, row: usize, x: f64, y: f64) -> bool {
        self.band_of(k, row)
            .and_then(|(start, end)| self.edges.get(start..end))
            .is_some_and(|edges| in_band(edges, x, y))
    }
}

/// Even-odd ray casting towards +x over the edges of one area's row band: whether
/// `(x, y)` is inside the area or on its boundary. Exact: only comparisons, and
/// orientation signs with Shewchuk's error bound (falling back to robust arithmetic
/// when the fast sign is uncertain).
#[inline]
fn in_band(edges: &[Edge], x: f64, y: f64) -> bool {
    let mut inside = false;
    for e in edges {
        let a_above = e.ay > y;
        let b_above = e.by > y;
        if a_above != b_above {
            // The edge crosses the line through the point (half-open in y, so a
            // vertex on the line is counted once). Decide the side cheaply where
            // the edge's x-range allows, by orientation otherwise.
            if x < e.ax.min(e.bx) {
                inside = !inside;
                continue;
            }
            if x > e.ax.max(e.bx) {
                continue;
            }
            match orientation(e, x, y) {
                Orientation::Collinear => return true,
                // Upward edge with the point on its left, or downward edge with
                // the point on its right: the crossing is to the point's right.
                Orientation::CounterClockwise => inside ^= b_above,
                Orientation::Clockwise => inside ^= a_above,
            }
        } else if e.ay == y || e.by == y {
            // The edge only touches the line: at its top vertex, or along it.
            if e.ay == e.by {
                if x >= e.ax.min(e.bx) && x <= e.ax.max(e.bx) {
                    return true;
                }
            } else if (e.ay == y && e.ax == x) || (e.by == y && e.bx == x) {
                return true;
            }
        }
    }
    inside
}

/// Which side of edge a → b the point is on: Shewchuk's fast filter inline, the
/// robust (adaptive exact) predicate when the filter cannot tell.
#[inline]
fn orientation(e: &Edge, x: f64, y: f64) -> Orientation {
    // Shewchuk's orient2d(a, b, p) error bound for the fast evaluation.
    const EPS: f64 = f64::EPSILON * 0.5;
    const BOUND: f64 = (3.0 + 16.0 * EPS) * EPS;
    let left = (e.ax - x) * (e.by - y);
    let right = (e.ay - y) * (e.bx - x);
    let det = left - right;
    let sum = (left + right).abs();
    if (left > 0.0 && right <= 0.0) || (left < 0.0 && right >= 0.0) || det.abs() > BOUND * sum {
        if det > 0.0 {
            return Orientation::CounterClockwise;
        }
        if det < 0.0 {
            return Orientation::Clockwise;
        }
    }
    RobustKernel::orient2d(
        Coord { x: e.ax, y: e.ay },
        Coord { x: e.bx, y: e.by },
        Coord { x, y },
    )
}

/// A boundary cell's candidate: an area and its edges in the cell's row.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// The area's index, with [`ALWAYS`] set if it covers the whole cell and
    /// [`LAST`] set on the cell's last candidate.
    area: u32,
    /// `edges[start..end]` is the area's band for the cell's row.
    start: u32,
    end: u32,
}

/// Fast point → area lookup over a list of multipolygons (in any one metric CRS,
/// normally EPSG:3006). See the module documentation for how it works.
#[derive(Clone)]
pub struct AreaIndex {
    polys: Polys,
    /// Per cell: an area index, [`OUTSIDE`], or [`BOUNDARY`] | the position of the
    /// cell's first candidate (one read less than a separate offsets table).
    cells: Vec<u32>,
    /// Per boundary cell, its areas in ascending order, the last flagged [`LAST`]
    /// (and [`ALWAYS`] if it covers the cell).
    candidates: Vec<Candidate>,
    extent: Option<Extent>,
}

impl std::fmt::Debug for AreaIndex {
    // A summary: the derived form would print every cell.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AreaIndex")
            .field("areas", &self.polys.bands.len())
            .field("extent", &self.extent)
            .field("cell_size", &self.cell_size())
            .field("cells", &(self.polys.grid.nx, self.polys.grid.ny))
            .field("candidates", &self.candidates.len())
            .field("edges", &self.polys.edges.len())
            .finish()
    }
}

impl AreaIndex {
    /// Indexes `areas` with a cell size chosen for 16 cells per polygon edge, at most
    /// 256 Ki cells, over their bounding box. Areas with non-finite coordinates or
    /// no edges are never found.
    pub fn new(areas: &[MultiPolygon<f64>]) -> AreaIndex {
        AreaIndex::build(areas, None)
    }

    /// Indexes `areas` with square cells of `cell_size` map units (enlarged if the
    /// grid would exceed 16 Mi cells). Smaller cells make more points one array
    /// read, at the cost of memory and build time.
    pub fn with_cell_size(areas: &[MultiPolygon<f64>], cell_size: f64) -> AreaIndex {
        AreaIndex::build(areas, Some(cell_size))
    }

    /// The index of the area containing `(x, y)`: the lowest index among the areas
    /// whose interior or boundary holds the point; `None` if none does (or the
    /// coordinates are not finite).
    #[inline]
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        let grid = &self.polys.grid;
        if !grid.contains(x, y) {
            return None;
        }
        let row = grid.row(y);
        let value = *self.cells.get(row * grid.nx + grid.col(x))?;
        if value == OUTSIDE {
            return None;
        }
        if value & BOUNDARY == 0 {
            return Some(value as usize);
        }
        for c in self.candidates.get((value & !BOUNDARY) as usize..)? {
            let k = (c.area & AREA) as usize;
            if c.area & ALWAYS != 0 {
                return Some(k);
            }
            if self
                .polys
                .edges
                .get(c.start as usize..c.end as usize)
                .is_some_and(|edges| in_band(edges, x, y))
            {
                return Some(k);
            }
            if c.area & LAST != 0 {
                break;
            }
        }
        None
    }

    /// The bounding box of all indexed areas; `None` when there are none.
    pub fn bounds(&self) -> Option<Extent> {
        self.extent
    }

    /// The grid's cell size in map units (0 when there are no areas).
    pub fn cell_size(&self) -> f64 {
        if self.cells.is_empty() {
            0.0
        } else {
            self.polys.grid.cell
        }
    }

    fn build(areas: &[MultiPolygon<f64>], cell_size: Option<f64>) -> AreaIndex {
        // Areas beyond 2^30 - 1 (never in practice) are left out rather than aliased.
        let usable = areas.len().min(AREA as usize);
        let area_edges: Vec<Vec<Edge>> = areas[..usable].iter().map(edges_of).collect();

        let mut extent: Option<Extent> = None;
        for e in area_edges.iter().flatten() {
            let ex = extent.get_or_insert(Extent {
                min_x: e.ax,
                min_y: e.ay,
                max_x: e.ax,
                max_y: e.ay,
            });
            ex.min_x = ex.min_x.min(e.ax).min(e.bx);
            ex.max_x = ex.max_x.max(e.ax).max(e.bx);
            ex.min_y = ex.min_y.min(e.ay).min(e.by);
            ex.max_y = ex.max_y.max(e.ay).max(e.by);
        }
        let Some(ext) = extent else {
            return AreaIndex::empty();
        };
        let edge_count = area_edges.iter().map(Vec::len).sum::<usize>() as f64;
        let grid = grid_for(&ext, cell_size, edge_count);
        let polys = band(grid, &area_edges);

        // (cell, area) for every cell an edge of the area comes near, sorted.
        let mut touched: Vec<u64> = Vec::new();
        for (k, edges) in area_edges.iter().enumerate() {
            for e in edges {
                rasterise(&grid, e, |cell| {
                    touched.push(((cell as u64) << 32) | k as u64)
                });
            }
        }
        touched.sort_unstable();
        touched.dedup();

        let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = area_edges
            .iter()
            .enumerate()
            .filter(|(_, edges)| !edges.is_empty())
            .map(|(k, edges)| {
                let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
                for e in edges {
                    lo = [lo[0].min(e.ax).min(e.bx), lo[1].min(e.ay).min(e.by)];
                    hi = [hi[0].max(e.ax).max(e.bx), hi[1].max(e.ay).max(e.by)];
                }
                GeomWithData::new(Rectangle::from_corners(lo, hi), k)
            })
            .collect();
        let tree = RTree::bulk_load(boxes);

        let mut cells = vec![OUTSIDE; grid.nx * grid.ny];
        let mut candidates = Vec::new();
        let mut next = 0;
        let mut covering: Vec<usize> = Vec::new();
        let mut list: Vec<u32> = Vec::new();
        for row in 0..grid.ny {
            let cy = grid.min_y + (row as f64 + 0.5) * grid.cell;
            let centre_row = grid.row(cy);
            for col in 0..grid.nx {
                let cell = row * grid.nx + col;
                let cx = grid.min_x + (col as f64 + 0.5) * grid.cell;
                let first = next;
                while next < touched.len() && (touched[next] >> 32) as usize == cell {
                    next += 1;
                }
                let edge_areas = touched[first..next]
                    .iter()
                    .map(|t| (t & 0xFFFF_FFFF) as usize);
                // Areas with no edge near the cell are inside or outside it as a whole:
                // their status at the centre is their status everywhere in the cell.
                covering.clear();
                covering.extend(
                    tree.locate_all_at_point(&[cx, cy])
                        .map(|g| g.data)
                        .filter(|k| {
                            !touched[first..next]
                                .iter()
                                .any(|t| (t & 0xFFFF_FFFF) as usize == *k)
                        }),
                );
                let whole = covering
                    .iter()
                    .copied()
                    .filter(|&k| polys.contains(k, centre_row, cx, cy))
                    .min();
                list.clear();
                list.extend(
                    edge_areas
                        .filter(|&k| whole.is_none_or(|w| k < w))
                        .map(|k| k as u32),
                );
                cells[cell] = match (list.is_empty(), whole) {
                    (true, None) => OUTSIDE,
                    (true, Some(w)) => w as u32,
                    (false, _) => {
                        // Candidate positions fit 31 bits: each candidate is a (cell, area)
                        // pair from `touched` or one ALWAYS entry per cell, and 2^31 of
                        // those would need 16 GiB in `touched` alone.
                        let first = BOUNDARY | u32::try_from(candidates.len()).unwrap_or(AREA);
                        for &k in &list {
                            // Band offsets fit u32: 2^32 edges would need 128 GiB.
                            let (start, end) = polys.band_of(k as usize, row).unwrap_or((0, 0));
                            let (start, end) = (
                                u32::try_from(start).unwrap_or(0),
                                u32::try_from(end).unwrap_or(0),
                            );
                            candidates.push(Candidate {
                                area: k,
                                start,
                                end,
                            });
                        }
                        if let Some(w) = whole {
                            candidates.push(Candidate {
                                area: w as u32 | ALWAYS,
                                start: 0,
                                end: 0,
                            });
                        }
                        if let Some(last) = candidates.last_mut() {
                            last.area |= LAST;
                        }
                        first
                    }
                };
            }
        }
        AreaIndex {
            polys,
            cells,
            candidates,
            extent,
        }
    }

    fn empty() -> AreaIndex {
        let grid = Grid {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
            cell: 1.0,
            inv: 1.0,
            nx: 1,
            ny: 1,
        };
        AreaIndex {
            polys: Polys {
                grid,
                bands: Vec::new(),
                band_start: vec![0],
                edges: Vec::new(),
            },
            cells: Vec::new(),
            candidates: Vec::new(),
            extent: None,
        }
    }

    /// Share of grid cells that need an exact test (for tuning and the report).
    #[cfg(test)]
    fn boundary_share(&self) -> f64 {
        let boundary = self
            .cells
            .iter()
            .filter(|&&v| v != OUTSIDE && v & BOUNDARY != 0)
            .count();
        boundary as f64 / self.cells.len().max(1) as f64
    }
}

/// All non-degenerate edges of a multipolygon; none if any coordinate is not finite.
fn edges_of(mp: &MultiPolygon<f64>) -> Vec<Edge> {
    let mut edges = Vec::new();
    for polygon in mp {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            let coords = &ring.0;
            let closing = match (coords.first(), coords.last()) {
                (Some(first), Some(last)) if first != last => Some([*last, *first]),
                _ => None,
            };
            for pair in coords.windows(2).map(|w| [w[0], w[1]]).chain(closing) {
                let [a, b] = pair;
                if !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
                    return Vec::new();
                }
                if a != b {
                    edges.push(Edge {
                        ax: a.x,
                        ay: a.y,
                        bx: b.x,
                        by: b.y,
                    });
                }
            }
        }
    }
    edges
}

/// The grid over `ext`: cells of `cell_size`, or sized by the number of edges.
fn grid_for(ext: &Extent, cell_size: Option<f64>, edges: f64) -> Grid {
    let w = ext.max_x - ext.min_x;
    let h = ext.max_y - ext.min_y;
    let target = (edges * CELLS_PER_EDGE).clamp(MIN_DEFAULT_CELLS, MAX_DEFAULT_CELLS);
    // Square cells for the target count, unless the box is so elongated (over 16:1)
    // that would put more than 4 sqrt(target) cells along its long side.
    let auto = (w * h / target)
        .sqrt()
        .max(w.max(h) / (4.0 * target.sqrt()));
    let mut cell = match cell_size {
        Some(c) if c.is_finite() && c > 0.0 => c,
        _ => auto,
    };
    if !(cell.is_finite() && cell > 0.0) {
        cell = 1.0;
    }
    while (w / cell + 1.0) * (h / cell + 1.0) > MAX_CELLS {
        cell *= 2.0;
    }
    let inv = 1.0 / cell;
    Grid {
        min_x: ext.min_x,
        min_y: ext.min_y,
        max_x: ext.max_x,
        max_y: ext.max_y,
        cell,
        inv,
        nx: (w * inv) as usize + 1,
        ny: (h * inv) as usize + 1,
    }
}

/// Files every area's edges under each grid row its y-range meets.
fn band(grid: Grid, area_edges: &[Vec<Edge>]) -> Polys {
    let mut bands = Vec::with_capacity(area_edges.len());
    let mut band_start = vec![0usize];
    let mut edges = Vec::new();
    for list in area_edges {
        let row_range = |e: &Edge| (grid.row(e.ay.min(e.by)), grid.row(e.ay.max(e.by)));
        let Some(row0) = list.iter().map(|e| row_range(e).0).min() else {
            bands.push(Bands {
                row0: 0,
                rows: 0,
                base: band_start.len() - 1,
            });
            continue;
        };
        let row1 = list.iter().map(|e| row_range(e).1).max().unwrap_or(row0);
        let rows = row1 - row0 + 1;
        let mut counts = vec![0usize; rows];
        for e in list {
            let (r0, r1) = row_range(e);
            for count in &mut counts[r0 - row0..=r1 - row0] {
                *count += 1;
            }
        }
        let base = band_start.len() - 1;
        let offset = edges.len();
        let mut cursor = Vec::with_capacity(rows);
        let mut total = offset;
        for count in &counts {
            cursor.push(total);
            total += count;
            band_start.push(total);
        }
        edges.resize(
            total,
            Edge {
                ax: 0.0,
                ay: 0.0,
                bx: 0.0,
                by: 0.0,
            },
        );
        for e in list {
            let (r0, r1) = row_range(e);
            for slot in &mut cursor[r0 - row0..=r1 - row0] {
                edges[*slot] = *e;
                *slot += 1;
            }
        }
        bands.push(Bands { row0, rows, base });
    }
    Polys {
        grid,
        bands,
        band_start,
        edges,
    }
}

/// Calls `mark` for every cell the edge comes near: each row its y-range meets, and
/// in that row the columns its x-range there spans, one column wider each side.
fn rasterise(grid: &Grid, e: &Edge, mut mark: impl FnMut(usize)) {
    let (y_min, y_max) = (e.ay.min(e.by), e.ay.max(e.by));
    let (x_min, x_max) = (e.ax.min(e.bx), e.ax.max(e.bx));
    let margin = grid.cell * 1e-3;
    for row in grid.row(y_min)..=grid.row(y_max) {
        let lo = grid.min_y + row as f64 * grid.cell - margin;
        let hi = lo + grid.cell + 2.0 * margin;
        let (x0, x1) = if e.ay == e.by {
            (x_min, x_max)
        } else {
            let at = |y: f64| e.ax + (y - e.ay) * (e.bx - e.ax) / (e.by - e.ay);
            let (xa, xb) = (at(y_min.max(lo)), at(y_max.min(hi)));
            (
                xa.min(xb).clamp(x_min, x_max),
                xa.max(xb).clamp(x_min, x_max),
            )
        };
        let c0 = grid.col(x0).saturating_sub(1);
        let c1 = (grid.col(x1) + 1).min(grid.nx - 1);
        for col in c0..=c1 {
            mark(row * grid.nx + col);
        }
    }
}

#[cfg(test)]
mod tests;
