//! PostgreSQL + PostGIS as Trygg's shared store: the schema and its versioned
//! migrations ([`schema`]), moving a GeoPackage store into a database and back
//! with `COPY` (every Trygg table, row for row, in one transaction each way), the
//! data version, and the events view built from the database.
//!
//! The client is `postgres` (rust-postgres' synchronous client over
//! tokio-postgres): maintained, pure Rust, speaks `COPY`, and the store's interface
//! is synchronous like the GeoPackage backend's.

mod feed;
mod grouped;
mod ingest;
mod read;
mod reports;
pub mod schema;

pub use read::PgState;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use postgres::{Client, NoTls};
use trygg_model::Extent;
use trygg_store::tables::{Cell, Kind, Table, SRS_ID, TABLES};
use trygg_store::{geom, meta, EventView, Store, StoreError, StoredArea};

/// What can go wrong with a PostgreSQL store.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database refused or failed.
    #[error("PostgreSQL {url}: {source}")]
    Db {
        /// The database (its URL without a password).
        url: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// The database has no Trygg schema, or an older one.
    #[error("PostgreSQL {url}: schema version {found:?}, expected {expected}; run `trygg migrate --store <url>`")]
    NotMigrated {
        /// The database.
        url: String,
        /// Its schema version, if any.
        found: Option<i32>,
        /// This build's.
        expected: i32,
    },
    /// The database's schema is newer than this build knows.
    #[error("PostgreSQL {url}: schema version {found} is newer than this trygg ({known}); upgrade trygg")]
    Newer {
        /// The database.
        url: String,
        /// Its schema version.
        found: i32,
        /// This build's.
        known: i32,
    },
    /// A copy into a database that already holds data.
    #[error("PostgreSQL {url} already holds data (table {table} has rows): copy into an empty, migrated database")]
    NotEmpty {
        /// The database.
        url: String,
        /// A table with rows.
        table: &'static str,
    },
    /// A value read from the database cannot be stored (a damaged row).
    #[error("PostgreSQL {url}: table {table}, row {row}, column {column}: {reason}")]
    Corrupt {
        /// The database.
        url: String,
        /// The table.
        table: &'static str,
        /// The row's key.
        row: String,
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The GeoPackage side failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a `--store` value names a PostgreSQL database rather than a file.
pub fn is_url(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

/// A URL with its password replaced by `***`, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Rows copied, per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// (table, rows) in [`TABLES`] order.
    pub tables: Vec<(&'static str, u64)>,
}

impl Copied {
    /// Rows of one table.
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// A connection to a Trygg database.
pub struct PgStore {
    client: Client,
    url: String,
    /// The scheduled jobs this connection leads (holds the advisory lock of).
    led: std::collections::BTreeSet<String>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish()
    }
}

/// The schema version this build makes and reads.
pub fn latest_version() -> i32 {
    schema::MIGRATIONS.last().map_or(0, |m| m.version)
}

impl PgStore {
    /// Connects, without looking at the schema (for `migrate`).
    pub fn connect(url: &str) -> Result<PgStore, PgError> {
        let shown = redacted(url);
        let client = Client::connect(url, NoTls).map_err(|source| PgError::Db {
            url: shown.clone(),
            source,
        })?;
        Ok(PgStore {
            client,
            url: shown,
            led: std::collections::BTreeSet::new(),
        })
    }

    /// Connects to a database whose schema is this build's.
    pub fn open(url: &str) -> Result<PgStore, PgError> {
        let mut pg = PgStore::connect(url)?;
        match pg.schema_version()? {
            Some(v) if v == latest_version() => Ok(pg),
            Some(v) if v > latest_version() => Err(PgError::Newer {
                url: pg.url,
                found: v,
                known: latest_version(),
            }),
            found => Err(PgError::NotMigrated {
                url: pg.url,
                found,
                expected: latest_version(),
            }),
        }
    }

    /// Whether the connection is lost (the database restarted or went away):
    /// open the store again.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The database, as shown in messages (no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's version: the last migration applied, `None` before any.
    pub fn schema_version(&mut self) -> Result<Option<i32>, PgError> {
        let url = self.url.clone();
        let db = on_db(&url);
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('trygg_migrations') IS NOT NULL", &[])
            .map_err(db)?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let row = self
            .client
            .query_one("SELECT max(version) FROM trygg_migrations", &[])
            .map_err(db)?;
        Ok(row.get(0))
    }

    /// Applies the migrations not applied yet, each in its own transaction with
    /// its record, holding an advisory lock meanwhile (two processes migrating
    /// at once apply each migration once). Returns the versions it applied.
    pub fn migrate(&mut self) -> Result<Vec<i32>, PgError> {
        let url = self.url.clone();
        let db = on_db(&url);
        self.client
            .execute("SELECT pg_advisory_lock($1)", &[&schema::MIGRATE_LOCK])
            .map_err(db)?;
        let result = (|| -> Result<Vec<i32>, PgError> {
            self.client
                .batch_execute(schema::MIGRATIONS_TABLE)
                .map_err(db)?;
            let mut applied = Vec::new();
            for m in schema::MIGRATIONS {
                let mut tx = self.client.transaction().map_err(db)?;
                let done: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM trygg_migrations WHERE version = $1)",
                        &[&m.version],
                    )
                    .map_err(db)?
                    .get(0);
                if done {
                    continue;
                }
                tx.batch_execute(m.sql).map_err(db)?;
                tx.execute(
                    "INSERT INTO trygg_migrations (version, name) VALUES ($1, $2)",
                    &[&m.version, &m.name],
                )
                .map_err(db)?;
                tx.commit().map_err(db)?;
                applied.push(m.version);
            }
            Ok(applied)
        })();
        let unlock = self
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&schema::MIGRATE_LOCK])
            .map_err(db);
        let applied = result?;
        unlock?;
        Ok(applied)
    }

    /// The data version (`trygg_meta`), as the GeoPackage store keeps it: every
    /// committed change increments it.
    pub fn data_version(&mut self) -> Result<u64, PgError> {
        Ok(self
            .meta(meta::DATA_VERSION)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// A metadata value.
    pub fn meta(&mut self, key: &str) -> Result<Option<String>, PgError> {
        let db = on_db(&self.url);
        let row = self
            .client
            .query_opt("SELECT value FROM trygg_meta WHERE key = $1", &[&key])
            .map_err(db)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The areas of a layer, in key order.
    pub fn areas(&mut self, layer: &str) -> Result<Vec<StoredArea>, PgError> {
        read::areas(&mut self.client, &self.url, layer)
    }

    /// The study extent in force: the stored one, else the `stadsdel` layer's
    /// bounds grown by [`Extent::STUDY_MARGIN_M`] (the GeoPackage store's rule).
    pub fn study_extent(&mut self) -> Result<Option<Extent>, PgError> {
        read::study_extent(&mut self.client, &self.url)
    }

    /// Appends entries to the audit log in one transaction (the table refuses
    /// changes and deletions).
    pub fn append_audit_all(&mut self, entries: &[trygg_store::AuditEntry]) -> Result<(), PgError> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(on_db(&url))?;
        for e in entries {
            let rows = e.rows.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
            tx.execute(
                "INSERT INTO audit_log (at, who, role, action, target, \"rows\", detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &trygg_store::now_rfc3339(),
                    &e.who,
                    &e.role,
                    &e.action,
                    &e.target,
                    &rows,
                    &e.detail,
                ],
            )
            .map_err(on_db(&url))?;
        }
        tx.commit().map_err(on_db(&url))
    }

    /// Copies every Trygg table of `store` into this (migrated, empty) database
    /// with `COPY`, and the weekly reports of `reports` (the folder beside the
    /// store) into the database's, in one transaction read from one state of
    /// the store: either all of it arrives or nothing does.
    pub fn import(
        &mut self,
        store: &Store,
        reports: &mut dyn trygg_store::ReportShelf,
    ) -> Result<Copied, PgError> {
        let url = self.url.clone();
        let db = on_db(&url);
        let mut tx = self.client.transaction().map_err(db)?;
        for table in TABLES {
            let any: bool = tx
                .query_one(
                    &format!("SELECT EXISTS (SELECT 1 FROM {})", table.name),
                    &[],
                )
                .map_err(db)?
                .get(0);
            if any {
                return Err(PgError::NotEmpty {
                    url,
                    table: table.name,
                });
            }
        }
        let mut copied = Vec::new();
        store.read_transaction(|| -> Result<(), PgError> {
            for table in TABLES {
                let sql = format!("COPY {} ({}) FROM STDIN", table.name, quoted(table));
                let mut writer = tx.copy_in(sql.as_str()).map_err(db)?;
                let mut line = Vec::new();
                let rows = store.dump_table(table, |row| -> Result<(), PgError> {
                    line.clear();
                    encode_row(table, row, &mut line)?;
                    writer.write_all(&line).map_err(|e| {
                        PgError::Store(StoreError::Io {
                            path: store.path().to_owned(),
                            source: e,
                        })
                    })
                })?;
                writer.finish().map_err(db)?;
                copied.push((table.name, rows));
            }
            Ok(())
        })?;
        for table in TABLES.iter().filter(|t| t.generated_key) {
            // The next generated key follows the copied ones.
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{1}'), max({1})) FROM {0} HAVING max({1}) IS NOT NULL",
                    table.name, table.key
                ),
                &[],
            )
            .map_err(db)?;
        }
        let weeks = reports::import_reports(&mut tx, &url, reports)?;
        copied.push(("reports", weeks));
        tx.commit().map_err(db)?;
        Ok(Copied { tables: copied })
    }

    /// Writes every Trygg table of this database into a new GeoPackage store at
    /// `path` (an error if it exists), read in one repeatable-read transaction;
    /// the store appears whole or not at all.
    pub fn export(&mut self, path: &Path) -> Result<Copied, PgError> {
        let url = self.url.clone();
        let db = on_db(&url);
        let mut new = Store::begin_create(path)?;
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?;
        let mut copied = Vec::new();
        new.restore(|table, put| -> Result<(), PgError> {
            let sql = format!(
                "COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT",
                selected(table),
                table.name,
                table.key
            );
            let reader = tx.copy_out(sql.as_str()).map_err(db)?;
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let mut line = Vec::new();
            let mut row = Vec::with_capacity(table.columns.len());
            let mut rows = 0;
            loop {
                line.clear();
                let read = reader.read_until(b'\n', &mut line).map_err(|e| {
                    PgError::Store(StoreError::Io {
                        path: path.to_owned(),
                        source: e,
                    })
                })?;
                if read == 0 {
                    break;
                }
                decode_row(&url, table, &line, &mut row)?;
                put(&row)?;
                rows += 1;
            }
            copied.push((table.name, rows));
            Ok(())
        })?;
        tx.commit().map_err(db)?;
        new.persist()?;
        Ok(Copied { tables: copied })
    }

    /// The columnar view of every event, built as the GeoPackage store builds
    /// it (same origin rule, same column reading), streamed with `COPY`.
    pub fn load_view(&mut self) -> Result<EventView, PgError> {
        let url = self.url.clone();
        let mut tx = read::snapshot_transaction(&mut self.client, &url)?;
        let origin = read::view_origin(&mut tx, &url)?;
        let (builder, _) = read::view_rows(&mut tx, &url, origin, 0)?;
        tx.commit().map_err(on_db(&url))?;
        Ok(builder.build())
    }
}

