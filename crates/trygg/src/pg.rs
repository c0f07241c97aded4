//! `trygg migrate` and `trygg copy`: a store's schema, and moving a whole store
//! between the GeoPackage file and PostgreSQL (`trygg-pg`).

use std::path::Path;
use std::process::ExitCode;

use trygg_pg::{is_url, Copied, PgStore};
use trygg_store::{copy_reports, ReportDir, ReportShelf, Store};

/// `trygg migrate --store STORE`.
pub fn migrate(store: &str) -> anyhow::Result<ExitCode> {
    if is_url(store) {
        let mut pg = PgStore::connect(store)?;
        let applied = pg.migrate()?;
        let version = trygg_pg::latest_version();
        if applied.is_empty() {
            println!("{}: schema version {version}, up to date", pg.url());
        } else {
            let list: Vec<String> = applied.iter().map(i32::to_string).collect();
            println!(
                "{}: applied migration {} (schema version {version})",
                pg.url(),
                list.join(", ")
            );
        }
    } else {
        // Opening a GeoPackage store migrates it (in one transaction).
        let s = Store::open(Path::new(store))?;
        let version = s.meta(trygg_store::tables::OWN_META)?.unwrap_or_default();
        println!("{store}: schema version {version}, up to date");
    }
    Ok(ExitCode::SUCCESS)
}

/// `trygg copy --from SRC --to DST`.
pub fn copy(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let copied = match (is_url(from), is_url(to)) {
        (false, true) => {
            let store = Store::open(Path::new(from))?;
            let mut pg = PgStore::connect(to)?;
            pg.migrate()?;
            pg.import(&store, &mut ReportDir::beside(Path::new(from)))?
        }
        (true, false) => {
            let mut pg = PgStore::open(from)?;
            // The database's reports go to the folder a server over the new
            // file reads them from; one that holds reports already is left alone.
            let mut reports = ReportDir::beside(Path::new(to));
            let kept = pg.report_weeks()?.len();
            if kept > 0 && !reports.report_weeks()?.is_empty() {
                anyhow::bail!(
                    "{} holds reports already: the database's {kept} weekly reports would go \
                     there; move it away or copy to another folder",
                    reports.0.display()
                );
            }
            let mut copied = pg.export(Path::new(to))?;
            let weeks = copy_reports(&mut pg, &mut reports).map_err(|e| {
                anyhow::anyhow!(
                    "{to} is complete, but copying the reports into {} failed: {e}",
                    reports.0.display()
                )
            })?;
            copied.tables.push(("reports", weeks));
            copied
        }
        (false, false) => anyhow::bail!(
            "--from {from} and --to {to} are both files: copy a GeoPackage store with `cp` (or give a postgres:// URL)"
        ),
        (true, true) => anyhow::bail!(
            "--from and --to are both databases: use pg_dump and pg_restore (docs/scale.md)"
        ),
    };
    println!("{}", summary(&copied));
    Ok(ExitCode::SUCCESS)
}

fn summary(copied: &Copied) -> String {
    let parts: Vec<String> = copied
        .tables
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    format!("copied: {}", parts.join(", "))
}
