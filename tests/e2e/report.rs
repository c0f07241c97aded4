//! `trygg report weekly` on a demo store: the planted emerging hotspot shows in
//! a week of its planted period and not before it; the PDF (read back by
//! poppler's `pdftotext` and `pdffonts`) holds the area names and headline
//! numbers of `report.json` with its fonts embedded; the HTML refers to nothing
//! outside itself; the same store and week give the same JSON and CSV bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::run;

/// A one-year demo store at 30 % volume (the emerging hotspot needs the
/// volume to stand out), built once.
pub(crate) fn store() -> &'static Path {
    static STORE: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("demo/trygg.gpkg");
            let out = run(&[
                "demo",
                "--store",
                path.to_str().expect("path"),
                "--years",
                "1",
                "--scale",
                "0.3",
                "--end",
                "2024-06-30",
                "--no-serve",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (dir, path)
        })
        .1
}

/// Runs the report of `week` into a new folder.
fn report(week: &str, extra: &[&str]) -> (tempfile::TempDir, Value) {
    report_of(store(), week, extra)
}

/// Runs the report of `week` over the store at `store` (a file or a
/// database URL) into a new folder.
pub(crate) fn report_of(store: &Path, week: &str, extra: &[&str]) -> (tempfile::TempDir, Value) {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "report",
        "weekly",
        "--store",
        store.to_str().expect("path"),
        "--week",
        week,
        "--out",
        out.path().to_str().expect("path"),
    ];
    args.extend(extra);
    let done = run(&args);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let json = std::fs::read(out.path().join("report.json")).expect("report.json");
    let json = serde_json::from_slice(&json).expect("JSON");
    (out, json)
}

fn planted() -> Value {
    let dir = store()
        .parent()
        .expect("demo dir")
        .join("demo-data/manifest.json");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir).expect("manifest")).expect("JSON");
    manifest["hotspots"]
        .as_array()
        .expect("hotspots")
        .iter()
        .find(|h| h["trend"] == "emerging")
        .expect("an emerging hotspot")
        .clone()
}

/// The new, consecutive or intensifying cells within 300 m of the planted centre.
fn emerging_near(report: &Value, h: &Value) -> Vec<String> {
    let (x, y) = (h["x"].as_f64().expect("x"), h["y"].as_f64().expect("y"));
    report["numbers"]["emerging_cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| {
            let (cx, cy) = (
                c["x"].as_f64().unwrap_or(0.0),
                c["y"].as_f64().unwrap_or(0.0),
            );
            ((cx - x).powi(2) + (cy - y).powi(2)).sqrt() < 300.0
        })
        .map(|c| c["pattern"].as_str().unwrap_or("").to_owned())
        .filter(|p| {
            matches!(
                p.as_str(),
                "New Hot Spot" | "Consecutive Hot Spot" | "Intensifying Hot Spot"
            )
        })
        .collect()
}

#[test]
fn the_planted_emerging_hotspot_shows_in_its_period_and_not_before() {
    let h = planted();
    assert_eq!(h["start"], "2024-05-20", "{h}");
    let (_dir, inside) = report("2024-W25", &["--no-pdf"]);
    let found = emerging_near(&inside, &h);
    assert!(
        !found.is_empty(),
        "no emerging cell at {}: {}",
        h["name"],
        inside["numbers"]["emerging"]["patterns"]
    );
    // It is in the report's words too, by its stadsdel.
    let summary = inside["summary"].as_array().expect("summary");
    let stadsdel = h["stadsdel"].as_str().expect("stadsdel");
    assert!(
        summary
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.contains(stadsdel))),
        "{summary:?}"
    );
    // The JSON keeps the significant cells only, and the counts of all.
    let hotspots = &inside["numbers"]["hotspots"];
    let cells = hotspots["cells"].as_array().expect("cells");
    assert!(!cells.is_empty() && cells.iter().all(|c| c["class"] != 0));
    let significant: u64 = hotspots["classes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() != "not_significant")
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(significant, cells.len() as u64, "{}", hotspots["classes"]);
    let emerging = inside["numbers"]["emerging"]["cells"]
        .as_array()
        .expect("cells");
    assert!(emerging
        .iter()
        .all(|c| c["pattern"] != "No Pattern Detected"));
    let (_dir, before) = report("2024-W18", &["--no-pdf"]);
    assert!(
        emerging_near(&before, &h).is_empty(),
        "{:?}",
        emerging_near(&before, &h)
    );
}