/// Wraps the client's errors with the database they came from.
pub(crate) fn on_db(url: &str) -> impl Fn(postgres::Error) -> PgError + Copy + '_ {
    move |source| PgError::Db {
        url: url.to_owned(),
        source,
    }
}

/// The `stadsdel` layer's bounds (all NULL without the layer).
pub(crate) const STADSDEL_BOUNDS: &str = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE layer = 'stadsdel') s";

pub(crate) fn bounds(r: &postgres::Row) -> Option<Extent> {
    Some(Extent {
        min_x: r.get::<_, Option<f64>>(0)?,
        min_y: r.get::<_, Option<f64>>(1)?,
        max_x: r.get::<_, Option<f64>>(2)?,
        max_y: r.get::<_, Option<f64>>(3)?,
    })
}

/// The column list of a table, each name quoted (`row` is a keyword).
pub(crate) fn quoted(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The select list that reads a table's columns as text COPY gives them back
/// to [`decode_row`]: geometry as hex WKB, dates as `YYYY-MM-DD`.
fn selected(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| match c.kind {
            Kind::Point | Kind::MultiPolygon => {
                format!("encode(ST_AsBinary(\"{}\"), 'hex')", c.name)
            }
            Kind::Date => format!("to_char(\"{}\", 'YYYY-MM-DD')", c.name),
            _ => format!("\"{}\"", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row in COPY's text format: tab-separated, `\N` for NULL, backslash,
/// tab, newline and carriage return escaped; geometry as hex EWKB.
pub(crate) fn encode_row(
    table: &'static Table,
    row: &[Cell],
    out: &mut Vec<u8>,
) -> Result<(), PgError> {
    for (i, (cell, col)) in row.iter().zip(table.columns).enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
            Cell::Bool(b) => out.push(if *b { b't' } else { b'f' }),
            Cell::Text(t) => escape(t.as_bytes(), out),
            Cell::Geom(blob) => {
                let ewkb = geom::to_ewkb(blob).map_err(|e| {
                    PgError::Store(StoreError::Corrupt {
                        path: Default::default(),
                        table: table.name,
                        rowid: match row.first() {
                            Some(Cell::Int(id)) => *id,
                            _ => 0,
                        },
                        reason: format!("column {}: {e}", col.name),
                    })
                })?;
                hex(&ewkb, out);
            }
        }
    }
    out.push(b'\n');
    Ok(())
}

fn escape(text: &[u8], out: &mut Vec<u8>) {
    for &b in text {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The fields of one text-format COPY line (its newline included), unescaped;
/// `None` for NULL.
pub(crate) fn split_fields(line: &[u8]) -> Vec<Option<String>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.split(|&b| b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return None;
            }
            let mut out = Vec::with_capacity(field.len());
            let mut bytes = field.iter();
            while let Some(&b) = bytes.next() {
                if b != b'\\' {
                    out.push(b);
                    continue;
                }
                match bytes.next() {
                    Some(b't') => out.push(b'\t'),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b'b') => out.push(8),
                    Some(b'f') => out.push(12),
                    Some(b'v') => out.push(11),
                    Some(&other) => out.push(other),
                    None => out.push(b'\\'),
                }
            }
            Some(String::from_utf8_lossy(&out).into_owned())
        })
        .collect()
}

