//! End-to-end checks of generated files, read back as a user's ingest would read
//! them and checked against reference data the generator does not use (the
//! full-size stadsdel outlines and the separate water layer).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use geo::{BoundingRect, Contains};
use geo_types::{Coord, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Line as RLine, Rectangle};
use rstar::{RTree, AABB};
use trygg_crs::{Crs, Transformer};
use trygg_demo::{generate, headers, DemoParams, Manifest, Trend};

const FULLSIZE: &str = include_str!("../../../data/stockholm/fullsize-stadsdelar.geo.json");
const WATER: &str = include_str!("../../../data/stockholm/simplified-vatten.geo.json");
const STADSDELAR: &str = include_str!("../../../data/stockholm/stadsdelar.csv");

fn end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
}

/// The shared data set: two years at a quarter of real volume (generated once).
fn main_set() -> &'static (PathBuf, Manifest) {
    static SET: OnceLock<(PathBuf, Manifest)> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trygg-demo-main-set");
        let params = DemoParams {
            years: 2,
            scale: 0.25,
            ..DemoParams::new(end())
        };
        let manifest = generate(&params, &dir, &mut |_| {}).expect("generate");
        (dir, manifest)
    })
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            assert_eq!(
                r.len(),
                header.len(),
                "{}: ragged row {r:?}",
                path.display()
            );
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

fn num(row: &BTreeMap<String, String>, field: &str) -> f64 {
    row[field]
        .parse()
        .unwrap_or_else(|e| panic!("{field}={:?}: {e}", row[field]))
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Reference geography, independent of the generator's own polygons.
struct Reference {
    stadsdelar: Vec<(String, MultiPolygon<f64>)>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    water_edges: RTree<RLine<[f64; 2]>>,
    sdo2020: BTreeMap<String, String>,
}

/// PROJ transformers are not `Sync`, so each test makes its own.
fn from_wgs84() -> Transformer {
    Transformer::new(&Crs::WGS84, &Crs::STORE).expect("wgs84")
}

fn from_3011() -> Transformer {
    Transformer::new(&Crs::Epsg(3011), &Crs::STORE).expect("3011")
}

fn polygons(text: &str, to_3006: &Transformer) -> Vec<(String, MultiPolygon<f64>)> {
    let collection =
        geojson::FeatureCollection::try_from(text.parse::<geojson::GeoJson>().expect("geojson"))
            .expect("collection");
    collection
        .features
        .into_iter()
        .map(|f| {
            let name = f
                .property("name")
                .and_then(|v| v.as_str())
                .unwrap_or("water")
                .to_owned();
            let g: geo_types::Geometry<f64> =
                f.geometry.expect("geometry").try_into().expect("geo");
            let m = match g {
                geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                geo_types::Geometry::MultiPolygon(m) => m,
                other => panic!("not a polygon: {other:?}"),
            };
            let m = geo::MapCoords::try_map_coords(&m, |c| {
                to_3006.convert(c.x, c.y).map(|(x, y)| Coord { x, y })
            })
            .expect("project");
            (name, m)
        })
        .collect()
}

impl Reference {
    fn get() -> &'static Reference {
        static R: OnceLock<Reference> = OnceLock::new();
        R.get_or_init(|| {
            let from_wgs84 = from_wgs84();
            let stadsdelar = polygons(FULLSIZE, &from_wgs84);
            let boxes = RTree::bulk_load(
                stadsdelar
                    .iter()
                    .enumerate()
                    .map(|(i, (_, m))| {
                        let r = m.bounding_rect().expect("bbox");
                        GeomWithData::new(
                            Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                            i,
                        )
                    })
                    .collect(),
            );
            let mut edges = Vec::new();
            for (_, m) in polygons(WATER, &from_wgs84) {
                for p in &m.0 {
                    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                        for w in ring.0.windows(2) {
                            edges.push(RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]));
                        }
                    }
                }
            }
            let sdo2020 = csv::Reader::from_reader(STADSDELAR.as_bytes())
                .records()
                .map(|r| {
                    let r = r.expect("row");
                    (r[0].to_owned(), r[1].to_owned())
                })
                .collect();
            Reference {
                stadsdelar,
                boxes,
                water_edges: RTree::bulk_load(edges),
                sdo2020,
            }
        })
    }

    /// The full-size stadsdel containing the point.
    fn stadsdel(&self, x: f64, y: f64) -> Option<&str> {
        let p = Point::new(x, y);
        self.boxes
            .locate_all_at_point(&[x, y])
            .map(|g| g.data)
            .find(|&i| self.stadsdelar[i].1.contains(&p))
            .map(|i| self.stadsdelar[i].0.as_str())
    }

    /// Whether the point is in the water layer (ray casting over its edges).
    fn in_water(&self, x: f64, y: f64) -> bool {
        let ray = AABB::from_corners([x, y], [f64::MAX / 4.0, y]);
        let crossings = self
            .water_edges
            .locate_in_envelope_intersecting(&ray)
            .filter(|e| {
                let (a, b) = (e.from, e.to);
                (a[1] > y) != (b[1] > y) && {
                    let t = (y - a[1]) / (b[1] - a[1]);
                    a[0] + t * (b[0] - a[0]) > x
                }
            })
            .count();
        crossings % 2 == 1
    }

    fn assert_land(&self, what: &str, x: f64, y: f64) {
        assert!(
            self.stadsdel(x, y).is_some(),
            "{what}: ({x}, {y}) is outside every stadsdel"
        );
        assert!(!self.in_water(x, y), "{what}: ({x}, {y}) is in the water");
    }
}

fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn same_params_give_byte_identical_files_and_another_seed_differs() {
    let params = DemoParams {
        years: 1,
        scale: 0.05,
        ..DemoParams::new(end())
    };
    let (a, b, c) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let ma = generate(&params, a.path(), &mut |_| {}).expect("a");
    let mb = generate(&params, b.path(), &mut |_| {}).expect("b");
    assert_eq!(ma, mb);
    let (fa, fb) = (files_in(a.path()), files_in(b.path()));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between identical runs");
    }
    assert!(fa.len() >= 10, "{:?}", fa.keys());

    let other = DemoParams {
        seed: params.seed + 1,
        ..params
    };
    generate(&other, c.path(), &mut |_| {}).expect("c");
    let fc = files_in(c.path());
    for name in [
        "crimes.csv",
        "fires.csv",
        "survey.csv",
        "survey-places.csv",
        "police-events-001.json",
    ] {
        assert!(fa[name] != fc[name], "{name} did not change with the seed");
    }
    // Population is derived from published figures, not drawn: the seed must not move it.
    assert!(fa["population.csv"] == fc["population.csv"]);
}

#[test]
fn every_point_of_every_file_is_on_land_inside_the_city() {
    let (dir, manifest) = main_set();
    let r = Reference::get();
    let (wgs84, t3011) = (from_wgs84(), from_3011());
    let mut checked = 0;
    let (_, crimes) = read_csv(&dir.join("crimes.csv"));
    for row in &crimes {
        if row["x"].is_empty() {
            assert!(row["y"].is_empty() && !row["omrade"].is_empty(), "{row:?}");
            assert!(
                r.sdo2020.contains_key(&row["omrade"]),
                "unknown omrade {row:?}"
            );
            continue;
        }
        r.assert_land(
            &format!("crime {}", row["anmalan_id"]),
            num(row, "x"),
            num(row, "y"),
        );
        checked += 1;
    }
    for name in ["shootings.csv", "survey-places.csv"] {
        for row in read_csv(&dir.join(name)).1 {
            let (x, y) = wgs84
                .convert(num(&row, "lon"), num(&row, "lat"))
                .expect("transform");
            r.assert_land(name, x, y);
            checked += 1;
        }
    }
    for row in read_csv(&dir.join("fires.csv")).1 {
        let (x, y) = t3011
            .convert(num(&row, "e_3011"), num(&row, "n_3011"))
            .expect("transform");
        r.assert_land(&format!("fire {}", row["larmnummer"]), x, y);
        checked += 1;
    }
    for h in &manifest.hotspots {
        r.assert_land(&h.name, h.x, h.y);
        assert_eq!(
            r.stadsdel(h.x, h.y),
            Some(h.stadsdel.as_str()),
            "{}",
            h.name
        );
        let (x, y) = wgs84.convert(h.lon, h.lat).expect("transform");
        assert!(
            (x - h.x).abs() < 1.0 && (y - h.y).abs() < 1.0,
            "{}: lon/lat and x/y disagree",
            h.name
        );
    }
    assert!(checked > 50_000, "only {checked} points checked");
}

