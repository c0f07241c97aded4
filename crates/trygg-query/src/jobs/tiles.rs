//! Map tiles of the snapshot (Mapbox Vector Tiles and PNG through
//! `trygg-tiles`), with the same filters as every other request:
//!
//! - `grid`: point events counted per cell (SWEREF 99 TM squares whose size
//!   follows the zoom, [`cell_for_zoom`], or H3 hexagons), land cells only: the
//!   counts are the `hotspots` job's cell counts of the whole map ([`CellField`],
//!   made once per snapshot and filters and cut into tiles), published under the
//!   same suppression rule; a suppressed or empty cell is not drawn;
//! - `hotspots`: the `hotspots` job's Gi* classes (FDR-adjusted) of the whole
//!   map at the zoom's cells, significant cells only;
//! - `heat`: a quartic kernel density of the same cell counts (so a viewer's
//!   heat is made of published counts only) as PNG, on a fixed ramp whose top
//!   and bandwidth [`TileRequest::heat_legend`] states;
//! - `areas`: an area layer's polygons with their statistics (the counts
//!   request's published rows), for choropleths;
//! - `events`: the point events themselves (exact, address, street precision
//!   only: the only ones in the view's R-tree), from a minimum zoom, the
//!   hidden (sensitive) categories only from a higher one; thinned evenly above [`MAX_POINTS`], the
//!   features then saying `thinned = true` and how many each stands for;
//! - `basemap`: land, water, area outlines and label points from the store's
//!   own layers, so a map needs no external tiles.
//!
//! No tile is over [`MAX_TILE_BYTES`]: cells too small for a zoom are
//! aggregated to coarser ones (`aggregated = true`), polygons generalised
//! further (`generalised` = the factor), points thinned. Tiles away from the
//! study area, or above and below the zoom range, are empty, computed without
//! touching the events.

use std::sync::Arc;

use geo::{BooleanOps, BoundingRect, InteriorPoint, Simplify};
use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};
use trygg_analytics::study_area::CellSystem;
use trygg_store::ViewQuery;
use trygg_tiles::heat::{self, Raster};
use trygg_tiles::{Layer, Shape, TileId, Value, BUFFER, EXTENT};

use crate::access::Hidden;
use crate::disclosure::Count;
use crate::error::QueryError;
use crate::jobs::hotspots::{CellField, HotspotsRequest, HotspotsResult};
use crate::jobs::{Job, Options, Proj};
use crate::params::{CellParams, Cells, DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::Snapshot;

/// From this zoom a tile's events are looked up in the view's R-tree; below it
/// (a tile spans several kilometres) the time range is scanned.
pub const RTREE_MIN_ZOOM: u8 = 14;

/// Most points drawn in one `events` tile (about 40 bytes each encoded: well
/// under [`MAX_TILE_BYTES`]); beyond it the tile is thinned.
pub const MAX_POINTS: usize = 10_000;

/// Most cells in one `grid` or `hotspots` tile (about 50 bytes each); smaller
/// cells are aggregated to coarser ones.
pub const MAX_TILE_CELLS: f64 = 6_000.0;

/// No tile is larger.
pub const MAX_TILE_BYTES: usize = 500_000;

/// Where tiles can have anything: Sweden with a margin (WGS 84 west, south, east,
/// north). A tile outside it is empty without a projection (SWEREF 99 TM is not
/// defined far from Sweden).
pub const TILE_AREA: [f64; 4] = [10.0, 54.5, 25.0, 69.5];

/// Stockholm's latitude, for metres per pixel where a tile has no better one.
const REFERENCE_LAT: f64 = 59.3;

/// A tile's filters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TileRequest {
    /// The days.
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// `grid`, `hotspots`: the square size in metres (default by zoom: 1 km to
    /// z10, 500 m at z11, 250 m at z12-13, 100 m from z14).
    pub cell: Option<f64>,
    /// `grid`, `hotspots`: H3 hexagons of this resolution instead of squares.
    pub h3: Option<u8>,
    /// `grid`, `hotspots`: H3 hexagons whose resolution follows the zoom (8 to
    /// z10, 9 at z11-12, 10 from z13).
    pub hex: bool,
    /// `heat`: the kernel's bandwidth in metres (default by zoom, see
    /// [`bandwidth_for_zoom`]).
    pub bandwidth: Option<f64>,
    /// `heat`: events per km² at the top of the colour ramp (default: the
    /// densest square kilometre's events, so tiles share one scale).
    pub top: Option<f64>,
    /// Suppression (forced for viewers).
    #[serde(flatten)]
    pub disclosure: DisclosureParams,
    /// Categories hidden as points (set from the access policy).
    #[serde(skip)]
    #[schemars(skip)]
    pub hidden: Hidden,
}

