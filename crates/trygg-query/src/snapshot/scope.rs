//! A snapshot limited to one municipality: the one place where a municipality
//! scope is decided. Every job, tile, chart, export and report runs unchanged
//! on the scoped snapshot, so none of them can leak another municipality's
//! events by forgetting a filter.
//!
//! The scope is one area of the store's [`KOMMUN_LAYER`]. The scoped snapshot
//! holds:
//! - the events whose point lies in that municipality, whatever their
//!   precision (a stadsdel's or municipality's stand-in point lies within its
//!   municipality; an event on a shared border belongs to the first area, so no
//!   event is in two scopes), with their columns bit for bit;
//! - of every other layer, the areas whose interior point lies in it; of the
//!   `kommun` layer, the municipality alone; the land clipped to it (grids and
//!   densities cover the municipality's land only);
//! - the population of the areas kept, and the municipality's own figures as
//!   the total;
//! - the survey answers of the stadsdelar kept.

use std::sync::{Arc, OnceLock};

use geo::{BooleanOps, BoundingRect, InteriorPoint};
use serde::Serialize;
use trygg_analytics::areas::{find_area, AreaLayer as Layer, KOMMUN_LAYER, MUNICIPALITY_LAYER};
use trygg_store::{PopulationRow, StoredArea};

use super::{LayerData, Memo, Snapshot, SurveyRows, LAND_LAYER};
use crate::error::QueryError;

/// The municipality an answer is limited to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Scope {
    /// Its code in the `kommun` layer (the kommunkod, e.g. `0184`).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// Which points a limited snapshot's municipality holds: the rule its events
/// were chosen by (the point, as the view holds it, located among all of the
/// `kommun` layer's municipalities), for what is read from the store beside
/// the snapshot (a report's provenance).
pub struct ScopeRule {
    municipalities: Layer,
    k: usize,
    origin: (f64, f64),
}

impl trygg_store::PointScope for ScopeRule {
    /// Whether the point (EPSG:3006) is in the municipality.
    fn contains(&self, x: f64, y: f64) -> bool {
        let (qx, qy) = (
            trygg_store::quantized(x, self.origin.0),
            trygg_store::quantized(y, self.origin.1),
        );
        self.municipalities.locate(qx, qy) == Some(self.k)
    }
}

impl std::fmt::Debug for ScopeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeRule").field("k", &self.k).finish()
    }
}

/// The request field a scope is asked by.
pub const SCOPE_FIELD: &str = "municipality";

impl Snapshot {
    /// The municipality `asked` names (its code or name, case-insensitively),
    /// an error naming the `municipality` field when the store has no `kommun`
    /// layer or no such municipality.
    pub fn municipality(&self, asked: &str) -> Result<Scope, QueryError> {
        let (layer, k) = self.kommun(asked)?;
        let area = &layer.areas[k];
        Ok(Scope {
            code: area.code.clone(),
            name: area.name.clone(),
        })
    }

