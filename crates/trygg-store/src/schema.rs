//! The store's SQL schema: the GeoPackage 1.3 core tables, Trygg's feature tables
//! (events as points, areas as multipolygons) and attribute tables (population,
//! ingest batches and files, rejected rows, metadata).

/// `PRAGMA application_id` of a GeoPackage ("GPKG").
pub const GPKG_APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of a GeoPackage 1.3 file.
pub const GPKG_USER_VERSION: i32 = 10300;
/// The version of Trygg's own tables, kept in `trygg_meta`.
pub const SCHEMA_VERSION: &str = "6";

/// Migrations from each earlier schema version to the next, applied in order by
/// `Store::open` inside one transaction: (from version, SQL).
pub const MIGRATIONS: [(&str, &str); 5] = [
    (
        "1",
        // 2: batches can be reverted (who, when, how many events went), and carry
        // notes on how their times were read (daylight-saving gaps and repeats);
        // events carry their time precision. Version 1 kept none, so it is inferred as
        // ingest made it: a local midnight start whose end (if any) is 23:59:59 came
        // from a date-only time; a longer interval than an hour is an interval.
        "ALTER TABLE ingest_batches ADD COLUMN notes TEXT NOT NULL DEFAULT '{}';
     ALTER TABLE ingest_batches ADD COLUMN reverted_at TEXT;
     ALTER TABLE ingest_batches ADD COLUMN reverted_by TEXT;
     ALTER TABLE ingest_batches ADD COLUMN reverted_events INTEGER;
     ALTER TABLE events ADD COLUMN time_precision TEXT NOT NULL DEFAULT 'exact';
     UPDATE events SET time_precision = 'interval'
       WHERE occurred_to IS NOT NULL AND unixepoch(occurred_to) - occurred_utc > 3600;
     UPDATE events SET time_precision = 'date'
       WHERE substr(occurred_at, 11, 9) = 'T00:00:00'
         AND (occurred_to IS NULL OR substr(occurred_to, 11, 9) = 'T23:59:59');",
    ),
    (
        "2", // 3: an append-only audit log of exports and point-level answers.
        AUDIT_SQL,
    ),
    (
        // 4: revisions. Replaced versions of events go to `event_history`
        // with the hash of their content, and batches and files count the
        // events they revised. And the police feed's poll log.
        "3",
        SCHEMA_4_SQL,
    ),
    (
        // 5: the GeoPackage RTree spatial index extension on `events`, so
        // QGIS and GDAL read a view's events without scanning every row.
        "4", RTREE_SQL,
    ),
    (
        // 6: attributes as compact JSON (the police feed's elements were kept
        // with the feed's indentation: a third of their bytes was white space).
        // The same values, keys in the same order; rows that are not JSON (a
        // damaged store) stay as they are.
        "5",
        COMPACT_ATTRIBUTES_SQL,
    ),
];

/// Schema 6: every stored attributes text rewritten as compact JSON.
const COMPACT_ATTRIBUTES_SQL: &str = "UPDATE events SET attributes = json(attributes)
  WHERE json_valid(attributes) AND attributes <> json(attributes);
UPDATE event_history SET attributes = json(attributes)
  WHERE json_valid(attributes) AND attributes <> json(attributes);";

