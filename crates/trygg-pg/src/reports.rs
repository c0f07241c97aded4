//! The read-only SQL of [`SqlRead`] (provenance, the feed's polls) and the
//! weekly reports kept in the database ([`ReportShelf`]: tables `reports`,
//! `report_files`, `report_schedule`), so replicas without a shared disk make
//! and serve the same reports.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::Transaction;
use trygg_store::tables::{Cell, Kind, SRS_ID};
use trygg_store::{float_literal, geom, now_rfc3339, Axis, ReportShelf, SqlRead, StoreError};

use crate::feed::job_lock;
use crate::ingest::db;
use crate::{PgError, PgStore};

impl SqlRead for PgStore {
    fn mark(&self, n: usize) -> String {
        format!("${n}")
    }

    fn epoch(&self, column: &str) -> String {
        format!("floor(extract(epoch FROM ({column})::timestamptz))::bigint")
    }

    fn cell_index(&self, axis: Axis, origin: f64, size_m: f64) -> String {
        let coordinate = match axis {
            Axis::X => "ST_X(geom)",
            Axis::Y => "ST_Y(geom)",
        };
        // The view's f32 offset from the origin is PostgreSQL's `real`: the
        // same IEEE rounding, so a point on a cell's edge falls as in memory.
        let (o, size) = (float_literal(origin), float_literal(size_m));
        format!("floor(({o}::float8 + (({coordinate} - {o}::float8)::real)::float8) / {size}::float8)::bigint")
    }

    fn geometry(&self, column: &str) -> String {
        format!("ST_AsBinary({column})")
    }

    fn each(
        &mut self,
        sql: &str,
        args: &[Cell],
        kinds: &[Kind],
        f: &mut dyn FnMut(Vec<Cell>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let url = self.url.clone();
        let values: Vec<Box<dyn ToSql + Sync>> = args
            .iter()
            .map(|c| -> Box<dyn ToSql + Sync> {
                match c {
                    Cell::Null => Box::new(None::<i64>),
                    Cell::Int(v) => Box::new(*v),
                    Cell::Text(t) => Box::new(t.clone()),
                    Cell::Bool(b) => Box::new(*b),
                    Cell::Geom(g) => Box::new(g.clone()),
                }
            })
            .collect();
        let mut rows = self
            .client
            .query_raw(sql, values.iter().map(|v| &**v as &(dyn ToSql + Sync)))
            .map_err(db(&url))?;
        while let Some(r) = rows.next().map_err(db(&url))? {
            let mut row = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                let cell = match kind {
                    Kind::Int => r.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
                    Kind::Bool => r.try_get::<_, Option<bool>>(i).map(|v| v.map(Cell::Bool)),
                    Kind::Point | Kind::MultiPolygon => match r.try_get::<_, Option<Vec<u8>>>(i) {
                        Ok(Some(wkb)) => {
                            let blob = geom::from_wkb(SRS_ID, &wkb).map_err(|e| {
                                StoreError::from(PgError::Corrupt {
                                    url: url.clone(),
                                    table: "query",
                                    row: String::new(),
                                    column: "geometry",
                                    reason: e.to_string(),
                                })
                            })?;
                            Ok(Some(Cell::Geom(blob)))
                        }
                        other => other.map(|_| None),
                    },
                    Kind::Text | Kind::Json | Kind::Date => {
                        r.try_get::<_, Option<String>>(i).map(|v| v.map(Cell::Text))
                    }
                };
                row.push(cell.map_err(db(&url))?.unwrap_or(Cell::Null));
            }
            f(row)?;
        }
        Ok(())
    }
}

impl ReportShelf for PgStore {
    fn recorded_since(&mut self) -> Result<Option<String>, StoreError> {
        let url = self.url.clone();
        Ok(self
            .client
            .query_opt("SELECT since FROM report_schedule", &[])
            .map_err(db(&url))?
            .map(|r| r.get(0)))
    }

    fn record_since(&mut self, week: &str) -> Result<(), StoreError> {
        let url = self.url.clone();
        // Replicas racing to record it agree on whichever came first.
        self.client
            .execute(
                "INSERT INTO report_schedule (since) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&week],
            )
            .map(drop)
            .map_err(db(&url))
    }

    fn report_files(&mut self, week: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let url = self.url.clone();
        Ok(self
            .client
            .query(
                "SELECT name, bytes FROM report_files WHERE week = $1 ORDER BY name",
                &[&week],
            )
            .map_err(db(&url))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn report_weeks(&mut self) -> Result<Vec<String>, StoreError> {
        let url = self.url.clone();
        Ok(self
            .client
            .query("SELECT week FROM reports", &[])
            .map_err(db(&url))?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn report_file(&mut self, week: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let url = self.url.clone();
        Ok(self
            .client
            .query_opt(
                "SELECT bytes FROM report_files WHERE week = $1 AND name = $2",
                &[&week, &name],
            )
            .map_err(db(&url))?
            .map(|r| r.get(0)))
    }

    fn put_report(&mut self, week: &str, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(db(&url))?;
        put_report_in(&mut tx, &url, week, files)?;
        tx.commit().map_err(db(&url))
    }
}

/// Keeps `files` as the report of `week` inside the transaction `tx`.
fn put_report_in(
    tx: &mut Transaction<'_>,
    url: &str,
    week: &str,
    files: &[(String, Vec<u8>)],
) -> Result<(), StoreError> {
    let db = db(url);
    // Two replicas keeping one week take turns: the later replaces the earlier.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&job_lock(&format!("report {week}"))],
    )
    .map_err(db)?;
    tx.execute("DELETE FROM reports WHERE week = $1", &[&week])
        .map_err(db)?;
    tx.execute(
        "INSERT INTO reports (week, kept_at) VALUES ($1, $2)",
        &[&week, &now_rfc3339()],
    )
    .map_err(db)?;
    for (name, bytes) in files {
        tx.execute(
            "INSERT INTO report_files (week, name, bytes) VALUES ($1, $2, $3)",
            &[&week, name, bytes],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// Copies the reports of `shelf` (the folder beside a GeoPackage store) into
/// the database inside the transaction `tx`: the weeks copied.
pub(crate) fn import_reports(
    tx: &mut Transaction<'_>,
    url: &str,
    shelf: &mut dyn ReportShelf,
) -> Result<u64, StoreError> {
    let mut weeks = shelf.report_weeks()?;
    weeks.sort();
    for week in &weeks {
        put_report_in(tx, url, week, &shelf.report_files(week)?)?;
    }
    if let Some(since) = shelf.recorded_since()? {
        tx.execute(
            "INSERT INTO report_schedule (since) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&since],
        )
        .map_err(db(url))?;
    }
    Ok(weeks.len() as u64)
}
