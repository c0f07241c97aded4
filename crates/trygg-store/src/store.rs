//! Opening and creating stores; metadata, area layers and population.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, SecondsFormat, Utc};
use geo_types::MultiPolygon;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use trygg_model::Extent;

use crate::create::NewStore;
use crate::error::StoreError;
use crate::geom;
use crate::meta;
use crate::schema;

/// An open store.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// The name of the layer of municipalities a store of several holds (one
/// area per kommun, its code the kommunkod, e.g. `0184`): what ingest accepts
/// beyond the study municipality and what a query is limited by.
pub const KOMMUN_LAYER: &str = "kommun";

/// An area layer's description.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaLayer {
    /// The layer's name, e.g. "stadsdel" or "stadsdelsomrade_2023".
    pub name: String,
    /// First day the division is valid, if bounded.
    pub valid_from: Option<NaiveDate>,
    /// Last day the division is valid, if bounded.
    pub valid_to: Option<NaiveDate>,
    /// The file it was loaded from.
    pub source_file: Option<String>,
}

/// One area of a layer, in EPSG:3006.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArea {
    /// Stable code, unique within the layer.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Other properties, as a JSON object text.
    pub properties: String,
    /// The polygons.
    pub geometry: MultiPolygon<f64>,
}

/// Population of one area in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationRow {
    /// The area layer.
    pub layer: String,
    /// The area's code in that layer.
    pub area_code: String,
    /// The year the figure refers to.
    pub year: i32,
    /// Residents.
    pub population: i64,
    /// Whether the figure was derived (estimated) rather than published.
    pub derived: bool,
    /// Where it comes from.
    pub source: Option<String>,
}

/// The GeoPackage `srs_id` of every stored geometry (EPSG:3006).
pub(crate) const STORE_SRS_ID: i32 = 3006;