/// The default grid cell of a zoom.
pub fn cell_for_zoom(z: u8) -> f64 {
    match z {
        0..=10 => 1000.0,
        11 => 500.0,
        12 | 13 => 250.0,
        _ => 100.0,
    }
}

/// The default H3 resolution of a zoom.
pub fn h3_for_zoom(z: u8) -> u8 {
    match z {
        0..=10 => 8,
        11 | 12 => 9,
        _ => 10,
    }
}

/// Metres on the ground per pixel of a 256-pixel tile at zoom `z`.
fn metres_per_256px(z: u8) -> f64 {
    let equator = 2.0 * std::f64::consts::PI * 6_378_137.0;
    equator * REFERENCE_LAT.to_radians().cos() / (f64::from(1u32 << z.min(30)) * 256.0)
}

/// The default heat bandwidth of a zoom: 12 pixels of a 256-pixel tile,
/// rounded to 50 m, between 200 m and 5 km (z10: 900 m, z12: 250 m, from z13:
/// 200 m).
pub fn bandwidth_for_zoom(z: u8) -> f64 {
    ((12.0 * metres_per_256px(z) / 50.0).round() * 50.0).clamp(200.0, 5_000.0)
}

/// The cells a heat surface of bandwidth `h` is made from: the largest of 50,
/// 100, 250, 500 and 1000 m at most a quarter of it.
fn heat_cell(h: f64) -> f64 {
    [1000.0, 500.0, 250.0, 100.0]
        .into_iter()
        .find(|&c| c <= h / 4.0)
        .unwrap_or(50.0)
}

/// Approximate H3 cell width in metres (the square root of its mean area: res 8
/// is 0.737 km², each coarser resolution 7 times more).
fn h3_width(res: u8) -> f64 {
    (737_327.6 * 7f64.powi(8 - i32::from(res))).sqrt()
}

/// The part of the tile (buffered) inside [`TILE_AREA`], as an EPSG:3006 box.
fn store_box(tile: TileId, proj: &Proj) -> Result<Option<[f64; 4]>, QueryError> {
    let [w, s, e, n] = tile.bounds(BUFFER);
    let [aw, as_, ae, an] = TILE_AREA;
    let (w, s, e, n) = (w.max(aw), s.max(as_), e.min(ae), n.min(an));
    if w >= e || s >= n {
        return Ok(None);
    }
    proj.store_envelope([w, s, e, n]).map(Some)
}

fn encode_err(e: trygg_tiles::TileError) -> QueryError {
    QueryError::Io(std::io::Error::other(e.to_string()))
}

/// Whether a point lies in a box widened by `margin`.
fn near([x0, y0, x1, y1]: [f64; 4], margin: f64, x: f64, y: f64) -> bool {
    x >= x0 - margin && x <= x1 + margin && y >= y0 - margin && y <= y1 + margin
}

/// Tile pixels of EPSG:3006 rings.
fn pixels(
    tile: TileId,
    proj: &Proj,
    ring: impl IntoIterator<Item = (f64, f64)>,
) -> Result<Vec<(f64, f64)>, QueryError> {
    ring.into_iter()
        .map(|(x, y)| {
            let [lon, lat] = proj.lon_lat(x, y)?;
            Ok(tile.pixel(lon, lat))
        })
        .collect()
}

/// A multipolygon (EPSG:3006) in tile pixels, simplified by `tolerance` metres.
fn polygons_px(
    tile: TileId,
    proj: &Proj,
    geometry: &MultiPolygon<f64>,
    tolerance: f64,
) -> Result<Vec<trygg_tiles::Polygon>, QueryError> {
    let shown = geometry.simplify(tolerance);
    shown
        .0
        .iter()
        .map(|polygon| {
            std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .map(|ring| pixels(tile, proj, ring.0.iter().map(|c| (c.x, c.y))))
                .collect()
        })
        .collect()
}

/// Whether a geometry's bounding box meets a box.
fn meets(geometry: &MultiPolygon<f64>, [x0, y0, x1, y1]: [f64; 4]) -> bool {
    geometry
        .bounding_rect()
        .is_some_and(|r| r.max().x >= x0 && r.min().x <= x1 && r.max().y >= y0 && r.min().y <= y1)
}

/// Encodes with `make(factor)` for factors 1, 4, 16, 64 until the tile is
/// under [`MAX_TILE_BYTES`] (polygon layers: a factor multiplies the
/// simplification tolerance and is written on each feature; points: it
/// multiplies the thinning step, which each point states).
fn within_size(
    mut make: impl FnMut(f64) -> Result<Vec<u8>, QueryError>,
) -> Result<Vec<u8>, QueryError> {
    let mut factor = 1.0;
    loop {
        let bytes = make(factor)?;
        if bytes.len() <= MAX_TILE_BYTES || factor >= 64.0 {
            return Ok(bytes);
        }
        factor *= 4.0;
    }
}

