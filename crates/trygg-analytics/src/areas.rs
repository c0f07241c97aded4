//! Area layers for statistics: which area of a layer each event counts in, with
//! the event's location precision honoured.
//!
//! - `stadsdel`: by the stadsdel the event was assigned at ingest (the view's
//!   stadsdel code), so point and stadsdel-precision events count; municipality
//!   precision never does.
//! - `stadsdelsomrade_2020` / `stadsdelsomrade_2023` (divisions): through the
//!   stadsdel → område mapping in the stadsdel layer's properties, same precision
//!   rule.
//! - any other polygon layer (uploaded areas): by point-in-polygon
//!   ([`trygg_spatial::AreaIndex`]) on point-precision events only; a stadsdel- or
//!   municipality-precision event's coordinate is a stand-in, so such events are
//!   left out and [`Coverage`] says how many.
//! - `kommun` (the municipalities of a store that covers several): by
//!   point-in-polygon on every event, whatever its precision: a stadsdel's or a
//!   municipality's stand-in point lies within its municipality, so a police
//!   notice known only to Solna counts in Solna.
//! - the municipality total: one area that counts every event.

use std::collections::HashMap;

use geo_types::MultiPolygon;
use serde::Serialize;
use serde_json::Value;
use trygg_model::Precision;
use trygg_spatial::AreaIndex;
use trygg_store::{EventView, StoredArea, NO_AREA};

/// The name of the stadsdel layer in the store.
pub const STADSDEL_LAYER: &str = "stadsdel";
/// The names of the stadsdelsområde layers, which are also the stadsdel layer's
/// property names holding each stadsdel's område.
pub const DIVISION_LAYERS: [&str; 2] = ["stadsdelsomrade_2020", "stadsdelsomrade_2023"];
/// The name [`AreaLayer::from_store`] reads as the municipality total.
pub const MUNICIPALITY_LAYER: &str = "municipality";
pub use trygg_store::KOMMUN_LAYER;

/// An error from building an area layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    /// A stadsdel's properties are not a JSON object.
    #[error("properties of stadsdel '{code}' are not a JSON object: {reason}")]
    Properties {
        /// The stadsdel's code.
        code: String,
        /// What was wrong.
        reason: String,
    },
    /// A division layer was built without any stadsdelar to map through.
    #[error("layer '{0}' is mapped through the stadsdel layer, but no stadsdelar were given")]
    NoStadsdelar(String),
}

/// An area's code and display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AreaRef {
    /// Stable code, unique within the layer.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// How a layer assigns events to areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// By the event's stadsdel.
    Stadsdel,
    /// By the event's stadsdel, mapped to a coarser division.
    Division,
    /// By point-in-polygon, point-precision events only.
    Polygons,
    /// Municipalities: by point-in-polygon, every precision.
    Municipalities,
    /// Square cells of a grid, by the cell an event is in (half-open cells, as
    /// the hotspot binning and the map tiles count them), point precision only.
    Grid,
    /// One area with every event.
    Municipality,
}

/// Where one event counts in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// In area `k` (index into [`AreaLayer::areas`]).
    Area(usize),
    /// Precise enough, but in no area of the layer.
    NoArea,
    /// Too coarse for this layer (its precision), so not counted.
    LeftOut(Precision),
}

/// How the matching events of a count were distributed over a layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Events that matched the selection (the municipality total).
    pub matched: u64,
    /// Of those, counted in an area of the layer.
    pub counted: u64,
    /// Precise enough but in no area (no stadsdel, or outside every polygon).
    pub no_area: u64,
    /// Left out because they are known only to a stadsdel (polygon layers).
    pub left_out_stadsdel_precision: u64,
    /// Left out because they are known only to the municipality.
    pub left_out_municipality_precision: u64,
}

