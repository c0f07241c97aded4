//! Store tests: layout, batches, dedup, areas, population and the view.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::DateTime;
use geo_types::{polygon, MultiPolygon};
use trygg_model::{AreaAssignment, Event, NormCategory, Precision, Rejection, Source};

use super::*;

fn event(id: u32, x: f64, y: f64, precision: Precision, at: &str) -> Event {
    Event {
        source: Source::Crimes,
        source_id: format!("c{id}"),
        occurred_at: DateTime::parse_from_rfc3339(at).expect("test time"),
        occurred_to: None,
        time_precision: trygg_model::TimePrecision::Exact,
        reported_at: None,
        category: if id.is_multiple_of(2) {
            "Misshandel".into()
        } else {
            "Cykelstöld".into()
        },
        category_norm: if id.is_multiple_of(2) {
            NormCategory::Violence
        } else {
            NormCategory::Theft
        },
        x,
        y,
        precision,
        areas: AreaAssignment {
            stadsdel: Some(Arc::from("RINKEBY")),
            ..AreaAssignment::default()
        },
        attributes: format!("{{\"id\":{id}}}"),
    }
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::create(&dir.path().join("t.gpkg")).expect("create");
    (dir, store)
}

fn info() -> BatchInfo {
    BatchInfo {
        source: Source::Crimes,
        strict: false,
    }
}

#[test]
fn create_refuses_existing_and_open_refuses_foreign_files() {
    let (dir, store) = new_store();
    assert!(matches!(
        Store::create(store.path()),
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        Store::open(&dir.path().join("nope.gpkg")),
        Err(StoreError::Missing(_))
    ));
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .and_then(|c| c.execute_batch("CREATE TABLE t (a)"))
        .expect("foreign");
    let err = Store::open(&foreign).unwrap_err().to_string();
    assert!(err.contains("not a Trygg store"), "{err}");
}

#[test]
fn batch_lands_whole_counts_duplicates_and_rolls_back_when_dropped() {
    let (_dir, mut store) = new_store();
    let mut batch = store.begin_batch(&info()).expect("begin");
    for i in 0..10 {
        assert_eq!(
            batch
                .insert(&event(
                    i,
                    100.0 + f64::from(i),
                    200.0,
                    Precision::Exact,
                    "2024-02-01T10:00:00+01:00"
                ))
                .expect("insert"),
            Insert::Accepted
        );
    }
    assert_eq!(
        batch
            .insert(&event(
                3,
                103.0,
                200.0,
                Precision::Exact,
                "2024-02-01T10:00:00+01:00"
            ))
            .expect("dup"),
        Insert::Duplicate
    );
    batch
        .reject(&Rejection {
            file: "a.csv".into(),
            row: Some(4),
            field: Some("x".into()),
            reason: "bad".into(),
            raw: Some("r".into()),
        })
        .expect("reject");
    let file = FileOutcome {
        file: "a.csv".into(),
        sha256: "ab".into(),
        bytes: 9,
        read: 12,
        accepted: 10,
        duplicates: 1,
        rejected: 1,
        ..FileOutcome::default()
    };
    let id = batch
        .commit(
            std::slice::from_ref(&file),
            &BTreeMap::new(),
            &BTreeMap::new(),
        )
        .expect("commit");
    assert_eq!(store.event_count().expect("count"), 10);

    // A second batch overlapping the first, dropped before commit: nothing of it stays.
    let mut batch = store.begin_batch(&info()).expect("begin");
    for i in 5..20 {
        batch
            .insert(&event(
                i,
                1.0,
                1.0,
                Precision::Exact,
                "2024-02-01T10:00:00+01:00",
            ))
            .expect("insert");
    }
    drop(batch);
    assert_eq!(store.event_count().expect("count"), 10);
    let batches = crate::batches(&mut store).expect("batches");
    assert_eq!(batches.len(), 1);
    assert_eq!(
        (
            batches[0].accepted,
            batches[0].duplicates,
            batches[0].rejected
        ),
        (10, 1, 1)
    );
    assert_eq!(
        batches[0].files,
        vec![("a.csv".to_owned(), "ab".to_owned())]
    );
    let rejections = crate::rejections(&mut store, id).expect("rejections");
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].row, Some(4));

    // Reopening sees the same; the exported point is the inserted one.
    let path = store.path().to_owned();
    drop(store);
    let mut store = Store::open(&path).expect("reopen");
    let mut seen = Vec::new();
    crate::for_each_event(
        &mut store,
        &EventFilter {
            source: Some(Source::Crimes),
            ..EventFilter::default()
        },
        |e| -> Result<(), StoreError> {
            seen.push((e.source_id, e.x, e.occurred_at));
            Ok(())
        },
    )
    .expect("read");
    assert_eq!(seen.len(), 10);
    assert_eq!(
        seen[3],
        (
            "c3".to_owned(),
            103.0,
            "2024-02-01T10:00:00+01:00".to_owned()
        )
    );
}