/// A published count as a tile property: `key` with the number, or `text_key`
/// with its text ("<5") when suppressed.
fn count_prop(c: Count, key: &'static str, text_key: &'static str) -> (&'static str, Value) {
    match c {
        Count::Value(v) => (key, Value::Int(i64::try_from(v).unwrap_or(i64::MAX))),
        Count::Suppressed(_) => (text_key, Value::Text(c.text())),
    }
}

/// The generalisation property, when there was any.
fn generalised(factor: f64) -> Option<(&'static str, Value)> {
    (factor > 1.0).then_some(("generalised", Value::Float(factor)))
}

/// The cells a `grid` or `hotspots` tile shows.
struct TileCells {
    /// As asked of the field.
    params: CellParams,
    /// Coarser than asked, to keep the tile small.
    aggregated: bool,
    /// About how far a cell's edge is from its centre, at most (metres).
    reach: f64,
}

impl TileRequest {
    /// Validates the tile filters; a bad one is an error at every tile.
    pub fn validate(&self) -> Result<(), QueryError> {
        self.selection.validate(Some(&self.range))?;
        self.disclosure.threshold()?;
        if let Some(size) = self.cell {
            if !(10.0..=10_000.0).contains(&size) {
                return Err(QueryError::invalid(
                    "cell",
                    format!("{size} m is not 10..=10000"),
                ));
            }
        }
        if self.cell.is_some() && (self.h3.is_some() || self.hex) {
            return Err(QueryError::invalid(
                "h3",
                "squares (cell) or hexagons (h3, hex), not both",
            ));
        }
        if let Some(res) = self.h3 {
            if res > 15 {
                return Err(QueryError::invalid("h3", format!("{res} is not 0..=15")));
            }
        }
        if let Some(b) = self.bandwidth {
            if !(b.is_finite() && (10.0..=50_000.0).contains(&b)) {
                return Err(QueryError::invalid(
                    "bandwidth",
                    format!("{b} m is not 10..=50000"),
                ));
            }
        }
        if let Some(t) = self.top {
            if !(t.is_finite() && t > 0.0) {
                return Err(QueryError::invalid(
                    "top",
                    format!("{t} is not a positive density"),
                ));
            }
        }
        Ok(())
    }

    /// The cells of a `grid` or `hotspots` tile at zoom `z` whose box is
    /// `tile_box`: the asked (or the zoom's) cells, coarser when more than
    /// [`MAX_TILE_CELLS`] of them would fall where the tile and the land meet.
    fn tile_cells(
        &self,
        z: u8,
        tile_box: [f64; 4],
        snap: &Snapshot,
    ) -> Result<TileCells, QueryError> {
        let overlap = snap.land("grid")?.bounds().map_or(0.0, |b| {
            let w = tile_box[2].min(b.max_x) - tile_box[0].max(b.min_x);
            let h = tile_box[3].min(b.max_y) - tile_box[1].max(b.min_y);
            w.max(0.0) * h.max(0.0)
        });
        let fits = |width: f64| overlap / (width * width) <= MAX_TILE_CELLS;
        if self.h3.is_some() || self.hex {
            let asked = self.h3.unwrap_or_else(|| h3_for_zoom(z));
            let mut res = asked;
            while res > 0 && !fits(h3_width(res)) {
                res -= 1;
            }
            return Ok(TileCells {
                params: CellParams {
                    h3: Some(res),
                    ..CellParams::default()
                },
                aggregated: res != asked,
                reach: h3_width(res),
            });
        }
        let asked = self.cell.unwrap_or_else(|| cell_for_zoom(z));
        let mut size = asked;
        while !fits(size) {
            size *= 2.0;
        }
        Ok(TileCells {
            params: CellParams {
                grid: Some(size),
                ..CellParams::default()
            },
            aggregated: size != asked,
            reach: size,
        })
    }