/// A text-format COPY line of `table` (as [`selected`] reads it) as cells.
fn decode_row(
    url: &str,
    table: &'static Table,
    line: &[u8],
    row: &mut Vec<Cell>,
) -> Result<(), PgError> {
    let fields = split_fields(line);
    let key = fields.first().cloned().flatten().unwrap_or_default();
    row.clear();
    if fields.len() != table.columns.len() {
        return Err(PgError::Corrupt {
            url: url.to_owned(),
            table: table.name,
            row: key,
            column: "",
            reason: format!("{} fields, expected {}", fields.len(), table.columns.len()),
        });
    }
    for (field, col) in fields.into_iter().zip(table.columns) {
        let bad = |reason: String| PgError::Corrupt {
            url: url.to_owned(),
            table: table.name,
            row: key.clone(),
            column: col.name,
            reason,
        };
        let Some(text) = field else {
            row.push(Cell::Null);
            continue;
        };
        row.push(match col.kind {
            Kind::Int => Cell::Int(
                text.parse()
                    .map_err(|_| bad(format!("'{text}' is not an integer")))?,
            ),
            Kind::Bool => Cell::Bool(text == "t"),
            Kind::Text | Kind::Json | Kind::Date => Cell::Text(text),
            Kind::Point | Kind::MultiPolygon => {
                let wkb = unhex(&text).ok_or_else(|| bad("not hex WKB".into()))?;
                Cell::Geom(geom::from_wkb(SRS_ID, &wkb).map_err(|e| bad(e.to_string()))?)
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_round_trip() {
        let nasty = "tab\there\nnew line\\back\rcr";
        let mut out = Vec::new();
        escape(nasty.as_bytes(), &mut out);
        out.extend_from_slice(b"\t\\N\n");
        let fields = split_fields(&out);
        assert_eq!(fields, [Some(nasty.to_owned()), None]);
    }

    #[test]
    fn hex_round_trips_and_rejects_odd_input() {
        let mut out = Vec::new();
        hex(&[0, 1, 0xab, 0xff], &mut out);
        assert_eq!(out, b"0001abff");
        assert_eq!(unhex("0001abff"), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("postgres://trygg:secret@db:5432/trygg"),
            "postgres://trygg:***@db:5432/trygg"
        );
        assert_eq!(
            redacted("postgresql:///trygg?host=/tmp"),
            "postgresql:///trygg?host=/tmp"
        );
        assert!(is_url("postgres://x") && is_url("postgresql://x") && !is_url("demo/trygg.gpkg"));
    }
}