/// Text as `pdftotext` writes it, with spacing collapsed.
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().expect("path"), "-"])
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .replace('\u{a0}', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A count as Swedish text writes it: thousands apart by a space.
fn sv(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[test]
fn the_pdf_holds_the_names_and_numbers_of_the_json_with_its_fonts() {
    let (dir, json) = report("2024-W25", &[]);
    let pdf = dir.path().join("report.pdf");
    let text = pdf_text(&pdf);
    assert!(text.contains("vecka 25, 2024"), "{text}");
    let numbers = &json["numbers"];
    let total = numbers["areas"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["area_code"] == "municipality" && r["category"].is_null())
        .expect("the municipality's row");
    let count = total["count"].as_u64().expect("a published count");
    assert!(
        text.contains(&format!("hade {} registrerade händelser", sv(count))),
        "{text}"
    );
    // Every top hotspot's area, and every area of the table with its count.
    for c in numbers["top_hotspots"].as_array().expect("top") {
        let name = c["area_name"].as_str().expect("placed");
        assert!(text.contains(name), "{name}");
    }
    let mut checked = 0;
    for row in numbers["areas"]["rows"].as_array().expect("rows") {
        if let (Some(name), Some(n)) = (row["area_name"].as_str(), row["count"].as_u64()) {
            if row["area_code"] != "municipality" && n >= 10 {
                assert!(text.contains(&format!("{name} {}", sv(n))), "{name} {n}");
                checked += 1;
            }
        }
    }
    assert!(checked > 5, "{checked} areas checked");
    // The fonts are embedded (pdffonts' "emb" column).
    let fonts = Command::new("pdffonts")
        .arg(&pdf)
        .output()
        .expect("pdffonts runs");
    let fonts = String::from_utf8_lossy(&fonts.stdout);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    assert!(rows.iter().all(|r| r.contains("DejaVu")), "{fonts}");
    for r in &rows {
        let cols: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(cols[cols.len() - 5], "yes", "not embedded: {r}");
    }
    // A second PDF of the same week reads the same but for its generation time.
    let (again, _) = report("2024-W25", &[]);
    let timeless = |t: &str| {
        let at = t.find("skapad ").expect("the generation time");
        let end = t[at + 7..].find(' ').expect("its end") + at + 7;
        format!("{}{}", &t[..at], &t[end..])
    };
    assert_eq!(
        timeless(&pdf_text(&again.path().join("report.pdf"))),
        timeless(&text)
    );
    // The page images show the map: pdfimages lists at least one image.
    let images = Command::new("pdfimages")
        .arg("-list")
        .arg(&pdf)
        .output()
        .expect("pdfimages runs");
    assert!(
        String::from_utf8_lossy(&images.stdout).lines().count() > 2,
        "no image in the PDF"
    );
}

#[test]
fn the_html_refers_to_nothing_outside_itself() {
    let (dir, _) = report("2024-W25", &["--no-pdf", "--lang", "en"]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("recorded events"), "English summary");
    // Every src/href is a data URI or a fragment; every CSS url() a data URI.
    let mut refs = 0;
    for attr in ["src=\"", "href=\"", "url("] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..];
            assert!(
                value.starts_with("data:") || value.starts_with('#'),
                "external reference: {}",
                &value[..value.len().min(80)]
            );
            refs += 1;
        }
    }
    assert!(refs >= 3, "the font and the map are embedded ({refs})");
    // The only http(s) text is the SVG namespace name, which is never fetched.
    let outside: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 40).min(html.len())])
        .filter(|s| !s.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
    // Every embedded resource decodes to what it says it is: the fonts are
    // TrueType, the map the PNG written beside the page.
    let map = std::fs::read(dir.path().join("map.png")).expect("map");
    assert!(map.starts_with(b"\x89PNG\r\n\x1a\n"));
    let mut fonts = 0;
    for (at, _) in html.match_indices(";base64,") {
        let start = at + ";base64,".len();
        let end = start + html[start..].find(['"', ')']).expect("end of the URI");
        let kind = &html[html[..at].rfind("data:").expect("data URI")..at];
        let bytes = base64_decode(&html[start..end]);
        match kind {
            "data:font/ttf" => {
                assert_eq!(&bytes[..4], &[0, 1, 0, 0], "a TrueType font");
                fonts += 1;
            }
            "data:image/png" => assert!(bytes == map, "the embedded map is map.png"),
            other => panic!("unexpected embedded {other}"),
        }
    }
    assert_eq!(fonts, 2, "regular and bold");
}

