//! The PostgreSQL + PostGIS backend: migrations, moving a store into a database
//! and back (also through `pg_dump`/`pg_restore`), the events view built from the
//! database, and a copy killed half-way. Each test makes its own database on
//! the server `TRYGG_TEST_PG` names (`./dev test` starts one); without it the
//! tests fail under CI and are skipped (with a message) elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::types::Value;
use serde_json::Value as Json;
use trygg_store::tables::TABLES;

use crate::support::{demo_store, fixture, ingest_json, run, write};

/// A database of its own for one test, dropped at the end.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    fn new(label: &str) -> Option<TestDb> {
        let admin = match std::env::var("TRYGG_TEST_PG") {
            Ok(url) => url,
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("TRYGG_TEST_PG is not set: ./dev test starts PostgreSQL and sets it")
            }
            Err(_) => {
                eprintln!("skipped: TRYGG_TEST_PG is not set (./dev test sets it)");
                return None;
            }
        };
        let name = format!("trygg_{label}_{}", std::process::id());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client.batch_execute(&sql).expect("create database");
        }
        let url = with_db(&admin, &name);
        Some(TestDb { admin, name, url })
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect")
    }

    fn count(&self, table: &str) -> i64 {
        self.client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .expect("count")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The admin URL with another database: `postgresql:///postgres?…` → `…/name?…`.
fn with_db(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (prefix, _) = base.rsplit_once('/').expect("a URL with a database");
    if query.is_empty() {
        format!("{prefix}/{name}")
    } else {
        format!("{prefix}/{name}?{query}")
    }
}

/// The libpq arguments (`-h`, `-U`, `-d`) of a test URL, for pg_dump and friends.
fn libpq(url: &str) -> Vec<String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let db = base.rsplit('/').next().expect("database").to_owned();
    let mut args = vec!["-d".to_owned(), db];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("host", h)) => args.extend(["-h".to_owned(), h.to_owned()]),
            Some(("user", u)) => args.extend(["-U".to_owned(), u.to_owned()]),
            _ => {}
        }
    }
    args
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "trygg {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The demo store copied into a temporary folder and from there into the
/// (empty) database at `url`: the folder and the copy's path.
fn demo_in_database(url: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gpkg = dir.path().join("demo.gpkg");
    std::fs::copy(demo_store(), &gpkg).expect("copy");
    ok(&["copy", "--from", s(&gpkg), "--to", url]);
    (dir, gpkg)
}

