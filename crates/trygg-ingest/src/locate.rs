//! The locator: turns a parsed row's raw location into a point in the store's CRS
//! with its precision and assigned areas, or a rejection. It applies the study
//! extent, detects swapped coordinates, resolves area-only rows and police
//! summaries to stadsdelar, and keeps municipality-precision events out of areas.

use std::sync::Arc;

use trygg_crs::Transformer;
use trygg_model::names::name_key;
use trygg_model::{AreaAssignment, Extent, Precision};
use trygg_store::{IngestStore, StoreError, StoredArea};

use crate::areas::{interior_point, AreaIndex, PlaceMatcher};
use crate::candidate::{RawLocation, RowError};

/// The area layer events are assigned to.
pub const STADSDEL_LAYER: &str = "stadsdel";
/// The layer of municipalities a store covers beyond its study municipality:
/// a point in one of them is in the study area even outside the extent, and a
/// police notice of one of them is ours.
pub use trygg_store::KOMMUN_LAYER;
/// Metadata key of the study municipality's name (police `location.name`).
pub const MUNICIPALITY_KEY: &str = trygg_store::meta::MUNICIPALITY;

/// A located row.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Easting, EPSG:3006.
    pub x: f64,
    /// Northing, EPSG:3006.
    pub y: f64,
    /// Location precision.
    pub precision: Precision,
    /// Assigned areas.
    pub areas: AreaAssignment,
}

/// The outcome of locating a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Located.
    At(Located),
    /// Not an event of the study area (a police event elsewhere in Sweden).
    Skip(String),
    /// Malformed.
    Reject(RowError),
}

struct Stadsdel {
    names: AreaAssignment,
    point: (f64, f64),
}

/// Everything needed to locate rows: extent, stadsdel polygons and names.
pub struct Locator {
    extent: Option<Extent>,
    municipality: Option<String>,
    /// The `kommun` layer's polygons and names (as name keys).
    kommuner: AreaIndex,
    kommun_names: Vec<String>,
    index: AreaIndex,
    stadsdelar: Vec<Stadsdel>,
    lookup: std::collections::HashMap<String, usize>,
    places: PlaceMatcher,
    wgs84: Transformer,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locator")
            .field("extent", &self.extent)
            .field("municipality", &self.municipality)
            .field("stadsdelar", &self.stadsdelar.len())
            .finish()
    }
}

/// An error building the locator.
#[derive(Debug, thiserror::Error)]
pub enum LocatorError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PROJ failed.
    #[error(transparent)]
    Crs(#[from] trygg_crs::CrsError),
    /// A stored stadsdel cannot be used (damaged or hand-edited store).
    #[error("stadsdel '{code}' in the store: {reason}")]
    Area {
        /// The area's code.
        code: String,
        /// What is wrong.
        reason: String,
    },
}

/// A stadsdel's text property (its division), `None` when it has none; properties
/// that are not a JSON object are an error, not "no division".
fn property(area: &StoredArea, key: &str) -> Result<Option<Arc<str>>, LocatorError> {
    match serde_json::from_str::<serde_json::Value>(&area.properties) {
        Ok(serde_json::Value::Object(props)) => {
            Ok(props.get(key).and_then(|v| v.as_str()).map(Arc::from))
        }
        _ => Err(LocatorError::Area {
            code: area.code.clone(),
            reason: format!("properties are not a JSON object: '{}'", area.properties),
        }),
    }
}

impl Locator {
    /// Builds a locator from the store's `stadsdel` layer, study extent
    /// ([`trygg_store::Store::study_extent`]) and municipality. Without either, every point is
    /// accepted and flagged as outside all areas.
    pub fn from_store(store: &mut dyn IngestStore) -> Result<Locator, LocatorError> {
        let areas = store.layer_areas(STADSDEL_LAYER)?;
        let index = AreaIndex::new(&areas.iter().map(|a| a.geometry.clone()).collect::<Vec<_>>());
        let extent = store.extent_in_force()?;
        let stadsdelar: Vec<Stadsdel> = areas
            .iter()
            .map(|a| {
                Ok(Stadsdel {
                    names: AreaAssignment {
                        stadsdel: Some(Arc::from(a.code.as_str())),
                        stadsdelsomrade_2020: property(a, "stadsdelsomrade_2020")?,
                        stadsdelsomrade_2023: property(a, "stadsdelsomrade_2023")?,
                        outside_areas: false,
                    },
                    point: interior_point(&a.geometry).ok_or_else(|| LocatorError::Area {
                        code: a.code.clone(),
                        reason: "its geometry has no interior point (empty or degenerate)".into(),
                    })?,
                })
            })
            .collect::<Result<_, LocatorError>>()?;
        let mut lookup = std::collections::HashMap::new();
        for (i, a) in areas.iter().enumerate() {
            lookup.insert(name_key(&a.code), i);
            lookup.insert(name_key(&a.name), i);
        }
        let names: Vec<&str> = areas.iter().map(|a| a.name.as_str()).collect();
        let kommuner = store.layer_areas(KOMMUN_LAYER)?;
        Ok(Locator {
            extent,
            municipality: store.meta_value(MUNICIPALITY_KEY)?,
            kommun_names: kommuner.iter().map(|a| name_key(&a.name)).collect(),
            kommuner: AreaIndex::new(
                &kommuner
                    .iter()
                    .map(|a| a.geometry.clone())
                    .collect::<Vec<_>>(),
            ),
            index,
            places: PlaceMatcher::new(&names),
            stadsdelar,
            lookup,
            wgs84: Transformer::to_store(&trygg_crs::Crs::WGS84)?,
        })
    }