#[test]
fn volumes_per_area_follow_the_design() {
    let (dir, manifest) = main_set();
    let r = Reference::get();
    let scale = manifest.params.scale;
    let years =
        (date(&manifest.end) - date(&manifest.start)).num_days() as f64 / 365.25 + 1.0 / 365.25;
    let (_, crimes) = read_csv(&dir.join("crimes.csv"));
    let per_year = |n: usize| n as f64 / years / scale;

    let total = per_year(crimes.len());
    assert!(
        (150_000.0..=200_000.0).contains(&total),
        "city total {total:.0} a year at scale 1"
    );

    let mut by_sdo: BTreeMap<String, usize> = BTreeMap::new();
    for row in &crimes {
        let stadsdel = if row["x"].is_empty() {
            row["omrade"].clone()
        } else {
            r.stadsdel(num(row, "x"), num(row, "y"))
                .expect("located")
                .to_owned()
        };
        *by_sdo.entry(r.sdo2020[&stadsdel].clone()).or_insert(0) += 1;
    }
    let rk = per_year(by_sdo["Rinkeby-Kista"]);
    assert!(
        (8_800.0..=10_800.0).contains(&rk),
        "Rinkeby-Kista {rk:.0} a year at scale 1"
    );
    // The city centre has the most crime; villa-heavy Bromma far less than Södermalm.
    let norrmalm = by_sdo["Norrmalm"];
    assert!(by_sdo.values().all(|&n| n <= norrmalm), "{by_sdo:?}");
    assert!(per_year(norrmalm) > 25_000.0, "{by_sdo:?}");
    assert!(by_sdo["Bromma"] * 2 < by_sdo["Södermalm"], "{by_sdo:?}");

    let fires = per_year(read_csv(&dir.join("fires.csv")).1.len());
    assert!(
        (2_000.0..=4_500.0).contains(&fires),
        "fires {fires:.0} a year at scale 1"
    );
    let police = manifest.police.notices as f64 / years / scale;
    assert!(
        (2_000.0..=6_000.0).contains(&police),
        "police notices {police:.0} a year at scale 1"
    );

    // About 30 % of crimes have a from-to interval, about 2 % only an area.
    let intervals = crimes
        .iter()
        .filter(|r| !r["till_datum"].is_empty())
        .count() as f64
        / crimes.len() as f64;
    assert!((0.22..=0.38).contains(&intervals), "{intervals}");
    let area_only =
        crimes.iter().filter(|r| r["x"].is_empty()).count() as f64 / crimes.len() as f64;
    assert!((0.01..=0.03).contains(&area_only), "{area_only}");
}

/// Crimes within `radius` of `(x, y)` per day offset from `start`.
fn disc_counts(crimes: &[BTreeMap<String, String>], x: f64, y: f64, radius: f64) -> Vec<NaiveDate> {
    crimes
        .iter()
        .filter(|r| !r["x"].is_empty() && (num(r, "x") - x).hypot(num(r, "y") - y) <= radius)
        .map(|r| date(&r["fran_datum"]))
        .collect()
}

