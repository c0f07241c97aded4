//! The classes of failure a hostile run found in the data path, each with tests
//! that would have caught it: atomic store creation, outputs that cannot destroy
//! the store, times that mean what they say, values validated at ingest, names
//! compared as people read them, no panics (closed pipes included), resource
//! budgets, consistent outcomes, and undoing a batch.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::support::{
    count_events, demo_store, fixture, ingest_json, police_store, run, trygg, write,
};

fn bad(name: &str) -> PathBuf {
    fixture(&format!("bad/{name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    format!(
        "{:x}",
        sha2::Sha256::digest(std::fs::read(path).expect("read"))
    )
}

fn query_one<T: rusqlite::types::FromSql>(store: &Path, sql: &str) -> T {
    let conn = rusqlite::Connection::open(store).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// A store with the police sample, as a baseline that must survive.
fn baseline(dir: &Path) -> PathBuf {
    police_store(dir, "base.gpkg")
}

// 1. A store is created atomically.

#[test]
fn regression_a_first_ingest_killed_early_leaves_no_store_or_a_whole_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, trygg_benches::crimes_csv(2_000, 20_240_201, "k")).expect("write");
    // How long a whole first ingest takes here, then kills spread over that time
    // (and a little beyond, so that some runs finish).
    let timed = dir.path().join("timed.gpkg");
    let started = std::time::Instant::now();
    let (code, _) = ingest_json(&timed, "crimes", &[], &[&csv]);
    assert_eq!(code, 0);
    let whole = started.elapsed();
    let mut saw_missing = false;
    let mut saw_whole = false;
    for step in 0..32u32 {
        let store = dir.path().join(format!("s{step}.gpkg"));
        let mut child = trygg()
            .args([
                "ingest",
                "--json",
                "--source",
                "crimes",
                "--store",
                s(&store),
                s(&csv),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(whole * step / 24);
        let _ = child.kill();
        child.wait().expect("reap");
        if !store.exists() {
            saw_missing = true;
            continue;
        }
        saw_whole = true;
        // Whatever exists is a whole store: areas, extent and the batch.
        let out = run(&["info", "--store", s(&store)]);
        assert!(out.status.success(), "step {step}: {}", stderr(&out));
        let info = String::from_utf8_lossy(&out.stdout);
        assert!(info.contains("area layer stadsdel (117 areas)"), "{info}");
        assert!(info.contains("extent (EPSG:3006)"), "{info}");
        assert_eq!(count_events(&store), 2_000, "step {step}");
    }
    assert!(saw_missing, "no kill landed before the store appeared");
    assert!(saw_whole, "no run finished: make the steps longer");
    // Hidden files of killed creations go with the next creation in the folder.
    let store = dir.path().join("s0.gpkg");
    let _ = std::fs::remove_file(&store);
    let (code, report) = ingest_json(&store, "crimes", &[], &[&csv]);
    assert_eq!(code, 0, "{report}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".creating-"))
        .collect();
    // Other steps' stores have their own names; only s0's hidden files are swept.
    assert!(
        leftovers.iter().all(|n| !n.starts_with(".s0.gpkg.")),
        "{leftovers:?}"
    );
}

#[test]
fn regression_a_failed_first_command_creates_no_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("new.gpkg");
    // Missing input: an I/O error (exit 2), and no store.
    let out = run(&[
        "ingest",
        "--source",
        "crimes",
        "--store",
        s(&store),
        s(&dir.path().join("no-such-file.csv")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-file.csv"),
        "{}",
        stderr(&out)
    );
    assert!(!store.exists());
    // An empty file: nothing lands (exit 1), and no store.
    let (code, report) = ingest_json(&store, "crimes", &[], &[&bad("crimes-header-only.csv")]);
    assert_eq!(code, 1, "{report}");
    assert!(!store.exists());
    // A bad area file for a new store: no store.
    let out = run(&[
        "areas",
        "load",
        "--store",
        s(&store),
        "--layer",
        "x",
        s(&bad("empty.csv")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!store.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

// 2. No command can destroy its own store.

#[test]
fn regression_no_output_path_can_be_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    let before = sha256(&store);
    let link = dir.path().join("link.gpkg");
    std::os::unix::fs::symlink(&store, &link).expect("symlink");
    let dotted = dir.path().join(".").join("base.gpkg");
    let journal = dir.path().join("base.gpkg-journal");
    for out in [&store, &link, &dotted, &journal] {
        let export = run(&[
            "export",
            "--store",
            s(&store),
            "--format",
            "csv",
            "--out",
            s(out),
        ]);
        let query = run(&[
            "query",
            "counts",
            "--store",
            s(&store),
            "--period",
            "2024",
            "--out",
            s(out),
        ]);
        for (what, o) in [("export", export), ("query", query)] {
            assert_eq!(o.status.code(), Some(2), "{what} --out {}", out.display());
            assert!(stderr(&o).contains("refusing to write"), "{}", stderr(&o));
        }
        assert_eq!(sha256(&store), before, "the store changed");
    }
    assert!(!journal.exists());
    // An export that fails (here: a reversed range) leaves an existing file whole.
    let target = write(dir.path(), "out.csv", "previous export\n");
    let o = run(&[
        "export",
        "--store",
        s(&store),
        "--format",
        "csv",
        "--from",
        "2024-05-01",
        "--to",
        "2024-04-01",
        "--out",
        s(&target),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "previous export\n"
    );
    // And a good export replaces it.
    let o = run(&[
        "export",
        "--store",
        s(&store),
        "--format",
        "csv",
        "--out",
        s(&target),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&target)
        .expect("read")
        .contains("source_id"));
}

// 3. Times mean what they say.

#[test]
fn regression_explicit_offsets_win_and_dst_and_implausible_years_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("t.gpkg");
    let (code, report) = ingest_json(
        &store,
        "crimes",
        &["--mapping", s(&bad("iso-times.toml"))],
        &[&bad("iso-times.csv")],
    );
    assert_eq!(code, 0, "{report}");
    let utc = |id: &str| -> i64 {
        query_one(
            &store,
            &format!("SELECT occurred_utc FROM events WHERE source_id = '{id}'"),
        )
    };
    let t = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("time")
            .timestamp()
    };
    assert_eq!(utc("z1"), t("2024-07-05T21:30:00Z"), "Z is UTC, not local");
    assert_eq!(utc("o1"), t("2024-07-05T21:30:00+01:00"));
    assert_eq!(utc("u1"), t("2024-07-05T21:30:00Z"));
    assert_eq!(
        utc("l1"),
        t("2024-07-05T21:30:00+02:00"),
        "no zone: Stockholm time"
    );
    // The gap is read as winter time, the repeat as summer time, and both are counted.
    assert_eq!(utc("gap"), t("2024-03-31T02:30:00+01:00"));
    assert_eq!(utc("rep"), t("2024-10-27T02:30:00+02:00"));
    let notes = report["time_notes"].as_object().expect("time notes");
    assert_eq!(notes.len(), 2, "{report}");
    assert!(
        notes.iter().any(|(k, v)| k.contains("gap") && v == 1),
        "{report}"
    );
    assert!(
        notes.iter().any(|(k, v)| k.contains("repeated") && v == 1),
        "{report}"
    );
    let stored: String = query_one(&store, "SELECT notes FROM ingest_batches");
    assert!(stored.contains("gap"), "{stored}");
    // Years far outside the data's range are rejected, naming the field.
    let rejected: Vec<&Value> = report["rejections"]
        .as_array()
        .expect("list")
        .iter()
        .collect();
    assert_eq!(rejected.len(), 2, "{report}");
    for r in rejected {
        assert_eq!(r["field"], "tid");
        assert!(
            r["reason"]
                .as_str()
                .expect("reason")
                .contains("plausible years"),
            "{r}"
        );
    }
}

// 4. Values are validated where they enter.

#[test]
fn regression_bad_numeric_attributes_are_rejected_at_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("w.gpkg");
    let (code, report) = ingest_json(&store, "survey", &[], &[&bad("survey-bad-weights.csv")]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], 2, "1.25 and \"0,75\": {report}");
    let rows: Vec<(u64, String)> = report["rejections"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            assert_eq!(r["field"], "vikt", "{r}");
            (
                r["row"].as_u64().expect("row"),
                r["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7]
    );
    assert!(rows[2].1.contains("below the minimum 0"), "{rows:?}");
    // The store stays usable for the statistic that reads the weights.
    let out = run(&["query", "survey", "--store", s(&store), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(result["responses_without_round_area_or_weight"], 0);
    // Counts of injured/killed in shootings too.
    let (code, report) = ingest_json(
        &store,
        "shootings",
        &[],
        &[&bad("shootings-bad-counts.csv")],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], 1, "{report}");
    let fields: Vec<&str> = report["rejections"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["skadade", "skadade", "doda"], "{report}");
}

// 5. Names match as a person reads them.

#[test]
fn regression_area_names_match_across_case_normal_form_and_whitespace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("n.gpkg");
    let (code, report) = ingest_json(&store, "crimes", &[], &[&bad("crimes-name-forms.csv")]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    let conn = rusqlite::Connection::open(&store).expect("open");
    let mut stmt = conn
        .prepare("SELECT source_id, stadsdel FROM events ORDER BY source_id")
        .expect("sql");
    let got: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let want = [
        ("n1", "ÄLVSJÖ"),
        ("n2", "SÖDERMALM"),
        ("n3", "SÖDERMALM"),
        ("n4", "HÄGERSTEN"),
        ("n5", "FARSTA STRAND"),
        ("n6", "ÖSTERMALM"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
    );
    // A decomposed name finds its area in queries too.
    let decomposed = "A\u{308}lvsjo\u{308}";
    let out = run(&[
        "query",
        "matrix",
        "--store",
        s(&store),
        "--area",
        decomposed,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

// 6. No panic reaches the user.

/// Runs `trygg` with stdout connected to a pipe whose reading end is closed.
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let mut child = trygg()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).expect("stderr");
    }
    let status = child.wait().expect("wait");
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: err.into_bytes(),
    }
}

#[test]
fn regression_every_subcommand_into_a_closed_pipe_ends_without_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    let demo = s(demo_store());
    let area_file = crate::support::data("stockholm/simplified-stadsdelar.geo.json");
    let police = fixture("polisen-events-sample.json");
    let copy = dir.path().join("copy.gpkg");
    std::fs::copy(demo_store(), &copy).expect("copy");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["info", "--store", demo],
        vec!["areas", "list", "--store", demo],
        vec![
            "areas",
            "load",
            "--store",
            s(&store),
            "--layer",
            "piped",
            s(&area_file),
        ],
        vec![
            "ingest",
            "--source",
            "police-events",
            "--store",
            s(&store),
            s(&police),
        ],
        vec![
            "ingest",
            "--json",
            "--source",
            "police-events",
            "--store",
            s(&store),
            s(&police),
        ],
        vec!["export", "--store", demo, "--format", "csv"],
        vec!["export", "--store", demo, "--format", "geojson"],
        vec!["batches", "list", "--store", demo],
        vec!["batches", "list", "--json", "--store", demo],
        vec!["batches", "revert", "--store", s(&copy), "1"],
        vec!["demo", "--store", demo, "--no-serve"],
        vec!["query", "counts", "--store", demo, "--period", "2024-Q1"],
        vec![
            "query", "counts", "--store", demo, "--period", "2024-Q1", "--format", "geojson",
        ],
        vec!["query", "hotspots", "--store", demo, "--format", "json"],
        vec![
            "query", "emerging", "--store", demo, "--slices", "12", "--grid", "1000",
        ],
        vec!["query", "survey", "--store", demo],
        vec!["query", "matrix", "--store", demo],
        vec![
            "query",
            "trend",
            "--store",
            demo,
            "--from",
            "2024-01-01",
            "--to",
            "2024-06-30",
        ],
        vec![
            "query",
            "change",
            "--store",
            demo,
            "--from",
            "2024-04-01",
            "--to",
            "2024-06-30",
            "--before-from",
            "2024-01-01",
            "--before-to",
            "2024-03-31",
            "--grid",
            "1000",
        ],
    ];
    for args in &cases {
        let out = into_closed_pipe(args);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?} exited {:?}: {err}",
            out.status.code()
        );
    }
}

#[test]
fn regression_a_time_format_chrono_cannot_write_is_a_mapping_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("f.gpkg");
    let out = run(&[
        "ingest",
        "--source",
        "crimes",
        "--store",
        s(&store),
        "--mapping",
        s(&bad("mapping-unwritable-time-format.toml")),
        s(&bad("crimes-duplicate-ids.csv")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("time.formats") && err.contains("cannot be used"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(!store.exists());
}

// 7. Resources are bounded before the work starts.

#[test]
fn regression_oversized_requests_are_refused_naming_the_parameter() {
    let demo = s(demo_store());
    let out = run(&[
        "query", "counts", "--store", demo, "--period", "2024", "--layer", "grid:9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("layer:") && err.contains("max_areas"), "{err}");
    let out = run(&[
        "query", "emerging", "--store", demo, "--grid", "9", "--slices", "2000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("grid:"), "{}", stderr(&out));
    let out = run(&["query", "hotspots", "--store", demo, "--h3", "15"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("h3:"), "{}", stderr(&out));
    // The budget is configurable; each limit names its parameter.
    let with = |var: &str, value: &str, args: &[&str]| {
        trygg().env(var, value).args(args).output().expect("run")
    };
    let out = with(
        "TRYGG_MAX_CELL_SLICES",
        "1000",
        &["query", "emerging", "--store", demo, "--slices", "52"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("slices:"), "{}", stderr(&out));
    let out = with(
        "TRYGG_MAX_PERMUTATION_CELLS",
        "1000",
        &[
            "query",
            "hotspots",
            "--store",
            demo,
            "--permutations",
            "999",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("permutations:"), "{}", stderr(&out));
    let out = with(
        "TRYGG_MAX_CELLS",
        "lots",
        &["query", "hotspots", "--store", demo],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TRYGG_MAX_CELLS"), "{}", stderr(&out));
}

// 8. Say what happened, consistently.

#[test]
fn regression_empty_files_land_nothing_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    let before = sha256(&store);
    for (source, file) in [
        ("crimes", "crimes-header-only.csv"),
        ("police-events", "police-empty-array.json"),
        ("shootings", "shootings-empty.geojson"),
    ] {
        let (code, report) = ingest_json(&store, source, &[], &[&bad(file)]);
        assert_eq!(code, 1, "{file}: {report}");
        assert_eq!(report["landed"], false);
        assert!(
            report["rejections"][0]["reason"]
                .as_str()
                .expect("reason")
                .contains("no rows"),
            "{report}"
        );
        assert_eq!(sha256(&store), before, "{file} changed the store");
    }
    // A missing file in an existing store: an I/O error, nothing changes.
    let out = run(&[
        "ingest",
        "--source",
        "crimes",
        "--store",
        s(&store),
        "/no/such/file.csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sha256(&store), before);
}

#[test]
fn regression_a_reversed_range_is_an_error_everywhere() {
    let demo = s(demo_store());
    let reversed = ["--from", "2024-05-01", "--to", "2024-04-01"];
    let commands: Vec<Vec<&str>> = vec![
        vec!["export", "--store", demo, "--format", "csv"],
        vec!["query", "hotspots", "--store", demo],
        vec!["query", "matrix", "--store", demo],
        vec!["query", "trend", "--store", demo],
        vec![
            "query",
            "change",
            "--store",
            demo,
            "--before-from",
            "2024-01-01",
            "--before-to",
            "2024-01-31",
        ],
    ];
    for mut args in commands {
        args.extend(reversed);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("before it starts"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = run(&[
        "query",
        "change",
        "--store",
        demo,
        "--from",
        "2024-04-01",
        "--to",
        "2024-04-30",
        "--before-from",
        "2024-03-01",
        "--before-to",
        "2024-01-31",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn regression_duplicate_columns_huge_values_and_one_bad_file_among_good_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    let (code, report) = ingest_json(
        &store,
        "crimes",
        &[],
        &[&bad("crimes-duplicate-column.csv")],
    );
    assert_eq!(code, 1);
    assert_eq!(report["rejections"][0]["field"], "x", "{report}");
    assert!(report["rejections"][0]["reason"]
        .as_str()
        .expect("r")
        .contains("twice"));

    // A 2 MB cell: cut in the report and in rejected_rows, with its length.
    let huge = "9".repeat(2_000_000);
    let file = write(
        dir.path(),
        "huge.csv",
        &format!("anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y\nH1,9301,Misshandel,2024-01-05,{huge},,,,,Rinkeby,,\n"),
    );
    let (code, report) = ingest_json(&store, "crimes", &[], &[&file]);
    assert_eq!(code, 1);
    let reason = report["rejections"][0]["reason"].as_str().expect("reason");
    assert!(reason.len() < 2_000, "{} bytes", reason.len());
    assert!(reason.contains("in all"), "{reason}");
    let text = serde_json::to_string(&report).expect("json");
    assert!(text.len() < 20_000, "report is {} bytes", text.len());

    // One bad file (an unknown CRS) among good ones: reported, the others land.
    let shootings = write(
        dir.path(),
        "s.csv",
        "id,datum,tid,plats,lat,lon,skadade,doda,status\nG-1,2024-01-05,21:30,Rinkeby,59.3880,17.9290,0,0,final\n",
    );
    let (code, report) = ingest_json(
        &store,
        "shootings",
        &[],
        &[&bad("shootings-unknown-crs.geojson"), &shootings],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], 1, "{report}");
    let files = report["files"].as_array().expect("files");
    assert!(
        files[0]["error"].as_str().expect("error").contains("9999"),
        "{report}"
    );
    assert!(files[1]["error"].is_null());
}

// 9. Undo.

#[test]
fn a_batch_can_be_reverted_whole_and_stays_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    let police = count_events(&store);
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, trygg_benches::crimes_csv(500, 20_240_201, "r")).expect("write");
    let (code, report) = ingest_json(&store, "crimes", &[], &[&csv]);
    assert_eq!(code, 0);
    let batch = report["batch_id"].as_i64().expect("batch id");
    assert_eq!(count_events(&store), police + 500);

    let out = run(&[
        "batches",
        "revert",
        "--store",
        s(&store),
        "--by",
        "admin",
        &batch.to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("500 events removed"));
    assert_eq!(
        count_events(&store),
        police,
        "only that batch's events went"
    );

    let out = run(&["batches", "list", "--json", "--store", s(&store)]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    let reverted = &list.as_array().expect("list")[1];
    assert_eq!(reverted["id"], batch);
    assert_eq!(reverted["reverted"]["by"], "admin");
    assert_eq!(reverted["reverted"]["events"], 500);
    assert!(list[0]["reverted"].is_null());

    // Twice is an error; unknown batches too.
    for id in [batch.to_string(), "999".to_owned()] {
        let out = run(&["batches", "revert", "--store", s(&store), &id]);
        assert_eq!(out.status.code(), Some(2), "{id}");
    }
    // The file can be loaded again (e.g. corrected): its events come back.
    let (code, report) = ingest_json(&store, "crimes", &[], &[&csv]);
    assert_eq!(
        (code, report["accepted"].as_u64()),
        (0, Some(500)),
        "{report}"
    );
}

#[test]
fn a_store_of_the_previous_schema_is_migrated_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = baseline(dir.path());
    {
        // Make it a version-1 store, as the previous release wrote them.
        let conn = rusqlite::Connection::open(&store).expect("open");
        // Schema 5's R-tree: its triggers, then its table.
        let triggers: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("triggers");
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {t}"))
                .expect("drop");
        }
        conn.execute_batch(
            "ALTER TABLE ingest_batches DROP COLUMN notes;
             ALTER TABLE ingest_batches DROP COLUMN reverted_at;
             ALTER TABLE ingest_batches DROP COLUMN reverted_by;
             ALTER TABLE ingest_batches DROP COLUMN reverted_events;
             ALTER TABLE events DROP COLUMN time_precision;
             DROP TABLE audit_log;
             DELETE FROM gpkg_contents WHERE table_name = 'audit_log';
             DROP TABLE rtree_events_geom;
             DROP TABLE gpkg_extensions;
             DROP TABLE event_history;
             DROP TABLE police_polls;
             DELETE FROM gpkg_contents WHERE table_name IN ('event_history', 'police_polls');
             ALTER TABLE ingest_batches DROP COLUMN updated;
             ALTER TABLE ingest_files DROP COLUMN updated;
             UPDATE trygg_meta SET value = '1' WHERE key = 'schema_version';",
        )
        .expect("downgrade");
    }
    let out = run(&["batches", "revert", "--store", s(&store), "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let version: String = query_one(
        &store,
        "SELECT value FROM trygg_meta WHERE key = 'schema_version'",
    );
    assert_eq!(version, "6", "migrated through every version");
    assert_eq!(count_events(&store), 0);
    // Version 3's audit log came with it, append-only.
    let conn = rusqlite::Connection::open(&store).expect("open");
    conn.execute(
        "INSERT INTO audit_log (at, who, role, action, target) VALUES ('now', 'a', 'admin', 'test', 'x')",
        [],
    )
    .expect("the audit log takes rows");
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    // Version 4's history of revisions came with it.
    let history: i64 = conn
        .query_row("SELECT count(*) FROM event_history", [], |r| r.get(0))
        .expect("the history table");
    assert_eq!(history, 0);
}