macro_rules! rtree_insert_trigger {
    () => {
        "CREATE TRIGGER rtree_events_geom_insert AFTER INSERT ON events
  WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  INSERT OR REPLACE INTO rtree_events_geom VALUES (
    NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;"
    };
}

/// The `events` R-tree's insert trigger (the spec's). A batch drops it while it
/// appends and fills the index in one statement at commit ([`RTREE_FILL_AFTER`]),
/// then creates it again, all in the batch's transaction.
pub const RTREE_INSERT_TRIGGER: &str = rtree_insert_trigger!();

/// Indexes the events with `fid > ?1` (a batch's appended rows).
pub const RTREE_FILL_AFTER: &str = "INSERT OR REPLACE INTO rtree_events_geom
  SELECT fid, ST_MinX(geom), ST_MaxX(geom), ST_MinY(geom), ST_MaxY(geom) FROM events
  WHERE fid > ?1 AND geom NOT NULL AND NOT ST_IsEmpty(geom)";

/// Schema 5: the GeoPackage 1.3 RTree spatial index extension (F.3) on
/// `events.geom`: the virtual table, its registration in `gpkg_extensions`, the
/// spec's triggers, and the index of the rows already stored. Its functions
/// (`ST_MinX` …, `ST_IsEmpty`) are registered on every connection of the store.
const RTREE_SQL: &str = concat!(
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_extensions VALUES
  ('events', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_events_geom USING rtree(id, minx, maxx, miny, maxy);
INSERT OR REPLACE INTO rtree_events_geom
  SELECT fid, ST_MinX(geom), ST_MaxX(geom), ST_MinY(geom), ST_MaxY(geom) FROM events
  WHERE geom NOT NULL AND NOT ST_IsEmpty(geom);
",
    rtree_insert_trigger!(),
    "
CREATE TRIGGER rtree_events_geom_update1 AFTER UPDATE OF geom ON events
  WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  INSERT OR REPLACE INTO rtree_events_geom VALUES (
    NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_events_geom_update2 AFTER UPDATE OF geom ON events
  WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_events_geom WHERE id = OLD.fid;
END;
CREATE TRIGGER rtree_events_geom_update3 AFTER UPDATE ON events
  WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_events_geom WHERE id = OLD.fid;
  INSERT OR REPLACE INTO rtree_events_geom VALUES (
    NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_events_geom_update4 AFTER UPDATE ON events
  WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_events_geom WHERE id IN (OLD.fid, NEW.fid);
END;
CREATE TRIGGER rtree_events_geom_delete AFTER DELETE ON events
  WHEN old.geom NOT NULL
BEGIN
  DELETE FROM rtree_events_geom WHERE id = OLD.fid;
END;"
);

/// Schema 4: the history of replaced versions of events and the counts of
/// revisions; the police feed's poll log.
const SCHEMA_4_SQL: &str = "ALTER TABLE ingest_batches ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_files ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
CREATE TABLE event_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, source_id TEXT NOT NULL,
  content_sha256 TEXT NOT NULL, batch_id INTEGER NOT NULL REFERENCES ingest_batches(id),
  replaced_by INTEGER NOT NULL REFERENCES ingest_batches(id), replaced_at TEXT NOT NULL,
  geom BLOB NOT NULL, occurred_at TEXT NOT NULL, occurred_to TEXT, occurred_utc INTEGER NOT NULL,
  time_precision TEXT NOT NULL, reported_at TEXT, category TEXT NOT NULL, category_norm TEXT NOT NULL,
  precision TEXT NOT NULL, stadsdel TEXT, stadsdelsomrade_2020 TEXT, stadsdelsomrade_2023 TEXT,
  outside_areas BOOLEAN NOT NULL, attributes TEXT NOT NULL);
CREATE INDEX event_history_id ON event_history (source, source_id, content_sha256);
CREATE INDEX event_history_batch ON event_history (batch_id);
CREATE INDEX event_history_replaced_by ON event_history (replaced_by);
CREATE TABLE police_polls (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, url TEXT NOT NULL, status INTEGER,
  ok BOOLEAN NOT NULL, error TEXT, attempts INTEGER NOT NULL, events INTEGER,
  new_events INTEGER, updated INTEGER, batch_id INTEGER REFERENCES ingest_batches(id),
  overlap INTEGER, gap BOOLEAN NOT NULL DEFAULT 0, ids TEXT);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('event_history', 'attributes', 'event_history', 'Earlier versions of revised events, with the batch that brought each and the batch that replaced it', NULL),
  ('police_polls', 'attributes', 'police_polls', 'Every poll of the police events feed: time, HTTP status, new events, overlap with the previous snapshot, gaps', NULL);";

/// The audit log: rows can be added, never changed or removed (triggers).
const AUDIT_SQL: &str = "CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, rows INTEGER, detail TEXT NOT NULL DEFAULT '');
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('audit_log', 'attributes', 'audit_log', 'Exports and point-level answers: who, when, what, how many rows (append-only)', NULL);";

const WKT_3006: &str = r#"PROJCS["SWEREF99 TM",GEOGCS["SWEREF99",DATUM["SWEREF99",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6619"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4619"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","3006"]]"#;
const WKT_4326: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]"#;

/// The GeoPackage 1.3 core tables (with the SRS of WGS 84 and SWEREF 99 TM), for
/// the store and for exported GeoPackages.
pub fn core_sql() -> String {
    format!(
        r#"
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WKT_4326}', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid'),
  ('SWEREF99 TM', 3006, 'EPSG', 3006, '{WKT_3006}', 'SWEREF 99 TM, the store''s metric CRS');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"#
    )
}