#[test]
fn manifest_matches_the_data() {
    let (dir, manifest) = main_set();
    assert!(manifest.synthetic);
    let on_disk: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("parse manifest");
    assert_eq!(&on_disk, manifest);

    // Row counts.
    let mut per_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut police_ids = BTreeSet::new();
    for f in &manifest.files {
        let path = dir.join(&f.path);
        let rows = if f.path.ends_with(".json") {
            let v: Vec<serde_json::Value> =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            police_ids.extend(v.iter().map(|e| e["id"].as_u64().expect("id")));
            v.len() as u64
        } else {
            read_csv(&path).1.len() as u64
        };
        assert_eq!(rows, f.rows, "{}", f.path);
        if let Some(mapping) = &f.mapping {
            assert!(dir.join(mapping).is_file(), "{mapping}");
        }
        if f.source != "police-events" {
            *per_source.entry(f.source.clone()).or_insert(0) += rows;
        }
    }
    per_source.insert("police-events".to_owned(), police_ids.len() as u64);
    assert_eq!(per_source, manifest.counts);

    // The planted hotspots are where and when the manifest says.
    let crimes = read_csv(&dir.join("crimes.csv")).1;
    let end = date(&manifest.end);
    let start = date(&manifest.start);
    let trends: Vec<Trend> = manifest
        .hotspots
        .iter()
        .filter(|h| h.source == "crimes")
        .map(|h| h.trend)
        .collect();
    assert!(
        trends.iter().filter(|t| **t == Trend::Persistent).count() >= 5,
        "{trends:?}"
    );
    assert_eq!(trends.iter().filter(|t| **t == Trend::Emerging).count(), 1);
    assert_eq!(trends.iter().filter(|t| **t == Trend::Fading).count(), 1);
    for h in manifest.hotspots.iter().filter(|h| h.source == "crimes") {
        let days = disc_counts(&crimes, h.x, h.y, h.radius_m);
        assert!(
            days.len() as u64 >= h.planted_events * 8 / 10,
            "{}: {} in disc, {} planted",
            h.name,
            days.len(),
            h.planted_events
        );
        let in_range = |from: NaiveDate, to: NaiveDate| {
            days.iter().filter(|d| **d >= from && **d <= to).count() as f64
        };
        match h.trend {
            Trend::Emerging => {
                let h_start = date(&h.start);
                assert!(h_start >= end - Duration::days(42), "{}", h.start);
                let recent = in_range(h_start, end);
                let weeks = (end - h_start).num_days() + 1;
                // Every earlier window of the same length.
                let mut before = Vec::new();
                let mut w_end = h_start - Duration::days(1);
                while w_end - Duration::days(weeks - 1) >= start {
                    before.push(in_range(w_end - Duration::days(weeks - 1), w_end));
                    w_end -= Duration::days(weeks);
                }
                let worst = before.iter().copied().fold(0.0, f64::max);
                assert!(
                    recent >= 20.0 && recent > 4.0 * worst.max(1.0),
                    "{}: {recent} recent vs up to {worst}",
                    h.name
                );
            }
            Trend::Fading => {
                assert!(date(&h.end) <= end - Duration::days(300), "{}", h.end);
                let first = in_range(start, start + Duration::days(180));
                let last = in_range(end - Duration::days(180), end);
                assert!(
                    first >= 30.0 && first > 2.0 * last.max(1.0),
                    "{}: {first} first vs {last} last",
                    h.name
                );
            }
            Trend::Persistent => {
                let mid = start + (end - start) / 2;
                let (a, b) = (in_range(start, mid), in_range(mid + Duration::days(1), end));
                assert!(
                    a > 40.0 && (0.7..=1.43).contains(&(a / b.max(1.0))),
                    "{}: {a} then {b}",
                    h.name
                );
            }
        }
    }
    // Car fires cluster where the manifest says.
    let fires = read_csv(&dir.join("fires.csv")).1;
    let t3011 = from_3011();
    for h in manifest.hotspots.iter().filter(|h| h.source == "fires") {
        let near = fires
            .iter()
            .filter(|f| f["objekttyp"] == "Bil")
            .filter(|f| {
                let (x, y) = t3011
                    .convert(num(f, "e_3011"), num(f, "n_3011"))
                    .expect("transform");
                (x - h.x).hypot(y - h.y) <= h.radius_m
            })
            .count() as u64;
        assert!(
            near >= h.planted_events * 8 / 10,
            "{}: {near} car fires near, {} planted",
            h.name,
            h.planted_events
        );
    }
    // Published population figures are kept verbatim.
    let population = read_csv(&dir.join("population.csv")).1;
    assert_eq!(population.len() as u64, manifest.population.rows);
    let rinkeby_2021 = population
        .iter()
        .find(|r| r["stadsdel"] == "RINKEBY" && r["year"] == "2021")
        .expect("row");
    assert_eq!(
        (
            rinkeby_2021["population"].as_str(),
            rinkeby_2021["derived"].as_str()
        ),
        ("16914", "false")
    );
    let derived = population.iter().filter(|r| r["derived"] == "true").count() as u64;
    assert_eq!(derived, manifest.population.derived_rows);
}