#[test]
fn area_layers_round_trip_and_replacing_needs_consent() {
    let (_dir, mut store) = new_store();
    let square = MultiPolygon(vec![
        polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)],
    ]);
    let area = StoredArea {
        code: "A".into(),
        name: "Alpha".into(),
        properties: "{}".into(),
        geometry: square,
    };
    let layer = AreaLayer {
        name: "mine".into(),
        valid_from: "2023-07-01".parse().ok(),
        valid_to: None,
        source_file: Some("mine.geojson".into()),
    };
    store
        .put_area_layer(&layer, std::slice::from_ref(&area), false)
        .expect("put");
    assert!(matches!(
        store.put_area_layer(&layer, &[], false),
        Err(StoreError::LayerExists(_))
    ));
    assert_eq!(store.areas("mine").expect("areas"), vec![area.clone()]);
    assert_eq!(store.area_layers().expect("layers"), vec![layer.clone()]);
    store.put_area_layer(&layer, &[], true).expect("replace");
    assert!(store.areas("mine").expect("areas").is_empty());
}

#[test]
fn population_upserts_by_layer_area_and_year() {
    let (_dir, mut store) = new_store();
    let row = |population| PopulationRow {
        layer: "stadsdel".into(),
        area_code: "RINKEBY".into(),
        year: 2021,
        population,
        derived: false,
        source: None,
    };
    store.put_population(&[row(16_000)]).expect("put");
    store.put_population(&[row(16_914)]).expect("update");
    assert_eq!(
        store.population("stadsdel").expect("read"),
        vec![row(16_914)]
    );
}

#[test]
fn view_is_time_sorted_and_its_queries_match_a_brute_force_filter() {
    let (_dir, mut store) = new_store();
    store
        .set_extent(&trygg_model::Extent {
            min_x: 600_000.0,
            min_y: 6_500_000.0,
            max_x: 700_000.0,
            max_y: 6_600_000.0,
        })
        .expect("extent");
    let mut batch = store.begin_batch(&info()).expect("begin");
    let mut expected = Vec::new();
    for i in 0..500u32 {
        // A deterministic scatter over 10 km, times going backwards so sorting matters.
        let x = 650_000.0 + f64::from((i * 7_919) % 10_000);
        let y = 6_550_000.0 + f64::from((i * 104_729) % 10_000);
        let precision = if i % 5 == 0 {
            Precision::Stadsdel
        } else {
            Precision::Exact
        };
        let day = 28 - (i % 28);
        let at = format!("2024-02-{day:02}T12:00:00+01:00");
        batch
            .insert(&event(i, x, y, precision, &at))
            .expect("insert");
        expected.push((
            x,
            y,
            precision,
            DateTime::parse_from_rfc3339(&at).expect("t").timestamp(),
            i % 2 == 0,
        ));
    }
    batch
        .commit(&[], &BTreeMap::new(), &BTreeMap::new())
        .expect("commit");
    let view = store.view().expect("view");
    assert_eq!(view.len(), 500);
    assert!((0..499).all(|i| view.time(i) <= view.time(i + 1)));
    assert!(view.bytes_per_event() < 64.0, "{}", view.bytes_per_event());

    let from = DateTime::parse_from_rfc3339("2024-02-10T00:00:00+01:00")
        .expect("t")
        .timestamp();
    let to = DateTime::parse_from_rfc3339("2024-02-20T00:00:00+01:00")
        .expect("t")
        .timestamp();
    let bbox = [652_000.0, 6_551_000.0, 657_500.0, 6_558_000.0];
    let q = ViewQuery {
        from_utc: Some(from),
        to_utc: Some(to),
        bbox: Some(bbox),
        categories: Some(vec![NormCategory::Violence]),
        ..ViewQuery::default()
    };
    let got: Vec<(f64, f64)> = view
        .query(&q)
        .into_iter()
        .map(|i| view.xy(i as usize))
        .collect();
    let mut want: Vec<(f64, f64)> = expected
        .iter()
        .filter(|(x, y, p, t, violent)| {
            p.is_point()
                && *violent
                && *t >= from
                && *t < to
                && *x >= bbox[0]
                && *x <= bbox[2]
                && *y >= bbox[1]
                && *y <= bbox[3]
        })
        .map(|(x, y, ..)| (*x, *y))
        .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    want.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    assert!(!want.is_empty());
    assert_eq!(got_sorted, want);
    // Without a bbox, events of every precision count.
    let all_in_window = view.query(&ViewQuery {
        from_utc: Some(from),
        to_utc: Some(to),
        ..ViewQuery::default()
    });
    assert_eq!(
        all_in_window.len(),
        expected.iter().filter(|e| e.3 >= from && e.3 < to).count()
    );
}