/// The time now as the store records it (RFC 3339, UTC, milliseconds).
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Store {
    /// Every row of a query, each read by `f`.
    pub(crate) fn all<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let rows = stmt.query_map(args, f).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    pub(crate) fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let sql = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        // A rollback journal, not WAL: an ingest batch mostly appends pages, which a
        // rollback journal writes once while WAL writes them twice (log, then
        // checkpoint); measured 20 % faster on 500k rows, and the store stays one
        // file. synchronous=FULL makes every committed batch durable.
        conn.pragma_update(None, "journal_mode", "DELETE")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        conn.pragma_update(None, "cache_size", -262_144)
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        register_gpkg_functions(conn).map_err(sql)?;
        Ok(())
    }

    /// Creates a new, empty store at `path` (an error if the file exists), atomically.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        Store::begin_create(path)?.persist()
    }

    /// Starts creating a store at `path`: fill it (areas, metadata, a first batch),
    /// then [`NewStore::persist`] it; until then nothing exists under `path`.
    pub fn begin_create(path: &Path) -> Result<NewStore, StoreError> {
        NewStore::begin(path)
    }

    /// Writes the schema into a new database file at `path`.
    pub(crate) fn create_schema(path: &Path) -> Result<Store, StoreError> {
        let sql = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        // Large pages: a batch appends hundreds of MB of rows, and 64 KiB pages
        // measured 25 % faster than the default 4 KiB for 1M rows.
        conn.pragma_update(None, "page_size", 65_536).map_err(sql)?;
        conn.pragma_update(None, "application_id", schema::GPKG_APPLICATION_ID)
            .map_err(sql)?;
        conn.pragma_update(None, "user_version", schema::GPKG_USER_VERSION)
            .map_err(sql)?;
        Self::configure(&conn, path)?;
        let tx = conn.transaction().map_err(sql)?;
        tx.execute_batch(&schema::create_sql()).map_err(sql)?;
        tx.execute(
            "INSERT INTO trygg_meta (key, value) VALUES ('schema_version', ?1), ('created_at', ?2)",
            params![schema::SCHEMA_VERSION, now_rfc3339()],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// Opens an existing store for reading and writing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let sql = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql)?;
        let not_a_store = |reason: String| StoreError::NotAStore {
            path: path.to_owned(),
            reason,
        };
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| not_a_store(e.to_string()))?;
        if app_id != schema::GPKG_APPLICATION_ID {
            return Err(not_a_store(format!(
                "application_id is {app_id:#x}, not a GeoPackage"
            )));
        }
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM trygg_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| not_a_store(format!("no trygg_meta table ({e})")))?;
        Self::configure(&conn, path)?;
        match version.as_deref() {
            Some(schema::SCHEMA_VERSION) => {}
            Some(v) if schema::MIGRATIONS.iter().any(|(from, _)| *from == v) => {
                migrate(&conn, v).map_err(|source| StoreError::Sqlite {
                    path: path.to_owned(),
                    source,
                })?;
            }
            other => {
                return Err(not_a_store(format!(
                    "schema version {other:?}, expected {}",
                    schema::SCHEMA_VERSION
                )))
            }
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM trygg_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Sets a metadata value (and counts it as a change of the store's data).
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO trygg_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map_err(sql)?;
        bump_data_version(&tx, false).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The store's data version: a counter every committed change of its data
    /// (a batch, a revert, areas, population, metadata) increments in the same
    /// transaction, so a reader holding version N knows whether what it loaded is
    /// still current with one cheap query, whichever process wrote.
    pub fn data_version(&self) -> Result<u64, StoreError> {
        self.version_key(meta::DATA_VERSION)
    }

    /// The data version at which events last changed other than by appending (a
    /// revert): a snapshot of version N may be extended with the events added
    /// since only while this is at most N.
    pub fn rewritten_version(&self) -> Result<u64, StoreError> {
        self.version_key(meta::REWRITTEN_VERSION)
    }

    fn version_key(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The study extent events must lie in (EPSG:3006), if configured.
    pub fn extent(&self) -> Result<Option<Extent>, StoreError> {
        let Some(text) = self.meta(meta::EXTENT)? else {
            return Ok(None);
        };
        match meta::parse_extent(&text) {
            Some(e) => Ok(Some(e)),
            None => Err(StoreError::Corrupt {
                path: self.path.clone(),
                table: "trygg_meta",
                rowid: 0,
                reason: format!("extent '{text}' is not minx,miny,maxx,maxy"),
            }),
        }
    }

    /// The study extent in force, the one rule every reader uses: the stored
    /// extent, else the `stadsdel` layer's bounds grown by
    /// [`Extent::STUDY_MARGIN_M`], else `None` (a store without areas).
    pub fn study_extent(&self) -> Result<Option<Extent>, StoreError> {
        if let Some(e) = self.extent()? {
            return Ok(Some(e));
        }
        let mut bounds = None;
        for area in self.areas("stadsdel")? {
            for c in area.geometry.0.iter().flat_map(|p| p.exterior().0.iter()) {
                grow(&mut bounds, c.x, c.y);
            }
        }
        Ok(bounds.map(|[min_x, min_y, max_x, max_y]| {
            Extent {
                min_x,
                min_y,
                max_x,
                max_y,
            }
            .expanded(Extent::STUDY_MARGIN_M)
        }))
    }

    /// Sets the study extent.
    pub fn set_extent(&mut self, e: &Extent) -> Result<(), StoreError> {
        self.set_meta(
            meta::EXTENT,
            &format!("{},{},{},{}", e.min_x, e.min_y, e.max_x, e.max_y),
        )
    }

    /// Number of stored events.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| self.sql(e))
    }

    /// Stores an area layer in one transaction. An existing layer of the same name is
    /// an error unless `replace` is set, in which case it is replaced whole.
    pub fn put_area_layer(
        &mut self,
        layer: &AreaLayer,
        areas: &[StoredArea],
        replace: bool,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let exists: bool = tx
            .query_row(
                "SELECT count(*) FROM area_layers WHERE name = ?1",
                [&layer.name],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?
            > 0;
        if exists && !replace {
            return Err(StoreError::LayerExists(layer.name.clone()));
        }
        tx.execute("DELETE FROM areas WHERE layer = ?1", [&layer.name])
            .map_err(sql)?;
        tx.execute("DELETE FROM area_layers WHERE name = ?1", [&layer.name])
            .map_err(sql)?;
        tx.execute(
            "INSERT INTO area_layers (name, valid_from, valid_to, source_file, loaded_at, feature_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                layer.name,
                layer.valid_from.map(|d| d.to_string()),
                layer.valid_to.map(|d| d.to_string()),
                layer.source_file,
                now_rfc3339(),
                i64::try_from(areas.len()).unwrap_or(i64::MAX)
            ],
        )
        .map_err(sql)?;
        let mut bounds = None;
        {
            let mut insert = tx
                .prepare("INSERT INTO areas (geom, layer, code, name, properties) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for area in areas {
                let blob = geom::encode_multipolygon(STORE_SRS_ID, &area.geometry);
                for c in area.geometry.0.iter().flat_map(|p| p.exterior().0.iter()) {
                    grow(&mut bounds, c.x, c.y);
                }
                insert
                    .execute(params![
                        blob,
                        layer.name,
                        area.code,
                        area.name,
                        area.properties
                    ])
                    .map_err(sql)?;
            }
        }
        grow_contents_extent(&tx, "areas", bounds).map_err(sql)?;
        bump_data_version(&tx, false).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// All area layers, by name.
    pub fn area_layers(&self) -> Result<Vec<AreaLayer>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, valid_from, valid_to, source_file FROM area_layers ORDER BY name",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AreaLayer {
                    name: r.get(0)?,
                    valid_from: r.get::<_, Option<String>>(1)?.and_then(|d| d.parse().ok()),
                    valid_to: r.get::<_, Option<String>>(2)?.and_then(|d| d.parse().ok()),
                    source_file: r.get(3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The areas of a layer, in insertion order.
    pub fn areas(&self, layer: &str) -> Result<Vec<StoredArea>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT fid, code, name, properties, geom FROM areas WHERE layer = ?1 ORDER BY fid",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([layer]).map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let fid: i64 = r.get(0).map_err(|e| self.sql(e))?;
            let blob: Vec<u8> = r.get(4).map_err(|e| self.sql(e))?;
            let corrupt = |reason: String| StoreError::Corrupt {
                path: self.path.clone(),
                table: "areas",
                rowid: fid,
                reason,
            };
            let geometry = match geom::decode(&blob).map_err(|e| corrupt(e.to_string()))? {
                (_, geo_types::Geometry::MultiPolygon(mp)) => mp,
                (_, other) => {
                    return Err(corrupt(format!(
                        "geometry is not a multipolygon: {other:?}"
                    )))
                }
            };
            out.push(StoredArea {
                code: r.get(1).map_err(|e| self.sql(e))?,
                name: r.get(2).map_err(|e| self.sql(e))?,
                properties: r.get(3).map_err(|e| self.sql(e))?,
                geometry,
            });
        }
        Ok(out)
    }

    /// Inserts or updates population figures in one transaction.
    pub fn put_population(&mut self, rows: &[PopulationRow]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO population (layer, area_code, year, population, derived, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(layer, area_code, year) DO UPDATE SET population = excluded.population,
                       derived = excluded.derived, source = excluded.source",
                )
                .map_err(sql)?;
            for p in rows {
                stmt.execute(params![
                    p.layer,
                    p.area_code,
                    p.year,
                    p.population,
                    p.derived,
                    p.source
                ])
                .map_err(sql)?;
            }
        }
        bump_data_version(&tx, false).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The population figures of a layer, by area code and year.
    pub fn population(&self, layer: &str) -> Result<Vec<PopulationRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT layer, area_code, year, population, derived, source FROM population
                 WHERE layer = ?1 ORDER BY area_code, year",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([layer], |r| {
                Ok(PopulationRow {
                    layer: r.get(0)?,
                    area_code: r.get(1)?,
                    year: r.get(2)?,
                    population: r.get(3)?,
                    derived: r.get(4)?,
                    source: r.get(5)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}

/// The GeoPackage SQL functions the RTree extension's triggers call
/// (`ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY`, `ST_IsEmpty`), as GDAL defines
/// them, so a row written here keeps the index as one written by QGIS would.
fn register_gpkg_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, k) in [
        ("ST_MinX", 0),
        ("ST_MaxX", 1),
        ("ST_MinY", 2),
        ("ST_MaxY", 3),
    ] {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(ctx
                .get_raw(0)
                .as_blob_or_null()?
                .and_then(geom::blob_envelope)
                .map(|e| e[k]))
        })?;
    }
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(ctx
            .get_raw(0)
            .as_blob_or_null()?
            .map(|b| geom::is_empty(b) || geom::blob_envelope(b).is_none()))
    })?;
    // Trygg's own: `trygg_cell(coordinate, origin, size)`, the square grid
    // cell index of a coordinate as the in-memory view holds it
    // ([`crate::view::quantized`]), for counts the store makes itself.
    conn.create_scalar_function("trygg_cell", 3, flags, |ctx| {
        let (c, origin, size): (f64, f64, f64) = (ctx.get(0)?, ctx.get(1)?, ctx.get(2)?);
        Ok((crate::view::quantized(c, origin) / size).floor() as i64)
    })
}

