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
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde::Serialize;
use trygg_analytics::study_area::land_index;
use trygg_spatial::AreaIndex;
use trygg_store::{meta, AreaLayer, EventView, PopulationRow, Store, StoredArea, ViewSource};

use crate::error::QueryError;

mod scope;
pub use scope::{Scope, ScopeRule, SCOPE_FIELD};

/// What a result says about the data it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DataInfo {
    /// The store's data version the snapshot reflects (caches and ETags key on it).
    pub version: u64,
    /// Whether the store holds synthetic (demo) data.
    pub synthetic: bool,
    /// The store's notice about its data (e.g. what makes it synthetic).
    pub notice: Option<String>,
    /// The study municipality (the one the answer is limited to, if it is).
    pub municipality: Option<String>,
    /// The municipality the answer is limited to (a request's `municipality`,
    /// or the requester's key's): absent for the whole store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
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
    /// The layers by name; their areas are read on first use (a counts query on
    /// one layer does not decode the others' geometry).
    layers: BTreeMap<String, (AreaLayer, OnceLock<Result<LayerData, String>>)>,
    population: Vec<PopulationRow>,
    /// The study extent in force (EPSG:3006).
    study_extent: Option<trygg_model::Extent>,
    /// Built on first use (grids and densities need it, area counts do not).
    land: OnceLock<Option<AreaIndex>>,
    data: DataInfo,
    source: ViewSource,
    /// The store, for the areas and survey rows read on first use.
    location: Location,
    /// The survey rows of this snapshot's version, read on first use (most
    /// queries never need them): `Err` when the store has moved on meanwhile.
    survey: OnceLock<Result<SurveyRows, String>>,
    /// Where the view's buffers go when the last reader lets go (a live
    /// snapshot's next merge fills them instead of new memory).
    recycle: Option<Arc<Mutex<Option<EventView>>>>,
    /// Results derived from this snapshot alone (e.g. a whole map's hotspot
    /// field that many tiles cut from), made once and dropped with it.
    memo: Memo,
    /// How a snapshot limited to a municipality chose its events.
    scope_rule: Option<Arc<scope::ScopeRule>>,
    /// The snapshots limited to a municipality made from this one.
    scopes: Memo,
}

/// Derived results by key, each made once however many threads ask at the same
/// time (the others wait for it), at most `max` kept (oldest out).
struct Memo {
    entries: Mutex<std::collections::VecDeque<(String, Arc<MemoSlot>)>>,
    max: usize,
}

impl Default for Memo {
    /// Room for a map's worth of derived results (hotspot fields, legends).
    fn default() -> Memo {
        Memo::with_room(32)
    }
}

type MemoSlot = OnceLock<Option<Arc<dyn std::any::Any + Send + Sync>>>;

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map_or(0, |e| e.len());
        write!(f, "Memo({n} entries)")
    }
}

impl Memo {
    fn with_room(max: usize) -> Memo {
        Memo {
            entries: Mutex::default(),
            max,
        }
    }

    /// Room for a snapshot limited to each municipality of Sweden (290): the
    /// limited snapshots are kept apart from the other results, so heavy map
    /// traffic never evicts one (a limited key's next request would make it
    /// again), and together they hold each event at most once.
    fn for_scopes() -> Memo {
        Memo::with_room(300)
    }

