//! The jobs: each takes a request (validated before any work) and a snapshot,
//! and returns a typed result whose counts are already published under the
//! request's suppression rule.

pub mod counts;
pub mod events;
pub mod hotspots;
pub mod survey;
pub mod tiles;
pub mod time;
pub mod weekly;

use serde_json::{json, Value};
use trygg_analytics::areas::AreaLayer;
use trygg_analytics::budget::Budget;
use trygg_analytics::grid::SquareGrid;
use trygg_analytics::hex::{self, LonLatProjection};
use trygg_analytics::study_area::{CellSystem, StudyArea};
use trygg_crs::{Crs, Transformer};
use trygg_store::StoredArea;

use crate::error::{Field, QueryError};
use crate::params::{CellChoice, Cells};
use crate::snapshot::Snapshot;

/// A request: validated without the store (so a bad request costs nothing and
/// fails before any work), then executed on a snapshot.
pub trait Job {
    /// The job's name (`counts`, `hotspots`, …): its CLI subcommand and API path.
    const NAME: &'static str;
    /// The request's validated values.
    type Valid;
    /// The published result.
    type Output: serde::Serialize + crate::encode::Tabular;
    /// Validates every field; errors name the field.
    fn validate(&self) -> Result<Self::Valid, QueryError>;
    /// Runs validated values on a snapshot.
    fn execute(
        &self,
        valid: Self::Valid,
        snap: &Snapshot,
        opts: &Options,
    ) -> Result<Self::Output, QueryError>;
    /// Validates, then executes.
    fn run(&self, snap: &Snapshot, opts: &Options) -> Result<Self::Output, QueryError> {
        let valid = self.validate()?;
        self.execute(valid, snap, opts)
    }
}

/// How a job runs, beside its request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The request budget.
    pub budget: Budget,
    /// Attach WGS 84 geometry to the rows (for GeoJSON and maps).
    pub geometry: bool,
}

/// EPSG:3006 ↔ WGS 84 through PROJ. PROJ objects stay on their thread, so each
/// thread makes its own once (creating them reads PROJ's database: milliseconds)
/// and shares it between the requests it runs.
pub struct Proj {
    to_wgs84: Transformer,
    to_store: Transformer,
}

thread_local! {
    static THREAD_PROJ: std::cell::RefCell<Option<std::rc::Rc<Proj>>> =
        const { std::cell::RefCell::new(None) };
}

impl Proj {
    /// Both directions (this thread's).
    pub fn new() -> Result<std::rc::Rc<Proj>, QueryError> {
        THREAD_PROJ.with(|slot| {
            if let Some(p) = slot.borrow().as_ref() {
                return Ok(std::rc::Rc::clone(p));
            }
            let made = std::rc::Rc::new(Proj {
                to_wgs84: Transformer::store_to_wgs84()?,
                to_store: Transformer::to_store(&Crs::WGS84)?,
            });
            *slot.borrow_mut() = Some(std::rc::Rc::clone(&made));
            Ok(made)
        })
    }

    /// A point in WGS 84 `[lon, lat]`; an error rather than a made-up position.
    pub fn lon_lat(&self, x: f64, y: f64) -> Result<[f64; 2], QueryError> {
        let (lon, lat) = self.to_wgs84.convert(x, y)?;
        Ok([lon, lat])
    }

    /// A WGS 84 point in EPSG:3006.
    pub fn xy(&self, lon: f64, lat: f64) -> Result<(f64, f64), QueryError> {
        Ok(self.to_store.convert(lon, lat)?)
    }

    /// The EPSG:3006 envelope of a WGS 84 box `[west, south, east, north]`: a
    /// lon/lat box is not a rectangle there, so the envelope of its corners and
    /// edge midpoints.
    pub fn store_envelope(&self, [w, s, e, n]: [f64; 4]) -> Result<[f64; 4], QueryError> {
        let (mut x0, mut y0) = (f64::INFINITY, f64::INFINITY);
        let (mut x1, mut y1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let (mx, my) = ((w + e) / 2.0, (s + n) / 2.0);
        for (lon, lat) in [
            (w, s),
            (e, s),
            (w, n),
            (e, n),
            (mx, s),
            (mx, n),
            (w, my),
            (e, my),
        ] {
            let (x, y) = self.xy(lon, lat)?;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        Ok([x0, y0, x1, y1])
    }

    /// A closed EPSG:3006 ring in WGS 84.
    pub fn ring(
        &self,
        ring: impl IntoIterator<Item = (f64, f64)>,
    ) -> Result<Vec<[f64; 2]>, QueryError> {
        ring.into_iter().map(|(x, y)| self.lon_lat(x, y)).collect()
    }

    /// An area's GeoJSON geometry (MultiPolygon, WGS 84).
    pub fn area_geometry(&self, area: &StoredArea) -> Result<Value, QueryError> {
        let polygons = area
            .geometry
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|ls| self.ring(ls.0.iter().map(|c| (c.x, c.y))))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({"type": "MultiPolygon", "coordinates": polygons}))
    }