/// Standard base64 (with padding), as the page embeds it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|c| **c == b'=').count();
        let n = chunk
            .iter()
            .map(|c| if *c == b'=' { 0 } else { u32::from(value(*c)) })
            .fold(0, |acc, v| (acc << 6) | v);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

#[test]
fn the_same_store_and_week_give_the_same_json_and_csv_bytes() {
    let (a, _) = report("2024-W20", &["--no-pdf"]);
    let (b, _) = report("2024-W20", &["--no-pdf"]);
    for name in ["report.json", "areas.csv", "map.png"] {
        let (x, y) = (
            std::fs::read(a.path().join(name)).expect("a"),
            std::fs::read(b.path().join(name)).expect("b"),
        );
        assert!(x == y, "{name} differs");
    }
    // The HTML differs only in its generation time.
    let strip = |p: &Path| {
        let html = std::fs::read_to_string(p.join("report.html")).expect("html");
        let at = html.find("skapad ").expect("the generation time");
        let end = html[at..].find('<').expect("end") + at;
        format!("{}{}", &html[..at], &html[end..])
    };
    assert!(
        strip(a.path()) == strip(b.path()),
        "the HTML differs beyond its time"
    );
    // A week that is not one is a clear error naming the field.
    let out = run(&[
        "report",
        "weekly",
        "--store",
        store().to_str().expect("path"),
        "--week",
        "2024-13",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("week"));
}

#[test]
fn the_schedule_catches_up_missed_weeks_and_remakes_a_changed_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.gpkg");
    std::fs::copy(store(), &path).expect("copy");
    let reports = dir.path().join("reports");
    let shelf = || -> Box<dyn trygg_store::ReportShelf> {
        Box::new(trygg_store::ReportDir(reports.clone()))
    };
    schedule_catches_up_and_remakes(&path, &shelf, Some(reports.clone()));
    assert!(!reports.join(".making-2024-W23").exists() && !reports.join(".old-2024-W23").exists());
}