    fn get_or_make<T: std::any::Any + Send + Sync>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<T, QueryError>,
    ) -> Result<Arc<T>, QueryError> {
        let slot = {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| QueryError::Io(std::io::Error::other("memo lock poisoned")))?;
            match entries.iter().find(|(k, _)| k == key) {
                Some((_, slot)) => slot.clone(),
                None => {
                    let slot = Arc::new(MemoSlot::new());
                    if entries.len() >= self.max {
                        entries.pop_front();
                    }
                    entries.push_back((key.to_owned(), slot.clone()));
                    slot
                }
            }
        };
        let mut make = Some(make);
        let mut failure = None;
        let made = slot.get_or_init(|| match make.take().map(|f| f()) {
            Some(Ok(v)) => Some(Arc::new(v) as Arc<dyn std::any::Any + Send + Sync>),
            Some(Err(e)) => {
                failure = Some(e);
                None
            }
            None => None,
        });
        if let Some(e) = failure {
            // Nothing kept: the next caller tries again (and sees its own error).
            if let Ok(mut entries) = self.entries.lock() {
                entries.retain(|(_, s)| !Arc::ptr_eq(s, &slot));
            }
            return Err(e);
        }
        match (made.clone().map(Arc::downcast::<T>), make) {
            (Some(Ok(v)), _) => Ok(v),
            // A waiter on a make that failed, or a key reused for another type:
            // made here, not kept.
            (_, Some(f)) => f().map(Arc::new),
            (_, None) => Err(QueryError::Io(std::io::Error::other(
                "memo entry of another type",
            ))),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(slot) = &self.recycle {
            let spare = std::mem::take(&mut self.view);
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(spare);
            }
        }
    }
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
    /// The rows of `store` as of data version `version`; an error if the store is
    /// at another version (the rows would not belong to the snapshot).
    fn load(location: &Location, version: u64) -> Result<SurveyRows, String> {
        let text = at_version(location, version, |store| {
            store.attributes_of(
                trygg_model::Source::Survey,
                trygg_model::NormCategory::SurveyResponse,
            )
        })?;
        Ok(SurveyRows::parse(text))
    }

    fn parse(text: Vec<(Option<String>, String)>) -> SurveyRows {
        let mut out = SurveyRows::default();
        for (stadsdel, attributes) in text {
            match serde_json::from_str::<serde_json::Value>(&attributes) {
                Ok(serde_json::Value::Object(map)) => out.rows.push((stadsdel, map)),
                _ => out.unreadable += 1,
            }
        }
        out
    }
}

/// A connection to the store of either backend, for what is read from the
/// store itself rather than the snapshot: grouped counts, provenance, the
/// feed's polls.
#[derive(Debug)]
pub enum StoreConn {
    /// A GeoPackage store.
    File(Store),
    /// A PostgreSQL database.
    Postgres(Box<trygg_pg::PgStore>),
}

impl StoreConn {
    /// Opens the store at `location`.
    pub fn open(location: &Location) -> Result<StoreConn, QueryError> {
        Ok(match location {
            Location::File(path) => StoreConn::File(Store::open(path)?),
            Location::Postgres(url) => {
                StoreConn::Postgres(Box::new(trygg_pg::PgStore::open(url).map_err(pg_error)?))
            }
        })
    }

    /// The grouped counts of `q`.
    pub fn grouped_counts(
        &mut self,
        q: &trygg_store::GroupedQuery,
    ) -> Result<Vec<trygg_store::GroupedCount>, trygg_store::StoreError> {
        match self {
            StoreConn::File(store) => store.grouped_counts(q),
            StoreConn::Postgres(pg) => pg.grouped_counts(q).map_err(Into::into),
        }
    }

    /// The area layers, each with its number of areas.
    pub fn layers(&mut self) -> Result<Vec<(AreaLayer, usize)>, QueryError> {
        match self {
            StoreConn::File(store) => store
                .area_layers()?
                .into_iter()
                .map(|l| Ok((l.clone(), store.areas(&l.name)?.len())))
                .collect(),
            StoreConn::Postgres(pg) => Ok(pg
                .state_without_events(trygg_analytics::areas::MUNICIPALITY_LAYER)
                .map_err(pg_error)?
                .layers
                .into_iter()
                .map(|(layer, areas)| (layer, areas.len()))
                .collect()),
        }
    }

