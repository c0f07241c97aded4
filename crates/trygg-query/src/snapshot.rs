//! The store's state as one immutable snapshot (events view, area layers,
//! population, metadata, land), and a live holder that swaps in a new snapshot
//! when the store's data version moves, whichever process wrote.
//!
//! Readers take an `Arc<Snapshot>` and keep it for the whole request: they never
//! wait for a reload (a reload builds the next snapshot beside the current one and
//! swaps a pointer) and never see half a batch (the view is read in one SQLite read
//! transaction). The view comes from the store's snapshot file when current
//! ([`Store::load_view`]), so opening a snapshot reads columns, not rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use trygg_analytics::study_area::land_index;
use trygg_spatial::AreaIndex;
use trygg_store::{meta, AreaLayer, EventView, PopulationRow, Store, StoredArea, ViewSource};

use crate::error::QueryError;

/// What a result says about the data it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataInfo {
    /// The store's data version the snapshot reflects (caches and ETags key on it).
    pub version: u64,
    /// Whether the store holds synthetic (demo) data.
    pub synthetic: bool,
    /// The store's notice about its data (e.g. what makes it synthetic).
    pub notice: Option<String>,
    /// The study municipality.
    pub municipality: Option<String>,
}

/// One area layer as the snapshot holds it.
#[derive(Debug, Clone)]
pub struct LayerData {
    /// The layer's description.
    pub info: AreaLayer,
    /// Its areas.
    pub areas: Vec<StoredArea>,
}

/// The store's state at one data version.
#[derive(Debug)]
pub struct Snapshot {
    view: EventView,
    max_fid: i64,
    layers: BTreeMap<String, LayerData>,
    population: Vec<PopulationRow>,
    land: Option<AreaIndex>,
    data: DataInfo,
    source: ViewSource,
    survey: SurveyRows,
}

/// The survey's respondent rows (category `survey_response`) with their answers:
/// the survey statistics read attributes the view does not hold.
#[derive(Debug, Clone, Default)]
pub struct SurveyRows {
    /// (stadsdel, the row's attributes).
    pub rows: Vec<(Option<String>, serde_json::Map<String, serde_json::Value>)>,
    /// Rows whose stored attributes are not a JSON object (a damaged store):
    /// reported, not read as empty.
    pub unreadable: u64,
}