#[test]
fn a_new_store_is_invisible_until_persisted_and_gone_if_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("n.gpkg");
    {
        let mut pending = Store::begin_create(&path).expect("begin");
        pending.set_meta("k", "v").expect("meta");
        assert!(!path.exists(), "nothing under the name before persist");
    }
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "a dropped creation leaves nothing"
    );
    let mut pending = Store::begin_create(&path).expect("begin");
    pending.set_meta("k", "v").expect("meta");
    let mut batch = pending.begin_batch(&info()).expect("batch");
    batch
        .insert(&event(
            1,
            674_000.0,
            6_580_000.0,
            Precision::Exact,
            "2024-01-01T12:00:00+01:00",
        ))
        .expect("insert");
    batch
        .commit(&[], &BTreeMap::new(), &BTreeMap::new())
        .expect("commit");
    // Someone else creates the file meanwhile: persisting fails, nothing is lost.
    let other = Store::create(&path).expect("other creator");
    drop(other);
    assert!(matches!(pending.persist(), Err(StoreError::Exists(_))));
    std::fs::remove_file(&path).expect("remove");
    let mut pending = Store::begin_create(&path).expect("begin");
    pending.set_meta("k", "v").expect("meta");
    let store = pending.persist().expect("persist");
    assert_eq!(store.meta("k").expect("meta").as_deref(), Some("v"));
    assert_eq!(store.path(), path);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("n.gpkg")]);
}

#[test]
fn reverting_a_batch_removes_its_events_and_marks_it() {
    let (_dir, mut store) = new_store();
    for (ids, n) in [(0..3, 3), (10..12, 2)] {
        let mut batch = store.begin_batch(&info()).expect("batch");
        for id in ids {
            batch
                .insert(&event(
                    id,
                    674_000.0,
                    6_580_000.0,
                    Precision::Exact,
                    "2024-01-01T12:00:00+01:00",
                ))
                .expect("insert");
        }
        let file = FileOutcome {
            accepted: n,
            ..FileOutcome::default()
        };
        batch
            .commit(&[file], &BTreeMap::new(), &BTreeMap::new())
            .expect("commit");
    }
    assert_eq!(store.revert_batch(1, "tester").expect("revert"), 3);
    assert_eq!(store.event_count().expect("count"), 2);
    let batches = crate::batches(&mut store).expect("batches");
    let reverted = batches[0].reverted.as_ref().expect("reverted");
    assert_eq!((reverted.by.as_str(), reverted.events), ("tester", 3));
    assert!(batches[1].reverted.is_none());
    assert!(matches!(
        store.revert_batch(1, "tester"),
        Err(StoreError::Batch { id: 1, .. })
    ));
    assert!(matches!(
        store.revert_batch(42, "tester"),
        Err(StoreError::Batch { id: 42, .. })
    ));
}

/// An id's current row: (x, category, batch).
type Current = (f64, String, i64);
/// A version in its history: (category, batch that brought it, batch that replaced it).
type Replaced = (String, i64, i64);

/// The current row of an id and its history.
fn versions(store: &mut Store, id: &str) -> (Current, Vec<Replaced>) {
    let mut current = None;
    crate::for_each_event(store, &EventFilter::default(), |e| {
        if e.source_id == id {
            current = Some((e.x, e.category.clone(), e.batch_id));
        }
        Ok::<(), StoreError>(())
    })
    .expect("events");
    let history = store
        .history(Source::Crimes, id)
        .expect("history")
        .into_iter()
        .map(|h| (h.category, h.batch_id, h.replaced_by))
        .collect();
    (current.expect("current"), history)
}