    /// How many events the store holds, and their extent (EPSG:3006).
    pub fn events_summary(
        &mut self,
    ) -> Result<(u64, Option<trygg_model::Extent>), trygg_store::StoreError> {
        use trygg_store::tables::{Cell, Kind};
        let db = self.sql();
        let count = db.read("SELECT count(*) FROM events", &[], &[Kind::Int])?;
        let sql = format!("SELECT value FROM trygg_meta WHERE key = {}", db.mark(1));
        let extent = db.read(
            &sql,
            &[Cell::Text(trygg_store::meta::EXTENT.into())],
            &[Kind::Text],
        )?;
        Ok((
            count.first().map_or(0, |r| r[0].count()),
            extent
                .first()
                .and_then(|r| trygg_store::meta::parse_extent(&r[0].text())),
        ))
    }

    /// The store's read-only SQL.
    pub fn sql(&mut self) -> &mut dyn trygg_store::SqlRead {
        match self {
            StoreConn::File(store) => store,
            StoreConn::Postgres(pg) => &mut **pg,
        }
    }
}

/// Where a snapshot's store is: a GeoPackage file, or a PostgreSQL database
/// (whose snapshot reads everything when it loads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A GeoPackage store file.
    File(PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

impl Location {
    /// A `--store` value: a `postgres://` URL or a file path.
    pub fn of(store: &Path) -> Location {
        match store.to_str() {
            Some(url) if trygg_pg::is_url(url) => Location::Postgres(url.to_owned()),
            _ => Location::File(store.to_owned()),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&trygg_pg::redacted(url)),
        }
    }
}

fn pg_error(e: trygg_pg::PgError) -> QueryError {
    QueryError::Store(e.into())
}

