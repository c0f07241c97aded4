//! Helpers: running the binary, fixture paths, temporary stores.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's `tests/fixtures` folder.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// The repository's `data` folder.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

/// A `trygg` command.
pub fn trygg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trygg"))
}

/// Runs `trygg` with the arguments and returns its output.
pub fn run(args: &[&str]) -> Output {
    trygg().args(args).output().expect("run trygg")
}

/// Runs `trygg ingest --json` and parses its stdout.
pub fn ingest_json(
    store: &Path,
    source: &str,
    extra: &[&str],
    files: &[&Path],
) -> (i32, serde_json::Value) {
    let mut cmd = trygg();
    cmd.args(["ingest", "--json", "--source", source, "--store"])
        .arg(store)
        .args(extra)
        .args(files);
    let out = cmd.output().expect("run trygg ingest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// A new store `dir/name` holding the police sample's events (a baseline that a
/// test's bad input must leave as it was).
pub fn police_store(dir: &Path, name: &str) -> PathBuf {
    let store = dir.join(name);
    let (code, report) = ingest_json(
        &store,
        "police-events",
        &[],
        &[&fixture("polisen-events-sample.json")],
    );
    assert_eq!(code, 0, "{report}");
    store
}

/// The number of events in a store, read with SQLite directly.
pub fn count_events(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).expect("open store");
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("count")
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// The arguments of the shared demo store's `trygg demo` run, after `--store PATH`.
pub const DEMO_ARGS: [&str; 7] = [
    "--years",
    "1",
    "--scale",
    "0.05",
    "--end",
    "2024-06-30",
    "--no-serve",
];

/// A small demo store (one year to 2024-06-30 at 5 % volume), built once per test
/// run with `trygg demo` and shared by the tests (which only read it).
pub struct DemoStore {
    _dir: tempfile::TempDir,
    /// The store file.
    pub path: PathBuf,
    /// What the run that built it printed.
    pub stdout: String,
}

/// The shared demo store; see [`DemoStore`].
pub fn demo() -> &'static DemoStore {
    static STORE: std::sync::OnceLock<DemoStore> = std::sync::OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("demo/trygg.gpkg");
        let mut args = vec!["demo", "--store", path.to_str().expect("utf-8 path")];
        args.extend(DEMO_ARGS);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        DemoStore {
            _dir: dir,
            path,
            stdout,
        }
    })
}

/// The shared demo store's file.
pub fn demo_store() -> &'static Path {
    &demo().path
}

/// `trygg export --format csv` of a store, parsed: the header and rows (the
/// text must start with the byte-order mark Excel needs).
pub fn export_csv(store: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let out = run(&[
        "export",
        "--store",
        store.to_str().expect("utf-8 path"),
        "--format",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 csv");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("CSV starts with a BOM for Excel");
    parse_csv(text)
}

/// Parses CSV text into a header and rows.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Loads `features` (GeoJSON features with `kod` and `namn` properties) into
/// the store at `store` as its `kommun` layer, through `trygg areas load`.
pub fn load_kommun_layer(store: &Path, dir: &Path, features: &[serde_json::Value]) {
    let layer = serde_json::json!({"type": "FeatureCollection", "features": features});
    let file = write(dir, "kommuner.geojson", &layer.to_string());
    let out = run(&[
        "areas",
        "load",
        "--store",
        store.to_str().expect("utf-8"),
        "--layer",
        "kommun",
        "--code-field",
        "kod",
        "--name-field",
        "namn",
        file.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