fn batch_of(store: &mut Store, events: &[Event]) -> Vec<Insert> {
    let mut batch = store.begin_batch(&info()).expect("batch");
    let done: Vec<Insert> = events
        .iter()
        .map(|e| batch.insert(e).expect("insert"))
        .collect();
    batch
        .commit(
            &[FileOutcome::default()],
            &BTreeMap::new(),
            &BTreeMap::new(),
        )
        .expect("commit");
    done
}

#[test]
fn a_revision_becomes_current_keeps_the_history_and_never_rolls_back() {
    let (_dir, mut store) = new_store();
    let at = "2024-02-01T10:00:00+01:00";
    let first = event(1, 674_000.0, 6_580_000.0, Precision::Exact, at);
    let other = event(2, 674_100.0, 6_580_000.0, Precision::Exact, at);
    assert_eq!(
        batch_of(&mut store, &[first.clone(), other.clone()]),
        [Insert::Accepted; 2]
    );
    let view_before = store.load_view().expect("view");
    // Batch 2: id c1 re-delivered with another category: a revision.
    let revised = Event {
        category: "Rån".into(),
        category_norm: NormCategory::Robbery,
        ..first.clone()
    };
    assert_eq!(
        batch_of(&mut store, &[revised.clone(), other.clone()]),
        [Insert::Updated, Insert::Duplicate]
    );
    assert_eq!(store.event_count().expect("count"), 2);
    let (now, history) = versions(&mut store, "c1");
    assert_eq!((now.1.as_str(), now.2), ("Rån", 2));
    assert_eq!(history, [("Cykelstöld".to_owned(), 1, 2)]);
    assert_eq!(
        crate::batches(&mut store).expect("batches")[1].updated,
        0,
        "counts come from the files"
    );
    // The view is rebuilt (a stored row changed), and shows the new category.
    let view = store.load_view().expect("view");
    assert_eq!(view.source, ViewSource::Rebuilt);
    assert_ne!(view.version, view_before.version);
    // Batch 3: the older snapshot again: nothing rolls back. Batch 4: a third
    // content moves the record on; its location moved too.
    assert_eq!(
        batch_of(&mut store, std::slice::from_ref(&first)),
        [Insert::Duplicate]
    );
    assert_eq!(versions(&mut store, "c1").0 .1, "Rån");
    let moved = Event {
        x: 674_050.0,
        category: "Rån, grovt".into(),
        ..revised.clone()
    };
    assert_eq!(
        batch_of(&mut store, std::slice::from_ref(&moved)),
        [Insert::Updated]
    );
    let (now, history) = versions(&mut store, "c1");
    assert_eq!((now.0, now.1.as_str(), now.2), (674_050.0, "Rån, grovt", 4));
    assert_eq!(
        history,
        [("Cykelstöld".to_owned(), 1, 2), ("Rån".to_owned(), 2, 4)]
    );
    // Reverting batch 2 (whose version was replaced by 4): the current version
    // stays, the first now counts as replaced by 4.
    store.revert_batch(2, "t").expect("revert 2");
    let (now, history) = versions(&mut store, "c1");
    assert_eq!(now.2, 4);
    assert_eq!(history, [("Cykelstöld".to_owned(), 1, 4)]);
    // Reverting batch 4 gives back the version it replaced, at its place.
    assert_eq!(store.revert_batch(4, "t").expect("revert 4"), 1);
    let (now, history) = versions(&mut store, "c1");
    assert_eq!((now.0, now.1.as_str(), now.2), (674_000.0, "Cykelstöld", 1));
    assert!(history.is_empty());
    assert_eq!(store.event_count().expect("count"), 2);
}

