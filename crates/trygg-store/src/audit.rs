//! The audit log: one row per export or point-level answer (who, when, what, how
//! many rows). SQLite triggers refuse every UPDATE and DELETE, so rows can only
//! be added.

use rusqlite::params;

use crate::error::StoreError;
use crate::sql::SqlRead;
use crate::store::{now_rfc3339, Store};
use crate::tables::Cell;
use crate::tables::Kind::{Int, Text};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (0 for a new entry).
    pub id: i64,
    /// When (UTC, RFC 3339; set on append).
    pub at: String,
    /// The requester (the API key's name, or `anonymous`).
    pub who: String,
    /// The requester's role.
    pub role: String,
    /// What was done (`export`, `events`, `ingest`, `revert`).
    pub action: String,
    /// What it was done to (the request path and parameters).
    pub target: String,
    /// Rows returned or affected.
    pub rows: Option<u64>,
    /// More about it (e.g. the format).
    pub detail: String,
}

impl Store {
    /// Appends an entry (its `id` and `at` are set by the store); returns the id.
    pub fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        self.append_audit_all(std::slice::from_ref(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Appends entries in one transaction (one disk sync for all of them).
    pub fn append_audit_all(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|s| self.sql(s))?;
        for e in entries {
            let rows = e.rows.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
            tx.execute(
                "INSERT INTO audit_log (at, who, role, action, target, rows, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    now_rfc3339(),
                    e.who,
                    e.role,
                    e.action,
                    e.target,
                    rows,
                    e.detail
                ],
            )
            .map_err(|s| self.sql(s))?;
        }
        tx.commit().map_err(|s| self.sql(s))
    }
}

/// The latest entries of the audit log before id `before` (all when `None`),
/// newest first, at most `limit`; from either backend.
pub fn audit_log(
    db: &mut dyn SqlRead,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!(
        "SELECT id, at, who, role, action, target, \"rows\", detail FROM audit_log
         WHERE id < {} ORDER BY id DESC LIMIT {}",
        db.mark(1),
        db.mark(2)
    );
    let args = [
        Cell::Int(before.unwrap_or(i64::MAX)),
        Cell::Int(i64::from(limit)),
    ];
    Ok(db
        .read(&sql, &args, &[Int, Text, Text, Text, Text, Text, Int, Text])?
        .iter()
        .map(|r| AuditEntry {
            id: r[0].int(),
            at: r[1].text(),
            who: r[2].text(),
            role: r[3].text(),
            action: r[4].text(),
            target: r[5].text(),
            rows: r[6].opt_int().map(|v| u64::try_from(v).unwrap_or(0)),
            detail: r[7].text(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_log_only_grows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::create(&dir.path().join("s.gpkg")).expect("create");
        let entry = AuditEntry {
            id: 0,
            at: String::new(),
            who: "anna".into(),
            role: "analyst".into(),
            action: "export".into(),
            target: "/api/v1/events?format=csv".into(),
            rows: Some(12),
            detail: "csv".into(),
        };
        let first = store.append_audit(&entry).expect("append");
        let second = store.append_audit(&entry).expect("append");
        assert!(second > first);
        let log = audit_log(&mut store, 10, None).expect("read");
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].id, second);
        assert_eq!(log[0].rows, Some(12));
        assert_eq!(
            audit_log(&mut store, 10, Some(second)).expect("page").len(),
            1
        );
        for sql in ["UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log"] {
            let e = store.conn.execute(sql, []).expect_err("refused");
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        assert_eq!(audit_log(&mut store, 10, None).expect("read").len(), 2);
    }
}