impl Coverage {
    /// Counts one event's assignment.
    #[inline]
    pub fn record(&mut self, a: Assignment) {
        self.matched += 1;
        match a {
            Assignment::Area(_) => self.counted += 1,
            Assignment::NoArea => self.no_area += 1,
            Assignment::LeftOut(Precision::Municipality) => {
                self.left_out_municipality_precision += 1;
            }
            Assignment::LeftOut(_) => self.left_out_stadsdel_precision += 1,
        }
    }

    /// Adds another coverage.
    pub fn add(&mut self, other: &Coverage) {
        self.matched += other.matched;
        self.counted += other.counted;
        self.no_area += other.no_area;
        self.left_out_stadsdel_precision += other.left_out_stadsdel_precision;
        self.left_out_municipality_precision += other.left_out_municipality_precision;
    }
}

/// The key stadsdel names are matched by: trimmed, upper case.
fn key(s: &str) -> String {
    trygg_model::names::name_key(s)
}

/// An area layer ready to assign events: the areas and, depending on the kind, the
/// stadsdel → area lookup or the point-in-polygon index.
#[derive(Debug, Clone)]
pub struct AreaLayer {
    name: String,
    kind: LayerKind,
    areas: Vec<AreaRef>,
    by_stadsdel: HashMap<String, usize>,
    index: Option<AreaIndex>,
    unmapped: Vec<String>,
    /// For [`LayerKind::Grid`]: the grid and each cell's area.
    cells: Option<GridCells>,
}

/// A grid and the area of each of its cells (column, row).
type GridCells = (crate::grid::SquareGrid, HashMap<(i64, i64), usize>);

fn refs(areas: &[StoredArea]) -> Vec<AreaRef> {
    areas
        .iter()
        .map(|a| AreaRef {
            code: a.code.clone(),
            name: a.name.clone(),
        })
        .collect()
}

/// Finds an area by code, then by name, case-insensitively.
fn find(areas: &[AreaRef], text: &str) -> Option<usize> {
    position(areas, text, |a| (&a.code, &a.name))
}

/// The index of the stored area with this code (exact, then case-insensitive
/// code or name): [`AreaLayer::find`]'s rule, without building the layer.
pub fn find_area(areas: &[StoredArea], text: &str) -> Option<usize> {
    position(areas, text, |a| (&a.code, &a.name))
}

/// The first of `areas` whose (code, name) matches `text`: exactly by code,
/// then by code as a name key, then by name as a name key.
fn position<T>(areas: &[T], text: &str, names: impl Fn(&T) -> (&String, &String)) -> Option<usize> {
    let k = key(text);
    areas
        .iter()
        .position(|a| names(a).0 == text)
        .or_else(|| areas.iter().position(|a| key(names(a).0) == k))
        .or_else(|| areas.iter().position(|a| key(names(a).1) == k))
}