#[test]
fn a_store_of_schema_3_migrates_and_its_rows_compare_by_content() {
    let (dir, mut store) = new_store();
    let at = "2024-02-01T10:00:00+01:00";
    let first = event(1, 674_000.0, 6_580_000.0, Precision::Exact, at);
    batch_of(&mut store, std::slice::from_ref(&first));
    let path = store.path().to_owned();
    drop(store);
    // Back to schema 3: no history, no `updated`.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "DROP TRIGGER rtree_events_geom_insert;
         DROP TRIGGER rtree_events_geom_update1;
         DROP TRIGGER rtree_events_geom_update2;
         DROP TRIGGER rtree_events_geom_update3;
         DROP TRIGGER rtree_events_geom_update4;
         DROP TRIGGER rtree_events_geom_delete;
         DROP TABLE rtree_events_geom;
         DROP TABLE gpkg_extensions;
         DROP TABLE event_history;
         DROP TABLE police_polls;
         DELETE FROM gpkg_contents WHERE table_name IN ('event_history', 'police_polls');
         ALTER TABLE ingest_batches DROP COLUMN updated;
         ALTER TABLE ingest_files DROP COLUMN updated;
         UPDATE trygg_meta SET value = '3' WHERE key = 'schema_version';",
    )
    .expect("to schema 3");
    drop(conn);
    let mut store = Store::open(&path).expect("migrates");
    assert_eq!(
        store.meta("schema_version").expect("meta").as_deref(),
        Some(schema::SCHEMA_VERSION)
    );
    // The same content is still a duplicate, other content a revision; the
    // same attributes written with other spacing and member order are the
    // same content.
    assert_eq!(
        batch_of(&mut store, std::slice::from_ref(&first)),
        [Insert::Duplicate]
    );
    let respaced = Event {
        attributes: "{ \"id\" : 1 }".into(),
        ..first.clone()
    };
    assert_eq!(batch_of(&mut store, &[respaced]), [Insert::Duplicate]);
    let revised = Event {
        attributes: "{\"id\":1,\"note\":\"edited\"}".into(),
        ..first
    };
    assert_eq!(batch_of(&mut store, &[revised]), [Insert::Updated]);
    assert_eq!(versions(&mut store, "c1").1.len(), 1);
    // Schema 5's R-tree indexes the rows stored before the migration too.
    rtree_matches(&mut store);
    drop(dir);
}

#[test]
fn a_store_of_schema_5_gets_compact_attributes_of_the_same_value() {
    let (dir, mut store) = new_store();
    let at = "2024-02-01T10:00:00+01:00";
    let indented = "{\n  \"id\": 1,\n  \"location\": {\n    \"name\": \"Solna\"\n  }\n}";
    let first = Event {
        attributes: indented.into(),
        ..event(1, 674_000.0, 6_580_000.0, Precision::Exact, at)
    };
    let damaged = Event {
        attributes: "not { json".into(),
        ..event(2, 674_000.0, 6_580_000.0, Precision::Exact, at)
    };
    batch_of(&mut store, &[first.clone(), damaged]);
    let path = store.path().to_owned();
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch("UPDATE trygg_meta SET value = '5' WHERE key = 'schema_version';")
        .expect("to schema 5");
    drop(conn);
    let mut store = Store::open(&path).expect("migrates");
    let attributes: Vec<String> = store
        .all("SELECT attributes FROM events ORDER BY fid", [], |r| {
            r.get(0)
        })
        .expect("attributes");
    assert_eq!(
        attributes,
        [r#"{"id":1,"location":{"name":"Solna"}}"#, "not { json"],
        "compact, keys in their order; a damaged row is left as it was"
    );
    // The same content as before the migration.
    assert_eq!(batch_of(&mut store, &[first]), [Insert::Duplicate]);
    drop(dir);
}

/// Every column of two views, event by event.
fn same_view(a: &EventView, b: &EventView) {
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        assert_eq!(
            (
                a.time(i),
                a.time_to(i),
                a.xy(i),
                a.source(i),
                a.category_norm(i)
            ),
            (
                b.time(i),
                b.time_to(i),
                b.xy(i),
                b.source(i),
                b.category_norm(i)
            ),
            "event {i}"
        );
        assert_eq!(
            (a.precision(i), a.time_precision(i), a.category(i)),
            (b.precision(i), b.time_precision(i), b.category(i)),
            "event {i}"
        );
        let name = |v: &EventView| {
            let c = v.stadsdel_code(i);
            (c != NO_AREA).then(|| v.stadsdel_names()[usize::from(c)].clone())
        };
        assert_eq!(name(a), name(b), "event {i}");
    }
}