/// Reads from the store at `path` while it is at data version `version` (in one
/// read transaction); an error when the store has moved on, so that what a
/// snapshot reads late still belongs to its state.
fn at_version<T>(
    location: &Location,
    version: u64,
    f: impl FnOnce(&Store) -> Result<T, trygg_store::StoreError>,
) -> Result<T, String> {
    let path = match location {
        Location::File(path) => path,
        // A database's snapshot holds everything from the start.
        Location::Postgres(_) => return Err(format!("{location}: read with the snapshot")),
    };
    let store = Store::open(path).map_err(|e| e.to_string())?;
    store
        .read_transaction(|| {
            if store.data_version()? != version {
                return Ok(None);
            }
            f(&store).map(Some)
        })
        .map_err(|e: trygg_store::StoreError| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the store changed after this snapshot (version {version}) was taken; ask again"
            )
        })
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
            population.extend(store.population(&info.name)?);
            layers.insert(info.name.clone(), (info, OnceLock::new()));
        }
        population.extend(store.population(trygg_analytics::areas::MUNICIPALITY_LAYER)?);
        let data = DataInfo {
            version: loaded.version,
            synthetic: store.meta(meta::SYNTHETIC)?.as_deref() == Some("true"),
            notice: store.meta(meta::NOTICE)?,
            municipality: store.meta(meta::MUNICIPALITY)?,
            scope: None,
        };
        Ok(Snapshot {
            view: loaded.view,
            max_fid: loaded.max_fid,
            layers,
            population,
            study_extent: store.study_extent()?,
            land: OnceLock::new(),
            data,
            source: loaded.source,
            location: Location::File(store.path().to_owned()),
            survey: OnceLock::new(),
            recycle: None,
            memo: Memo::default(),
            scope_rule: None,
            scopes: Memo::for_scopes(),
        })
    }

    /// The snapshot of the store at `store` (a file or a `postgres://` URL).
    pub fn open(store: &Path) -> Result<Snapshot, QueryError> {
        match Location::of(store) {
            Location::File(path) => Snapshot::load(&Store::open(&path)?),
            Location::Postgres(url) => {
                let mut pg = trygg_pg::PgStore::open(&url).map_err(pg_error)?;
                let state = pg
                    .state(None, None, trygg_analytics::areas::MUNICIPALITY_LAYER)
                    .map_err(pg_error)?
                    .ok_or_else(|| QueryError::Unavailable("no state".into()))?;
                Ok(Snapshot::of_database(state, Location::Postgres(url)))
            }
        }
    }

    /// A snapshot for queries the store counts itself (see
    /// [`crate::CountsRequest::execute_pushed_down`]), with the store's
    /// grouped counts: over PostgreSQL without the events (areas, population and
    /// survey only, however many events there are); a GeoPackage file's
    /// snapshot is the usual one.
    pub fn open_pushed_down(store: &Path) -> Result<(Snapshot, StoreConn), QueryError> {
        match Location::of(store) {
            Location::File(path) => {
                let store = Store::open(&path)?;
                Ok((Snapshot::load(&store)?, StoreConn::File(store)))
            }
            Location::Postgres(url) => {
                let mut pg = trygg_pg::PgStore::open(&url).map_err(pg_error)?;
                let state = pg
                    .state_without_events(trygg_analytics::areas::MUNICIPALITY_LAYER)
                    .map_err(pg_error)?;
                Ok((
                    Snapshot::of_database(state, Location::Postgres(url)),
                    StoreConn::Postgres(Box::new(pg)),
                ))
            }
        }
    }

    /// The snapshot of a database's state: everything read already.
    fn of_database(state: trygg_pg::PgState, location: Location) -> Snapshot {
        let layers = state
            .layers
            .into_iter()
            .map(|(info, areas)| {
                let data = OnceLock::new();
                let _ = data.set(Ok(LayerData {
                    info: info.clone(),
                    areas,
                }));
                (info.name.clone(), (info, data))
            })
            .collect();
        let survey = OnceLock::new();
        let _ = survey.set(Ok(SurveyRows::parse(state.survey)));
        Snapshot {
            view: state.view,
            max_fid: state.max_fid,
            layers,
            population: state.population,
            study_extent: state.study_extent,
            land: OnceLock::new(),
            data: DataInfo {
                version: state.version,
                synthetic: state.synthetic,
                notice: state.notice,
                municipality: state.municipality,
                scope: None,
            },
            source: match state.extended {
                Some(n) => ViewSource::Extended(n),
                None => ViewSource::Rebuilt,
            },
            location,
            survey,
            recycle: None,
            memo: Memo::default(),
            scope_rule: None,
            scopes: Memo::for_scopes(),
        }
    }

    /// The snapshot of a newer store state, or `None` when `store` has not changed.
    pub fn refreshed(&self, store: &Store) -> Result<Option<Snapshot>, QueryError> {
        self.refreshed_into(store, None)
    }

    /// [`Snapshot::refreshed`], writing into the buffers of `spare`, a released
    /// view (see [`EventView::extended`]).
    fn refreshed_into(
        &self,
        store: &Store,
        spare: Option<EventView>,
    ) -> Result<Option<Snapshot>, QueryError> {
        store.read_transaction(|| {
            match store.refresh_view(&self.view, self.data.version, self.max_fid, spare)? {
                Some(loaded) => Snapshot::assemble(store, loaded).map(Some),
                None => Ok(None),
            }
        })
    }

    /// The events.
    pub fn view(&self) -> &EventView {
        &self.view
    }

    /// The area layers the snapshot holds (their areas are read on first use).
    pub fn layers(&self) -> impl Iterator<Item = &AreaLayer> {
        self.layers.values().map(|(info, _)| info)
    }

    /// What the data is.
    pub fn data(&self) -> &DataInfo {
        &self.data
    }

    /// How the view was obtained (file, extended, rebuilt).
    pub fn view_source(&self) -> ViewSource {
        self.source
    }

    /// A layer and its areas; `field` names the request field for the error.
    pub fn layer(&self, name: &str, field: &str) -> Result<&LayerData, QueryError> {
        let (info, areas) = self.layers.get(name).ok_or_else(|| {
            QueryError::not_found(
                field,
                format!(
                    "no area layer '{name}' in the store (it has: {})",
                    self.layers.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        areas
            .get_or_init(|| {
                at_version(&self.location, self.data.version, |store| {
                    Ok(LayerData {
                        info: info.clone(),
                        areas: store.areas(name)?,
                    })
                })
            })
            .as_ref()
            .map_err(|e| QueryError::Unavailable(e.clone()))
    }

    /// Reads every layer's areas now (a long-running reader does, while the store
    /// is at the snapshot's version).
    pub fn load_all(&self) -> Result<(), QueryError> {
        for name in self.layers.keys() {
            self.layer(name, "layer")?;
        }
        self.survey().map(drop)
    }

    /// The stadsdelar (for layers defined through them); empty when absent.
    pub fn stadsdelar(&self) -> Result<&[StoredArea], QueryError> {
        if !self
            .layers
            .contains_key(trygg_analytics::areas::STADSDEL_LAYER)
        {
            return Ok(&[]);
        }
        Ok(self
            .layer(trygg_analytics::areas::STADSDEL_LAYER, "layer")?
            .areas
            .as_slice())
    }

    /// The survey's respondent rows.
    pub fn survey(&self) -> Result<&SurveyRows, QueryError> {
        self.survey
            .get_or_init(|| SurveyRows::load(&self.location, self.data.version))
            .as_ref()
            .map_err(|e| QueryError::Unavailable(e.clone()))
    }

    /// The study extent in force (EPSG:3006), if the store has one.
    pub fn study_extent(&self) -> Option<trygg_model::Extent> {
        self.study_extent
    }

    /// The population figures of every layer.
    pub fn population(&self) -> &[PopulationRow] {
        &self.population
    }

    /// The result `make` gives, made once per snapshot and `key` (concurrent
    /// callers wait for the first), for results many requests share, such as
    /// the hotspot field a map's tiles are cut from. A failed make is not kept.
    pub fn memo<T: std::any::Any + Send + Sync>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<T, QueryError>,
    ) -> Result<Arc<T>, QueryError> {
        self.memo.get_or_make(key, make)
    }

    /// The land index (grids and density surfaces are land cells only).
    pub fn land(&self, field: &str) -> Result<&AreaIndex, QueryError> {
        let areas = if self.layers.contains_key(LAND_LAYER) {
            self.layer(LAND_LAYER, field)?.areas.as_slice()
        } else {
            &[]
        };
        let land = self
            .land
            .get_or_init(|| (!areas.is_empty()).then(|| land_index(areas)));
        land.as_ref().ok_or_else(|| {
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
    location: Location,
    /// A database's connection, kept between refreshes.
    database: Mutex<Option<trygg_pg::PgStore>>,
    current: RwLock<Arc<Snapshot>>,
    /// One reload at a time; readers do not take it.
    reloading: Mutex<()>,
    /// Whether a snapshot file is being written.
    writing: Arc<std::sync::atomic::AtomicBool>,
    /// The buffers of the last released snapshot, for the next merge.
    spare: Arc<Mutex<Option<EventView>>>,
}

impl LiveSnapshot {
    /// Opens the store at `path` and loads its snapshot.
    pub fn open(path: &Path) -> Result<LiveSnapshot, QueryError> {
        let mut snapshot = Snapshot::open(path)?;
        // A long-running reader reads everything with the snapshot, while the
        // store is still at its version.
        snapshot.load_all()?;
        let spare = Arc::default();
        snapshot.recycle = Some(Arc::clone(&spare));
        Ok(LiveSnapshot {
            path: path.to_owned(),
            location: snapshot.location.clone(),
            database: Mutex::new(None),
            current: RwLock::new(Arc::new(snapshot)),
            reloading: Mutex::new(()),
            writing: Arc::default(),
            spare,
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
        let spare = self.spare.lock().ok().and_then(|mut s| s.take());
        let next = match &self.location {
            Location::File(path) => current.refreshed_into(&Store::open(path)?, spare)?,
            Location::Postgres(url) => self.refreshed_from_database(url, &current, spare)?,
        };
        let Some(mut next) = next else {
            return Ok(false);
        };
        next.recycle = Some(Arc::clone(&self.spare));
        if let Err(e) = next.load_all() {
            // Moved again meanwhile: the next refresh takes the newer state.
            if !matches!(e, QueryError::Unavailable(_)) {
                return Err(e);
            }
        }
        let next = Arc::new(next);
        let previous = {
            let mut slot = self
                .current
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *slot, Arc::clone(&next))
        };
        // Readers see the batch now. The rest happens off this path, in a
        // background thread: the previous snapshot is released there (freeing a
        // large view takes a while) and, unless an earlier refresh is still
        // writing one, the snapshot file for the next process is written (a
        // cache: a later refresh writes a later state, and a reader that finds an
        // older file merely extends it).
        let writing = Arc::clone(&self.writing);
        // A database's replicas share no disk: no snapshot file.
        let write = matches!(self.location, Location::File(_))
            && !writing.swap(true, std::sync::atomic::Ordering::AcqRel);
        let file = trygg_store::view_file_path(&self.path);
        std::thread::spawn(move || {
            drop(previous);
            if write {
                let _ = next
                    .view()
                    .write_file(&file, next.data.version, next.max_fid);
                writing.store(false, std::sync::atomic::Ordering::Release);
            }
        });
        Ok(true)
    }

    /// The next snapshot of a database (`None` when it has not moved), over
    /// the connection kept from the last refresh (made again after an error).
    fn refreshed_from_database(
        &self,
        url: &str,
        current: &Snapshot,
        spare: Option<EventView>,
    ) -> Result<Option<Snapshot>, QueryError> {
        let mut slot = self
            .database
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pg = match slot.take() {
            Some(pg) => slot.insert(pg),
            None => slot.insert(trygg_pg::PgStore::open(url).map_err(pg_error)?),
        };
        let base = (&current.view, current.data.version, current.max_fid);
        match pg.state(
            Some(base),
            spare,
            trygg_analytics::areas::MUNICIPALITY_LAYER,
        ) {
            Ok(state) => Ok(state.map(|s| Snapshot::of_database(s, self.location.clone()))),
            Err(e) => {
                // A broken connection (the database restarted): a new one next time.
                *slot = None;
                Err(pg_error(e))
            }
        }
    }

    /// The store given (a file path, or a database URL as given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_memo_makes_once_for_concurrent_callers_and_keeps_no_failure() {
        let memo = Memo::default();
        let made = AtomicUsize::new(0);
        let values: Vec<Arc<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        memo.get_or_make("field", || {
                            made.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(42u64)
                        })
                        .expect("made")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(values
            .iter()
            .all(|v| **v == 42 && Arc::ptr_eq(v, &values[0])));
        // A failure is the caller's alone: the next caller makes it anew.
        let failed: Result<Arc<u64>, QueryError> =
            memo.get_or_make("other", || Err(QueryError::invalid("x", "no")));
        assert!(failed.is_err());
        assert_eq!(*memo.get_or_make("other", || Ok(7u64)).expect("made"), 7);
        // Oldest out beyond the bound.
        for k in 0..memo.max + 1 {
            memo.get_or_make(&format!("k{k}"), || Ok(k)).expect("made");
        }
        let n = memo.entries.lock().expect("lock").len();
        assert_eq!(n, memo.max);
        let again = AtomicUsize::new(0);
        memo.get_or_make("field", || {
            again.fetch_add(1, Ordering::SeqCst);
            Ok(1u64)
        })
        .expect("made");
        assert_eq!(
            again.load(Ordering::SeqCst),
            1,
            "the first entry was dropped"
        );
    }
}
