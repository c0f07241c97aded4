//! Read-only SQL that both backends run: a statement is written once, with the
//! backend's placeholders and time function filled in, and its rows come back
//! as [`Cell`]s read as the caller's [`Kind`]s say. What is read this way (a
//! period's provenance, the feed's polls) is decided in one place for the
//! GeoPackage file and PostgreSQL alike.

use rusqlite::types::Value;

use crate::error::StoreError;
use crate::store::Store;
use crate::tables::{Cell, Kind};

/// A store that runs read-only SQL.
pub trait SqlRead {
    /// The placeholder of parameter `n` (from 1).
    fn mark(&self, n: usize) -> String;
    /// An expression for the Unix seconds (an integer) of an RFC 3339 text column.
    fn epoch(&self, column: &str) -> String;
    /// An expression for the square grid cell index (column or row) of an
    /// event's point along `axis`, its coordinate taken as a view with this
    /// origin holds it ([`crate::view::quantized`]): `floor(c / size_m)`.
    fn cell_index(&self, axis: Axis, origin: f64, size_m: f64) -> String;
    /// An expression for a geometry column read as [`Kind::Point`] or
    /// [`Kind::MultiPolygon`] (a GeoPackage blob either way).
    fn geometry(&self, column: &str) -> String;
    /// Runs `sql` with `args`, passing each row (one cell per kind in `kinds`)
    /// to `f` as it is read, stopping at `f`'s first error.
    fn each(
        &mut self,
        sql: &str,
        args: &[Cell],
        kinds: &[Kind],
        f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `sql` with `args`; each row has one cell per kind in `kinds`.
    fn read(
        &mut self,
        sql: &str,
        args: &[Cell],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, args, kinds, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }
}

/// A coordinate axis of EPSG:3006.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Easting.
    X,
    /// Northing.
    Y,
}

/// An `f64` as an SQL literal that reads back as the same number.
pub fn float_literal(v: f64) -> String {
    // Debug prints the shortest text that parses back to `v`.
    format!("{v:?}")
}

/// Runs `sql` over `db` passing each row to `f`, whose own error type `E`
/// stops the read and is returned as it was.
pub(crate) fn each_with<E: From<StoreError>>(
    db: &mut dyn SqlRead,
    sql: &str,
    args: &[Cell],
    kinds: &[Kind],
    mut f: impl FnMut(Vec<Cell>) -> Result<(), E>,
) -> Result<(), E> {
    let mut failed = None;
    let read = db.each(sql, args, kinds, &mut |row| match f(row) {
        Ok(()) => Ok(()),
        Err(e) => {
            failed = Some(e);
            // Only stops the read: `failed` is what is returned.
            Err(StoreError::Io {
                path: Default::default(),
                source: std::io::ErrorKind::Interrupted.into(),
            })
        }
    });
    match failed {
        Some(e) => Err(e),
        None => read.map_err(E::from),
    }
}

/// A metadata value (`trygg_meta`), from either backend.
pub fn meta_value(db: &mut dyn SqlRead, key: &str) -> Result<Option<String>, StoreError> {
    let sql = format!("SELECT value FROM trygg_meta WHERE key = {}", db.mark(1));
    Ok(db
        .read(&sql, &[Cell::Text(key.to_owned())], &[Kind::Text])?
        .first()
        .map(|r| r[0].text()))
}

impl Cell {
    /// The integer, 0 for NULL (counts and ids).
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(v) => *v,
            Cell::Bool(b) => i64::from(*b),
            _ => 0,
        }
    }

    /// The count, 0 for NULL or a negative value.
    pub fn count(&self) -> u64 {
        u64::try_from(self.int()).unwrap_or(0)
    }

    /// The integer, `None` for NULL.
    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, `None` for NULL.
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// The text, empty for NULL.
    pub fn text(&self) -> String {
        self.opt_text().unwrap_or_default()
    }

    /// The boolean, false for NULL.
    pub fn flag(&self) -> bool {
        match self {
            Cell::Bool(b) => *b,
            Cell::Int(v) => *v != 0,
            _ => false,
        }
    }
}

impl SqlRead for Store {
    fn mark(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn epoch(&self, column: &str) -> String {
        format!("unixepoch({column})")
    }

    fn cell_index(&self, axis: Axis, origin: f64, size_m: f64) -> String {
        let coordinate = match axis {
            Axis::X => "ST_MinX(geom)",
            Axis::Y => "ST_MinY(geom)",
        };
        format!(
            "trygg_cell({coordinate}, {}, {})",
            float_literal(origin),
            float_literal(size_m)
        )
    }

    fn geometry(&self, column: &str) -> String {
        column.to_owned()
    }

    fn each(
        &mut self,
        sql: &str,
        args: &[Cell],
        kinds: &[Kind],
        f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let values: Vec<Value> = args.iter().map(crate::tables::value).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(|e| self.sql(e))?;
        let mut n = 0i64;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            n += 1;
            let mut row = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                let v = r.get_ref(i).map_err(|e| self.sql(e))?;
                // An aggregate of no rows, or a comparison, may come as a real.
                let v = match v {
                    rusqlite::types::ValueRef::Real(f) if *kind == Kind::Int => Cell::Int(f as i64),
                    v => crate::tables::cell(*kind, v).map_err(|reason| StoreError::Corrupt {
                        path: self.path.clone(),
                        table: "query",
                        rowid: n,
                        reason: format!("column {i}: {reason}"),
                    })?,
                };
                row.push(v);
            }
            f(row)?;
        }
        Ok(())
    }
}