fn land_batch(store: &mut Store, ids: std::ops::Range<u32>, hour: u32) {
    let mut batch = store.begin_batch(&info()).expect("batch");
    for id in ids {
        let mut e = event(
            id,
            674_000.0 + f64::from(id),
            6_580_000.0,
            Precision::Exact,
            &format!("2024-01-{:02}T{hour:02}:00:00+01:00", 1 + id % 28),
        );
        if id % 3 == 0 {
            e.areas.stadsdel = Some(Arc::from(format!("S{}", id % 7).as_str()));
        }
        if id % 5 == 0 {
            e.occurred_to = Some(e.occurred_at + chrono::TimeDelta::hours(3));
            e.time_precision = trygg_model::TimePrecision::Interval;
        }
        batch.insert(&e).expect("insert");
    }
    batch
        .commit(&[], &BTreeMap::new(), &BTreeMap::new())
        .expect("commit");
}

#[test]
fn the_view_file_is_read_when_current_extended_when_older_rebuilt_after_a_revert() {
    let (_dir, mut store) = new_store();
    land_batch(&mut store, 0..500, 10);
    let first = store.load_view().expect("load");
    assert_eq!(first.source, ViewSource::Rebuilt);
    assert!(view_file_path(store.path()).exists());
    let again = store.load_view().expect("load");
    assert_eq!(again.source, ViewSource::File);
    same_view(&again.view, &first.view);
    assert_eq!(again.version, store.data_version().expect("version"));

    // A batch later: extended by exactly its events, equal to a rebuild.
    land_batch(&mut store, 500..800, 9);
    let extended = store.load_view().expect("load");
    assert_eq!(extended.source, ViewSource::Extended(300));
    same_view(&extended.view, &store.view().expect("rebuild"));
    // A live reader refreshes from what it holds.
    land_batch(&mut store, 800..810, 23);
    let refreshed = store
        .refresh_view(&extended.view, extended.version, extended.max_fid, None)
        .expect("refresh")
        .expect("changed");
    assert_eq!(refreshed.source, ViewSource::Extended(10));
    same_view(&refreshed.view, &store.view().expect("rebuild"));
    assert!(store
        .refresh_view(&refreshed.view, refreshed.version, refreshed.max_fid, None)
        .expect("refresh")
        .is_none());
    // Into the buffers of a released view (bigger and smaller ones, with stale
    // contents): the same view as a fresh merge and a rebuild.
    land_batch(&mut store, 810..840, 21);
    for released in [first.view, store.view().expect("rebuild")] {
        let recycled = store
            .refresh_view(
                &refreshed.view,
                refreshed.version,
                refreshed.max_fid,
                Some(released),
            )
            .expect("refresh")
            .expect("changed");
        same_view(&recycled.view, &store.view().expect("rebuild"));
    }

    // A revert removes events: the file cannot be extended, it is rebuilt.
    store.revert_batch(2, "t").expect("revert");
    let after = store.load_view().expect("load");
    assert_eq!(after.source, ViewSource::Rebuilt);
    assert_eq!(after.view.len(), 540);
    same_view(&after.view, &store.view().expect("rebuild"));

    // A damaged file is never trusted.
    let file = view_file_path(store.path());
    let mut bytes = std::fs::read(&file).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).expect("write");
    assert!(EventView::read_file(&file).is_err());
    let fresh = store.load_view().expect("load");
    assert_eq!(fresh.source, ViewSource::Rebuilt);
    std::fs::write(&file, &bytes[..mid]).expect("truncate");
    assert_eq!(store.load_view().expect("load").source, ViewSource::Rebuilt);
}

#[test]
fn every_change_increments_the_data_version() {
    let (_dir, mut store) = new_store();
    let v0 = store.data_version().expect("version");
    land_batch(&mut store, 0..3, 8);
    let v1 = store.data_version().expect("version");
    assert!(v1 > v0);
    store.set_meta("k", "v").expect("meta");
    let v2 = store.data_version().expect("version");
    assert!(v2 > v1);
    assert_eq!(store.rewritten_version().expect("rw"), 0);
    store.revert_batch(1, "t").expect("revert");
    let v3 = store.data_version().expect("version");
    assert!(v3 > v2);
    assert_eq!(store.rewritten_version().expect("rw"), v3);
}