    /// The extent in force.
    pub fn extent(&self) -> Option<Extent> {
        self.extent
    }

    /// Whether a point is in the study area: in the extent, or in one of the
    /// store's municipalities.
    fn in_extent(&self, x: f64, y: f64) -> bool {
        self.extent.is_none_or(|e| e.contains(x, y)) || self.kommuner.locate(x, y).is_some()
    }

    /// Whether a police notice's `location.name` is a municipality of the
    /// store: the study municipality or one of the `kommun` layer (without
    /// either, every notice is).
    fn ours(&self, location_name: &str) -> bool {
        let named = location_name.trim();
        match &self.municipality {
            None if self.kommun_names.is_empty() => true,
            m => {
                m.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(named))
                    || self.kommun_names.contains(&name_key(named))
            }
        }
    }

    /// Whether a police notice of `location_name` is of the study municipality,
    /// whose stadsdelar its summary may name.
    fn of_stadsdelar(&self, location_name: &str) -> bool {
        self.municipality
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(location_name.trim()))
    }

    fn assign(&self, x: f64, y: f64) -> AreaAssignment {
        match self.index.locate(x, y) {
            Some(k) => self.stadsdelar[k].names.clone(),
            None => AreaAssignment {
                outside_areas: true,
                ..AreaAssignment::default()
            },
        }
    }

    fn at_stadsdel(&self, k: usize) -> Placement {
        let s = &self.stadsdelar[k];
        Placement::At(Located {
            x: s.point.0,
            y: s.point.1,
            precision: Precision::Stadsdel,
            areas: s.names.clone(),
        })
    }

    /// Locates one row; `transformer` maps the file's CRS to the store's.
    pub fn locate(&self, location: &RawLocation, transformer: &Transformer, row: u64) -> Placement {
        let reject = |field: Option<String>, reason: String| {
            Placement::Reject(RowError {
                row: Some(row),
                field,
                reason,
                raw: None,
            })
        };
        match location {
            RawLocation::Point {
                x,
                y,
                precision,
                fields,
            } => {
                let field = Some(format!("{},{}", fields.0, fields.1));
                let (e, n) = match transformer.convert(*x, *y) {
                    Ok(p) => p,
                    Err(err) => return reject(field, err.to_string()),
                };
                if self.in_extent(e, n) {
                    return Placement::At(Located {
                        x: e,
                        y: n,
                        precision: *precision,
                        areas: self.assign(e, n),
                    });
                }
                let swapped_inside = transformer
                    .convert(*y, *x)
                    .is_ok_and(|(se, sn)| self.in_extent(se, sn));
                let reason = if swapped_inside {
                    format!(
                        "coordinates appear swapped: ({x}, {y}) as ({}, {}) lies outside the study extent, \
                         ({y}, {x}) lies inside it; check the mapping's x/y (longitude/latitude) columns",
                        fields.0, fields.1
                    )
                } else {
                    format!("point ({x}, {y}) lies outside the study extent ({e:.0}, {n:.0} in EPSG:3006)")
                };
                reject(field, reason)
            }
            RawLocation::Area { name, field } => match self.lookup.get(&name_key(name)) {
                Some(&k) => self.at_stadsdel(k),
                None => reject(
                    Some(field.clone()),
                    format!("unknown area '{name}': not a stadsdel of the store"),
                ),
            },
            RawLocation::Police {
                lat,
                lon,
                location_name,
                text,
            } => {
                if !self.ours(location_name) {
                    return Placement::Skip(format!(
                        "outside the study municipality ({})",
                        self.municipality.as_deref().unwrap_or_default()
                    ));
                }
                if self.of_stadsdelar(location_name) {
                    if let Some(k) = self.places.find_unique(text) {
                        return self.at_stadsdel(k);
                    }
                }
                let field = Some("location.gps".to_owned());
                match self.wgs84.convert(*lon, *lat) {
                    Ok((e, n)) if self.in_extent(e, n) => Placement::At(Located {
                        x: e,
                        y: n,
                        precision: Precision::Municipality,
                        areas: AreaAssignment::default(),
                    }),
                    Ok(_) => reject(
                        field,
                        format!(
                            "municipality centroid ({lat},{lon}) lies outside the study extent"
                        ),
                    ),
                    Err(err) => reject(field, err.to_string()),
                }
            }
        }
    }
}