impl SurveyRows {
    fn load(store: &Store) -> Result<SurveyRows, QueryError> {
        let mut out = SurveyRows::default();
        let filter = trygg_store::EventFilter {
            source: Some(trygg_model::Source::Survey),
            ..trygg_store::EventFilter::default()
        };
        store.for_each_event(&filter, |e| -> Result<(), QueryError> {
            if e.category_norm != trygg_model::NormCategory::SurveyResponse.as_str() {
                return Ok(());
            }
            match serde_json::from_str::<serde_json::Value>(&e.attributes) {
                Ok(serde_json::Value::Object(map)) => out.rows.push((e.stadsdel, map)),
                _ => out.unreadable += 1,
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The layer name of the land (study area of grids and density surfaces).
pub const LAND_LAYER: &str = "land";

impl Snapshot {
    /// Loads the snapshot of `store`: everything in one read transaction, so the
    /// view, areas, population and survey rows are of one committed state.
    pub fn load(store: &Store) -> Result<Snapshot, QueryError> {
        store.read_transaction(|| {
            let loaded = store.load_view()?;
            Snapshot::assemble(store, loaded)
        })
    }

    fn assemble(store: &Store, loaded: trygg_store::LoadedView) -> Result<Snapshot, QueryError> {
        let mut layers = BTreeMap::new();
        let mut population = Vec::new();
        for info in store.area_layers()? {
            let areas = store.areas(&info.name)?;
            population.extend(store.population(&info.name)?);
            layers.insert(info.name.clone(), LayerData { info, areas });
        }
        population.extend(store.population(trygg_analytics::areas::MUNICIPALITY_LAYER)?);
        let land = layers
            .get(LAND_LAYER)
            .filter(|l| !l.areas.is_empty())
            .map(|l| land_index(&l.areas));
        let data = DataInfo {
            version: loaded.version,
            synthetic: store.meta(meta::SYNTHETIC)?.as_deref() == Some("true"),
            notice: store.meta(meta::NOTICE)?,
            municipality: store.meta(meta::MUNICIPALITY)?,
        };
        Ok(Snapshot {
            view: loaded.view,
            max_fid: loaded.max_fid,
            layers,
            population,
            land,
            data,
            source: loaded.source,
            survey: SurveyRows::load(store)?,
        })
    }

    /// The snapshot of a newer store state, or `None` when `store` has not changed.
    pub fn refreshed(&self, store: &Store) -> Result<Option<Snapshot>, QueryError> {
        store.read_transaction(|| {
            match store.refresh_view(&self.view, self.data.version, self.max_fid)? {
                Some(loaded) => Snapshot::assemble(store, loaded).map(Some),
                None => Ok(None),
            }
        })
    }

    /// The events.
    pub fn view(&self) -> &EventView {
        &self.view
    }

    /// What the data is.
    pub fn data(&self) -> &DataInfo {
        &self.data
    }

    /// How the view was obtained (file, extended, rebuilt).
    pub fn view_source(&self) -> ViewSource {
        self.source
    }

    /// The layers, by name.
    pub fn layers(&self) -> &BTreeMap<String, LayerData> {
        &self.layers
    }

    /// A layer's areas; `field` names the request field for the error.
    pub fn layer(&self, name: &str, field: &str) -> Result<&LayerData, QueryError> {
        self.layers.get(name).ok_or_else(|| {
            QueryError::not_found(
                field,
                format!(
                    "no area layer '{name}' in the store (it has: {})",
                    self.layers.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// The stadsdelar (for layers defined through them); empty when absent.
    pub fn stadsdelar(&self) -> &[StoredArea] {
        self.layers
            .get(trygg_analytics::areas::STADSDEL_LAYER)
            .map_or(&[], |l| l.areas.as_slice())
    }

    /// The survey's respondent rows.
    pub fn survey(&self) -> &SurveyRows {
        &self.survey
    }

    /// The population figures of every layer.
    pub fn population(&self) -> &[PopulationRow] {
        &self.population
    }

    /// The land index (grids and density surfaces are land cells only).
    pub fn land(&self, field: &str) -> Result<&AreaIndex, QueryError> {
        self.land.as_ref().ok_or_else(|| {
            QueryError::not_found(
                field,
                "the store has no 'land' area layer (the study area of grids); load one with `trygg areas load --layer land`",
            )
        })
    }
}

/// A snapshot that follows its store: [`LiveSnapshot::refresh`] swaps in the next
/// one when the store's data version moved (a batch ingested here or by another
/// process), and [`LiveSnapshot::current`] hands readers the one in force.
#[derive(Debug)]
pub struct LiveSnapshot {
    path: PathBuf,
    current: RwLock<Arc<Snapshot>>,
    /// One reload at a time; readers do not take it.
    reloading: Mutex<()>,
}

impl LiveSnapshot {
    /// Opens the store at `path` and loads its snapshot.
    pub fn open(path: &Path) -> Result<LiveSnapshot, QueryError> {
        let store = Store::open(path)?;
        let snapshot = Snapshot::load(&store)?;
        Ok(LiveSnapshot {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(snapshot)),
            reloading: Mutex::new(()),
        })
    }

    /// The snapshot in force (cheap: a pointer copy).
    pub fn current(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Checks the store's data version and, when it moved, builds and swaps in the
    /// next snapshot; returns whether it swapped. Readers keep the old snapshot
    /// until they finish.
    pub fn refresh(&self) -> Result<bool, QueryError> {
        let _one = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.current();
        let store = Store::open(&self.path)?;
        let Some(next) = current.refreshed(&store)? else {
            return Ok(false);
        };
        let mut slot = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Arc::new(next);
        Ok(true)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