#[test]
fn regression_a_store_without_extent_keeps_centimetres_in_the_view() {
    // No extent, no areas: the origin was (0, 0) and f32 kept half metres.
    let (_dir, mut store) = new_store();
    assert!(store.study_extent().expect("extent").is_none());
    let mut batch = store.begin_batch(&info()).expect("batch");
    batch
        .insert(&event(
            1,
            674_032.37,
            6_580_821.53,
            Precision::Exact,
            "2024-01-01T12:00:00+01:00",
        ))
        .expect("insert");
    batch
        .insert(&event(
            2,
            674_032.38,
            6_580_821.54,
            Precision::Exact,
            "2024-01-01T13:00:00+01:00",
        ))
        .expect("insert");
    batch
        .commit(&[], &BTreeMap::new(), &BTreeMap::new())
        .expect("commit");
    let view = store.view().expect("view");
    for (i, (x, y)) in [(674_032.37, 6_580_821.53), (674_032.38, 6_580_821.54)]
        .iter()
        .enumerate()
    {
        let (vx, vy) = view.xy(i);
        assert!((vx - x).abs() < 0.01 && (vy - y).abs() < 0.01, "{vx},{vy}");
    }
}

/// The R-tree's rows equal the events' points, one for one.
fn rtree_matches(store: &mut Store) {
    let conn = rusqlite::Connection::open(store.path()).expect("open");
    let missing: i64 = conn
        .query_row(
            "SELECT count(*) FROM events AS e LEFT JOIN rtree_events_geom AS r ON r.id = e.fid
             WHERE r.id IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("join");
    let (rows, events): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM rtree_events_geom), (SELECT count(*) FROM events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!((missing, rows), (0, events), "one index row per event");
    let check: String = conn
        .query_row("SELECT rtreecheck('rtree_events_geom')", [], |r| r.get(0))
        .expect("rtreecheck");
    assert_eq!(check, "ok", "SQLite's own check of the tree");
    let mut points = Vec::new();
    crate::for_each_event(store, &EventFilter::default(), |e| {
        points.push((e.x, e.y));
        Ok::<(), StoreError>(())
    })
    .expect("events");
    let mut stmt = conn
        .prepare("SELECT minx, maxx, miny, maxy FROM rtree_events_geom ORDER BY id")
        .expect("prepare");
    let boxes: Vec<[f64; 4]> = stmt
        .query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    // The R-tree stores 32-bit floats rounded outwards: each box holds its point.
    for ((x, y), b) in points.iter().zip(&boxes) {
        assert!(
            b[0] <= *x && *x <= b[1] && b[2] <= *y && *y <= b[3],
            "{x} {y} in {b:?}"
        );
        assert!(b[1] - b[0] < 1.0 && b[3] - b[2] < 1.0, "{b:?}");
    }
}

#[test]
fn the_rtree_index_follows_batches_revisions_and_reverts() {
    let (_dir, mut store) = new_store();
    let at = "2024-02-01T10:00:00+01:00";
    let events: Vec<Event> = (0..50)
        .map(|i| {
            event(
                i,
                670_000.0 + f64::from(i) * 37.5,
                6_580_000.0 - f64::from(i),
                Precision::Exact,
                at,
            )
        })
        .collect();
    batch_of(&mut store, &events[..30]);
    rtree_matches(&mut store);
    // A second batch adds 20 and moves one event: the index follows both.
    let moved = Event {
        x: 675_555.5,
        category: "Rån".into(),
        ..events[3].clone()
    };
    let mut second: Vec<Event> = events[30..].to_vec();
    second.push(moved);
    batch_of(&mut store, &second);
    rtree_matches(&mut store);
    // A dropped batch leaves the index (and its trigger) as they were.
    let mut dropped = store.begin_batch(&info()).expect("begin");
    dropped
        .insert(&event(999, 671_000.0, 6_581_000.0, Precision::Exact, at))
        .expect("insert");
    drop(dropped);
    rtree_matches(&mut store);
    // Reverting the second batch removes its rows and moves the event back.
    store.revert_batch(2, "t").expect("revert");
    rtree_matches(&mut store);
    let conn = rusqlite::Connection::open(store.path()).expect("open");
    let triggers: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_events_geom_%'",
            [],
            |r| r.get(0),
        )
        .expect("triggers");
    assert_eq!(triggers, 6, "the spec's six triggers");
}