/// The stadsdel → division mapping held in the stadsdel layer's properties: for
/// each stadsdel code, the value of its `property` (e.g. `stadsdelsomrade_2023`),
/// if it has one.
pub fn division_mapping(
    stadsdelar: &[StoredArea],
    property: &str,
) -> Result<HashMap<String, String>, AreaError> {
    let mut out = HashMap::new();
    for area in stadsdelar {
        let text = area.properties.trim();
        if text.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(text).map_err(|e| AreaError::Properties {
            code: area.code.clone(),
            reason: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(AreaError::Properties {
                code: area.code.clone(),
                reason: "not an object".into(),
            });
        };
        if let Some(division) = map.get(property).and_then(Value::as_str) {
            out.insert(area.code.clone(), division.to_owned());
        }
    }
    Ok(out)
}

impl AreaLayer {
    /// The stadsdel layer (the view's stadsdel codes are matched to the areas'
    /// codes, then names, case-insensitively).
    pub fn stadsdel(areas: &[StoredArea]) -> AreaLayer {
        let areas = refs(areas);
        let mut by_stadsdel = HashMap::new();
        for (k, a) in areas.iter().enumerate() {
            by_stadsdel.entry(key(&a.code)).or_insert(k);
        }
        for (k, a) in areas.iter().enumerate() {
            by_stadsdel.entry(key(&a.name)).or_insert(k);
        }
        AreaLayer {
            name: STADSDEL_LAYER.to_owned(),
            kind: LayerKind::Stadsdel,
            areas,
            by_stadsdel,
            index: None,
            unmapped: Vec::new(),
            cells: None,
        }
    }

    /// A division of the stadsdelar (e.g. `stadsdelsomrade_2023`): each stadsdel
    /// counts in the area named by its property `name` in `stadsdelar`' properties.
    /// Stadsdelar without the property or whose value names no area of `areas` are
    /// listed by [`AreaLayer::unmapped_stadsdelar`], and their events count as
    /// "no area".
    pub fn division(
        name: &str,
        stadsdelar: &[StoredArea],
        areas: &[StoredArea],
    ) -> Result<AreaLayer, AreaError> {
        if stadsdelar.is_empty() {
            return Err(AreaError::NoStadsdelar(name.to_owned()));
        }
        let mapping = division_mapping(stadsdelar, name)?;
        let areas = refs(areas);
        let mut by_stadsdel = HashMap::new();
        let mut unmapped = Vec::new();
        for s in stadsdelar {
            match mapping.get(&s.code).and_then(|d| find(&areas, d)) {
                Some(k) => {
                    by_stadsdel.entry(key(&s.code)).or_insert(k);
                    by_stadsdel.entry(key(&s.name)).or_insert(k);
                }
                None => unmapped.push(s.code.clone()),
            }
        }
        Ok(AreaLayer {
            name: name.to_owned(),
            kind: LayerKind::Division,
            areas,
            by_stadsdel,
            index: None,
            unmapped,
            cells: None,
        })
    }

    /// Any polygon layer: point-precision events by point-in-polygon (an event on a
    /// shared border counts in the first area).
    pub fn polygons(name: &str, areas: &[StoredArea]) -> AreaLayer {
        let geometries: Vec<MultiPolygon<f64>> = areas.iter().map(|a| a.geometry.clone()).collect();
        AreaLayer {
            name: name.to_owned(),
            kind: LayerKind::Polygons,
            areas: refs(areas),
            by_stadsdel: HashMap::new(),
            index: Some(AreaIndex::new(&geometries)),
            unmapped: Vec::new(),
            cells: None,
        }
    }

    /// The municipalities ([`KOMMUN_LAYER`]): by point-in-polygon on every
    /// event, whatever its precision (an event on a shared border counts in the
    /// first area, so no event counts in two municipalities).
    pub fn municipalities(areas: &[StoredArea]) -> AreaLayer {
        AreaLayer {
            name: KOMMUN_LAYER.to_owned(),
            kind: LayerKind::Municipalities,
            ..AreaLayer::polygons(KOMMUN_LAYER, areas)
        }
    }

    /// The view indices (ascending) of the events that count in area `k` of a
    /// polygon layer by their point alone, whatever their precision: what a
    /// query scoped to one municipality of [`KOMMUN_LAYER`] keeps. Empty for
    /// layers without polygons.
    pub fn events_in(&self, view: &EventView, k: usize) -> Vec<u32> {
        let Some(index) = &self.index else {
            return Vec::new();
        };
        crate::par::map_range(view.len(), 1 << 16, |range| {
            range
                .filter(|&i| {
                    let (x, y) = view.xy(i);
                    index.locate(x, y) == Some(k)
                })
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect()
        })
    }

    /// The area of a polygon layer holding `(x, y)` (see [`AreaIndex::locate`]).
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        self.index.as_ref().and_then(|ix| ix.locate(x, y))
    }

    /// Square cells of `grid` as areas: area `k` is the cell holding
    /// `centres[k]`. An event counts in the cell [`crate::grid::SquareGrid::cell_of`]
    /// gives it, so an event on a shared edge counts in one cell only, the same
    /// one in the area statistics, the hotspot binning and the map tiles.
    pub fn grid(
        name: &str,
        grid: crate::grid::SquareGrid,
        areas: &[StoredArea],
        centres: &[(f64, f64)],
    ) -> AreaLayer {
        let cells = centres
            .iter()
            .enumerate()
            .map(|(k, &(x, y))| {
                let c = grid.cell_of(x, y);
                ((c.col, c.row), k)
            })
            .collect();
        AreaLayer {
            name: name.to_owned(),
            kind: LayerKind::Grid,
            areas: refs(areas),
            by_stadsdel: HashMap::new(),
            index: None,
            unmapped: Vec::new(),
            cells: Some((grid, cells)),
        }
    }

    /// The municipality total: one area, code `municipality`, holding every event.
    pub fn municipality(name: &str) -> AreaLayer {
        AreaLayer {
            name: MUNICIPALITY_LAYER.to_owned(),
            kind: LayerKind::Municipality,
            areas: vec![AreaRef {
                code: MUNICIPALITY_LAYER.to_owned(),
                name: name.to_owned(),
            }],
            by_stadsdel: HashMap::new(),
            index: None,
            unmapped: Vec::new(),
            cells: None,
        }
    }

    /// The layer a store layer name calls for: `stadsdel` by stadsdel,
    /// `stadsdelsomrade_2020`/`_2023` through `stadsdelar` (the stadsdel layer's
    /// areas), `municipality` as the total, `kommun` as the municipalities,
    /// anything else (uploaded layers, and `land`) by polygons.
    pub fn from_store(
        name: &str,
        areas: &[StoredArea],
        stadsdelar: &[StoredArea],
    ) -> Result<AreaLayer, AreaError> {
        Ok(match name {
            STADSDEL_LAYER => AreaLayer::stadsdel(areas),
            n if DIVISION_LAYERS.contains(&n) => AreaLayer::division(n, stadsdelar, areas)?,
            MUNICIPALITY_LAYER => AreaLayer::municipality("Stockholm"),
            KOMMUN_LAYER => AreaLayer::municipalities(areas),
            n => AreaLayer::polygons(n, areas),
        })
    }

    /// The layer's name (population figures are looked up under it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the layer assigns events.
    pub fn kind(&self) -> LayerKind {
        self.kind
    }

    /// The areas, in the order assignments index.
    pub fn areas(&self) -> &[AreaRef] {
        &self.areas
    }

    /// The index of the area with this code (exact, then case-insensitive code or
    /// name).
    pub fn find(&self, code: &str) -> Option<usize> {
        find(&self.areas, code)
    }

    /// Stadsdelar a division layer could not map (no property, or an unknown area).
    pub fn unmapped_stadsdelar(&self) -> &[String] {
        &self.unmapped
    }

    /// The layer bound to a view: the view's stadsdel codes resolved once.
    pub fn bind<'a>(&'a self, view: &'a EventView) -> BoundLayer<'a> {
        let mut unknown = Vec::new();
        let by_code = view
            .stadsdel_names()
            .iter()
            .map(|name| self.area_of_stadsdel(name, &mut unknown))
            .collect();
        BoundLayer {
            layer: self,
            view,
            by_code,
            unknown,
        }
    }

    /// The area a stadsdel name counts in (`usize::MAX`: none); a name a
    /// stadsdel or division layer does not know goes to `unknown`.
    fn area_of_stadsdel(&self, name: &str, unknown: &mut Vec<String>) -> usize {
        match self.by_stadsdel.get(&key(name)) {
            Some(&k) => k,
            None => {
                if matches!(self.kind, LayerKind::Stadsdel | LayerKind::Division)
                    && !unknown.iter().any(|u| u == name)
                {
                    unknown.push(name.to_owned());
                }
                usize::MAX
            }
        }
    }

    /// The slot (as [`BoundLayer::code_slots`] numbers them) of an event by its
    /// precision and stadsdel column alone, for layers whose assignment depends
    /// on nothing else (`None` for polygon and grid layers, which need the
    /// point): the same rule as [`BoundLayer::assign`], for counts made
    /// without a view.
    pub(crate) fn slot_of(
        &self,
        municipality_precision: bool,
        stadsdel: Option<&str>,
        unknown: &mut Vec<String>,
    ) -> Option<u32> {
        let na = u32::try_from(self.areas().len()).ok()?;
        match self.kind {
            LayerKind::Municipality => Some(0),
            LayerKind::Stadsdel | LayerKind::Division => Some(if municipality_precision {
                na + SLOT_MUNICIPALITY
            } else {
                stadsdel
                    .map(|name| self.area_of_stadsdel(name, unknown))
                    .and_then(|k| u32::try_from(k).ok())
                    .filter(|&k| k < na)
                    .unwrap_or(na + SLOT_NO_AREA)
            }),
            LayerKind::Polygons | LayerKind::Municipalities | LayerKind::Grid => None,
        }
    }
}

