//! Map tiles of the snapshot (Mapbox Vector Tiles through `trygg-tiles`), with the
//! same filters as every other request:
//!
//! - `grid`: point events counted per SWEREF 99 TM square whose size follows the
//!   zoom ([`cell_for_zoom`]), land cells only; under suppression a cell below the
//!   threshold is not drawn at all, so a drawn cell is at least the threshold and
//!   an undrawn one may be anything below it (zero included);
//! - `areas`: an area layer's polygons with their statistics (the counts
//!   request's published rows), for choropleths;
//! - `events`: the point events themselves (exact, address, street precision
//!   only: the only ones in the view's R-tree), from a minimum zoom, never the
//!   hidden (sensitive) categories; thinned evenly above [`MAX_POINTS`], the
//!   features then saying `thinned = true` and how many each stands for.
//!
//! Tiles away from the study area, or above and below the zoom range, are empty,
//! computed without touching the events.

use serde::{Deserialize, Serialize};
use trygg_analytics::grid::SquareGrid;
use trygg_store::ViewQuery;
use trygg_tiles::{Layer, Shape, TileId, Value, BUFFER};

use crate::access::Hidden;
use crate::error::{Field, QueryError};
use crate::jobs::Proj;
use crate::params::{DisclosureParams, RangeParams, SelectionParams};
use crate::snapshot::Snapshot;

/// From this zoom a tile's events are looked up in the view's R-tree; below it
/// (a tile spans several kilometres) the time range is scanned.
pub const RTREE_MIN_ZOOM: u8 = 14;

/// Most points drawn in one `events` tile (about 40 bytes each encoded: well
/// under 500 KB); beyond it the tile is thinned.
pub const MAX_POINTS: usize = 10_000;

/// Where tiles can have anything: Sweden with a margin (WGS 84 west, south, east,
/// north). A tile outside it is empty without a projection (SWEREF 99 TM is not
/// defined far from Sweden).
pub const TILE_AREA: [f64; 4] = [10.0, 54.5, 25.0, 69.5];

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
    /// `grid`: the square size in metres (default by zoom: 1 km to z10, 500 m at
    /// z11, 250 m at z12-13, 100 m from z14).
    pub cell: Option<f64>,
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

impl TileRequest {
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