/// Increments the data version inside the caller's transaction; `rewrite` marks
/// a change that removed or altered stored events (not an append).
pub(crate) fn bump_data_version(conn: &Connection, rewrite: bool) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO trygg_meta (key, value) VALUES (?1, '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [meta::DATA_VERSION],
    )?;
    if rewrite {
        conn.execute(
            "INSERT INTO trygg_meta (key, value)
             SELECT ?1, value FROM trygg_meta WHERE key = ?2
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [meta::REWRITTEN_VERSION, meta::DATA_VERSION],
        )?;
    }
    Ok(())
}

/// Applies every migration from `version` on, and records the new version, in one
/// transaction (a killed migration leaves the store at its old version).
fn migrate(conn: &Connection, version: &str) -> rusqlite::Result<()> {
    let start = schema::MIGRATIONS
        .iter()
        .position(|(from, _)| *from == version)
        .unwrap_or(schema::MIGRATIONS.len());
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        for (_, sql) in &schema::MIGRATIONS[start..] {
            conn.execute_batch(sql)?;
        }
        conn.execute(
            "UPDATE trygg_meta SET value = ?1 WHERE key = 'schema_version'",
            [schema::SCHEMA_VERSION],
        )?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Grows a feature table's bounding box in `gpkg_contents` (GDAL reads it as the
/// layer extent) to cover `bounds` = `[min_x, min_y, max_x, max_y]`.
pub(crate) fn grow_contents_extent(
    conn: &Connection,
    table: &str,
    bounds: Option<[f64; 4]>,
) -> rusqlite::Result<()> {
    let Some([min_x, min_y, max_x, max_y]) = bounds else {
        return Ok(());
    };
    conn.execute(
        "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2),
         max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4),
         last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?5",
        params![min_x, min_y, max_x, max_y, table],
    )?;
    Ok(())
}

/// Accumulates a bounding box `[min_x, min_y, max_x, max_y]`.
pub(crate) fn grow(bounds: &mut Option<[f64; 4]>, x: f64, y: f64) {
    *bounds = Some(match *bounds {
        None => [x, y, x, y],
        Some([a, b, c, d]) => [a.min(x), b.min(y), c.max(x), d.max(y)],
    });
}