#[test]
fn headers_are_exact_and_rows_are_well_formed() {
    let (dir, manifest) = main_set();
    let expect: [(&str, &[&str]); 6] = [
        ("crimes.csv", &headers::CRIMES),
        ("shootings.csv", &headers::SHOOTINGS),
        ("fires.csv", &headers::FIRES),
        ("survey.csv", &headers::SURVEY),
        ("survey-places.csv", &headers::SURVEY_PLACES),
        ("population.csv", &headers::POPULATION),
    ];
    for (name, header) in expect {
        let first_line = std::fs::read_to_string(dir.join(name)).expect("read");
        let first_line = first_line.lines().next().expect("header line");
        assert_eq!(first_line, header.join(","), "{name}");
    }
    assert_eq!(
        headers::CRIMES.join(","),
        "anmalan_id,brottskod,brottskategori,fran_datum,fran_tid,till_datum,till_tid,anmald_datum,precision,omrade,x,y"
    );
    assert_eq!(
        headers::SHOOTINGS.join(","),
        "id,datum,tid,plats,lat,lon,skadade,doda,status"
    );
    assert_eq!(
        headers::FIRES.join(","),
        "larmnummer,larmtid,handelsetyp,objekttyp,orsak,e_3011,n_3011"
    );
    assert!(headers::SURVEY.join(",").starts_with(
        "respondent_id,omgang,datum,stadsdel,vikt,aldersgrupp,kon,otrygg_kvall,problem_narkotika,problem_skadegorelse,utsatt_brott"
    ));
    assert_eq!(
        headers::SURVEY_PLACES.join(","),
        "punkt_id,omgang,datum,lon,lat,kommentar"
    );

    let (start, end) = (date(&manifest.start), date(&manifest.end));
    let mut ids = BTreeSet::new();
    for row in read_csv(&dir.join("crimes.csv")).1 {
        assert!(
            ids.insert(row["anmalan_id"].clone()),
            "duplicate id {row:?}"
        );
        let from = date(&row["fran_datum"]);
        assert!(
            from >= start
                && from <= end
                && date(&row["anmald_datum"]) >= from
                && date(&row["anmald_datum"]) <= end,
            "{row:?}"
        );
        assert!(
            row["brottskod"].len() == 4 && row["brottskod"].bytes().all(|b| b.is_ascii_digit()),
            "{row:?}"
        );
        for t in ["fran_tid", "till_tid"] {
            assert!(
                row[t].is_empty()
                    || NaiveDateTime::parse_from_str(
                        &format!("2024-01-01 {}", row[t]),
                        "%Y-%m-%d %H:%M"
                    )
                    .is_ok(),
                "{row:?}"
            );
        }
        if !row["till_datum"].is_empty() {
            let till = NaiveDateTime::parse_from_str(
                &format!(
                    "{} {}",
                    row["till_datum"],
                    if row["till_tid"].is_empty() {
                        "23:59"
                    } else {
                        &row["till_tid"]
                    }
                ),
                "%Y-%m-%d %H:%M",
            )
            .expect("till");
            let from = NaiveDateTime::parse_from_str(
                &format!(
                    "{} {}",
                    row["fran_datum"],
                    if row["fran_tid"].is_empty() {
                        "00:00"
                    } else {
                        &row["fran_tid"]
                    }
                ),
                "%Y-%m-%d %H:%M",
            )
            .expect("from");
            assert!(till >= from, "{row:?}");
        }
        let area_only = row["x"].is_empty();
        assert_eq!(row["omrade"].is_empty(), !area_only, "{row:?}");
        let precision = row["precision"].as_str();
        assert!(
            if area_only {
                precision == "stadsdel"
            } else {
                ["exact", "address", "street"].contains(&precision)
            },
            "{row:?}"
        );
        if !area_only {
            assert_eq!(row["x"].split('.').nth(1).map(str::len), Some(1), "{row:?}");
        }
        assert_ne!(
            trygg_model::NormCategory::classify(&row["brottskategori"]),
            trygg_model::NormCategory::Other,
            "{row:?}"
        );
    }
    for row in read_csv(&dir.join("shootings.csv")).1 {
        assert!(
            ["preliminär", "bekräftad"].contains(&row["status"].as_str()),
            "{row:?}"
        );
        assert_eq!(
            row["lat"].split('.').nth(1).map(str::len),
            Some(6),
            "{row:?}"
        );
        assert_eq!(
            row["lon"].split('.').nth(1).map(str::len),
            Some(6),
            "{row:?}"
        );
    }
    for row in read_csv(&dir.join("fires.csv")).1 {
        assert!(
            NaiveDateTime::parse_from_str(&row["larmtid"], "%Y-%m-%d %H:%M:%S").is_ok(),
            "{row:?}"
        );
    }
    for row in read_csv(&dir.join("survey.csv")).1 {
        assert!(
            trygg_demo::ANSWERS.contains(&row["otrygg_kvall"].as_str()),
            "{row:?}"
        );
        assert!(num(&row, "vikt") > 0.0, "{row:?}");
    }
}

