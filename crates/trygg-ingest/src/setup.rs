//! Creating stores and loading area layers: a new store gets Stockholm's stadsdelar
//! and both stadsdelsområde divisions (with their validity dates), the study extent
//! and the municipality name, unless the user says otherwise.

use std::path::Path;

use chrono::NaiveDate;
use trygg_crs::Crs;
use trygg_store::{AreaLayer, IngestStore, NewStore, Store, StoreError, StoredArea};

use crate::areas::{read_area_file, stockholm_default, AreaError, AreaFeature, ReadOptions};
use crate::locate::MUNICIPALITY_KEY;

/// Margin around the stadsdelar that still counts as the study extent.
pub const EXTENT_MARGIN_M: f64 = trygg_model::Extent::STUDY_MARGIN_M;

/// An error setting up a store or loading areas.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading areas failed.
    #[error(transparent)]
    Areas(#[from] AreaError),
    /// A population file is malformed.
    #[error(transparent)]
    Population(#[from] PopulationError),
}

/// How to load an area file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaLoad {
    /// The layer's name in the store.
    pub layer: String,
    /// First valid day.
    pub valid_from: Option<NaiveDate>,
    /// Last valid day.
    pub valid_to: Option<NaiveDate>,
    /// CRS override.
    pub crs: Option<Crs>,
    /// Name property.
    pub name_field: Option<String>,
    /// Code property.
    pub code_field: Option<String>,
    /// GeoPackage table.
    pub source_layer: Option<String>,
    /// Replace an existing layer.
    pub replace: bool,
}

/// Opens the store at `path`, creating it if missing; a new store gets Stockholm's
/// areas, extent and municipality when `default_areas` is set, and appears whole.
pub fn open_or_create(path: &Path, default_areas: bool) -> Result<Store, SetupError> {
    if path.exists() {
        return Ok(Store::open(path)?);
    }
    Ok(begin_store(path, default_areas)?.persist()?)
}

/// Starts a new store at `path` (with Stockholm's areas, extent and municipality
/// when `default_areas` is set), invisible until the caller persists it: a
/// command that fills it and then fails leaves no store behind.
pub fn begin_store(path: &Path, default_areas: bool) -> Result<NewStore, SetupError> {
    let mut store = Store::begin_create(path)?;
    if default_areas {
        load_stockholm(&mut store)?;
    }
    Ok(store)
}

/// Loads Stockholm's shipped areas, extent and municipality into a store.
pub fn load_stockholm(store: &mut Store) -> Result<(), SetupError> {
    let areas = stockholm_default()?;
    for (validity, features) in areas.layers() {
        let layer = AreaLayer {
            name: validity.name.to_owned(),
            valid_from: validity.valid_from,
            valid_to: validity.valid_to,
            source_file: Some("data/stockholm (Stockholm open data, CC0)".to_owned()),
        };
        let rows: Vec<StoredArea> = features.iter().map(AreaFeature::to_stored).collect();
        store.put_area_layer(&layer, &rows, true)?;
    }
    if let Some(bounds) = areas.stadsdel_index().bounds() {
        store.set_extent(&bounds.expanded(EXTENT_MARGIN_M))?;
    }
    store.set_meta(MUNICIPALITY_KEY, "Stockholm")?;
    Ok(())
}

/// Reads a polygon file and stores it as an area layer; returns the number of areas.
pub fn load_area_layer(
    store: &mut dyn IngestStore,
    file: &Path,
    load: &AreaLoad,
) -> Result<usize, SetupError> {
    let opts = ReadOptions {
        crs: load.crs.clone(),
        name_field: load.name_field.clone(),
        code_field: load.code_field.clone(),
        layer: load.source_layer.clone(),
    };
    let features = read_area_file(file, &opts)?;
    let layer = AreaLayer {
        name: load.layer.clone(),
        valid_from: load.valid_from,
        valid_to: load.valid_to,
        source_file: Some(file.display().to_string()),
    };
    let rows: Vec<StoredArea> = features.iter().map(AreaFeature::to_stored).collect();
    store.put_area_layer(&layer, &rows, load.replace)?;
    Ok(rows.len())
}

/// A population file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}, row {row}, field '{field}': {reason}")]
pub struct PopulationError {
    /// The file.
    pub file: String,
    /// Line number (header = 1).
    pub row: u64,
    /// The column.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a population CSV (`<area code or name>,year,population[,derived]`,
/// with a header row) and stores it for `layer`'s areas (by their codes) in
/// one transaction; returns the rows stored. Any bad row (an area the layer
/// does not have among them) stops the load before anything is stored.
pub fn load_population_csv(
    store: &mut dyn IngestStore,
    file: &Path,
    layer: &str,
    source: &str,
) -> Result<usize, SetupError> {
    let name = file.display().to_string();
    let areas = store.layer_areas(layer)?;
    // An area by its code or name (as name keys), to its code.
    let mut codes = std::collections::HashMap::new();
    for a in &areas {
        codes.insert(trygg_model::names::name_key(&a.code), a.code.clone());
    }
    for a in &areas {
        codes
            .entry(trygg_model::names::name_key(&a.name))
            .or_insert_with(|| a.code.clone());
    }
    let err = |row: u64, field: &str, reason: String| PopulationError {
        file: name.clone(),
        row,
        field: field.to_owned(),
        reason,
    };
    let mut reader = csv::Reader::from_path(file).map_err(|e| err(0, "", e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| err(1, "", e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(year_col), Some(pop_col)) = (column("year"), column("population")) else {
        return Err(err(
            1,
            "header",
            format!("needs columns 'year' and 'population', found {header:?}"),
        )
        .into());
    };
    let derived_col = column("derived");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| err(e.position().map_or(0, |p| p.line()), "", e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        let asked = cell(0);
        if asked.is_empty() {
            return Err(err(line, &header[0], "empty area code".into()).into());
        }
        let Some(area_code) = codes.get(&trygg_model::names::name_key(asked)).cloned() else {
            return Err(err(
                line,
                &header[0],
                format!("no area '{asked}' (code or name) in layer '{layer}'"),
            )
            .into());
        };
        let year = cell(year_col)
            .parse()
            .map_err(|_| err(line, "year", format!("not a year: '{}'", cell(year_col))))?;
        let population = cell(pop_col).parse().map_err(|_| {
            err(
                line,
                "population",
                format!("not a whole number: '{}'", cell(pop_col)),
            )
        })?;
        let derived = match derived_col.map(cell) {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(err(line, "derived", format!("not true/false: '{other}'")).into())
            }
        };
        rows.push(trygg_store::PopulationRow {
            layer: layer.to_owned(),
            area_code,
            year,
            population,
            derived,
            source: Some(source.to_owned()),
        });
    }
    store.put_population(&rows)?;
    Ok(rows.len())
}