/// The slot after the areas' that counts events in no area (see [`BoundLayer::code_slots`]).
pub(crate) const SLOT_NO_AREA: u32 = 0;
/// The slot after that, counting events known only to the municipality.
pub(crate) const SLOT_MUNICIPALITY: u32 = 1;

/// An [`AreaLayer`] bound to one [`EventView`].
#[derive(Debug, Clone)]
pub struct BoundLayer<'a> {
    layer: &'a AreaLayer,
    view: &'a EventView,
    by_code: Vec<usize>,
    unknown: Vec<String>,
}

impl BoundLayer<'_> {
    /// The layer.
    pub fn layer(&self) -> &AreaLayer {
        self.layer
    }

    /// Stadsdel names on events that the layer does not know (their events count
    /// as "no area").
    pub fn unknown_stadsdelar(&self) -> &[String] {
        &self.unknown
    }

    /// [`BoundLayer::assign`] as a table, for layers whose assignment depends only
    /// on the stadsdel code and precision (not on the position): per stadsdel code
    /// (the last entry for codes beyond the table, such as [`NO_AREA`]) the slot,
    /// and the slot of municipality-precision events. Slots `0..areas` are the
    /// areas, then [`SLOT_NO_AREA`] and [`SLOT_MUNICIPALITY`] past them.
    pub(crate) fn code_slots(&self) -> Option<(Vec<u32>, u32)> {
        let na = u32::try_from(self.layer.areas().len()).ok()?;
        match self.layer.kind {
            LayerKind::Municipality => Some((vec![0; self.by_code.len() + 1], 0)),
            LayerKind::Stadsdel | LayerKind::Division => {
                let mut slots: Vec<u32> = self
                    .by_code
                    .iter()
                    .map(|&k| {
                        u32::try_from(k)
                            .ok()
                            .filter(|&k| k < na)
                            .unwrap_or(na + SLOT_NO_AREA)
                    })
                    .collect();
                slots.push(na + SLOT_NO_AREA);
                Some((slots, na + SLOT_MUNICIPALITY))
            }
            LayerKind::Polygons | LayerKind::Municipalities | LayerKind::Grid => None,
        }
    }

    /// Where event `i` counts.
    #[inline]
    pub fn assign(&self, i: usize) -> Assignment {
        let precision = self.view.precision(i);
        match self.layer.kind {
            LayerKind::Municipality => Assignment::Area(0),
            LayerKind::Stadsdel | LayerKind::Division => {
                if precision == Precision::Municipality {
                    return Assignment::LeftOut(precision);
                }
                let code = self.view.stadsdel_code(i);
                if code == NO_AREA {
                    return Assignment::NoArea;
                }
                match self.by_code.get(usize::from(code)) {
                    Some(&k) if k != usize::MAX => Assignment::Area(k),
                    _ => Assignment::NoArea,
                }
            }
            LayerKind::Grid => {
                if !precision.is_point() {
                    return Assignment::LeftOut(precision);
                }
                let (x, y) = self.view.xy(i);
                let found = self.layer.cells.as_ref().and_then(|(grid, cells)| {
                    let c = grid.cell_of(x, y);
                    cells.get(&(c.col, c.row)).copied()
                });
                match found {
                    Some(k) => Assignment::Area(k),
                    None => Assignment::NoArea,
                }
            }
            LayerKind::Polygons | LayerKind::Municipalities => {
                if self.layer.kind == LayerKind::Polygons && !precision.is_point() {
                    return Assignment::LeftOut(precision);
                }
                let (x, y) = self.view.xy(i);
                match self.layer.index.as_ref().and_then(|ix| ix.locate(x, y)) {
                    Some(k) => Assignment::Area(k),
                    None => Assignment::NoArea,
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};
    use trygg_model::{NormCategory, Source};
    use trygg_store::EventViewBuilder;

    #[test]
    fn regression_a_grid_layer_counts_an_event_on_a_cell_edge_where_the_grid_bins_it() {
        // An event exactly on the edge x = 674_500 between two 250 m cells: the
        // polygon index could put it in either; the grid layer puts it where
        // `SquareGrid::cell_of` does (the cell to the right), as the hotspot
        // binning and the map tiles do.
        let grid = crate::grid::SquareGrid::new(250.0).expect("grid");
        let mut b = EventViewBuilder::new((674_000.0, 6_580_000.0));
        b.push(
            0,
            674_500.0,
            6_580_100.0,
            Source::Crimes,
            NormCategory::Theft,
            Precision::Street,
            "x",
            None,
        );
        b.push(
            0,
            674_400.0,
            6_580_100.0,
            Source::Crimes,
            NormCategory::Theft,
            Precision::Exact,
            "x",
            None,
        );
        b.push(
            0,
            674_400.0,
            6_580_100.0,
            Source::Crimes,
            NormCategory::Theft,
            Precision::Stadsdel,
            "x",
            Some("A"),
        );
        let view = b.build();
        let areas: Vec<StoredArea> = [(674_250.0, 6_580_000.0), (674_500.0, 6_580_000.0)]
            .iter()
            .map(|&(x, y)| StoredArea {
                code: grid.cell_id(grid.cell_of(x, y)),
                name: String::new(),
                properties: "{}".into(),
                geometry: square(x, y, 250.0),
            })
            .collect();
        let centres = [(674_375.0, 6_580_125.0), (674_625.0, 6_580_125.0)];
        let layer = AreaLayer::grid("grid:250", grid, &areas, &centres);
        let bound = layer.bind(&view);
        assert_eq!(layer.kind(), LayerKind::Grid);
        let at = |i: usize| bound.assign(i);
        let edge = (0..3)
            .find(|&i| view.xy(i).0 == 674_500.0)
            .expect("edge event");
        assert_eq!(at(edge), Assignment::Area(1));
        let inside = (0..3)
            .find(|&i| view.xy(i).0 == 674_400.0 && view.precision(i) == Precision::Exact)
            .expect("inside");
        assert_eq!(at(inside), Assignment::Area(0));
        let vague = (0..3)
            .find(|&i| view.precision(i) == Precision::Stadsdel)
            .expect("stadsdel precision");
        assert_eq!(at(vague), Assignment::LeftOut(Precision::Stadsdel));
    }

    #[test]
    fn municipalities_count_every_precision_and_split_the_events_without_overlap() {
        // Two municipalities sharing the edge x = 675_000; events of every
        // precision in each, one exactly on the shared edge, one outside both.
        let area = |code: &str, x: f64| StoredArea {
            code: code.into(),
            name: code.into(),
            properties: "{}".into(),
            geometry: square(x, 6_580_000.0, 1_000.0),
        };
        let kommuner = [area("0180", 674_000.0), area("0184", 675_000.0)];
        let layer = AreaLayer::from_store(KOMMUN_LAYER, &kommuner, &[]).expect("layer");
        assert_eq!(layer.kind(), LayerKind::Municipalities);
        let mut b = EventViewBuilder::new((674_000.0, 6_580_000.0));
        let points = [
            (674_500.0, Precision::Exact),
            (674_600.0, Precision::Stadsdel),
            (674_700.0, Precision::Municipality),
            (675_000.0, Precision::Exact),
            (675_500.0, Precision::Municipality),
            (677_000.0, Precision::Exact),
        ];
        for (t, &(x, precision)) in points.iter().enumerate() {
            b.push(
                t as i64,
                x,
                6_580_500.0,
                Source::PoliceEvents,
                NormCategory::Theft,
                precision,
                "x",
                None,
            );
        }
        let view = b.build();
        let bound = layer.bind(&view);
        let assigned: Vec<Assignment> = (0..view.len()).map(|i| bound.assign(i)).collect();
        assert_eq!(
            assigned,
            [
                Assignment::Area(0),
                Assignment::Area(0),
                Assignment::Area(0),
                // On the shared edge: the first area, and only it.
                Assignment::Area(0),
                Assignment::Area(1),
                Assignment::NoArea,
            ]
        );
        assert_eq!(layer.events_in(&view, 0), [0, 1, 2, 3]);
        assert_eq!(layer.events_in(&view, 1), [4]);
        // A polygon layer of the same areas leaves the stand-in points out.
        let polygons = AreaLayer::from_store("uploaded", &kommuner, &[]).expect("layer");
        assert_eq!(
            polygons.bind(&view).assign(2),
            Assignment::LeftOut(Precision::Municipality)
        );
    }

    /// A square multipolygon with lower-left corner (x, y) and side s.
    pub(crate) fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y),
            (x: x + s, y: y),
            (x: x + s, y: y + s),
            (x: x, y: y + s),
            (x: x, y: y),
        ]])
    }

    /// Four stadsdelar in a 2 × 2 grid of 1 km squares from (670 000, 6 580 000):
    /// A (south-west), B (south-east), C (north-west), D (north-east); A and B in
    /// område "Syd", C and D in "Norr" (2023), and all four in "Allt" (2020) except
    /// D, which has no 2020 property.
    pub(crate) fn stadsdelar() -> Vec<StoredArea> {
        let (x0, y0) = (670_000.0, 6_580_000.0);
        [
            ("A", 0.0, 0.0, "Syd"),
            ("B", 1.0, 0.0, "Syd"),
            ("C", 0.0, 1.0, "Norr"),
            ("D", 1.0, 1.0, "Norr"),
        ]
        .iter()
        .map(|&(code, dx, dy, sdo)| StoredArea {
            code: code.to_owned(),
            name: format!("Stadsdel {code}"),
            properties: if code == "D" {
                format!(r#"{{"stadsdelsomrade_2023": "{sdo}"}}"#)
            } else {
                format!(r#"{{"stadsdelsomrade_2023": "{sdo}", "stadsdelsomrade_2020": "Allt"}}"#)
            },
            geometry: square(x0 + dx * 1000.0, y0 + dy * 1000.0, 1000.0),
        })
        .collect()
    }

    pub(crate) fn division_areas() -> Vec<StoredArea> {
        ["Syd", "Norr"]
            .iter()
            .map(|n| StoredArea {
                code: (*n).to_owned(),
                name: (*n).to_owned(),
                properties: "{}".into(),
                geometry: MultiPolygon(vec![]),
            })
            .collect()
    }

    #[test]
    fn precision_decides_where_an_event_counts() {
        let sd = stadsdelar();
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        let mut push = |x: f64, y: f64, p: Precision, s: Option<&str>| {
            b.push(0, x, y, Source::Crimes, NormCategory::Theft, p, "x", s);
        };
        push(670_100.0, 6_580_100.0, Precision::Exact, Some("A")); // 0: point in A
        push(670_500.0, 6_580_500.0, Precision::Stadsdel, Some("A")); // 1: stadsdel A
        push(670_500.0, 6_580_500.0, Precision::Municipality, None); // 2: municipality
        push(671_500.0, 6_581_500.0, Precision::Address, Some("d")); // 3: point in D (lower case)
        push(690_000.0, 6_590_000.0, Precision::Street, None); // 4: point outside all
        push(
            671_500.0,
            6_580_500.0,
            Precision::Stadsdel,
            Some("Stadsdel B"),
        ); // 5: by name
        push(670_500.0, 6_580_500.0, Precision::Stadsdel, Some("ZZZ")); // 6: unknown stadsdel
        let view = b.build();

        let stadsdel = AreaLayer::stadsdel(&sd);
        let bound = stadsdel.bind(&view);
        let got: Vec<Assignment> = (0..view.len()).map(|i| bound.assign(i)).collect();
        use Assignment::*;
        assert_eq!(
            got,
            [
                Area(0),
                Area(0),
                LeftOut(Precision::Municipality),
                Area(3),
                NoArea,
                Area(1),
                NoArea
            ]
        );
        assert_eq!(bound.unknown_stadsdelar(), ["ZZZ"]);

        let d2023 =
            AreaLayer::from_store("stadsdelsomrade_2023", &division_areas(), &sd).expect("valid");
        let bound = d2023.bind(&view);
        let got: Vec<Assignment> = (0..view.len()).map(|i| bound.assign(i)).collect();
        assert_eq!(
            got,
            [
                Area(0),
                Area(0),
                LeftOut(Precision::Municipality),
                Area(1),
                NoArea,
                Area(0),
                NoArea
            ]
        );
        let allt = vec![StoredArea {
            code: "Allt".into(),
            name: "Allt".into(),
            properties: "{}".into(),
            geometry: MultiPolygon(vec![]),
        }];
        let d2020 = AreaLayer::from_store("stadsdelsomrade_2020", &allt, &sd).expect("valid");
        assert_eq!(d2020.unmapped_stadsdelar(), ["D"]);
        assert_eq!(d2020.bind(&view).assign(3), NoArea);

        // Uploaded polygons: one square covering A and B's southern halves.
        let uploaded = vec![StoredArea {
            code: "u1".into(),
            name: "Upload".into(),
            properties: "{}".into(),
            geometry: square(670_000.0, 6_580_000.0, 2000.0),
        }];
        let poly = AreaLayer::from_store("my_upload", &uploaded, &sd).expect("valid");
        assert_eq!(poly.kind(), LayerKind::Polygons);
        let bound = poly.bind(&view);
        let mut coverage = Coverage::default();
        let got: Vec<Assignment> = (0..view.len())
            .map(|i| {
                let a = bound.assign(i);
                coverage.record(a);
                a
            })
            .collect();
        assert_eq!(
            got,
            [
                Area(0),
                LeftOut(Precision::Stadsdel),
                LeftOut(Precision::Municipality),
                Area(0),
                NoArea,
                LeftOut(Precision::Stadsdel),
                LeftOut(Precision::Stadsdel)
            ]
        );
        assert_eq!(
            coverage,
            Coverage {
                matched: 7,
                counted: 2,
                no_area: 1,
                left_out_stadsdel_precision: 3,
                left_out_municipality_precision: 1
            }
        );
        let total = AreaLayer::municipality("Stockholm");
        let bound = total.bind(&view);
        assert!((0..view.len()).all(|i| bound.assign(i) == Area(0)));
    }

    #[test]
    fn bad_properties_are_an_error() {
        let mut sd = stadsdelar();
        sd[1].properties = "not json".into();
        assert!(matches!(
            AreaLayer::division("stadsdelsomrade_2023", &sd, &division_areas()),
            Err(AreaError::Properties { code, .. }) if code == "B"
        ));
        assert!(AreaLayer::division("stadsdelsomrade_2023", &[], &division_areas()).is_err());
        let m = division_mapping(&stadsdelar(), "stadsdelsomrade_2020").expect("valid");
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("A").map(String::as_str), Some("Allt"));
    }
}
