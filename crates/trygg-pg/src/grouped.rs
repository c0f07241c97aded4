//! Grouped counts in PostgreSQL ([`trygg_store::GroupedQuery`]): the same
//! query as the GeoPackage store's, aggregated by the server.

use trygg_store::{grouped_row, GroupedCount, GroupedQuery};

use crate::{on_db, PgError, PgStore};

impl PgStore {
    /// The grouped counts of `q`, in one read-only statement.
    pub fn grouped_counts(&mut self, q: &GroupedQuery) -> Result<Vec<GroupedCount>, PgError> {
        let url = self.url.clone();
        let rows = self
            .client
            .query(&q.sql(|n| format!("${n}")), &[&q.from_utc, &q.to_utc])
            .map_err(on_db(&url))?;
        rows.iter()
            .map(|r| {
                grouped_row(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), |reason| {
                    PgError::Corrupt {
                        url: url.clone(),
                        table: "events",
                        row: String::new(),
                        column: "source, category_norm",
                        reason,
                    }
                })
            })
            .collect()
    }
}