    /// A study cell's GeoJSON polygon (WGS 84).
    pub fn cell_geometry(
        &self,
        system: CellSystem,
        id: &str,
        x: f64,
        y: f64,
    ) -> Result<Value, QueryError> {
        let ring = match system {
            CellSystem::Square { size_m } => self.ring(square_ring(x, y, size_m))?,
            CellSystem::H3 { .. } => {
                let mut ring: Vec<[f64; 2]> = hex::boundary(id)
                    .ok_or_else(|| QueryError::invalid("h3", format!("'{id}' is not an H3 cell")))?
                    .into_iter()
                    .map(|(lon, lat)| [lon, lat])
                    .collect();
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                ring
            }
        };
        Ok(json!({"type": "Polygon", "coordinates": [ring]}))
    }
}

impl LonLatProjection for Proj {
    fn to_lon_lat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        self.to_wgs84.convert(x, y).ok()
    }

    fn to_xy(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        self.to_store.convert(lon, lat).ok()
    }
}

/// The closed outline (EPSG:3006) of the square of side `size` centred on (x, y).
pub fn square_ring(x: f64, y: f64, size: f64) -> Vec<(f64, f64)> {
    let h = size / 2.0;
    [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
        .iter()
        .map(|(dx, dy)| (x + dx, y + dy))
        .collect()
}

/// The study area of `cells` over the snapshot's land, within the budget;
/// made once per snapshot and cell system (a map's tiles and a dashboard's
/// queries share it).
pub(crate) fn study_area(
    snap: &Snapshot,
    cells: &Cells,
    budget: &Budget,
    proj: &Proj,
) -> Result<std::sync::Arc<StudyArea>, QueryError> {
    let land = snap.land("grid")?;
    match cells.system {
        CellChoice::H3(res) => {
            budget.check_cells(StudyArea::h3_candidates(res, land).unwrap_or(0), "h3")?;
            snap.memo(&format!("study h3 {res}"), || {
                StudyArea::h3(res, land, proj).field("h3")
            })
        }
        CellChoice::Square(grid) => {
            budget.check_cells(
                StudyArea::square_candidates(grid, land).unwrap_or(0),
                "grid",
            )?;
            snap.memo(&format!("study square {}", grid.size_m()), || {
                StudyArea::square(grid, land).field("grid")
            })
        }
    }
}

/// An area layer and its areas, by name: a store layer, `municipality`, or
/// `grid:SIZE` (the land cells of a SWEREF grid as square areas, within budget).
pub(crate) fn area_layer(
    snap: &Snapshot,
    name: &str,
    field: &str,
    budget: &Budget,
) -> Result<(AreaLayer, Vec<StoredArea>), QueryError> {
    if name == trygg_analytics::areas::MUNICIPALITY_LAYER {
        let label = snap
            .data()
            .municipality
            .clone()
            .unwrap_or_else(|| "municipality".into());
        return Ok((AreaLayer::municipality(&label), Vec::new()));
    }
    if let Some(size) = name.strip_prefix("grid:") {
        let size: f64 = size.trim().parse().map_err(|_| {
            QueryError::invalid(field, format!("grid size in '{name}' is not a number"))
        })?;
        let grid = SquareGrid::new(size).field(field)?;
        let land = snap.land(field)?;
        budget.check_areas(
            StudyArea::square_candidates(grid, land).unwrap_or(0),
            "layer",
        )?;
        let study = StudyArea::square(grid, land).field(field)?;
        let centres: Vec<(f64, f64)> = study.cells().iter().map(|c| (c.x, c.y)).collect();
        let areas: Vec<StoredArea> = study
            .cells()
            .iter()
            .map(|c| StoredArea {
                code: c.id.clone(),
                name: c.id.clone(),
                properties: "{}".into(),
                geometry: geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                    square_ring(c.x, c.y, size).into(),
                    vec![],
                )]),
            })
            .collect();
        let layer = AreaLayer::grid(name, grid, &areas, &centres);
        return Ok((layer, areas));
    }
    let data = snap.layer(name, field)?;
    budget.check_areas(data.areas.len(), "layer")?;
    let layer = AreaLayer::from_store(name, &data.areas, snap.stadsdelar()?).field(field)?;
    Ok((layer, data.areas.clone()))
}

/// One area of a layer by code or name (as a person writes it).
pub(crate) fn find_area(layer: &AreaLayer, text: &str, field: &str) -> Result<usize, QueryError> {
    layer.find(text).ok_or_else(|| {
        QueryError::not_found(
            field,
            format!("no area '{text}' in layer '{}'", layer.name()),
        )
    })
}