    /// The published counts of the whole map on `cells`, made once per
    /// snapshot, filters and cells.
    fn field(
        &self,
        cells: &Cells,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Arc<CellField>, QueryError> {
        let selection = self.selection.validate(Some(&self.range))?;
        let threshold = self.disclosure.threshold()?;
        let key = format!(
            "cell field {:?} {} {threshold:?}",
            cells.system,
            serde_json::to_string(&selection).map_err(|e| QueryError::Io(e.into()))?
        );
        snap.memo(&key, || {
            CellField::new(snap, &selection, cells, threshold, budget)
        })
    }

    /// The hotspots of the whole map on `cells`, made once per snapshot,
    /// filters and cells: the `hotspots` job's result itself.
    fn hotspot_field(
        &self,
        cells: &CellParams,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Arc<HotspotsResult>, QueryError> {
        let request = HotspotsRequest {
            range: self.range.clone(),
            selection: self.selection.clone(),
            cells: cells.clone(),
            disclosure: self.disclosure,
            ..HotspotsRequest::default()
        };
        let key = format!(
            "hotspots {}",
            serde_json::to_string(&request).map_err(|e| QueryError::Io(e.into()))?
        );
        snap.memo(&key, || {
            request.run(
                snap,
                &Options {
                    budget: *budget,
                    geometry: false,
                },
            )
        })
    }

    /// Calls `f` with each matching point event inside `tile`'s EPSG:3006 box
    /// ([`store_box`]) widened by `margin` metres, in time order.
    fn for_each_in(
        &self,
        tile: TileId,
        snap: &Snapshot,
        [x0, y0, x1, y1]: [f64; 4],
        margin: f64,
        mut f: impl FnMut(usize),
    ) -> Result<(), QueryError> {
        let selection = self.selection.validate(Some(&self.range))?;
        let bbox = [x0 - margin, y0 - margin, x1 + margin, y1 + margin];
        let view = snap.view();
        let mut matcher = selection.matcher();
        if tile.z >= RTREE_MIN_ZOOM {
            let hits = view.query(&ViewQuery {
                source: None,
                categories: None,
                from_utc: selection.from_utc,
                to_utc: selection.to_utc,
                bbox: Some(bbox),
            });
            for i in hits {
                if matcher.matches(view, i as usize) {
                    f(i as usize);
                }
            }
            return Ok(());
        }
        // A tile covering much of the city: one pass over the time range beats
        // the R-tree (which would return most events, then sort them).
        let [x0, y0, x1, y1] = bbox;
        matcher.for_each(view, 0..view.len(), |i| {
            let (x, y) = view.xy(i);
            if x >= x0 && x <= x1 && y >= y0 && y <= y1 && view.precision(i).is_point() {
                f(i);
            }
        });
        Ok(())
    }

    /// A cell's outline in tile pixels.
    fn cell_shape(
        system: CellSystem,
        id: &str,
        (x, y): (f64, f64),
        tile: TileId,
        proj: &Proj,
    ) -> Result<Shape, QueryError> {
        let ring = match system {
            CellSystem::Square { size_m } => {
                pixels(tile, proj, crate::jobs::square_ring(x, y, size_m))?
            }
            CellSystem::H3 { .. } => {
                let mut ring: Vec<(f64, f64)> = trygg_analytics::hex::boundary(id)
                    .ok_or_else(|| QueryError::invalid("h3", format!("'{id}' is not an H3 cell")))?
                    .into_iter()
                    .map(|(lon, lat)| tile.pixel(lon, lat))
                    .collect();
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                ring
            }
        };
        Ok(Shape::Polygons(vec![vec![ring]]))
    }

    /// The properties naming a cell's size.
    fn size_props(system: CellSystem, aggregated: bool) -> Vec<(&'static str, Value)> {
        let mut props = match system {
            CellSystem::Square { size_m } => vec![("cell_m", Value::Float(size_m))],
            CellSystem::H3 { resolution } => vec![("h3", Value::Int(i64::from(resolution)))],
        };
        if aggregated {
            props.push(("aggregated", Value::Bool(true)));
        }
        props
    }

    /// The `grid` tile.
    pub fn grid(
        &self,
        tile: TileId,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Vec<u8>, QueryError> {
        self.validate()?;
        let mut layer = Layer::new("grid").map_err(encode_err)?;
        let proj = Proj::new()?;
        let Some(tile_box) = store_box(tile, &proj)? else {
            return Ok(layer.encode());
        };
        let cells = self.tile_cells(tile.z, tile_box, snap)?;
        let field = self.field(&cells.params.validate()?, snap, budget)?;
        let system = field.study.system();
        let size = Self::size_props(system, cells.aggregated);
        for (cell, count) in field.study.cells().iter().zip(&field.counts) {
            let Some(n) = count.value() else { continue };
            if n == 0 || !near(tile_box, cells.reach, cell.x, cell.y) {
                continue;
            }
            let mut props = vec![
                ("cell_id", Value::Text(cell.id.clone())),
                ("count", Value::Int(i64::try_from(n).unwrap_or(i64::MAX))),
            ];
            props.extend(size.iter().cloned());
            let shape = Self::cell_shape(system, &cell.id, (cell.x, cell.y), tile, &proj)?;
            layer.add(&shape, &props).map_err(encode_err)?;
        }
        Ok(layer.encode())
    }

    /// The `hotspots` tile: the significant cells of the whole map's Gi*.
    pub fn hotspots(
        &self,
        tile: TileId,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Vec<u8>, QueryError> {
        self.validate()?;
        let mut layer = Layer::new("hotspots").map_err(encode_err)?;
        let proj = Proj::new()?;
        let Some(tile_box) = store_box(tile, &proj)? else {
            return Ok(layer.encode());
        };
        let cells = self.tile_cells(tile.z, tile_box, snap)?;
        let field = self.hotspot_field(&cells.params, snap, budget)?;
        let size = Self::size_props(field.cell_system, cells.aggregated);
        for cell in &field.cells {
            if cell.class == 0 || !near(tile_box, cells.reach, cell.x, cell.y) {
                continue;
            }
            let mut props = vec![
                ("cell_id", Value::Text(cell.cell_id.clone())),
                ("class", Value::Int(i64::from(cell.class))),
                count_prop(cell.count, "count", "count_text"),
            ];
            for (key, v) in [("gi_z", cell.gi_z), ("p", cell.p), ("p_fdr", cell.p_fdr)] {
                if let Some(v) = v {
                    props.push((key, Value::Float(v)));
                }
            }
            props.extend(size.iter().cloned());
            let shape = Self::cell_shape(
                field.cell_system,
                &cell.cell_id,
                (cell.x, cell.y),
                tile,
                &proj,
            )?;
            layer.add(&shape, &props).map_err(encode_err)?;
        }
        Ok(layer.encode())
    }

    /// The scale of the `heat` tiles at zoom `z`: bandwidth, cells and the
    /// ramp's values.
    pub fn heat_legend(
        &self,
        z: u8,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<HeatLegend, QueryError> {
        self.validate()?;
        let bandwidth_m = self.bandwidth.unwrap_or_else(|| bandwidth_for_zoom(z));
        let cell_m = heat_cell(bandwidth_m);
        let top = match self.top {
            Some(t) => t,
            None => {
                let km = CellParams {
                    grid: Some(1000.0),
                    ..CellParams::default()
                };
                let field = self.field(&km.validate()?, snap, budget)?;
                let densest = field
                    .counts
                    .iter()
                    .filter_map(|c| c.value())
                    .max()
                    .unwrap_or(0);
                (densest as f64).max(1.0)
            }
        };
        Ok(HeatLegend {
            unit: "events per km²",
            kernel: "quartic",
            bandwidth_m,
            cell_m,
            top,
            stops: heat::RAMP
                .iter()
                .map(|&(t, _)| HeatStop {
                    value: t * top,
                    colour: {
                        let [r, g, b, a] = heat::colour(t);
                        format!("#{r:02x}{g:02x}{b:02x}{a:02x}")
                    },
                })
                .collect(),
            suppression: self.disclosure.threshold()?,
        })
    }

    /// The `heat` tile: PNG, [`heat::SIZE`] pixels square.
    pub fn heat(
        &self,
        tile: TileId,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Vec<u8>, QueryError> {
        let legend = self.heat_legend(tile.z, snap, budget)?;
        let empty = || heat::png(&[], &[], 0.0).map_err(encode_err);
        let proj = Proj::new()?;
        let Some(tile_box) = store_box(tile, &proj)? else {
            return empty();
        };
        let h = legend.bandwidth_m;
        let cells = CellParams {
            grid: Some(legend.cell_m),
            ..CellParams::default()
        };
        let field = self.field(&cells.validate()?, snap, budget)?;
        // EPSG:3006 ↔ output pixels: affine through three projected corners (a
        // tile is small enough for the difference to stay under a pixel).
        let scale = f64::from(EXTENT) / heat::SIZE as f64;
        let corner = |px: f64, py: f64| -> Result<(f64, f64), QueryError> {
            let (lon, lat) = tile.lon_lat(px * scale, py * scale);
            proj.xy(lon, lat)
        };
        let size = heat::SIZE as f64;
        let (o, ex, ey) = (corner(0.0, 0.0)?, corner(size, 0.0)?, corner(0.0, size)?);
        let (ax, ay) = ((ex.0 - o.0) / size, (ex.1 - o.1) / size);
        let (bx, by) = ((ey.0 - o.0) / size, (ey.1 - o.1) / size);
        let det = ax * by - bx * ay;
        if det.abs() < f64::EPSILON {
            return empty();
        }
        let to_px = |x: f64, y: f64| {
            let (dx, dy) = (x - o.0, y - o.1);
            ((dx * by - dy * bx) / det, (ax * dy - ay * dx) / det)
        };
        let metres_per_px = (ax * ax + ay * ay).sqrt();
        let mut raster = Raster::new(h / metres_per_px);
        let mut any = false;
        for (cell, count) in field.study.cells().iter().zip(&field.counts) {
            let Some(n) = count.value() else { continue };
            if n == 0 || !near(tile_box, h + legend.cell_m, cell.x, cell.y) {
                continue;
            }
            let (px, py) = to_px(cell.x, cell.y);
            raster.add(px, py, n as f32);
            any = true;
        }
        if !any {
            return empty();
        }
        // Kernel sums in units of the peak weight → events per km².
        let per_km2 = (3.0 / (std::f64::consts::PI * h * h) * 1e6) as f32;
        let density: Vec<f32> = raster.smooth().into_iter().map(|v| v * per_km2).collect();
        let land = snap.land("heat")?;
        let mut on_land = vec![false; heat::SIZE * heat::SIZE];
        for (k, slot) in on_land.iter_mut().enumerate() {
            if density[k] as f64 >= 0.01 * legend.top {
                let (px, py) = ((k % heat::SIZE) as f64 + 0.5, (k / heat::SIZE) as f64 + 0.5);
                let (x, y) = (o.0 + px * ax + py * bx, o.1 + px * ay + py * by);
                *slot = land.locate(x, y).is_some();
            }
        }
        heat::png(&density, &on_land, legend.top).map_err(encode_err)
    }

    /// The `events` tile: empty below `min_zoom`; the hidden (sensitive)
    /// categories only from `sensitive_min_zoom`.
    pub fn events(
        &self,
        tile: TileId,
        snap: &Snapshot,
        (min_zoom, sensitive_min_zoom): (u8, u8),
    ) -> Result<Vec<u8>, QueryError> {
        self.validate()?;
        let empty = || Ok(Layer::new("events").map_err(encode_err)?.encode());
        if tile.z < min_zoom {
            return empty();
        }
        let proj = Proj::new()?;
        let view = snap.view();
        let hide = tile.z < sensitive_min_zoom;
        let hidden_texts = self.hidden.codes(view);
        let mut events: Vec<usize> = Vec::new();
        let Some(tile_box) = store_box(tile, &proj)? else {
            return empty();
        };
        self.for_each_in(tile, snap, tile_box, 0.0, |i| {
            if !hide
                || (!self.hidden.hides_norm(view.category_norm(i))
                    && !hidden_texts[usize::from(view.category_code(i))])
            {
                events.push(i);
            }
        })?;
        // Thinned to MAX_POINTS, and further if long texts would still make
        // the tile too big.
        let base = events.len().div_ceil(MAX_POINTS).max(1);
        within_size(|factor| {
            let step = base * factor as usize;
            let mut layer = Layer::new("events").map_err(encode_err)?;
            for &i in events.iter().step_by(step) {
                let (x, y) = view.xy(i);
                let [lon, lat] = proj.lon_lat(x, y)?;
                let (px, py) = tile.pixel(lon, lat);
                let mut props = vec![
                    ("source", Value::Text(view.source(i).as_str().to_owned())),
                    (
                        "category_norm",
                        Value::Text(view.category_norm(i).as_str().to_owned()),
                    ),
                    ("category", Value::Text(view.category(i).to_owned())),
                    (
                        "precision",
                        Value::Text(view.precision(i).as_str().to_owned()),
                    ),
                    (
                        "occurred_at",
                        Value::Text(crate::jobs::events::rfc3339(view.time(i))),
                    ),
                ];
                if step > 1 {
                    props.push(("thinned", Value::Bool(true)));
                    props.push((
                        "represents",
                        Value::Int(i64::try_from(step).unwrap_or(i64::MAX)),
                    ));
                }
                layer
                    .add(&Shape::Point(px, py), &props)
                    .map_err(encode_err)?;
            }
            Ok(layer.encode())
        })
    }
}

/// The scale of heat tiles.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HeatLegend {
    /// What the values measure.
    pub unit: &'static str,
    /// The kernel.
    pub kernel: &'static str,
    /// Its bandwidth (metres).
    pub bandwidth_m: f64,
    /// The square cells whose published counts are smoothed (metres).
    pub cell_m: f64,
    /// The density at the ramp's top colour (higher ones take it too).
    pub top: f64,
    /// The ramp: colours (`#rrggbbaa`) at values; transparent under 1 % of the top.
    pub stops: Vec<HeatStop>,
    /// The suppression applied to the cells.
    pub suppression: Option<u64>,
}

/// One colour of the heat ramp.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HeatStop {
    /// Events per km².
    pub value: f64,
    /// The colour there.
    pub colour: String,
}

/// What a `basemap` tile draws.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BasemapRequest {
    /// The area layer outlined and labelled (default `stadsdel`).
    pub layer: Option<String>,
}

impl BasemapRequest {
    /// Water inside the areas: each area of the layer minus its land (the
    /// store's `land` layer holds each stadsdel without its water), made once
    /// per snapshot.
    fn water(snap: &Snapshot) -> Result<Arc<Vec<MultiPolygon<f64>>>, QueryError> {
        snap.memo("basemap water", || {
            let land = &snap.layer(crate::snapshot::LAND_LAYER, "layer")?.areas;
            let whole = &snap.layer("stadsdel", "layer")?.areas;
            Ok(whole
                .iter()
                .filter_map(|area| {
                    let dry = land.iter().find(|l| l.code == area.code)?;
                    let wet = area.geometry.difference(&dry.geometry);
                    (!wet.0.is_empty()).then_some(wet)
                })
                .collect())
        })
    }

    /// The `basemap` tile: layers `water`, `land` (polygons), `areas` (the
    /// area layer's polygons with `code` and `name`: what a click on the map
    /// hits), `outlines` (their boundaries, lines) and `labels` (a point inside
    /// each area with its name; only in the tile that holds it).
    pub fn tile(&self, tile: TileId, snap: &Snapshot) -> Result<Vec<u8>, QueryError> {
        let name = self.layer.as_deref().unwrap_or("stadsdel");
        let areas = &snap.layer(name, "layer")?.areas;
        let proj = Proj::new()?;
        let Some(tile_box) = store_box(tile, &proj)? else {
            return Ok(Layer::new("land").map_err(encode_err)?.encode());
        };
        let tolerance = tile.metres_per_pixel(REFERENCE_LAT) * 2.0;
        let land = snap
            .layer(crate::snapshot::LAND_LAYER, "layer")
            .map(|l| l.areas.as_slice())
            .unwrap_or_default();
        let water = Self::water(snap).unwrap_or_default();
        within_size(|factor| {
            let mut out = Vec::new();
            let mut fill = |layer: &str, shapes: &mut dyn Iterator<Item = &MultiPolygon<f64>>| {
                let mut l = Layer::new(layer).map_err(encode_err)?;
                for g in shapes.filter(|g| meets(g, tile_box)) {
                    let polygons = polygons_px(tile, &proj, g, tolerance * factor)?;
                    let props: Vec<(&str, Value)> = generalised(factor).into_iter().collect();
                    l.add(&Shape::Polygons(polygons), &props)
                        .map_err(encode_err)?;
                }
                out.extend(l.encode());
                Ok::<(), QueryError>(())
            };
            fill("water", &mut water.iter())?;
            fill("land", &mut land.iter().map(|a| &a.geometry))?;
            let mut shapes = Layer::new("areas").map_err(encode_err)?;
            let mut outlines = Layer::new("outlines").map_err(encode_err)?;
            let mut labels = Layer::new("labels").map_err(encode_err)?;
            for area in areas.iter().filter(|a| meets(&a.geometry, tile_box)) {
                let polygons = polygons_px(tile, &proj, &area.geometry, tolerance * factor)?;
                let lines: Vec<Vec<(f64, f64)>> = polygons.iter().flatten().cloned().collect();
                let mut props = vec![
                    ("code", Value::Text(area.code.clone())),
                    ("name", Value::Text(area.name.clone())),
                ];
                props.extend(generalised(factor));
                shapes
                    .add(&Shape::Polygons(polygons), &props)
                    .map_err(encode_err)?;
                outlines
                    .add(&Shape::Lines(lines), &props)
                    .map_err(encode_err)?;
                let Some(p) = area
                    .geometry
                    .0
                    .iter()
                    .max_by(|a, b| {
                        use geo::Area;
                        a.unsigned_area().total_cmp(&b.unsigned_area())
                    })
                    .and_then(|p| p.interior_point())
                else {
                    continue;
                };
                let [lon, lat] = proj.lon_lat(p.x(), p.y())?;
                let (px, py) = tile.pixel(lon, lat);
                if (0.0..f64::from(EXTENT)).contains(&px) && (0.0..f64::from(EXTENT)).contains(&py)
                {
                    labels
                        .add(&Shape::Point(px, py), &props[..2])
                        .map_err(encode_err)?;
                }
            }
            out.extend(shapes.encode());
            out.extend(outlines.encode());
            out.extend(labels.encode());
            Ok(out)
        })
    }
}

impl crate::CountsRequest {
    /// The `areas` tile: the layer's areas (simplified to the tile's pixel size)
    /// with their published statistics, as [`crate::CountsRequest`] gives them to
    /// the API (so a suppressed count is `count_text = "<5"` and no `count`, and
    /// whatever derives from it is absent).
    pub fn area_tile(
        &self,
        tile: TileId,
        snap: &Snapshot,
        budget: &trygg_analytics::budget::Budget,
    ) -> Result<Vec<u8>, QueryError> {
        let valid = self.validate()?;
        let proj = Proj::new()?;
        let Some(tile_box) = store_box(tile, &proj)? else {
            return Ok(Layer::new("areas").map_err(encode_err)?.encode());
        };
        let layer_name = self.layer.clone().unwrap_or_else(|| "stadsdel".into());
        let (_, areas) = crate::jobs::area_layer(snap, &layer_name, "layer", budget)?;
        let result = self.execute(
            valid,
            snap,
            &crate::jobs::Options {
                budget: *budget,
                geometry: false,
            },
        )?;
        let tolerance = tile.metres_per_pixel(REFERENCE_LAT);
        within_size(|factor| {
            let mut layer = Layer::new("areas").map_err(encode_err)?;
            for row in result
                .rows
                .iter()
                .filter(|r| r.source.is_none() && r.category.is_none())
            {
                let Some(area) = areas.iter().find(|a| a.code == row.area_code) else {
                    continue; // the municipality row
                };
                if !meets(&area.geometry, tile_box) {
                    continue;
                }
                let polygons = polygons_px(tile, &proj, &area.geometry, tolerance * factor)?;
                let mut props = vec![
                    ("area_code", Value::Text(row.area_code.clone())),
                    ("area_name", Value::Text(row.area_name.clone())),
                    count_prop(row.count, "count", "count_text"),
                    count_prop(row.previous_count, "previous_count", "previous_count_text"),
                    count_prop(
                        row.year_earlier_count,
                        "year_earlier_count",
                        "year_earlier_count_text",
                    ),
                ];
                for (key, v) in [
                    ("rate_per_1000", row.rate_per_1000),
                    ("ratio_vs_previous", row.ratio_vs_previous),
                    ("p_vs_previous", row.p_vs_previous),
                    ("ratio_vs_year_earlier", row.ratio_vs_year_earlier),
                    ("p_vs_year_earlier", row.p_vs_year_earlier),
                ] {
                    if let Some(v) = v {
                        props.push((key, Value::Float(v)));
                    }
                }
                props.extend(generalised(factor));
                layer
                    .add(&Shape::Polygons(polygons), &props)
                    .map_err(encode_err)?;
            }
            Ok(layer.encode())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_away_from_sweden_have_no_box() {
        let proj = Proj::new().expect("proj");
        // z0 covers the world: only its Swedish part is looked at.
        let b = store_box(TileId::new(0, 0, 0).expect("z0"), &proj)
            .expect("projects")
            .expect("overlaps");
        assert!(b[0] > 0.0 && b[2] < 1_500_000.0, "{b:?}");
        // A tile over the Pacific, and one at the antimeridian: nothing.
        let pacific = TileId::new(6, 2, 30).expect("tile");
        assert!(store_box(pacific, &proj).expect("ok").is_none());
        let east = TileId::new(8, 255, 100).expect("tile");
        assert!(store_box(east, &proj).expect("ok").is_none());
        // Stockholm at z12 has a box around the city.
        let sthlm = store_box(TileId::new(12, 2253, 1204).expect("tile"), &proj)
            .expect("ok")
            .expect("box");
        assert!(sthlm[0] < 674_571.0 && sthlm[2] > 674_571.0, "{sthlm:?}");
        assert!(
            sthlm[1] < 6_580_743.0 && sthlm[3] > 6_580_743.0,
            "{sthlm:?}"
        );
    }

    #[test]
    fn tiles_are_made_again_coarser_until_they_fit() {
        // A layer of 3 MB at factor 1 shrinks by the factor: 16 fits.
        let mut asked = Vec::new();
        let bytes = within_size(|f| {
            asked.push(f);
            Ok(vec![0; (3_000_000.0 / f) as usize])
        })
        .expect("tile");
        assert_eq!(asked, [1.0, 4.0, 16.0]);
        assert!(bytes.len() <= MAX_TILE_BYTES);
        // One that never fits stops at 64 rather than looping.
        let mut n = 0;
        within_size(|_| {
            n += 1;
            Ok(vec![0; MAX_TILE_BYTES + 1])
        })
        .expect("tile");
        assert_eq!(n, 4);
        assert!(generalised(1.0).is_none() && generalised(4.0).is_some());
    }

    #[test]
    fn cells_follow_the_zoom() {
        assert_eq!(cell_for_zoom(8), 1000.0);
        assert_eq!(cell_for_zoom(11), 500.0);
        assert_eq!(cell_for_zoom(13), 250.0);
        assert_eq!(cell_for_zoom(18), 100.0);
    }
}