/// The scheduled report over the store at `path` (a copy of the demo store: a
/// file, or a database URL) keeping its reports on `shelf()`: missed weeks are
/// caught up, nothing is made twice, a week whose events changed is made
/// again, and the API lists the reports and serves their files.
pub(crate) fn schedule_catches_up_and_remakes(
    path: &Path,
    shelf: &dyn Fn() -> Box<dyn trygg_store::ReportShelf>,
    reports_dir: Option<PathBuf>,
) {
    use chrono::{TimeZone, Utc};
    use trygg_report::schedule::{Made, Scheduler};

    let scheduler = Scheduler {
        schedule: "mon 06:00".parse().expect("schedule"),
        lang: trygg_query::charts::Lang::Sv,
        layer: None,
        policy: trygg_query::Policy::default(),
        chromium: None,
        regenerate_weeks: 4,
        since: Some("2024-W20".into()),
    };
    let location = trygg_query::Location::of(path);
    let tick = |at: chrono::DateTime<Utc>| {
        let mut store = trygg_query::StoreConn::open(&location).expect("open");
        let snap = trygg_query::Snapshot::open(path).expect("snapshot");
        scheduler
            .tick(store.sql(), &mut *shelf(), &snap, at)
            .expect("tick")
    };
    let kept = |week: &str, name: &str| -> Vec<u8> {
        shelf()
            .report_file(week, name)
            .expect("read")
            .unwrap_or_else(|| panic!("{week}/{name} is kept"))
    };
    let new = |weeks: &[&str]| {
        weeks
            .iter()
            .map(|w| Made::New((*w).into()))
            .collect::<Vec<_>>()
    };
    // Monday 3 June: weeks 20 and 21 were due; week 22's report is due at
    // 06:00 in Stockholm (04:00 UTC).
    let monday = Utc
        .with_ymd_and_hms(2024, 6, 3, 5, 0, 0)
        .single()
        .expect("time");
    let early = Utc
        .with_ymd_and_hms(2024, 6, 3, 3, 59, 0)
        .single()
        .expect("time");
    assert_eq!(tick(early), new(&["2024-W20", "2024-W21"]));
    assert_eq!(tick(monday), new(&["2024-W22"]));
    assert_eq!(tick(monday), Vec::new(), "nothing twice");
    // The server was down three weeks: every missed week is made, oldest first.
    let later = monday + chrono::Duration::weeks(3);
    assert_eq!(tick(later), new(&["2024-W23", "2024-W24", "2024-W25"]));
    let listed: Vec<String> = Scheduler::list(&mut *shelf())
        .expect("list")
        .into_iter()
        .map(|r| r.week)
        .collect();
    assert_eq!(
        listed,
        ["2024-W25", "2024-W24", "2024-W23", "2024-W22", "2024-W21", "2024-W20"]
    );

    // The CLI's report of week 23 before anything changes.
    let (_fresh, before) = report_of(path, "2024-W23", &["--no-pdf"]);
    // A late event of week 23 arrives: that week is made again, and only that one.
    let late_dir = tempfile::tempdir().expect("tempdir");
    let late = late_dir.path().join("late.csv");
    std::fs::write(
        &late,
        "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y\n\
         late-1,9301,Misshandel,2024-06-05,21:30,,,2024-06-20,exact,Södermalm,674032,6580821\n",
    )
    .expect("write");
    let (code, landed) = crate::support::ingest_json(path, "crimes", &[], &[&late]);
    assert_eq!(code, 0, "{landed}");
    assert_eq!(tick(later), vec![Made::Regenerated("2024-W23".into())]);
    let index: Value = serde_json::from_slice(&kept("2024-W23", "index.json")).expect("JSON");
    assert_eq!(index["revision"], 1);
    let municipality = |r: &Value| -> u64 {
        r["numbers"]["areas"]["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["area_code"] == "municipality" && r["category"].is_null())
            .and_then(|r| r["count"].as_u64())
            .expect("count")
    };
    let remade: Value = serde_json::from_slice(&kept("2024-W23", "report.json")).expect("JSON");
    assert_eq!(
        municipality(&remade),
        municipality(&before) + 1,
        "the remade report holds the late event"
    );

    // The API lists them and serves their files.
    let config = trygg_server::config::Config {
        store: Some(path.to_owned()),
        reports: trygg_server::config::ReportsConfig {
            weekly: Some("mon 06:00".into()),
            dir: reports_dir,
            ..trygg_server::config::ReportsConfig::default()
        },
        ..trygg_server::config::Config::default()
    };
    let state = trygg_server::AppState::open(path, config).expect("state");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let get = |uri: String| {
        let app = trygg_server::router(state.clone());
        async move { crate::api::call(app, "GET", &uri, None, axum::body::Body::empty(), &[]).await }
    };
    // (Read before the runtime runs: the database client runs one of its own.)
    let kept_json = kept("2024-W23", "report.json");
    rt.block_on(async {
        let list = get("/api/v1/reports".into()).await.json();
        let weeks: Vec<&str> = list["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .filter_map(|r| r["week"].as_str())
            .collect();
        assert_eq!(
            weeks,
            ["2024-W25", "2024-W24", "2024-W23", "2024-W22", "2024-W21", "2024-W20"]
        );
        let href = list["reports"][2]["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["name"] == "report.json")
            .and_then(|f| f["href"].as_str())
            .expect("a link to report.json")
            .to_owned();
        let file = get(href).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.body, kept_json);
        let html = get("/api/v1/reports/2024-W23/report.html".into()).await;
        assert_eq!(html.headers["content-type"], "text/html; charset=utf-8");
        for bad in [
            "/api/v1/reports/2024-W23/index.json",
            "/api/v1/reports/2024-W99/report.json",
            "/api/v1/reports/..%2F/report.json",
        ] {
            let a = get(bad.into()).await;
            assert!(
                matches!(a.status.as_u16(), 400 | 404),
                "{bad}: {}",
                a.status
            );
            a.error_field();
        }
    });
}