/// Creates every table of a new store. Runs inside the creating transaction.
pub fn create_sql() -> String {
    let core = core_sql();
    format!(
        r#"
{core}
CREATE TABLE trygg_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE ingest_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT, strict BOOLEAN NOT NULL, read INTEGER NOT NULL DEFAULT 0,
  accepted INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
  skip_reasons TEXT NOT NULL DEFAULT '{{}}', notes TEXT NOT NULL DEFAULT '{{}}',
  reverted_at TEXT, reverted_by TEXT, reverted_events INTEGER);
CREATE TABLE ingest_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id INTEGER NOT NULL REFERENCES ingest_batches(id),
  file TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, read INTEGER NOT NULL,
  accepted INTEGER NOT NULL, duplicates INTEGER NOT NULL, skipped INTEGER NOT NULL,
  rejected INTEGER NOT NULL, error TEXT);
CREATE TABLE rejected_rows (
  id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES ingest_batches(id),
  file TEXT NOT NULL, row INTEGER, field TEXT, reason TEXT NOT NULL, raw TEXT);

CREATE TABLE events (
  fid INTEGER PRIMARY KEY, geom POINT NOT NULL,
  source TEXT NOT NULL, source_id TEXT NOT NULL,
  occurred_at TEXT NOT NULL, occurred_to TEXT, occurred_utc INTEGER NOT NULL,
  time_precision TEXT NOT NULL DEFAULT 'exact', reported_at TEXT,
  category TEXT NOT NULL, category_norm TEXT NOT NULL, precision TEXT NOT NULL,
  stadsdel TEXT, stadsdelsomrade_2020 TEXT, stadsdelsomrade_2023 TEXT,
  outside_areas BOOLEAN NOT NULL, batch_id INTEGER NOT NULL REFERENCES ingest_batches(id),
  attributes TEXT NOT NULL,
  UNIQUE (source, source_id));

CREATE TABLE area_layers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, valid_from DATE, valid_to DATE,
  source_file TEXT, loaded_at TEXT NOT NULL, feature_count INTEGER NOT NULL);
CREATE TABLE areas (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON NOT NULL,
  layer TEXT NOT NULL REFERENCES area_layers(name), code TEXT NOT NULL, name TEXT NOT NULL,
  properties TEXT NOT NULL, UNIQUE (layer, code));

CREATE TABLE population (
  id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, area_code TEXT NOT NULL,
  year INTEGER NOT NULL, population INTEGER NOT NULL, derived BOOLEAN NOT NULL, source TEXT,
  UNIQUE (layer, area_code, year));

{AUDIT_SQL}
{SCHEMA_4_SQL}
{RTREE_SQL}
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('events', 'features', 'events', 'Trygg events (all sources), SWEREF 99 TM points', 3006),
  ('areas', 'features', 'areas', 'Area layers (stadsdelar, stadsdelsområden, uploaded areas)', 3006),
  ('area_layers', 'attributes', 'area_layers', 'Area layers and their validity dates', NULL),
  ('population', 'attributes', 'population', 'Population per area and year', NULL),
  ('ingest_batches', 'attributes', 'ingest_batches', 'Ingest batches with their counts', NULL),
  ('ingest_files', 'attributes', 'ingest_files', 'Files of each ingest batch with SHA-256', NULL),
  ('rejected_rows', 'attributes', 'rejected_rows', 'Input rows rejected at ingest and why', NULL),
  ('trygg_meta', 'attributes', 'trygg_meta', 'Store metadata', NULL);
INSERT INTO gpkg_geometry_columns VALUES
  ('events', 'geom', 'POINT', 3006, 0, 0),
  ('areas', 'geom', 'MULTIPOLYGON', 3006, 0, 0);
"#
    )
}
