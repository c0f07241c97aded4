//! A plain GeoPackage of one feature table, for exports: the GeoPackage 1.3 core
//! tables, one table of typed columns with a WGS 84 geometry, and an attribute
//! table `export_info` (key, value) with the export's parameters and provenance.
//! GDAL and QGIS open it as a layer.

use std::path::Path;

use geo_types::MultiPolygon;
use rusqlite::{params_from_iter, Connection};

use crate::error::StoreError;
use crate::geom::{encode_multipolygon, encode_point};
use crate::schema::{core_sql, GPKG_APPLICATION_ID, GPKG_USER_VERSION};

/// A column's SQLite type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// TEXT.
    Text,
    /// INTEGER.
    Integer,
    /// REAL.
    Real,
}

/// A value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// Text.
    Text(String),
}

/// The table's geometry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryType {
    /// Points.
    Point,
    /// Multipolygons (polygons are written as multipolygons of one).
    MultiPolygon,
}

/// A row's geometry (WGS 84).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A point (lon, lat).
    Point(f64, f64),
    /// A multipolygon.
    MultiPolygon(MultiPolygon<f64>),
}

/// A GeoPackage being written; rows go in one transaction.
pub struct FeatureFile {
    path: std::path::PathBuf,
    conn: Connection,
    insert: String,
    extent: Option<[f64; 4]>,
    table: String,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl FeatureFile {
    /// Creates the file (which must not exist) with a table of `columns`.
    pub fn create(
        path: &Path,
        table: &str,
        description: &str,
        columns: &[(&str, ColumnType)],
        geometry: GeometryType,
    ) -> Result<FeatureFile, StoreError> {
        Self::create_sql(path, table, description, columns, geometry).map_err(|source| {
            StoreError::Sqlite {
                path: path.to_owned(),
                source,
            }
        })
    }

    fn create_sql(
        path: &Path,
        table: &str,
        description: &str,
        columns: &[(&str, ColumnType)],
        geometry: GeometryType,
    ) -> Result<FeatureFile, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "application_id", GPKG_APPLICATION_ID)?;
        conn.pragma_update(None, "user_version", GPKG_USER_VERSION)?;
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.execute_batch("BEGIN")?;
        conn.execute_batch(&core_sql())?;
        let cols: Vec<String> = columns
            .iter()
            .map(|(n, t)| {
                let ty = match t {
                    ColumnType::Text => "TEXT",
                    ColumnType::Integer => "INTEGER",
                    ColumnType::Real => "REAL",
                };
                format!("{} {ty}", quote(n))
            })
            .collect();
        let geometry_type = match geometry {
            GeometryType::Point => "POINT",
            GeometryType::MultiPolygon => "MULTIPOLYGON",
        };
        conn.execute_batch(&format!(
            "CREATE TABLE {t} (fid INTEGER PRIMARY KEY, geom {geometry_type}{sep}{cols});
             CREATE TABLE export_info (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);",
            t = quote(table),
            sep = if cols.is_empty() { "" } else { ", " },
            cols = cols.join(", "),
        ))?;
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
             VALUES (?1, 'features', ?1, ?2, 4326),
                    ('export_info', 'attributes', 'export_info', 'Parameters and provenance of this export', NULL)",
            (table, description),
        )?;
        conn.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
            (table, geometry_type),
        )?;
        let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
        let marks: Vec<String> = (0..=columns.len()).map(|i| format!("?{}", i + 1)).collect();
        let insert = format!(
            "INSERT INTO {} (geom{}{}) VALUES ({})",
            quote(table),
            if names.is_empty() { "" } else { ", " },
            names.join(", "),
            marks.join(", ")
        );
        Ok(FeatureFile {
            path: path.to_owned(),
            conn,
            insert,
            extent: None,
            table: table.to_owned(),
        })
    }

    /// Adds a key of `export_info`.
    pub fn info(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO export_info VALUES (?1, ?2)",
                (key, value),
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Adds a row.
    pub fn insert(&mut self, shape: Option<&Shape>, values: &[Value]) -> Result<(), StoreError> {
        let blob = shape.map(|s| match s {
            Shape::Point(x, y) => {
                self.grow([*x, *y, *x, *y]);
                encode_point(4326, *x, *y)
            }
            Shape::MultiPolygon(mp) => {
                for c in mp.0.iter().flat_map(|p| p.exterior().0.iter()) {
                    self.grow([c.x, c.y, c.x, c.y]);
                }
                encode_multipolygon(4326, mp)
            }
        });
        let mut stmt = self
            .conn
            .prepare_cached(&self.insert)
            .map_err(|e| self.err(e))?;
        let values = std::iter::once(match blob {
            Some(b) => rusqlite::types::Value::Blob(b),
            None => rusqlite::types::Value::Null,
        })
        .chain(values.iter().map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Integer(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(r) => rusqlite::types::Value::Real(*r),
            Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
        }));
        stmt.execute(params_from_iter(values))
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })?;
        Ok(())
    }

    fn grow(&mut self, [a, b, c, d]: [f64; 4]) {
        self.extent = Some(match self.extent {
            None => [a, b, c, d],
            Some([x0, y0, x1, y1]) => [x0.min(a), y0.min(b), x1.max(c), y1.max(d)],
        });
    }

    /// Records the extent and commits.
    pub fn finish(self) -> Result<(), StoreError> {
        let done = || -> Result<(), rusqlite::Error> {
            if let Some([x0, y0, x1, y1]) = self.extent {
                self.conn.execute(
                    "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 WHERE table_name = ?5",
                    (x0, y0, x1, y1, &self.table),
                )?;
            }
            self.conn.execute_batch("COMMIT")
        };
        done().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_file_is_a_geopackage_with_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.gpkg");
        let mut f = FeatureFile::create(
            &path,
            "stats",
            "test",
            &[("name", ColumnType::Text), ("count", ColumnType::Integer)],
            GeometryType::Point,
        )
        .expect("create");
        f.insert(
            Some(&Shape::Point(18.0, 59.3)),
            &[Value::Text("a".into()), Value::Integer(3)],
        )
        .expect("row");
        f.insert(None, &[Value::Text("b".into()), Value::Null])
            .expect("row");
        f.info("synthetic", "true").expect("info");
        f.finish().expect("finish");
        let conn = Connection::open(&path).expect("open");
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(app, GPKG_APPLICATION_ID);
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM stats WHERE geom IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, 1);
        let minx: f64 = conn
            .query_row(
                "SELECT min_x FROM gpkg_contents WHERE table_name='stats'",
                [],
                |r| r.get(0),
            )
            .expect("extent");
        assert_eq!(minx, 18.0);
    }
}