    /// The `grid` tile.
    pub fn grid(&self, tile: TileId, snap: &Snapshot) -> Result<Vec<u8>, QueryError> {
        let threshold = self.disclosure.threshold()?;
        let size = self.cell.unwrap_or_else(|| cell_for_zoom(tile.z));
        if !(10.0..=10_000.0).contains(&size) {
            return Err(QueryError::invalid(
                "cell",
                format!("{size} m is not 10..=10000"),
            ));
        }
        let grid = SquareGrid::new(size).field("cell")?;
        let proj = Proj::new()?;
        let mut layer = Layer::new("grid").map_err(encode_err)?;
        // A cell that reaches into the tile is counted whole: its events may lie
        // outside the tile's box, up to a cell away. Counts go into a dense array
        // over the box's cells (no hashing per event).
        let Some(tile_box) = store_box(tile, &proj)? else {
            self.selection.validate(Some(&self.range))?;
            return Ok(layer.encode());
        };
        let [bx0, by0, bx1, by1] = tile_box;
        let c0 = grid.cell_of(bx0 - size, by0 - size);
        let c1 = grid.cell_of(bx1 + size, by1 + size);
        let (w, h) = (
            (c1.col - c0.col + 1) as usize,
            (c1.row - c0.row + 1) as usize,
        );
        if w.saturating_mul(h) > 4_000_000 {
            return Err(QueryError::invalid(
                "cell",
                format!(
                    "{size} m cells are too small for zoom {}: use a larger cell",
                    tile.z
                ),
            ));
        }
        let mut dense = vec![0u32; w * h];
        let view = snap.view();
        self.for_each_in(tile, snap, tile_box, size, |i| {
            let (x, y) = view.xy(i);
            let c = grid.cell_of(x, y);
            let (dc, dr) = (c.col - c0.col, c.row - c0.row);
            if dc >= 0 && dr >= 0 && (dc as usize) < w && (dr as usize) < h {
                dense[dr as usize * w + dc as usize] += 1;
            }
        })?;
        let cells: Vec<((i64, i64), i64)> = dense
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(k, &n)| {
                let (dr, dc) = ((k / w) as i64, (k % w) as i64);
                ((c0.col + dc, c0.row + dr), i64::from(n))
            })
            .collect();
        if cells.is_empty() {
            return Ok(layer.encode());
        }
        let land = snap.land("cell")?;
        for ((col, row), count) in cells {
            let cell = trygg_analytics::grid::SquareCell { col, row };
            let (cx, cy) = grid.centre(cell);
            if land.locate(cx, cy).is_none() {
                continue;
            }
            if threshold.is_some_and(|t| count < i64::try_from(t).unwrap_or(i64::MAX)) {
                continue;
            }
            let (x0, y0) = grid.lower_left(cell);
            let mut ring = Vec::with_capacity(5);
            for (x, y) in [
                (x0, y0),
                (x0 + size, y0),
                (x0 + size, y0 + size),
                (x0, y0 + size),
                (x0, y0),
            ] {
                let [lon, lat] = proj.lon_lat(x, y)?;
                ring.push(tile.pixel(lon, lat));
            }
            layer
                .add(
                    &Shape::Polygons(vec![vec![ring]]),
                    &[
                        ("cell_id", Value::Text(grid.cell_id(cell))),
                        ("count", Value::Int(count)),
                        ("cell_m", Value::Float(size)),
                    ],
                )
                .map_err(encode_err)?;
        }
        Ok(layer.encode())
    }

    /// The `events` tile: empty below `min_zoom`.
    pub fn events(
        &self,
        tile: TileId,
        snap: &Snapshot,
        min_zoom: u8,
    ) -> Result<Vec<u8>, QueryError> {
        let mut layer = Layer::new("events").map_err(encode_err)?;
        if tile.z < min_zoom {
            // Validate anyway: a bad parameter is an error at every zoom.
            self.selection.validate(Some(&self.range))?;
            return Ok(layer.encode());
        }
        let proj = Proj::new()?;
        let view = snap.view();
        let hidden_texts = self.hidden.codes(view);
        let mut events: Vec<usize> = Vec::new();
        let Some(tile_box) = store_box(tile, &proj)? else {
            self.selection.validate(Some(&self.range))?;
            return Ok(layer.encode());
        };
        self.for_each_in(tile, snap, tile_box, 0.0, |i| {
            if !self.hidden.hides_norm(view.category_norm(i))
                && !hidden_texts[usize::from(view.category_code(i))]
            {
                events.push(i);
            }
        })?;
        let step = events.len().div_ceil(MAX_POINTS).max(1);
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
        use crate::disclosure::Count;
        use crate::jobs::Job;
        use geo::{BoundingRect, Simplify};
        let valid = self.validate()?;
        let mut layer = Layer::new("areas").map_err(encode_err)?;
        let proj = Proj::new()?;
        let Some([bx0, by0, bx1, by1]) = store_box(tile, &proj)? else {
            return Ok(layer.encode());
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
        let tolerance = tile.metres_per_pixel(59.3);
        let count = |c: Count, key: &'static str, text_key: &'static str| match c {
            Count::Value(v) => (key, Value::Int(i64::try_from(v).unwrap_or(i64::MAX))),
            Count::Suppressed(_) => (text_key, Value::Text(c.text())),
        };
        for row in result
            .rows
            .iter()
            .filter(|r| r.source.is_none() && r.category.is_none())
        {
            let Some(area) = areas.iter().find(|a| a.code == row.area_code) else {
                continue; // the municipality row
            };
            let Some(rect) = area.geometry.bounding_rect() else {
                continue;
            };
            if rect.max().x < bx0 || rect.min().x > bx1 || rect.max().y < by0 || rect.min().y > by1
            {
                continue;
            }
            let shown = area.geometry.simplify(tolerance);
            let mut polygons = Vec::with_capacity(shown.0.len());
            for polygon in &shown.0 {
                let mut rings = Vec::new();
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    let mut px = Vec::with_capacity(ring.0.len());
                    for c in &ring.0 {
                        let [lon, lat] = proj.lon_lat(c.x, c.y)?;
                        px.push(tile.pixel(lon, lat));
                    }
                    rings.push(px);
                }
                polygons.push(rings);
            }
            let mut props = vec![
                ("area_code", Value::Text(row.area_code.clone())),
                ("area_name", Value::Text(row.area_name.clone())),
                count(row.count, "count", "count_text"),
                count(row.previous_count, "previous_count", "previous_count_text"),
                count(
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
            layer
                .add(&Shape::Polygons(polygons), &props)
                .map_err(encode_err)?;
        }
        Ok(layer.encode())
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
    fn cells_follow_the_zoom() {
        assert_eq!(cell_for_zoom(8), 1000.0);
        assert_eq!(cell_for_zoom(11), 500.0);
        assert_eq!(cell_for_zoom(13), 250.0);
        assert_eq!(cell_for_zoom(18), 100.0);
    }
}