/// Waits (30 s at most) until no session of the database at `url` is in
/// `COPY events` any more: the server has rolled a killed client's batch back.
fn no_copy_left(url: &str, lingers: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY events%'",
            &[],
        )
        .expect("activity")
        .get::<_, i64>(0)
        > 0
    {
        assert!(std::time::Instant::now() < deadline, "{lingers}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Starts `trygg ARGS` writing into the database at `url` and waits until it
/// is held at `COPY events` by the `LOCK TABLE events` the caller holds.
fn held_at_copy(url: &str, args: &[&str], stderr: std::process::Stdio) -> std::process::Child {
    let mut child = crate::support::trygg()
        .args(args)
        .stderr(stderr)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let started = std::time::Instant::now();
    while c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY events%' AND wait_event_type = 'Lock'",
            &[],
        )
        .expect("activity")
        .get::<_, i64>(0)
        == 0
    {
        assert!(child.try_wait().expect("wait").is_none(), "trygg {args:?} ended early");
        assert!(started.elapsed().as_secs() < 60, "trygg {args:?} never reached COPY");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// A store with every kind of row: the demo's sources, areas and population;
/// police events and a later snapshot that revised five (history); a file with
/// rejected rows; a reverted batch; an audit entry and a poll of the feed.
fn rich_store(dir: &Path) -> PathBuf {
    let store = dir.join("rich.gpkg");
    std::fs::copy(demo_store(), &store).expect("copy the demo store");
    let sample = fixture("polisen-events-sample.json");
    let (code, report) = ingest_json(&store, "police-events", &[], &[&sample]);
    assert_eq!(code, 0, "{report}");
    let mut events: Vec<Json> =
        serde_json::from_str(&std::fs::read_to_string(&sample).expect("sample")).expect("JSON");
    for e in events.iter_mut().take(40) {
        let edited = format!("{} (uppdaterad)", e["summary"].as_str().unwrap_or(""));
        e["summary"] = Json::String(edited);
    }
    let later = write(
        dir,
        "later.json",
        &serde_json::to_string(&events).expect("JSON"),
    );
    let (code, report) = ingest_json(&store, "police-events", &[], &[&later]);
    assert_eq!(code, 0, "{report}");
    assert!(report["updated"].as_u64() > Some(0), "{report}");
    let mut crimes = trygg_benches::crimes_csv(30, 7, "pgc");
    crimes.push_str(
        "pgc-bad1,0101,\"Rån\",2024-02-30,10:00,,,2024-02-01,exact,,674000.0,6580000.0\n",
    );
    crimes.push_str("pgc-bad2,0101,\"Rån\",2024-02-01,10:00,,,2024-02-01,exact,,not-x,6580000.0\n");
    let bad = write(dir, "bad.csv", &crimes);
    let (_, report) = ingest_json(&store, "crimes", &[], &[&bad]);
    assert!(report["rejected"].as_u64() > Some(0), "{report}");
    let batch = report["batch_id"].as_i64().expect("batch id").to_string();
    ok(&["batches", "revert", "--store", s(&store), &batch]);
    let conn = rusqlite::Connection::open(&store).expect("open");
    conn.execute_batch(
        "INSERT INTO audit_log (at, who, role, action, target, rows, detail)
           VALUES ('2024-02-02T10:00:00Z', 'anna', 'analyst', 'export', 'events', 12, 'tab\there');
         INSERT INTO police_polls (at, url, status, ok, attempts, events, new_events, updated, overlap, gap, ids)
           VALUES ('2024-02-02T10:05:00Z', 'http://127.0.0.1:1/api', 200, 1, 1, 500, 3, 0, 497, 0, '[1,2]');",
    )
    .expect("audit and poll rows");
    store
}

/// Every row of every Trygg table (the backend's own schema version aside).
fn rows(store: &Path) -> Vec<(&'static str, Vec<Vec<Value>>)> {
    let conn = rusqlite::Connection::open(store).expect("open");
    TABLES
        .iter()
        .map(|t| {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} ORDER BY {}",
                t.column_list(),
                t.name,
                if t.name == "trygg_meta" {
                    "key <> 'schema_version'"
                } else {
                    "1"
                },
                t.key
            );
            let mut stmt = conn.prepare(&sql).expect("prepare");
            let n = t.columns.len();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                .expect("query")
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .expect("rows");
            (t.name, rows)
        })
        .collect()
}

#[test]
fn migrations_are_versioned_idempotent_and_make_the_postgis_schema() {
    let Some(db) = TestDb::new("migrate") else {
        return;
    };
    let first = ok(&["migrate", "--store", &db.url]);
    assert!(first.contains("applied migration 1, 2"), "{first}");
    let again = ok(&["migrate", "--store", &db.url]);
    assert!(again.contains("up to date"), "{again}");
    let mut c = db.client();
    let applied = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT count(*) FROM trygg_migrations", &[])
            .expect("migrations")
            .get(0)
    };
    assert_eq!(applied(&mut c), 2);
    // A database of the first release (schema 1) is brought up to date by
    // the migration it lacks, and a server refuses it until then.
    c.batch_execute(
        "DROP TABLE report_schedule, report_files, reports;
         DELETE FROM trygg_migrations WHERE version = 2",
    )
    .expect("back to schema 1");
    let refused = run(&["query", "counts", "--store", &db.url, "--period", "2024"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("run `trygg migrate"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let upgraded = ok(&["migrate", "--store", &db.url]);
    assert!(
        upgraded.contains("applied migration 2 (schema version 2)"),
        "{upgraded}"
    );
    assert_eq!(applied(&mut c), 2);
    assert_eq!(db.count("reports"), 0);
    // Every table and column of the GeoPackage store, none missing or extra.
    for t in TABLES {
        let cols: Vec<String> = c
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_name = $1 ORDER BY column_name",
                &[&t.name],
            )
            .expect("columns")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut want: Vec<String> = t.columns.iter().map(|c| c.name.to_owned()).collect();
        want.sort();
        assert_eq!(cols, want, "{}", t.name);
    }
    // PostGIS geometry in EPSG:3006 with GiST indexes.
    let geoms: Vec<(String, String, i32)> = c
        .query(
            "SELECT f_table_name::text, type, srid FROM geometry_columns ORDER BY 1",
            &[],
        )
        .expect("geometry_columns")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        geoms,
        [
            ("areas".to_owned(), "MULTIPOLYGON".to_owned(), 3006),
            ("event_history".to_owned(), "POINT".to_owned(), 3006),
            ("events".to_owned(), "POINT".to_owned(), 3006),
        ]
    );
    let gist: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'
             AND tablename IN ('events', 'areas')",
            &[],
        )
        .expect("indexes")
        .get(0);
    assert_eq!(gist, 2);
    // The guarantees: (source, source_id) unique, the audit log append-only.
    c.batch_execute(
        "INSERT INTO ingest_batches (source, started_at, strict) VALUES ('crimes', 'now', false);
         INSERT INTO audit_log (at, who, role, action, target) VALUES ('now', 'a', 'admin', 'x', 'y');",
    )
    .expect("rows");
    let event = "INSERT INTO events (geom, source, source_id, occurred_at, occurred_utc, category,
        category_norm, precision, outside_areas, batch_id, attributes)
        VALUES (ST_SetSRID(ST_MakePoint(674000, 6580000), 3006), 'crimes', 'c1', '2024-01-01', 0,
        'Rån', 'robbery', 'exact', false, 1, '{}')";
    c.batch_execute(event).expect("first");
    assert!(c.batch_execute(event).is_err(), "the same id twice");
    for change in [
        "UPDATE audit_log SET who = 'b'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = c.batch_execute(change).expect_err(change);
        assert!(
            format!("{err:?}").contains("append-only"),
            "{change}: {err:?}"
        );
    }
    // A database of a newer schema is refused, not misread.
    c.batch_execute("INSERT INTO trygg_migrations (version, name) VALUES (99, 'future')")
        .expect("future");
    let out = run(&["copy", "--from", &db.url, "--to", "/nonexistent/x.gpkg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("schema version 99 is newer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_store_moves_into_postgres_and_back_losing_nothing() {
    let Some(db) = TestDb::new("roundtrip") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(dir.path());
    let before = rows(&store);
    for (table, rows) in &before {
        assert!(!rows.is_empty(), "the rich store has {table} rows");
    }

    // Two weekly reports kept beside the store, as a server over it keeps them.
    use trygg_store::ReportShelf;
    let mut reports = trygg_store::ReportDir::beside(&store);
    let report = |week: &str| -> Vec<(String, Vec<u8>)> {
        vec![
            (
                "index.json".to_owned(),
                format!("{{\"week\":\"{week}\"}}").into_bytes(),
            ),
            (
                "map.png".to_owned(),
                vec![0x89, b'P', b'N', b'G', 0, 255, 10],
            ),
        ]
    };
    for week in ["2024-W20", "2024-W21"] {
        reports.put_report(week, &report(week)).expect("report");
    }
    reports.record_since("2024-W20").expect("since");

    let printed = ok(&["copy", "--from", s(&store), "--to", &db.url]);
    assert!(printed.starts_with("copied: "), "{printed}");
    assert!(printed.contains("reports 2"), "{printed}");
    assert_eq!((db.count("reports"), db.count("report_files")), (2, 4));
    for (table, rows) in &before {
        let want = rows.len() as i64 + i64::from(*table == "trygg_meta");
        let got = db.count(table) + i64::from(*table == "trygg_meta");
        assert_eq!(got, want, "{table}");
    }
    // Attributes arrive as the source wrote them; geometry as PostGIS points.
    let mut c = db.client();
    let (x, y, srid): (f64, f64, i32) = {
        let r = c
            .query_one(
                "SELECT ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM events ORDER BY fid LIMIT 1",
                &[],
            )
            .expect("a point");
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(srid, 3006);
    assert!((600_000.0..800_000.0).contains(&x) && (6_500_000.0..6_700_000.0).contains(&y));

    // Into an empty database only: a second copy is refused and adds nothing.
    let again = run(&["copy", "--from", s(&store), "--to", &db.url]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));
    assert_eq!(db.count("events") as usize, before[4].1.len());

    // New rows after the copy get keys after the copied ones.
    let next: i64 = c
        .query_one(
            "INSERT INTO ingest_batches (source, started_at, strict) VALUES ('crimes', 'x', false) RETURNING id",
            &[],
        )
        .expect("insert")
        .get(0);
    let max_copied = match before[1].1.last().map(|r| &r[0]) {
        Some(Value::Integer(id)) => *id,
        other => panic!("batch id {other:?}"),
    };
    assert_eq!(next, max_copied + 1);
    c.batch_execute(&format!("DELETE FROM ingest_batches WHERE id = {next}"))
        .expect("delete");

    // And back: the same rows, byte for byte, geometry included, and the
    // reports into the folder beside the new file, which must not hold any.
    let refused = run(&[
        "copy",
        "--from",
        &db.url,
        "--to",
        s(&dir.path().join("x.gpkg")),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holds reports already"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!dir.path().join("x.gpkg").exists());
    std::fs::create_dir(dir.path().join("back")).expect("mkdir");
    let back = dir.path().join("back/back.gpkg");
    ok(&["copy", "--from", &db.url, "--to", s(&back)]);
    assert_eq!(rows(&back), before);
    let mut reports_back = trygg_store::ReportDir::beside(&back);
    for week in ["2024-W20", "2024-W21"] {
        assert_eq!(
            reports_back.report_files(week).expect("files"),
            report(week)
        );
    }
    assert_eq!(
        reports_back.recorded_since().expect("since").as_deref(),
        Some("2024-W20")
    );
    // The new file is a whole store: its R-tree indexes every event, GDAL reads it.
    let conn = rusqlite::Connection::open(&back).expect("open");
    let (indexed, events): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM rtree_events_geom), (SELECT count(*) FROM events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!(indexed, events);
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", s(&back), "events"])
        .output()
        .expect("ogrinfo");
    assert!(
        String::from_utf8_lossy(&info.stdout).contains(&format!("Feature Count: {events}")),
        "{}",
        String::from_utf8_lossy(&info.stdout)
    );
    // The copied store answers queries like the original.
    let q = |p: &Path| {
        ok(&[
            "query",
            "counts",
            "--store",
            s(p),
            "--period",
            "2024",
            "--layer",
            "stadsdel",
            "--format",
            "csv",
        ])
    };
    assert_eq!(q(&back), q(&store));
    // Copying onto an existing file is refused.
    let out = run(&["copy", "--from", &db.url, "--to", s(&back)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn pg_dump_and_pg_restore_keep_the_whole_store() {
    let Some(db) = TestDb::new("dump") else {
        return;
    };
    let Some(restored) = TestDb::new("restored") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(dir.path());
    ok(&["copy", "--from", s(&store), "--to", &db.url]);
    let dump = dir.path().join("trygg.dump");
    let out = Command::new("pg_dump")
        .args(libpq(&db.url))
        .args(["-Fc", "-f", s(&dump)])
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("pg_restore")
        .args(libpq(&restored.url))
        .args(["--exit-on-error", s(&dump)])
        .output()
        .expect("pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The restored database is a Trygg store of the current schema, whole.
    let back = dir.path().join("restored.gpkg");
    ok(&["copy", "--from", &restored.url, "--to", s(&back)]);
    assert_eq!(rows(&back), rows(&store));
}

#[test]
fn the_view_built_from_postgres_is_the_view_of_the_geopackage() {
    let Some(db) = TestDb::new("view") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(dir.path());
    ok(&["copy", "--from", s(&store), "--to", &db.url]);
    let gpkg = trygg_store::Store::open(&store)
        .expect("open")
        .view()
        .expect("view");
    let mut pg = trygg_pg::PgStore::open(&db.url).expect("open");
    let from_pg = pg.load_view().expect("view");
    assert_eq!(from_pg.len(), gpkg.len());
    assert!(!gpkg.is_empty());
    assert_eq!(from_pg.origin(), gpkg.origin());
    assert_eq!(from_pg.category_names(), gpkg.category_names());
    assert_eq!(from_pg.stadsdel_names(), gpkg.stadsdel_names());
    for i in 0..gpkg.len() {
        assert_eq!(
            (
                from_pg.time(i),
                from_pg.time_to(i),
                from_pg.xy(i),
                from_pg.source(i),
                from_pg.category_norm(i),
                from_pg.precision(i),
                from_pg.category(i),
                from_pg.stadsdel_code(i),
                from_pg.time_precision(i),
            ),
            (
                gpkg.time(i),
                gpkg.time_to(i),
                gpkg.xy(i),
                gpkg.source(i),
                gpkg.category_norm(i),
                gpkg.precision(i),
                gpkg.category(i),
                gpkg.stadsdel_code(i),
                gpkg.time_precision(i),
            ),
            "event {i}"
        );
    }
    assert_eq!(
        pg.data_version().expect("version"),
        trygg_store::Store::open(&store)
            .expect("open")
            .data_version()
            .expect("version")
    );
}

#[test]
fn a_copy_killed_half_way_leaves_the_database_empty_and_can_run_again() {
    let Some(db) = TestDb::new("killed") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(dir.path());
    ok(&["migrate", "--store", &db.url]);
    // Another session holds `events` in SHARE mode: the copy reads (checks
    // the database is empty), copies the tables before `events`, and waits at
    // `COPY events`. It is killed there, with rows sent and uncommitted.
    let mut holder = db.client();
    let mut lock = holder.transaction().expect("transaction");
    lock.batch_execute("LOCK TABLE events IN SHARE MODE")
        .expect("lock");
    let mut child = held_at_copy(
        &db.url,
        &["copy", "--from", s(&store), "--to", &db.url],
        std::process::Stdio::null(),
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
    lock.commit().expect("unlock");
    // The server rolls the copy's transaction back once it sees the client gone.
    no_copy_left(&db.url, "the killed copy's session lingers");
    for t in TABLES {
        assert_eq!(db.count(t.name), 0, "{} after a killed copy", t.name);
    }
    // Run again: all of it, once.
    ok(&["copy", "--from", s(&store), "--to", &db.url]);
    let before = rows(&store);
    assert_eq!(db.count("events") as usize, before[4].1.len());
}

/// Ingest's outcome per file as the JSON report gives it.
fn outcome(report: &Json) -> Vec<(u64, u64, u64, u64, u64)> {
    let n = |f: &Json, k: &str| f[k].as_u64().unwrap_or(u64::MAX);
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                n(f, "accepted"),
                n(f, "updated"),
                n(f, "duplicates"),
                n(f, "skipped"),
                n(f, "rejected"),
            )
        })
        .collect()
}

/// The rows of the tables ingest writes, without the times of ingest itself.
fn ingested(store: &Path) -> Vec<(&'static str, Vec<Vec<Value>>)> {
    let ingest_times = |t: &str| match t {
        "ingest_batches" => vec![2, 3],
        "event_history" => vec![4],
        _ => vec![],
    };
    rows(store)
        .into_iter()
        .filter(|(t, _)| {
            matches!(
                *t,
                "events" | "event_history" | "ingest_batches" | "ingest_files" | "rejected_rows"
            )
        })
        .map(|(t, rows)| {
            let drop = ingest_times(t);
            let rows = rows
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .enumerate()
                        .filter(|(i, _)| !drop.contains(i))
                        .map(|(_, v)| v)
                        .collect()
                })
                .collect();
            (t, rows)
        })
        .collect()
}

#[test]
fn the_same_batches_give_the_same_store_in_both_backends() {
    let Some(db) = TestDb::new("ingest") else {
        return;
    };
    let (dir, gpkg) = demo_in_database(&db.url);

    let sample = fixture("polisen-events-sample.json");
    let mut events: Vec<Json> =
        serde_json::from_str(&std::fs::read_to_string(&sample).expect("sample")).expect("JSON");
    for e in events.iter_mut().take(25) {
        let edited = format!("{} (uppdaterad)", e["summary"].as_str().unwrap_or(""));
        e["summary"] = Json::String(edited);
    }
    let later = write(
        dir.path(),
        "later.json",
        &serde_json::to_string(&events).expect("JSON"),
    );
    let crimes_a = write(
        dir.path(),
        "a.csv",
        &trygg_benches::crimes_csv(3_000, 11, "same"),
    );
    // b.csv repeats ids of a.csv in the same batch: some as they were, some
    // with another category (revisions within one batch), and a bad row.
    let a = std::fs::read_to_string(&crimes_a).expect("a");
    let mut b: Vec<String> = a.lines().take(1).map(str::to_owned).collect();
    for (i, line) in a.lines().skip(1).take(40).enumerate() {
        b.push(if i % 2 == 0 {
            line.to_owned()
        } else {
            line.replacen(",\"", ",\"Grov ", 1)
        });
    }
    b.push("same-bad,0101,\"Rån\",2024-13-01,10:00,,,2024-02-01,exact,,674000.0,6580000.0".into());
    let crimes_b = write(dir.path(), "b.csv", &(b.join("\n") + "\n"));
    // c.csv repeats ids within itself, more than a chunk of rows apart and
    // within one: a new id, and a stored one met first as a duplicate and then
    // with other content. Both repeats are rejections, never revisions.
    let fresh = trygg_benches::crimes_csv(3_000, 12, "cnew");
    let mut c: Vec<String> = fresh.lines().map(str::to_owned).collect();
    let stored = a.lines().nth(1).expect("a row").to_owned();
    c.push(stored.clone());
    c.push(stored.replacen(",\"", ",\"Grov ", 1));
    c.push(fresh.lines().nth(6).expect("a row").to_owned());
    let crimes_c = write(dir.path(), "c.csv", &(c.join("\n") + "\n"));
    let steps: Vec<(&str, Vec<&str>, Vec<PathBuf>)> = vec![
        ("police-events", vec![], vec![sample.clone()]),
        ("police-events", vec![], vec![later.clone()]),
        // The first snapshot again: every content was seen, nothing rolls back.
        ("police-events", vec![], vec![sample.clone()]),
        ("crimes", vec![], vec![crimes_a.clone(), crimes_b.clone()]),
        ("crimes", vec![], vec![crimes_c.clone()]),
        // --strict with a rejected row: nothing lands in either.
        ("crimes", vec!["--strict"], vec![crimes_b.clone()]),
    ];
    let mut outcomes = Vec::new();
    for (source, extra, files) in &steps {
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let (gcode, greport) = ingest_json(&gpkg, source, extra, &files);
        let (pcode, preport) = ingest_json(Path::new(&db.url), source, extra, &files);
        assert_eq!(gcode, pcode, "{greport}\n{preport}");
        assert_eq!(outcome(&greport), outcome(&preport), "{source} {files:?}");
        assert_eq!(greport["batch_id"], preport["batch_id"]);
        assert_eq!(greport["rejections"], preport["rejections"]);
        if files == [crimes_c.as_path()] {
            let said: Vec<(u64, &str)> = greport["rejections"]
                .as_array()
                .expect("rejections")
                .iter()
                .map(|r| {
                    (
                        r["row"].as_u64().unwrap_or(0),
                        r["reason"].as_str().unwrap_or(""),
                    )
                })
                .collect();
            assert_eq!(said.len(), 2, "{said:?}");
            assert!(
                said[0].0 == 3003 && said[0].1.ends_with("(first at row 3002)"),
                "{said:?}"
            );
            assert!(
                said[1].0 == 3004 && said[1].1.ends_with("(first at row 7)"),
                "{said:?}"
            );
        }
        outcomes.push(outcome(&greport));
    }
    // The steps did what they are for: police revisions, nothing rolled back,
    // crimes new, repeated and revised within one batch, a rejection.
    assert!(outcomes[1][0].1 > 0, "{outcomes:?}");
    assert_eq!((outcomes[2][0].0, outcomes[2][0].1), (0, 0), "{outcomes:?}");
    assert_eq!(outcomes[3][0].0, 3_000, "{outcomes:?}");
    assert_eq!(outcomes[3][1], (0, 20, 20, 0, 1), "{outcomes:?}");
    assert_eq!(outcomes[4][0], (3_000, 0, 1, 0, 2), "{outcomes:?}");
    let back = dir.path().join("back.gpkg");
    ok(&["copy", "--from", &db.url, "--to", s(&back)]);
    let (g, p) = (ingested(&gpkg), ingested(&back));
    for ((table, g), (_, p)) in g.iter().zip(&p) {
        assert_eq!(g.len(), p.len(), "{table}");
        assert!(g == p, "{table} differs");
    }
    let history = g
        .iter()
        .find(|(t, _)| *t == "event_history")
        .expect("history");
    assert_eq!(
        history.1.len() as u64,
        outcomes[1][0].1 + 20,
        "every revision's earlier version is in the history"
    );
    // The data version moved with every landed batch in both.
    let version = |p: &Path| {
        trygg_store::Store::open(p)
            .expect("open")
            .data_version()
            .expect("v")
    };
    assert_eq!(
        trygg_pg::PgStore::open(&db.url)
            .expect("open")
            .data_version()
            .expect("v"),
        version(&gpkg)
    );
}

#[test]
fn an_ingest_killed_mid_copy_lands_nothing_and_runs_again_whole() {
    let Some(db) = TestDb::new("killingest") else {
        return;
    };
    let (dir, _) = demo_in_database(&db.url);
    let events_before = db.count("events");
    let batches_before = db.count("ingest_batches");
    let csv = write(
        dir.path(),
        "k.csv",
        &trygg_benches::crimes_csv(5_000, 5, "kill"),
    );
    let mut holder = db.client();
    let mut lock = holder.transaction().expect("transaction");
    lock.batch_execute("LOCK TABLE events IN SHARE MODE")
        .expect("lock");
    let mut child = held_at_copy(
        &db.url,
        &["ingest", "--source", "crimes", "--store", &db.url, s(&csv)],
        std::process::Stdio::null(),
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
    lock.commit().expect("unlock");
    no_copy_left(&db.url, "the killed ingest's session lingers");
    assert_eq!(db.count("events"), events_before);
    assert_eq!(db.count("ingest_batches"), batches_before);
    // Again, whole: every row once.
    let (code, report) = ingest_json(Path::new(&db.url), "crimes", &[], &[&csv]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(db.count("events"), events_before + 5_000);
    let (_, again) = ingest_json(Path::new(&db.url), "crimes", &[], &[&csv]);
    assert_eq!(again["duplicates"], 5_000, "{again}");
    assert_eq!(db.count("events"), events_before + 5_000);
}

#[test]
fn queries_answer_the_same_over_both_backends() {
    let Some(db) = TestDb::new("queries") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rich_store(dir.path());
    ok(&["copy", "--from", s(&store), "--to", &db.url]);
    let asks: [&[&str]; 7] = [
        &[
            "counts",
            "--period",
            "2024",
            "--layer",
            "stadsdelsomrade_2023",
            "--suppress",
            "5",
        ],
        &[
            "table",
            "--from",
            "2023-07-01",
            "--to",
            "2024-06-30",
            "--window",
            "month",
        ],
        &[
            "hotspots",
            "--from",
            "2024-01-01",
            "--to",
            "2024-06-30",
            "--format",
            "geojson",
        ],
        &[
            "emerging",
            "--source",
            "crimes",
            "--slice",
            "month",
            "--slices",
            "12",
            "--end",
            "2024-06-30",
        ],
        &[
            "survey",
            "--layer",
            "stadsdelsomrade_2023",
            "--format",
            "json",
        ],
        &[
            "matrix",
            "--from",
            "2024-01-01",
            "--to",
            "2024-06-30",
            "--format",
            "json",
        ],
        TREND_ASK,
    ];
    answers_the_same(s(&store), &db.url, &asks, &[]);
}

/// A year's monthly trend, as JSON.
const TREND_ASK: &[&str] = &[
    "trend",
    "--from",
    "2023-07-01",
    "--to",
    "2024-06-30",
    "--window",
    "month",
    "--format",
    "json",
];

/// Each `trygg query` of `asks` (the job, then its flags) with `extra` gives
/// the same bytes over the file and the database.
fn answers_the_same(file: &str, url: &str, asks: &[&[&str]], extra: &[&str]) {
    for ask in asks {
        let q = |store: &str| {
            let mut args = vec!["query", ask[0], "--store", store];
            args.extend(extra);
            args.extend(&ask[1..]);
            ok(&args)
        };
        let (g, p) = (q(file), q(url));
        assert!(g.len() > 100, "{ask:?}: {g}");
        assert!(g == p, "{ask:?} differs:\n{g}\n---\n{p}");
    }
}

/// `GET path` on a replica: the status and the body.
fn get(base: &str, path: &str) -> (u16, Json) {
    let text = crate::api::http_get(base, path);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: the JSON object is between the first '{' and the last '}'.
    let json = body
        .find('{')
        .zip(body.rfind('}'))
        .and_then(|(a, b)| serde_json::from_str(&body[a..=b]).ok())
        .unwrap_or(Json::Null);
    (status, json)
}

#[test]
fn two_replicas_over_one_database_serve_a_new_batch_within_seconds() {
    let Some(db) = TestDb::new("replicas") else {
        return;
    };
    let (dir, _) = demo_in_database(&db.url);
    let env = [
        ("TRYGG_REFRESH_INTERVAL_S", "1"),
        ("TRYGG_ANONYMOUS_ROLE", "admin"),
    ];
    let url = Path::new(&db.url);
    let (mut a, base_a) = crate::api::serve(url, &[], &env);
    let (mut b, base_b) = crate::api::serve(url, &[], &env);
    let counts = "/api/v1/query/counts?period=2024&layer=stadsdel&source=crimes&format=json";
    let total = |base: &str| -> (u64, u64) {
        let (status, body) = get(base, counts);
        assert_eq!(status, 200, "{body}");
        let sum = body["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["count"].as_u64().unwrap_or(0))
            .sum();
        (body["data"]["version"].as_u64().expect("version"), sum)
    };
    let (v0, before) = total(&base_a);
    assert_eq!(total(&base_b), (v0, before));

    // A batch lands (ingested by a third process): both replicas answer
    // with it within the promised time, without a restart.
    let csv = write(
        dir.path(),
        "new.csv",
        &trygg_benches::crimes_csv(400, 3, "replica"),
    );
    let (code, report) = ingest_json(url, "crimes", &[], &[&csv]);
    assert_eq!(code, 0, "{report}");
    let landed = report["accepted"].as_u64().expect("accepted");
    assert_eq!(landed, 400);
    let landed_at = std::time::Instant::now();
    // What the database holds now, counted by the CLI over the same query layer.
    let cli: Json = serde_json::from_str(&ok(&[
        "query", "counts", "--store", &db.url, "--period", "2024", "--layer", "stadsdel",
        "--source", "crimes", "--format", "json",
    ]))
    .expect("JSON");
    let expected: u64 = cli["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        expected > before,
        "some of the batch lies in the stadsdelar"
    );
    for base in [&base_a, &base_b] {
        loop {
            let (v, n) = total(base);
            if v > v0 {
                assert_eq!(n, expected, "{base}: the whole batch, once");
                break;
            }
            assert!(
                landed_at.elapsed() < std::time::Duration::from_secs(5),
                "{base} still at version {v} after 5 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    // A replica killed and started again serves the same state; the other
    // kept serving meanwhile.
    a.kill().expect("kill");
    a.wait().expect("wait");
    assert_eq!(total(&base_b).1, expected);
    let (mut a2, base_a2) = crate::api::serve(url, &[], &env);
    assert_eq!(total(&base_a2), total(&base_b));
    // The batch list is read from the database, and a revert through one
    // replica takes the batch back on both.
    let (status, body) = get(&base_b, "/api/v1/admin/batches");
    assert_eq!(status, 200, "{body}");
    let listed = body["batches"].as_array().expect("batches");
    let new = listed.last().expect("the new batch");
    assert_eq!(new["accepted"], 400);
    let revert = crate::api::http_request(
        &base_b,
        "POST",
        &format!("/api/v1/admin/batches/{}/revert", new["id"]),
    );
    assert!(
        revert.starts_with("HTTP/1.1 200") && revert.contains("\"reverted_events\":400"),
        "{revert}"
    );
    let reverted_at = std::time::Instant::now();
    for base in [&base_a2, &base_b] {
        while total(base).1 != before {
            assert!(
                reverted_at.elapsed() < std::time::Duration::from_secs(5),
                "{base} does not show the revert after 5 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    for child in [&mut a2, &mut b] {
        child.kill().expect("kill");
        child.wait().expect("wait");
    }
}

#[test]
fn one_replica_polls_the_police_feed_and_another_takes_over_when_it_dies() {
    use crate::feed::{sample, serve as feed_server, snapshot, stockholm, Reply};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let Some(db) = TestDb::new("feedlead") else {
        return;
    };
    let (_dir, _) = demo_in_database(&db.url);
    let events_before = db.count("events");
    // The feed answers every request with the same snapshot; what is left of
    // the script tells how many requests came.
    let events = sample();
    const SCRIPT: usize = 10_000;
    let script = Arc::new(Mutex::new(
        (0..SCRIPT)
            .map(|_| Reply::Json(snapshot(&events, 0..events.len())))
            .collect::<VecDeque<_>>(),
    ));
    let feed = feed_server(Arc::clone(&script));
    let requests = || SCRIPT - script.lock().expect("script").len();
    let env = [
        ("TRYGG_REFRESH_INTERVAL_S", "1"),
        ("TRYGG_POLICE_INTERVAL_S", "1"),
        ("TRYGG_ANONYMOUS_ROLE", "admin"),
    ];
    let url = Path::new(&db.url);
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(30), "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Replica a starts alone, so it leads; then b joins. The rate of polls
    // with both is the rate of a alone (measured the same way, so a loaded
    // machine slows both alike), not twice it.
    let (mut a, _) = crate::api::serve(url, &["--police-url", &feed], &env);
    wait_for("a polls", &|| db.count("police_polls") >= 1);
    let rate = || {
        let (r0, t0) = (requests(), Instant::now());
        std::thread::sleep(Duration::from_secs(6));
        (requests() - r0) as f64 / t0.elapsed().as_secs_f64()
    };
    let alone = rate();
    assert!(alone >= 0.25, "a alone polls {alone:.2} times a second");
    let (mut b, _) = crate::api::serve(url, &["--police-url", &feed], &env);
    let both = rate();
    assert!(
        both <= alone * 1.5 + 0.2,
        "{both:.2} polls a second with two replicas, {alone:.2} with one: the feed is polled once, not per replica"
    );
    // One replica holds the job's advisory lock (its key starts "tryg").
    let job_locks = || -> i64 {
        db.client()
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND classid::bigint = 1953659239 AND database = (SELECT oid FROM pg_database
                 WHERE datname = current_database())",
                &[],
            )
            .expect("locks")
            .get(0)
    };
    assert_eq!(job_locks(), 1, "one leader of the feed");
    // The leader dies: b takes the lock over and polls on.
    a.kill().expect("kill a");
    a.wait().expect("a ends");
    let r1 = requests();
    wait_for("b takes over", &|| requests() >= r1 + 3);
    assert_eq!(job_locks(), 1, "b leads now");
    b.kill().expect("kill b");
    b.wait().expect("b ends");
    // Every poll is in the log (a poll cut off by a kill at most once each),
    // and the snapshot's events landed once.
    let logged = db.count("police_polls") as usize;
    assert!(
        logged <= requests() && logged + 2 >= requests(),
        "{logged} polls logged of {} requests",
        requests()
    );
    let stockholm_events = stockholm(&events, 0..events.len()).len() as i64;
    assert!(stockholm_events > 10, "{stockholm_events}");
    assert_eq!(db.count("events"), events_before + stockholm_events);
    let batches: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM ingest_batches WHERE source = 'police-events' AND accepted > 0
             AND id > (SELECT coalesce(max(batch_id), 0) FROM ingest_files WHERE file NOT LIKE 'police-feed-%')",
            &[],
        )
        .expect("batches")
        .get(0);
    assert_eq!(batches, 1, "one batch brought the snapshot's events");
}

#[test]
fn the_schedule_over_postgres_keeps_its_reports_in_the_database() {
    let Some(db) = TestDb::new("schedule") else {
        return;
    };
    ok(&["copy", "--from", s(crate::report::store()), "--to", &db.url]);
    let url = db.url.clone();
    let shelf = move || -> Box<dyn trygg_store::ReportShelf> {
        Box::new(trygg_pg::PgStore::open(&url).expect("open"))
    };
    crate::report::schedule_catches_up_and_remakes(Path::new(&db.url), &shelf, None);
    // Every week once, with its files and index, and the first week recorded.
    assert_eq!(db.count("reports"), 6);
    assert_eq!(
        db.count("report_files"),
        6 * 6,
        "five files and the index a week"
    );
    let since: String = db
        .client()
        .query_one("SELECT since FROM report_schedule", &[])
        .expect("since")
        .get(0);
    assert_eq!(since, "2024-W20");
}

#[test]
fn replicas_make_the_weekly_report_once_and_serve_it_from_the_database() {
    use std::time::{Duration, Instant};
    let Some(db) = TestDb::new("reportlead") else {
        return;
    };
    let (dir, _) = demo_in_database(&db.url);
    let env = [
        ("TRYGG_REFRESH_INTERVAL_S", "1"),
        ("TRYGG_ANONYMOUS_ROLE", "admin"),
    ];
    // The last complete week's report, without its PDF (no Chromium needed).
    let config = write(
        dir.path(),
        "trygg.toml",
        "[reports]\nweekly = \"mon 06:00\"\npdf = false\n",
    );
    let url = Path::new(&db.url);
    let args = ["--config", s(&config)];
    let (mut a, base_a) = crate::api::serve(url, &args, &env);
    let (mut b, base_b) = crate::api::serve(url, &args, &env);
    let start = Instant::now();
    while db.count("reports") == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no report made within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the other replica check too: it must not make the week again.
    std::thread::sleep(Duration::from_secs(3));
    let kept: Vec<(String, String)> = db
        .client()
        .query("SELECT week, kept_at FROM reports", &[])
        .expect("reports")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kept.len(), 1, "the last week's report, made once: {kept:?}");
    let week = &kept[0].0;
    // Both replicas list it and serve the same file, from the database.
    let mut bodies = Vec::new();
    for base in [&base_a, &base_b] {
        let (status, list) = get(base, "/api/v1/reports");
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["reports"][0]["week"], week.as_str(), "{list}");
        let files: Vec<&str> = list["reports"][0]["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(
            files.contains(&"report.html") && files.contains(&"map.png"),
            "{files:?}"
        );
        let (status, json) = get(base, &format!("/api/v1/reports/{week}/report.json"));
        assert_eq!(status, 200);
        assert_eq!(json["numbers"]["week"], week.as_str());
        bodies.push(json);
    }
    assert_eq!(bodies[0], bodies[1]);
    let png: Vec<u8> = db
        .client()
        .query_one(
            "SELECT bytes FROM report_files WHERE week = $1 AND name = 'map.png'",
            &[week],
        )
        .expect("map")
        .get(0);
    assert!(png.starts_with(b"\x89PNG"), "the map is a PNG");
    // The feed's log and the audit log are read from the database too.
    for path in ["/api/v1/admin/police", "/api/v1/admin/audit"] {
        let (status, body) = get(&base_b, path);
        assert_eq!(status, 200, "{path}: {body}");
    }
    for child in [&mut a, &mut b] {
        child.kill().expect("kill");
        child.wait().expect("wait");
    }
    // A reports folder beside a database is refused at start, saying why.
    let with_dir = write(
        dir.path(),
        "dir.toml",
        "[reports]\nweekly = \"mon 06:00\"\ndir = \"/tmp/reports\"\n",
    );
    let mut refused = crate::support::trygg()
        .args([
            "serve",
            "--store",
            &db.url,
            "--addr",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&with_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = refused.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            refused.kill().expect("kill");
            panic!("the server started with [reports] dir over PostgreSQL");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut refused.stderr.take().expect("stderr"), &mut said)
        .expect("read");
    assert!(!status.success());
    assert!(said.contains("kept in the database"), "{said}");
}

#[test]
fn the_cli_reads_and_polls_a_database_as_it_does_a_file() {
    use crate::feed::{sample, serve as feed_server, snapshot, Reply};
    use std::sync::{Arc, Mutex};
    let Some(db) = TestDb::new("cli") else {
        return;
    };
    let (dir, gpkg) = demo_in_database(&db.url);
    let file = s(&gpkg);
    // Exports are byte for byte those of the file the database was copied from.
    for format in ["csv", "geojson"] {
        for extra in [
            &[][..],
            &[
                "--source",
                "fires",
                "--from",
                "2024-03-01",
                "--to",
                "2024-05-31",
            ],
        ] {
            let export = |store: &str| {
                let mut args = vec!["export", "--store", store, "--format", format];
                args.extend(extra);
                ok(&args)
            };
            let (from_file, from_db) = (export(file), export(&db.url));
            assert!(
                from_file.len() > 1000,
                "{format} {extra:?}: {} bytes",
                from_file.len()
            );
            assert!(
                from_file == from_db,
                "{format} {extra:?}: the exports differ"
            );
        }
    }
    // An area layer loads into either (a Shapefile in EPSG:3011), and a layer
    // of the name is refused unless replaced.
    let shp = crate::support::data("stockholm/shapefile-sweref99-1800/stadsdelar.shp");
    for store in [file, db.url.as_str()] {
        let load = |extra: &[&str]| {
            let mut args = vec!["areas", "load", "--store", store, "--layer", "shp"];
            args.extend(extra);
            args.extend(["--valid-from", "2021-04-13", s(&shp)]);
            run(&args)
        };
        let first = load(&[]);
        assert!(
            String::from_utf8_lossy(&first.stdout).contains("loaded 117 areas"),
            "{store}: {}",
            String::from_utf8_lossy(&first.stderr)
        );
        let again = load(&[]);
        assert_eq!(again.status.code(), Some(2), "{store}");
        assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
        assert!(load(&["--replace"]).status.success(), "{store}");
    }
    let by_shp = |store: &str| {
        ok(&[
            "query", "counts", "--store", store, "--period", "2024", "--layer", "shp", "--format",
            "csv",
        ])
    };
    assert_eq!(by_shp(file), by_shp(&db.url));
    assert!(by_shp(file).lines().count() > 100, "{}", by_shp(file));
    // The layers, the batches and the summary read the same.
    assert_eq!(
        ok(&["areas", "list", "--store", file]),
        ok(&["areas", "list", "--store", &db.url])
    );
    assert_eq!(
        ok(&["batches", "list", "--json", "--store", file]),
        ok(&["batches", "list", "--json", "--store", &db.url])
    );
    let info = |store: &str| -> String {
        ok(&["info", "--store", store])
            .lines()
            .skip(1) // the store's name
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(info(file), info(&db.url));
    assert!(
        info(file).contains("area layer stadsdel (117 areas)"),
        "{}",
        info(file)
    );
    // One poll of the feed from the CLI lands in the database and is logged there.
    let events = sample();
    let feed = feed_server(Arc::new(Mutex::new(
        [Reply::Json(snapshot(&events, 0..100))].into(),
    )));
    let before = db.count("events");
    let polled: Json =
        serde_json::from_str(&ok(&["police", "poll", "--store", &db.url, "--url", &feed]))
            .expect("JSON");
    assert_eq!(polled["ok"], true, "{polled}");
    let new = polled["new_events"].as_i64().expect("new events");
    assert!(new > 0, "{polled}");
    assert_eq!(db.count("events"), before + new);
    assert_eq!(db.count("police_polls"), 1);
    let batches: Json =
        serde_json::from_str(&ok(&["batches", "list", "--json", "--store", &db.url]))
            .expect("JSON");
    let polled_batch = batches.as_array().expect("batches").last().expect("one");
    assert_eq!(polled_batch["source"], "police-events");
    // ... and is taken back from the CLI.
    let id = polled_batch["id"].to_string();
    let reverted = ok(&["batches", "revert", "--store", &db.url, &id, "--by", "test"]);
    assert!(
        reverted.contains(&format!("reverted batch {id}: {new} events")),
        "{reverted}"
    );
    assert_eq!(db.count("events"), before);
    let again = run(&["batches", "revert", "--store", &db.url, &id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already reverted"));
    drop(dir);
}

#[test]
fn counts_pushed_down_into_either_store_equal_the_snapshots() {
    let Some(db) = TestDb::new("pushdown") else {
        return;
    };
    let (_dir, gpkg) = demo_in_database(&db.url);
    let asks: [&[&str]; 6] = [
        &["--period", "2024", "--layer", "stadsdel"],
        &[
            "--period",
            "2024-Q1",
            "--layer",
            "stadsdelsomrade_2023",
            "--by-source",
        ],
        &[
            "--period",
            "2024-03",
            "--layer",
            "municipality",
            "--by-category",
        ],
        &[
            "--period",
            "2024-W20",
            "--layer",
            "stadsdelsomrade_2020",
            "--source",
            "crimes",
            "--category",
            "violence",
            "--category",
            "robbery",
            "--previous-periods",
            "4",
        ],
        &[
            "--period",
            "2023",
            "--layer",
            "stadsdel",
            "--source",
            "police-events",
            "--by-category",
        ],
        &[
            "--period",
            "2024-05",
            "--layer",
            "stadsdel",
            "--by-source",
            "--suppress",
            "5",
        ],
    ];
    let counts = |store: &str, ask: &[&str], push: bool| query_json("counts", store, ask, push);
    // Unknown stadsdel names: the snapshot lists those of all events, the
    // store those of the events it counted.
    let without_unknown = |mut v: Json| -> (Json, Vec<Json>) {
        let unknown = v["unknown_stadsdelar"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        v["unknown_stadsdelar"] = Json::Null;
        (v, unknown)
    };
    for ask in asks {
        let (reference, all_unknown) = without_unknown(counts(s(&gpkg), ask, false));
        let rows = reference["rows"].as_array().expect("rows").len();
        assert!(rows > 1, "{ask:?}: {reference}");
        for store in [s(&gpkg), db.url.as_str()] {
            let (pushed, unknown) = without_unknown(counts(store, ask, true));
            assert!(
                pushed == reference,
                "{ask:?} pushed down into {store} differs:\n{pushed}\n{reference}"
            );
            assert!(
                unknown.iter().all(|u| all_unknown.contains(u)),
                "{unknown:?}"
            );
            if store != s(&gpkg) {
                let (snap, _) = without_unknown(counts(store, ask, false));
                assert!(
                    snap == reference,
                    "{ask:?}: the database's snapshot differs"
                );
            }
        }
    }
    // What the store cannot count alone is refused, naming the field.
    refused_push_downs(
        "counts",
        &db.url,
        &["--period", "2024"],
        &[
            (&["--hours", "22-04"], "hours"),
            (&["--layer", "grid:1000"], "layer"),
        ],
    );
}

/// `trygg query JOB --store STORE --format json ASK [--push-down]`, parsed.
fn query_json(job: &str, store: &str, ask: &[&str], push: bool) -> Json {
    let mut args = vec!["query", job, "--store", store, "--format", "json"];
    args.extend_from_slice(ask);
    if push {
        args.push("--push-down");
    }
    serde_json::from_str(&ok(&args)).expect("JSON")
}

/// Each of `cases` (extra arguments to `base`, and the field at fault) is
/// refused by `trygg query JOB --push-down` over `store`, naming the field.
fn refused_push_downs(job: &str, store: &str, base: &[&str], cases: &[(&[&str], &str)]) {
    for (extra, field) in cases {
        let mut args = vec!["query", job, "--store", store, "--push-down"];
        args.extend_from_slice(base);
        args.extend_from_slice(extra);
        let out = run(&args);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains(&format!("{field}: cannot be counted by the database")),
            "{said}"
        );
    }
}

#[test]
fn hotspots_pushed_down_into_either_store_equal_the_snapshots() {
    let Some(db) = TestDb::new("gridpush") else {
        return;
    };
    let (dir, gpkg) = demo_in_database(&db.url);
    // Points a hair west and south of cell edges: held as the view holds them
    // (f32 metres from its origin) they round onto the edge, into the next cell.
    let mut csv = String::from(
        "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y\n",
    );
    for k in 0..40 {
        let x = 674_000.0 + 100.0 * f64::from(k % 8) - 1e-7;
        let y = 6_580_000.0 + 100.0 * f64::from(k / 8) - 1e-7;
        csv.push_str(&format!(
            "edge-{k},9301,Misshandel,2024-03-{:02},21:30,,,2024-03-20,exact,Södermalm,{x:.7},{y:.7}\n",
            1 + k % 28
        ));
    }
    let edges = write(dir.path(), "edges.csv", &csv);
    for store in [s(&gpkg), db.url.as_str()] {
        let (code, report) = ingest_json(Path::new(store), "crimes", &[], &[&edges]);
        assert_eq!(
            (code, report["accepted"].as_u64()),
            (0, Some(40)),
            "{report}"
        );
    }
    let asks: [&[&str]; 5] = [
        &["--from", "2024-01-01", "--to", "2024-06-30"],
        &[
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--grid",
            "100",
            "--category",
            "violence",
        ],
        &[
            "--from",
            "2023-07-01",
            "--to",
            "2024-06-30",
            "--grid",
            "1000",
            "--source",
            "crimes",
            "--source",
            "fires",
        ],
        &["--from", "2024-03-01", "--to", "2024-03-31", "--grid", "50"],
        &[
            "--from",
            "2024-05-01",
            "--to",
            "2024-05-31",
            "--suppress",
            "5",
            "--neighbourhood",
            "band:2",
        ],
    ];
    let hotspots = |store: &str, ask: &[&str], push: bool| query_json("hotspots", store, ask, push);
    for ask in asks {
        let reference = hotspots(s(&gpkg), ask, false);
        let binned = reference["binning"]["binned"].as_u64().expect("binned");
        assert!(binned > 0, "{ask:?}: {reference}");
        for (store, push) in [(s(&gpkg), true), (&db.url, false), (&db.url, true)] {
            let other = hotspots(store, ask, push);
            assert!(
                other == reference,
                "{ask:?} in {store} (pushed down: {push}) differs:\n{}\n{}",
                other["binning"],
                reference["binning"]
            );
        }
    }
    // What the database cannot count alone is refused, naming the field.
    refused_push_downs(
        "hotspots",
        &db.url,
        &["--from", "2024-03-01", "--to", "2024-03-31"],
        &[
            (&["--hours", "22-04"], "hours"),
            (&["--h3", "9"], "h3"),
            (&["--kde", "300"], "kde"),
        ],
    );
}

/// A PostgreSQL server of a test's own (a new cluster in a temporary folder on
/// its own socket), which the test may crash: `TRYGG_TEST_PG_BIN` names the
/// server's programs (`./dev test` sets it).
struct OwnServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl OwnServer {
    fn new() -> Option<OwnServer> {
        let bin = match std::env::var("TRYGG_TEST_PG_BIN") {
            Ok(bin) => PathBuf::from(bin),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("TRYGG_TEST_PG_BIN is not set: ./dev test sets it")
            }
            Err(_) => {
                eprintln!("skipped: TRYGG_TEST_PG_BIN is not set (./dev test sets it)");
                return None;
            }
        };
        let server = OwnServer {
            dir: tempfile::Builder::new()
                .prefix("trygg-pg-own")
                .tempdir_in("/tmp")
                .expect("tempdir"),
            bin,
        };
        let data = server.dir.path().join("data");
        server.sh(&format!(
            "{}/initdb -D {} -A trust -U postgres",
            server.bin.display(),
            data.display()
        ));
        server.start();
        Some(server)
    }

    /// Runs a shell command as the server's user (PostgreSQL refuses root).
    fn sh(&self, command: &str) {
        assert!(self.run_as(command), "{command}");
    }

    /// [`OwnServer::sh`], telling whether it succeeded.
    fn run_as(&self, command: &str) -> bool {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let status = if root {
            let _ = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(self.dir.path())
                .status();
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", command])
                .stdout(std::process::Stdio::null())
                .status()
        } else {
            Command::new("sh")
                .args(["-c", command])
                .stdout(std::process::Stdio::null())
                .status()
        };
        status.is_ok_and(|s| s.success())
    }

    fn pg_ctl(&self, what: &str) {
        let dir = self.dir.path();
        self.sh(&format!(
            "{}/pg_ctl -D {}/data -l {}/log -o \"-k {} -c listen_addresses=''\" -w {what}",
            self.bin.display(),
            dir.display(),
            dir.display(),
            dir.display()
        ));
    }

    fn start(&self) {
        self.pg_ctl("start");
    }

    /// Kills the server as a crash would (no shutdown checkpoint; the next
    /// start recovers from the write-ahead log).
    fn crash(&self) {
        self.pg_ctl("-m immediate stop");
    }

    fn url(&self) -> String {
        format!(
            "postgresql:///postgres?host={}&user=postgres",
            self.dir.path().display()
        )
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let stop = format!(
            "{}/pg_ctl -D {}/data -m immediate stop",
            self.bin.display(),
            self.dir.path().display()
        );
        self.run_as(&stop);
    }
}

#[test]
fn the_database_crashing_mid_ingest_loses_and_duplicates_nothing() {
    let Some(server) = OwnServer::new() else {
        return;
    };
    let url = server.url();
    let (dir, _) = demo_in_database(&url);
    let client = || postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let count = |table: &str| -> i64 {
        client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .expect("count")
            .get(0)
    };
    let (events_before, batches_before) = (count("events"), count("ingest_batches"));
    let csv = write(
        dir.path(),
        "c.csv",
        &trygg_benches::crimes_csv(5_000, 9, "crash"),
    );
    // The ingest is held at its first COPY by a lock, then the server dies.
    let mut holder = client();
    let mut lock = holder.transaction().expect("transaction");
    lock.batch_execute("LOCK TABLE events IN SHARE MODE")
        .expect("lock");
    let child = held_at_copy(
        &url,
        &["ingest", "--source", "crimes", "--store", &url, s(&csv)],
        std::process::Stdio::piped(),
    );
    server.crash();
    drop(lock);
    drop(holder);
    let out = child.wait_with_output().expect("the ingest ends");
    assert!(
        !out.status.success(),
        "the ingest must fail when its database dies"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("error"), "{said}");
    // After recovery the database holds what it held: no event, no batch.
    server.start();
    assert_eq!(count("events"), events_before);
    assert_eq!(count("ingest_batches"), batches_before);
    // The same ingest again lands whole, once.
    let (code, report) = ingest_json(Path::new(&url), "crimes", &[], &[&csv]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], 5_000);
    assert_eq!(count("events"), events_before + 5_000);
    assert_eq!(count("ingest_batches"), batches_before + 1);
    let (code, again) = ingest_json(Path::new(&url), "crimes", &[], &[&csv]);
    assert_eq!(
        (code, &again["duplicates"]),
        (0, &Json::from(5_000)),
        "{again}"
    );
    assert_eq!(count("events"), events_before + 5_000);
}

#[test]
fn a_municipality_limited_key_gets_the_same_answers_over_both_backends() {
    use crate::municipality::{config, world, EAST, EAST_ANALYST, Q1};
    let Some(db) = TestDb::new("scope") else {
        return;
    };
    let file = &world().store;
    ok(&["copy", "--from", s(file), "--to", &db.url]);
    let asks: [&[&str]; 4] = [
        &["counts", "--period", "2024-Q1", "--layer", "stadsdel"],
        &[
            "counts", "--period", "2024-Q1", "--layer", "kommun", "--format", "json",
        ],
        &[
            "hotspots",
            "--from",
            "2024-01-01",
            "--to",
            "2024-03-31",
            "--format",
            "geojson",
        ],
        TREND_ASK,
    ];
    answers_the_same(s(file), &db.url, &asks, &["--municipality", EAST.0]);
    // The API of a replica over the database, for the limited key.
    let replica = trygg_server::AppState::open(Path::new(&db.url), config(file)).expect("replica");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for uri in [
        format!("/api/v1/events?{Q1}&limit=10000"),
        "/api/v1/query/counts?period=2024-Q1&layer=stadsdelsomrade_2023".to_owned(),
        "/api/v1/layers/stadsdel".to_owned(),
    ] {
        let (f, p) = runtime.block_on(async {
            (
                crate::api::get_at(&world().state, &uri, EAST_ANALYST).await,
                crate::api::get_at(&replica, &uri, EAST_ANALYST).await,
            )
        });
        assert_eq!(f.status, axum::http::StatusCode::OK, "{uri}: {}", f.text());
        assert!(
            f.body == p.body,
            "{uri} differs:\n{}\n---\n{}",
            f.text(),
            p.text()
        );
    }
    // A municipality's weekly report and export: the same numbers,
    // provenance and rows from either backend.
    let scoped = ["--no-pdf", "--municipality", EAST.0];
    let (_f, from_file) = crate::report::report_of(file, "2024-W10", &scoped);
    let (_p, from_db) = crate::report::report_of(Path::new(&db.url), "2024-W10", &scoped);
    assert!(!from_file["provenance"]["by_source"]
        .as_array()
        .expect("mix")
        .is_empty());
    assert_eq!(from_file["provenance"], from_db["provenance"]);
    assert_eq!(from_file["numbers"]["areas"], from_db["numbers"]["areas"]);
    let export = |store: &str| {
        ok(&[
            "export",
            "--store",
            store,
            "--format",
            "csv",
            "--municipality",
            EAST.0,
        ])
    };
    assert_eq!(export(s(file)), export(&db.url));
    // Population figures load into the database too, and the scope's total
    // takes them.
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write(
        dir.path(),
        "kommun.csv",
        &format!("kommun,year,population\n{},2024,551000\n", EAST.0),
    );
    ok(&[
        "areas",
        "population",
        "--store",
        &db.url,
        "--layer",
        "kommun",
        s(&csv),
    ]);
    let counts: Json = serde_json::from_str(&ok(&[
        "query",
        "counts",
        "--store",
        &db.url,
        "--period",
        "2024-Q1",
        "--municipality",
        EAST.0,
        "--format",
        "json",
    ]))
    .expect("json");
    let total = counts["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area_code"] == "municipality")
        .expect("total")
        .clone();
    assert_eq!(total["population"], 551_000);
    let bad = write(
        dir.path(),
        "bad.csv",
        "kommun,year,population\n9999,2024,1\n",
    );
    let out = run(&[
        "areas",
        "population",
        "--store",
        &db.url,
        "--layer",
        "kommun",
        s(&bad),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv") && err.contains("row 2") && err.contains("9999"),
        "{err}"
    );
}