#[test]
fn a_large_batch_builds_the_rtree_in_bulk_and_small_ones_add_to_it() {
    let (_dir, mut store) = new_store();
    let at = "2024-02-01T10:00:00+01:00";
    // 30,000 events: more than the bulk threshold, so the tree is packed (from
    // 30 sorted runs spilled and merged: tests spill every 1,000 entries).
    let mut many: Vec<Event> = (0..30_000u32)
        .map(|i| {
            event(
                i,
                660_000.0 + f64::from(i % 173) * 101.3,
                6_570_000.0 + f64::from(i / 173) * 97.1,
                Precision::Exact,
                at,
            )
        })
        .collect();
    // Regression: a row appended and then moved by the same batch is indexed
    // where it is now, not where it was appended.
    let moved = Event {
        x: 669_999.5,
        y: 6_579_999.5,
        category: "Rån".into(),
        ..many[5].clone()
    };
    assert_eq!(
        batch_of(&mut store, &[many.clone(), vec![moved.clone()]].concat())[30_000],
        Insert::Updated
    );
    many[5] = moved;
    rtree_matches(&mut store);
    let conn = rusqlite::Connection::open(store.path()).expect("open");
    let root: Vec<u8> = conn
        .query_row(
            "SELECT data FROM rtree_events_geom_node WHERE nodeno = 1",
            [],
            |r| r.get(0),
        )
        .expect("root");
    // 30,000 entries in leaves of 51: 589 leaves, 12 nodes above them, a root.
    assert_eq!(u16::from_be_bytes([root[0], root[1]]), 2, "depth");
    // A query through the index finds exactly the events of a box.
    let inside: i64 = conn
        .query_row(
            "SELECT count(*) FROM rtree_events_geom WHERE minx >= 661000 AND maxx <= 663000
             AND miny >= 6571000 AND maxy <= 6572000",
            [],
            |r| r.get(0),
        )
        .expect("query");
    let brute = many
        .iter()
        .filter(|e| {
            (661_000.0..=663_000.0).contains(&e.x) && (6_571_000.0..=6_572_000.0).contains(&e.y)
        })
        .count() as i64;
    assert_eq!(inside, brute);
    assert!(brute > 100, "{brute}");
    // A small batch after it, and a revert of it, keep the packed tree valid.
    batch_of(
        &mut store,
        &[event(40_000, 665_000.0, 6_575_000.0, Precision::Exact, at)],
    );
    rtree_matches(&mut store);
    store.revert_batch(1, "t").expect("revert");
    rtree_matches(&mut store);
}

#[test]
fn a_subset_of_the_view_keeps_each_kept_event_bit_for_bit() {
    let mut b = EventViewBuilder::new((674_000.0, 6_580_000.0));
    for k in 0..50u32 {
        b.push_event(&ViewEvent {
            t: 1_700_000_000 + i64::from(k) * 3_600,
            to: (k % 3 == 0).then_some(1_700_000_000 + i64::from(k) * 3_600 + 600),
            time_precision: if k % 4 == 0 {
                trygg_model::TimePrecision::Date
            } else {
                trygg_model::TimePrecision::Exact
            },
            x: 674_000.0 + f64::from(k) * 123.456_789,
            y: 6_580_000.0 + f64::from(k) * 98.765_432_1,
            source: Source::ALL[k as usize % Source::ALL.len()],
            category_norm: NormCategory::Theft,
            precision: if k % 5 == 0 {
                Precision::Stadsdel
            } else {
                Precision::Exact
            },
            category: ["Stöld", "Rån", "Bedrägeri"][k as usize % 3],
            stadsdel: (k % 2 == 0).then_some(["A", "B"][k as usize % 4 / 2]),
        });
    }
    let view = b.build();
    let keep: Vec<u32> = (0..50).filter(|k| k % 3 != 1).collect();
    let sub = view.subset(&keep);
    assert_eq!(sub.len(), keep.len());
    assert_eq!(sub.origin(), view.origin());
    for (j, &i) in keep.iter().enumerate() {
        let i = i as usize;
        assert_eq!(sub.xy(j), view.xy(i));
        assert_eq!(sub.time(j), view.time(i));
        assert_eq!(sub.time_to(j), view.time_to(i));
        assert_eq!(sub.time_precision(j), view.time_precision(i));
        assert_eq!(sub.source(j), view.source(i));
        assert_eq!(sub.precision(j), view.precision(i));
        assert_eq!(sub.category(j), view.category(i));
        assert_eq!(
            sub.stadsdel_names().get(usize::from(sub.stadsdel_code(j))),
            view.stadsdel_names()
                .get(usize::from(view.stadsdel_code(i)))
        );
    }
    assert!(view.subset(&[]).is_empty());
}