#[test]
fn police_snapshots_look_like_the_api() {
    let (dir, manifest) = main_set();
    let names: BTreeSet<String> = csv::Reader::from_reader(STADSDELAR.as_bytes())
        .records()
        .map(|r| r.expect("row")[0].to_lowercase())
        .collect();
    let snapshots: Vec<&trygg_demo::DemoFile> = manifest
        .files
        .iter()
        .filter(|f| f.source == "police-events")
        .collect();
    assert!(snapshots.len() >= 3, "{}", snapshots.len());
    let mut previous: Option<BTreeSet<u64>> = None;
    let mut all = BTreeMap::new();
    for f in &snapshots {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(&f.path)).expect("read")).expect("json");
        let events = v.as_array().expect("a JSON array");
        assert!(
            !events.is_empty() && events.len() <= 500,
            "{}: {}",
            f.path,
            events.len()
        );
        let mut ids = BTreeSet::new();
        let mut last_published: Option<chrono::DateTime<chrono::FixedOffset>> = None;
        for e in events {
            let o = e.as_object().expect("object");
            let keys: BTreeSet<&str> = o.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["id", "datetime", "name", "summary", "url", "type", "location"]),
                "{e}"
            );
            let id = e["id"].as_u64().expect("integer id");
            ids.insert(id);
            let dt = e["datetime"].as_str().expect("datetime");
            let published = chrono::DateTime::parse_from_str(dt, "%Y-%m-%d %H:%M:%S %:z")
                .expect("datetime format");
            let hour = dt
                .split(' ')
                .nth(1)
                .and_then(|t| t.split(':').next())
                .expect("hour");
            assert!(
                !(hour.len() == 2 && hour.starts_with('0')),
                "zero-padded hour: {dt}"
            );
            // Newest first.
            assert!(
                last_published.is_none_or(|l| l >= published),
                "{}: not newest first at {dt}",
                f.path
            );
            last_published = Some(published);
            let kind = e["type"].as_str().expect("type");
            let name = e["name"].as_str().expect("name");
            assert!(
                name.ends_with(&format!(", {kind}, Stockholm")),
                "{name} / {kind}"
            );
            assert!(
                e["url"]
                    .as_str()
                    .expect("url")
                    .starts_with("/aktuellt/handelser/"),
                "{e}"
            );
            assert_eq!(e["location"]["name"], "Stockholm");
            assert_eq!(e["location"]["gps"], "59.329324,18.068581");
            all.insert(
                id,
                (
                    e["summary"].as_str().expect("summary").to_owned(),
                    kind.to_owned(),
                ),
            );
        }
        if let Some(prev) = previous {
            assert!(
                prev.intersection(&ids).count() > 0,
                "{} does not overlap the previous snapshot",
                f.path
            );
        }
        previous = Some(ids);
    }
    assert_eq!(all.len() as u64, manifest.police.notices);
    // About half the summaries name exactly one stadsdel; none names two.
    let mut named = 0;
    let events = all
        .values()
        .filter(|(_, k)| k != "Sammanfattning natt")
        .count();
    for (summary, _) in all.values() {
        let words: Vec<String> = summary
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let text = format!(" {} ", words.join(" "));
        let found: Vec<&String> = names
            .iter()
            .filter(|n| text.contains(&format!(" {n} ")))
            .collect();
        // "Hässelby strand" must not also count "Hässelby": there is no such stadsdel.
        let longest: Vec<&&String> = found
            .iter()
            .filter(|n| !found.iter().any(|m| m != *n && m.contains(n.as_str())))
            .collect();
        assert!(longest.len() <= 1, "{summary}: {found:?}");
        named += usize::from(longest.len() == 1);
    }
    let share = named as f64 / events as f64;
    assert!((0.4..=0.65).contains(&share), "{share}");
    assert_eq!(named as u64, manifest.police.naming_a_stadsdel);
}

#[test]
fn bad_parameters_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    for params in [
        DemoParams {
            years: 0,
            ..DemoParams::new(end())
        },
        DemoParams {
            scale: 0.0,
            ..DemoParams::new(end())
        },
        DemoParams {
            scale: f64::NAN,
            ..DemoParams::new(end())
        },
    ] {
        let err = generate(&params, dir.path(), &mut |_| {}).expect_err("refused");
        assert!(err.to_string().contains("invalid demo parameters"), "{err}");
    }
}