    fn kommun(&self, asked: &str) -> Result<(&LayerData, usize), QueryError> {
        if !self.layers.contains_key(KOMMUN_LAYER) {
            return Err(QueryError::not_found(
                SCOPE_FIELD,
                format!(
                    "the store has no '{KOMMUN_LAYER}' area layer, so it cannot be limited to \
                     municipality '{asked}' (load one with `trygg areas load --layer {KOMMUN_LAYER}`)"
                ),
            ));
        }
        let layer = self.layer(KOMMUN_LAYER, SCOPE_FIELD)?;
        // Found by code or name without building the layer's polygon index:
        // every request of a limited key resolves its municipality.
        let k = find_area(&layer.areas, asked).ok_or_else(|| {
            QueryError::not_found(
                SCOPE_FIELD,
                format!(
                    "no municipality '{asked}' in the '{KOMMUN_LAYER}' layer (it has: {})",
                    layer
                        .areas
                        .iter()
                        .map(|a| format!("{} {}", a.code, a.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        Ok((layer, k))
    }

    /// This snapshot limited to municipality `asked` (see the module docs),
    /// made once per snapshot and municipality; the snapshot itself when
    /// nothing is asked.
    pub fn within(self: &Arc<Self>, asked: Option<&str>) -> Result<Arc<Snapshot>, QueryError> {
        let Some(asked) = asked else {
            return Ok(Arc::clone(self));
        };
        if self.data.scope.is_some() {
            return Err(QueryError::invalid(
                SCOPE_FIELD,
                "this snapshot is already limited to a municipality",
            ));
        }
        let scope = self.municipality(asked)?;
        let code = scope.code.clone();
        self.scopes.get_or_make(&code, || self.limited_to(scope))
    }

    /// The rule of the municipality this snapshot is limited to, if it is.
    pub fn scope_rule(&self) -> Option<&ScopeRule> {
        self.scope_rule.as_deref()
    }

    fn limited_to(&self, scope: Scope) -> Result<Snapshot, QueryError> {
        let (kommuner, k) = self.kommun(&scope.code)?;
        let municipalities = Layer::municipalities(&kommuner.areas);
        let own = &kommuner.areas[k];
        let inside = |area: &StoredArea| {
            area.geometry
                .interior_point()
                .is_some_and(|p| municipalities.locate(p.x(), p.y()) == Some(k))
        };
        let mut layers = std::collections::BTreeMap::new();
        let mut kept: Vec<(String, Vec<String>)> = Vec::new();
        for (name, (info, _)) in &self.layers {
            let data = self.layer(name, "layer")?;
            let areas: Vec<StoredArea> = match name.as_str() {
                KOMMUN_LAYER => vec![own.clone()],
                LAND_LAYER => data
                    .areas
                    .iter()
                    .filter_map(|a| {
                        let clipped = a.geometry.intersection(&own.geometry);
                        (!clipped.0.is_empty()).then(|| StoredArea {
                            geometry: clipped,
                            ..a.clone()
                        })
                    })
                    .collect(),
                _ => data.areas.iter().filter(|a| inside(a)).cloned().collect(),
            };
            kept.push((name.clone(), areas.iter().map(|a| a.code.clone()).collect()));
            let slot = OnceLock::new();
            let _ = slot.set(Ok(LayerData {
                info: info.clone(),
                areas,
            }));
            layers.insert(name.clone(), (info.clone(), slot));
        }
        let population = self
            .population
            .iter()
            .filter_map(|row| {
                if row.layer == KOMMUN_LAYER && row.area_code == own.code {
                    // The municipality's own figure is both its row in `kommun`
                    // and the total.
                    return Some(vec![
                        row.clone(),
                        PopulationRow {
                            layer: MUNICIPALITY_LAYER.to_owned(),
                            area_code: MUNICIPALITY_LAYER.to_owned(),
                            ..row.clone()
                        },
                    ]);
                }
                let keep = kept
                    .iter()
                    .any(|(layer, codes)| *layer == row.layer && codes.contains(&row.area_code));
                keep.then(|| vec![row.clone()])
            })
            .flatten()
            .collect();
        let stadsdelar: Vec<String> = layers
            .get(trygg_analytics::areas::STADSDEL_LAYER)
            .and_then(|(_, slot)| slot.get())
            .and_then(|data| data.as_ref().ok())
            .map(|data| {
                data.areas
                    .iter()
                    .flat_map(|a| [a.code.as_str(), a.name.as_str()])
                    .map(trygg_model::names::name_key)
                    .collect()
            })
            .unwrap_or_default();
        let all = self.survey()?;
        let survey = SurveyRows {
            rows: all
                .rows
                .iter()
                .filter(|(stadsdel, _)| {
                    stadsdel
                        .as_deref()
                        .is_some_and(|s| stadsdelar.contains(&trygg_model::names::name_key(s)))
                })
                .cloned()
                .collect(),
            unreadable: 0,
        };
        let survey_slot = OnceLock::new();
        let _ = survey_slot.set(Ok(survey));
        let view = self.view.subset(&municipalities.events_in(&self.view, k));
        let rule = ScopeRule {
            municipalities,
            k,
            origin: self.view.origin(),
        };
        let study_extent = own.geometry.bounding_rect().map(|r| {
            trygg_model::Extent {
                min_x: r.min().x,
                min_y: r.min().y,
                max_x: r.max().x,
                max_y: r.max().y,
            }
            .expanded(trygg_model::Extent::STUDY_MARGIN_M)
        });
        let mut data = self.data.clone();
        data.municipality = Some(scope.name.clone());
        data.scope = Some(scope);
        Ok(Snapshot {
            view,
            max_fid: self.max_fid,
            layers,
            population,
            study_extent,
            land: OnceLock::new(),
            data,
            source: self.source,
            location: self.location.clone(),
            survey: survey_slot,
            recycle: None,
            memo: Memo::default(),
            scope_rule: Some(Arc::new(rule)),
            scopes: Memo::for_scopes(),
        })
    }
}
