//! Every Trygg table of a store as plain rows, in an order that keeps foreign
//! keys satisfied: what moving a store into another backend (PostgreSQL, the
//! `trygg-pg` crate) and back reads and writes. The GeoPackage's own tables
//! (`gpkg_*`, the R-tree) are not rows of Trygg's: a new store makes them, and a
//! restore rebuilds the R-tree from the events.

use rusqlite::types::{Value, ValueRef};

use crate::create::NewStore;
use crate::error::StoreError;
use crate::store::Store;

/// A column's kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer.
    Int,
    /// Text.
    Text,
    /// JSON text, kept byte for byte.
    Json,
    /// A boolean (0/1 in SQLite).
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A point in EPSG:3006 (a GeoPackage blob).
    Point,
    /// A multipolygon in EPSG:3006 (a GeoPackage blob).
    MultiPolygon,
}

/// One of Trygg's tables: its name, its key column and its columns.
#[derive(Debug)]
pub struct Table {
    /// The table's name (the same in every backend).
    pub name: &'static str,
    /// The primary key, which orders the rows.
    pub key: &'static str,
    /// Whether the key is a generated integer (a sequence to move on after a copy).
    pub generated_key: bool,
    /// The columns, with their kinds; nullable ones are marked by `NULLABLE`.
    pub columns: &'static [Column],
}

/// A column.
#[derive(Debug)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its kind of value.
    pub kind: Kind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

const fn c(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn n(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use Kind::{Bool, Date, Int, Json, MultiPolygon, Point, Text};

/// The columns an event and a replaced version of one have in common.
macro_rules! event_columns {
    ($($extra:expr),* ; $($tail:expr),*) => {
        &[
            $($extra,)*
            c("geom", Point),
            c("source", Text),
            c("source_id", Text),
            c("occurred_at", Text),
            n("occurred_to", Text),
            c("occurred_utc", Int),
            c("time_precision", Text),
            n("reported_at", Text),
            c("category", Text),
            c("category_norm", Text),
            c("precision", Text),
            n("stadsdel", Text),
            n("stadsdelsomrade_2020", Text),
            n("stadsdelsomrade_2023", Text),
            c("outside_areas", Bool),
            $($tail,)*
            c("attributes", Json),
        ]
    };
}

/// Trygg's tables, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "trygg_meta",
        key: "key",
        generated_key: false,
        columns: &[c("key", Text), c("value", Text)],
    },
    Table {
        name: "ingest_batches",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("source", Text),
            c("started_at", Text),
            n("finished_at", Text),
            c("strict", Bool),
            c("read", Int),
            c("accepted", Int),
            c("duplicates", Int),
            c("skipped", Int),
            c("rejected", Int),
            c("skip_reasons", Json),
            c("notes", Json),
            n("reverted_at", Text),
            n("reverted_by", Text),
            n("reverted_events", Int),
            c("updated", Int),
        ],
    },
    Table {
        name: "ingest_files",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("batch_id", Int),
            c("file", Text),
            c("sha256", Text),
            c("bytes", Int),
            c("read", Int),
            c("accepted", Int),
            c("duplicates", Int),
            c("skipped", Int),
            c("rejected", Int),
            n("error", Text),
            c("updated", Int),
        ],
    },
    Table {
        name: "rejected_rows",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("batch_id", Int),
            c("file", Text),
            n("row", Int),
            n("field", Text),
            c("reason", Text),
            n("raw", Text),
        ],
    },
    Table {
        name: "events",
        key: "fid",
        generated_key: true,
        columns: event_columns!(c("fid", Int); c("batch_id", Int)),
    },
    Table {
        name: "event_history",
        key: "id",
        generated_key: true,
        columns: event_columns!(
            c("id", Int),
            c("content_sha256", Text),
            c("batch_id", Int),
            c("replaced_by", Int),
            c("replaced_at", Text);
        ),
    },
    Table {
        name: "area_layers",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("name", Text),
            n("valid_from", Date),
            n("valid_to", Date),
            n("source_file", Text),
            c("loaded_at", Text),
            c("feature_count", Int),
        ],
    },
    Table {
        name: "areas",
        key: "fid",
        generated_key: true,
        columns: &[
            c("fid", Int),
            c("geom", MultiPolygon),
            c("layer", Text),
            c("code", Text),
            c("name", Text),
            c("properties", Json),
        ],
    },
    Table {
        name: "population",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("layer", Text),
            c("area_code", Text),
            c("year", Int),
            c("population", Int),
            c("derived", Bool),
            n("source", Text),
        ],
    },
    Table {
        name: "audit_log",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("at", Text),
            c("who", Text),
            c("role", Text),
            c("action", Text),
            c("target", Text),
            n("rows", Int),
            c("detail", Text),
        ],
    },
    Table {
        name: "police_polls",
        key: "id",
        generated_key: true,
        columns: &[
            c("id", Int),
            c("at", Text),
            c("url", Text),
            n("status", Int),
            c("ok", Bool),
            n("error", Text),
            c("attempts", Int),
            n("events", Int),
            n("new_events", Int),
            n("updated", Int),
            n("batch_id", Int),
            n("overlap", Int),
            c("gap", Bool),
            n("ids", Text),
        ],
    },
];

