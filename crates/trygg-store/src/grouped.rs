//! Grouped counts made by the store itself ("push-down"): what an aggregate over
//! areas and periods needs when the events need not be in a replica's memory.
//! The store only groups raw columns; which area a group counts in, and every
//! number made from the counts, is decided by the same code as for the
//! in-memory view (`trygg_analytics::counts::area_counts_from`). Both backends
//! answer it: the GeoPackage store here, PostgreSQL in `trygg-pg`.

use trygg_model::{NormCategory, Precision, Source};

use crate::error::StoreError;
use crate::sql::{Axis, SqlRead};
use crate::store::Store;
use crate::tables::{Cell, Kind};

/// Which events to group: occurred in `[from_utc, to_utc)`, of these sources,
/// of these normalised categories (`None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedQuery {
    /// First second (Unix, UTC).
    pub from_utc: i64,
    /// End, excluded.
    pub to_utc: i64,
    /// The sources.
    pub sources: Vec<Source>,
    /// The categories, or all.
    pub categories: Option<Vec<NormCategory>>,
}

/// The matching events of one combination of the columns that place and group
/// them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupedCount {
    /// Known only to the municipality (precision `municipality`).
    pub municipality_precision: bool,
    /// The stadsdel column.
    pub stadsdel: Option<String>,
    /// The source.
    pub source: Source,
    /// The normalised category.
    pub category: NormCategory,
    /// How many.
    pub count: u64,
}

impl GroupedQuery {
    /// The query, the same for both backends: one row per (municipality
    /// precision, stadsdel, source, category) with its count. `mark(n)` writes
    /// the placeholder of parameter `n` (the two time bounds); the source and
    /// category lists are written in (closed sets of known names).
    pub fn sql(&self, mark: impl Fn(usize) -> String) -> String {
        format!(
            "SELECT precision = 'municipality', stadsdel, source, category_norm, count(*)
             FROM events WHERE {} GROUP BY 1, 2, 3, 4",
            self.filter(mark)
        )
    }

    /// The condition on `events`: the time bounds are parameters 1 and 2.
    fn filter(&self, mark: impl Fn(usize) -> String) -> String {
        let list = |names: Vec<&str>| {
            names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut sql = format!(
            "occurred_utc >= {} AND occurred_utc < {} AND source IN ({})",
            mark(1),
            mark(2),
            list(self.sources.iter().map(|s| s.as_str()).collect())
        );
        if let Some(categories) = &self.categories {
            sql.push_str(&format!(
                " AND category_norm IN ({})",
                list(categories.iter().map(|c| c.as_str()).collect())
            ));
        }
        sql
    }
}

/// Square grid counts made by the store: the events of `events` per location
/// precision and cell of a square grid of `size_m` metres, each point taken as
/// a view with `origin` holds it, so that the cells are those the view's
/// binning finds.
#[derive(Debug, Clone, PartialEq)]
pub struct GridQuery {
    /// Which events.
    pub events: GroupedQuery,
    /// The view's origin (EPSG:3006).
    pub origin: (f64, f64),
    /// The cell size.
    pub size_m: f64,
}

/// The matching events of one precision in one grid cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GridCount {
    /// Their location precision.
    pub precision: Precision,
    /// The cell's column (`floor(x / size)`).
    pub col: i64,
    /// The cell's row.
    pub row: i64,
    /// How many.
    pub count: u64,
}

/// The grid counts of `q`, from either backend: one statement, grouped by the
/// store.
pub fn grid_counts(db: &mut dyn SqlRead, q: &GridQuery) -> Result<Vec<GridCount>, StoreError> {
    let sql = format!(
        "SELECT precision, {}, {}, count(*) FROM events WHERE {} GROUP BY 1, 2, 3",
        db.cell_index(Axis::X, q.origin.0, q.size_m),
        db.cell_index(Axis::Y, q.origin.1, q.size_m),
        q.events.filter(|n| db.mark(n)),
    );
    let args = [Cell::Int(q.events.from_utc), Cell::Int(q.events.to_utc)];
    db.read(&sql, &args, &[Kind::Text, Kind::Int, Kind::Int, Kind::Int])?
        .iter()
        .map(|r| {
            let text = r[0].text();
            Ok(GridCount {
                precision: text.parse().map_err(|_| StoreError::Corrupt {
                    path: Default::default(),
                    table: "events",
                    rowid: 0,
                    reason: format!("unknown precision '{text}'"),
                })?,
                col: r[1].int(),
                row: r[2].int(),
                count: r[3].count(),
            })
        })
        .collect()
}

/// A grouped row from its columns as read; an unknown source or category is
/// what `corrupt` makes of it.
pub fn grouped_row<E>(
    municipality_precision: bool,
    stadsdel: Option<String>,
    source: &str,
    category: &str,
    count: i64,
    corrupt: impl Fn(String) -> E,
) -> Result<GroupedCount, E> {
    Ok(GroupedCount {
        municipality_precision,
        stadsdel,
        source: source
            .parse()
            .map_err(|_| corrupt(format!("unknown source '{source}'")))?,
        category: category
            .parse()
            .map_err(|_| corrupt(format!("unknown category '{category}'")))?,
        count: u64::try_from(count).unwrap_or(0),
    })
}

impl Store {
    /// The grouped counts of `q` (see the module).
    pub fn grouped_counts(&self, q: &GroupedQuery) -> Result<Vec<GroupedCount>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&q.sql(|n| format!("?{n}")))
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query([q.from_utc, q.to_utc])
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            let get = |e| self.sql(e);
            let source: String = r.get(2).map_err(get)?;
            let category: String = r.get(3).map_err(get)?;
            out.push(grouped_row(
                r.get(0).map_err(get)?,
                r.get(1).map_err(get)?,
                &source,
                &category,
                r.get(4).map_err(get)?,
                |reason| StoreError::Corrupt {
                    path: self.path.clone(),
                    table: "events",
                    rowid: 0,
                    reason,
                },
            )?);
        }
        Ok(out)
    }
}