/// The SRS id of every stored geometry (EPSG:3006).
pub const SRS_ID: i32 = crate::store::STORE_SRS_ID;

/// The metadata key each backend owns itself (its schema's version): never copied.
pub const OWN_META: &str = "schema_version";

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text (also JSON and dates).
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A geometry as a GeoPackage blob (header and little-endian WKB).
    Geom(Vec<u8>),
}

impl Table {
    /// The table named `name`.
    pub fn named(name: &str) -> Option<&'static Table> {
        TABLES.iter().find(|t| t.name == name)
    }

    /// The columns' names, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) fn cell(kind: Kind, v: ValueRef<'_>) -> Result<Cell, String> {
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Cell::Null,
        (Int, ValueRef::Integer(i)) => Cell::Int(i),
        (Bool, ValueRef::Integer(i)) => Cell::Bool(i != 0),
        (Text | Json | Date, ValueRef::Text(t)) => {
            Cell::Text(String::from_utf8(t.to_vec()).map_err(|e| e.to_string())?)
        }
        (Point | MultiPolygon, ValueRef::Blob(b)) => Cell::Geom(b.to_vec()),
        (kind, other) => {
            return Err(format!(
                "a {:?} where {kind:?} was expected",
                other.data_type()
            ))
        }
    })
}

pub(crate) fn value(v: &Cell) -> Value {
    match v {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bool(b) => Value::Integer(i64::from(*b)),
        Cell::Geom(g) => Value::Blob(g.clone()),
    }
}

impl Store {
    /// Every row of `table` in key order, each passed to `f`; the number of rows.
    /// Run inside [`Store::read_transaction`] to read every table of one state.
    pub fn dump_table<E: From<StoreError>>(
        &self,
        table: &'static Table,
        mut f: impl FnMut(&[Cell]) -> Result<(), E>,
    ) -> Result<u64, E> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_list(),
            table.name,
            table.key
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.sql(e))?;
        let mut row = Vec::with_capacity(table.columns.len());
        let mut count = 0;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            row.clear();
            for (i, col) in table.columns.iter().enumerate() {
                let v = r.get_ref(i).map_err(|e| self.sql(e))?;
                let rowid = r.get::<_, i64>(0).unwrap_or(count as i64);
                row.push(cell(col.kind, v).map_err(|reason| {
                    E::from(StoreError::Corrupt {
                        path: self.path.clone(),
                        table: table.name,
                        rowid,
                        reason: format!("column {}: {reason}", col.name),
                    })
                })?);
            }
            if table.name == "trygg_meta" && row.first() == Some(&Cell::Text(OWN_META.into())) {
                continue;
            }
            f(&row)?;
            count += 1;
        }
        Ok(count)
    }
}

impl NewStore {
    /// Fills this new (empty) store with the rows of every table, from `next`
    /// (asked for each table in [`TABLES`] order; `Ok(None)` ends a table), then
    /// builds the events' R-tree, all in one transaction.
    pub fn restore<E: From<StoreError>>(
        &mut self,
        mut next: impl FnMut(
            &'static Table,
            &mut dyn FnMut(&[Cell]) -> Result<(), StoreError>,
        ) -> Result<(), E>,
    ) -> Result<(), E> {
        let store: &mut Store = self;
        let path = store.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = store.conn.transaction().map_err(|e| E::from(sql(e)))?;
        // The R-tree is built once at the end, not entry by entry.
        tx.execute_batch("DROP TRIGGER rtree_events_geom_insert")
            .map_err(|e| E::from(sql(e)))?;
        for table in TABLES {
            let columns = table.column_list();
            let marks = vec!["?"; table.columns.len()].join(", ");
            let verb = if table.name == "trygg_meta" {
                "INSERT OR REPLACE"
            } else {
                "INSERT"
            };
            let mut stmt = tx
                .prepare(&format!(
                    "{verb} INTO {} ({columns}) VALUES ({marks})",
                    table.name
                ))
                .map_err(|e| E::from(sql(e)))?;
            let mut put = |row: &[Cell]| -> Result<(), StoreError> {
                if table.name == "trygg_meta" && row.first() == Some(&Cell::Text(OWN_META.into())) {
                    return Ok(());
                }
                stmt.execute(rusqlite::params_from_iter(row.iter().map(value)))
                    .map(drop)
                    .map_err(sql)
            };
            next(table, &mut put)?;
        }
        crate::rtree::rebuild(
            &tx,
            &path,
            crate::rtree::Entries::default(),
            i64::MAX,
            &std::collections::BTreeSet::new(),
        )?;
        tx.execute_batch(crate::schema::RTREE_INSERT_TRIGGER)
            .map_err(|e| E::from(sql(e)))?;
        tx.commit().map_err(|e| E::from(sql(e)))?;
        Ok(())
    }
}
