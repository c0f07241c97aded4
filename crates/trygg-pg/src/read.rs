//! Reading a database's state for a server's in-memory snapshot: the events
//! view (extended with the events added since, or rebuilt after a change that
//! removed or rewrote events, the GeoPackage store's rule), area layers with
//! their areas, population, metadata and the survey's rows, all in one
//! repeatable-read transaction, so that a snapshot is of one committed state.

use std::io::{BufRead, BufReader};

use postgres::{GenericClient, IsolationLevel, Transaction};
use trygg_model::{NormCategory, Source};
use trygg_store::tables::SRS_ID;
use trygg_store::{
    geom, meta, AreaLayer, EventView, EventViewBuilder, PopulationRow, StoredArea, StoredColumns,
};

use crate::{bounds, on_db, split_fields, PgError, PgStore, STADSDEL_BOUNDS};

/// A database's state at one data version.
#[derive(Debug)]
pub struct PgState {
    /// The data version.
    pub version: u64,
    /// The events view.
    pub view: EventView,
    /// The largest event key in the view.
    pub max_fid: i64,
    /// `Some(n)` when the view is the previous one with `n` events added.
    pub extended: Option<u64>,
    /// Every area layer with its areas, by name.
    pub layers: Vec<(AreaLayer, Vec<StoredArea>)>,
    /// Population of every layer and of the municipality.
    pub population: Vec<PopulationRow>,
    /// `trygg_meta` values: synthetic, notice, municipality.
    pub synthetic: bool,
    /// The store's notice about its data.
    pub notice: Option<String>,
    /// The study municipality.
    pub municipality: Option<String>,
    /// The survey's respondent rows: (stadsdel, attributes JSON text).
    pub survey: Vec<(Option<String>, String)>,
    /// The study extent in force.
    pub study_extent: Option<trygg_model::Extent>,
}

/// A read-only repeatable-read transaction: every read in it sees one state.
pub(crate) fn snapshot_transaction<'c>(
    client: &'c mut postgres::Client,
    url: &str,
) -> Result<Transaction<'c>, PgError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(on_db(url))
}

fn meta_in(c: &mut impl GenericClient, url: &str, key: &str) -> Result<Option<String>, PgError> {
    Ok(
        c.query_opt("SELECT value FROM trygg_meta WHERE key = $1", &[&key])
            .map_err(on_db(url))?
            .map(|r| r.get(0)),
    )
}

fn version_in(c: &mut impl GenericClient, url: &str, key: &str) -> Result<u64, PgError> {
    Ok(meta_in(c, url, key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The study extent in force: the stored one, else the `stadsdel` layer's
/// bounds grown by [`trygg_model::Extent::STUDY_MARGIN_M`] (the GeoPackage
/// store's rule).
pub(crate) fn study_extent(
    c: &mut impl GenericClient,
    url: &str,
) -> Result<Option<trygg_model::Extent>, PgError> {
    if let Some(e) = meta_in(c, url, meta::EXTENT)?
        .as_deref()
        .and_then(meta::parse_extent)
    {
        return Ok(Some(e));
    }
    let areas = c.query_one(STADSDEL_BOUNDS, &[]).map_err(on_db(url))?;
    Ok(bounds(&areas).map(|e| e.expanded(trygg_model::Extent::STUDY_MARGIN_M)))
}

/// The origin of a view: the study extent's lower-left corner (the stored
/// extent, else the `stadsdel` layer's bounds grown by the study margin), else
/// the first event's point, else (0, 0) — the GeoPackage store's rule.
pub(crate) fn view_origin(c: &mut impl GenericClient, url: &str) -> Result<(f64, f64), PgError> {
    if let Some(e) = study_extent(c, url)? {
        return Ok((e.min_x.floor(), e.min_y.floor()));
    }
    let first = c
        .query_opt(
            "SELECT ST_X(geom), ST_Y(geom) FROM events ORDER BY fid LIMIT 1",
            &[],
        )
        .map_err(on_db(url))?;
    Ok(first.map_or((0.0, 0.0), |r| (r.get(0), r.get(1))))
}

/// The events with `fid > after_fid`, streamed with COPY, and the largest fid.
pub(crate) fn view_rows(
    tx: &mut Transaction<'_>,
    url: &str,
    origin: (f64, f64),
    after_fid: i64,
) -> Result<(EventViewBuilder, i64), PgError> {
    let mut builder = EventViewBuilder::new(origin);
    let mut max_fid = after_fid;
    let sql = format!(
        "COPY (SELECT fid, ST_X(geom), ST_Y(geom), occurred_utc, source, category_norm,
         precision, category, stadsdel, time_precision, occurred_to
         FROM events WHERE fid > {after_fid} ORDER BY fid) TO STDOUT"
    );
    let reader = tx.copy_out(sql.as_str()).map_err(on_db(url))?;
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let broken = |row: String, column: &'static str, reason: String| PgError::Corrupt {
        url: url.to_owned(),
        table: "events",
        row,
        column,
        reason,
    };
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| broken(String::new(), "", e.to_string()))?;
        if read == 0 {
            break;
        }
        let fields = split_fields(&line);
        let key = fields.first().cloned().flatten().unwrap_or_default();
        let text = |i: usize| fields.get(i).and_then(|f| f.as_deref());
        let number = |i: usize, column| -> Result<f64, PgError> {
            text(i)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| broken(key.clone(), column, "not a number".into()))
        };
        let fid: i64 = text(0)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| broken(key.clone(), "fid", "not an integer".into()))?;
        max_fid = max_fid.max(fid);
        let event = StoredColumns {
            t: text(3)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| broken(key.clone(), "occurred_utc", "not an integer".into()))?,
            x: number(1, "geom")?,
            y: number(2, "geom")?,
            source: text(4).unwrap_or_default(),
            category_norm: text(5).unwrap_or_default(),
            precision: text(6).unwrap_or_default(),
            category: text(7).unwrap_or_default(),
            stadsdel: text(8),
            time_precision: text(9).unwrap_or_default(),
            occurred_to: text(10),
        }
        .parse()
        .map_err(|reason| broken(key.clone(), "", reason))?;
        builder.push_event(&event);
    }
    Ok((builder, max_fid))
}

/// The areas of a layer, in key order.
pub(crate) fn areas(
    c: &mut impl GenericClient,
    url: &str,
    layer: &str,
) -> Result<Vec<StoredArea>, PgError> {
    let rows = c
        .query(
            "SELECT fid, code, name, properties::text, ST_AsBinary(geom) FROM areas
             WHERE layer = $1 ORDER BY fid",
            &[&layer],
        )
        .map_err(on_db(url))?;
    rows.iter()
        .map(|r| {
            let wkb: Vec<u8> = r.get(4);
            let bad = |reason: String| PgError::Corrupt {
                url: url.to_owned(),
                table: "areas",
                row: r.get::<_, i64>(0).to_string(),
                column: "geom",
                reason,
            };
            let blob = geom::from_wkb(SRS_ID, &wkb).map_err(|e| bad(e.to_string()))?;
            let geometry = match geom::decode(&blob).map_err(|e| bad(e.to_string()))?.1 {
                geo_types::Geometry::MultiPolygon(mp) => mp,
                _ => return Err(bad("not a multipolygon".into())),
            };
            Ok(StoredArea {
                code: r.get(1),
                name: r.get(2),
                properties: r.get(3),
                geometry,
            })
        })
        .collect()
}

fn area_layers(c: &mut impl GenericClient, url: &str) -> Result<Vec<AreaLayer>, PgError> {
    let rows = c
        .query(
            "SELECT name, to_char(valid_from, 'YYYY-MM-DD'), to_char(valid_to, 'YYYY-MM-DD'),
             source_file FROM area_layers ORDER BY name COLLATE \"C\"",
            &[],
        )
        .map_err(on_db(url))?;
    Ok(rows
        .iter()
        .map(|r| AreaLayer {
            name: r.get(0),
            valid_from: r.get::<_, Option<String>>(1).and_then(|d| d.parse().ok()),
            valid_to: r.get::<_, Option<String>>(2).and_then(|d| d.parse().ok()),
            source_file: r.get(3),
        })
        .collect())
}

fn population(
    c: &mut impl GenericClient,
    url: &str,
    layer: &str,
) -> Result<Vec<PopulationRow>, PgError> {
    let rows = c
        .query(
            "SELECT layer, area_code, year, population, derived, source FROM population
             WHERE layer = $1 ORDER BY area_code COLLATE \"C\", year",
            &[&layer],
        )
        .map_err(on_db(url))?;
    Ok(rows
        .iter()
        .map(|r| PopulationRow {
            layer: r.get(0),
            area_code: r.get(1),
            year: i32::try_from(r.get::<_, i64>(2)).unwrap_or(i32::MAX),
            population: r.get(3),
            derived: r.get(4),
            source: r.get(5),
        })
        .collect())
}

/// A snapshot's view, data version and largest fid, which a state extends.
type Base<'v> = (&'v EventView, u64, i64);

impl PgStore {
    /// The database's state for a snapshot, or `None` when it is still at the
    /// version of `base` (the current snapshot's view, version and largest
    /// fid). A view is extended with the events added since `base` when no
    /// change since removed or rewrote events, rebuilt otherwise; `spare` is a
    /// released view whose buffers an extension reuses; the population of
    /// `whole_layer` (the municipality's own figures) comes with the layers'.
    pub fn state(
        &mut self,
        base: Option<Base<'_>>,
        spare: Option<EventView>,
        whole_layer: &str,
    ) -> Result<Option<PgState>, PgError> {
        self.read_state(Some((base, spare)), whole_layer)
    }

    /// The database's state without its events (an empty view): the areas,
    /// population and survey rows a query answered by the database itself
    /// needs ([`PgStore::grouped_counts`]), whatever the number of events.
    pub fn state_without_events(&mut self, whole_layer: &str) -> Result<PgState, PgError> {
        let url = self.url.clone();
        self.read_state(None, whole_layer)?
            .ok_or_else(|| PgError::Corrupt {
                url,
                table: "trygg_meta",
                row: meta::DATA_VERSION.into(),
                column: "value",
                reason: "no state read".into(),
            })
    }

    /// [`PgStore::state`] with `events` its base and spare view, or without
    /// events (`None`).
    fn read_state(
        &mut self,
        events: Option<(Option<Base<'_>>, Option<EventView>)>,
        whole_layer: &str,
    ) -> Result<Option<PgState>, PgError> {
        let url = self.url.clone();
        let mut tx = snapshot_transaction(&mut self.client, &url)?;
        let version = version_in(&mut tx, &url, meta::DATA_VERSION)?;
        let (view, max_fid, extended) = match events {
            None => {
                let origin = view_origin(&mut tx, &url)?;
                (EventViewBuilder::new(origin).build(), 0, None)
            }
            Some((base, _)) if base.is_some_and(|(_, v, _)| v == version) => return Ok(None),
            Some((base, spare)) => {
                let rewritten = version_in(&mut tx, &url, meta::REWRITTEN_VERSION)?;
                match base {
                    Some((view, v, max_fid)) if v <= version && rewritten <= v => {
                        let (added, new_max) = view_rows(&mut tx, &url, view.origin(), max_fid)?;
                        let n = added.len() as u64;
                        (view.extended(added, spare), new_max, Some(n))
                    }
                    _ => {
                        let origin = view_origin(&mut tx, &url)?;
                        let (builder, max_fid) = view_rows(&mut tx, &url, origin, 0)?;
                        (builder.build(), max_fid, None)
                    }
                }
            }
        };
        let mut layers = Vec::new();
        let mut pop = Vec::new();
        for info in area_layers(&mut tx, &url)? {
            pop.extend(population(&mut tx, &url, &info.name)?);
            let areas = areas(&mut tx, &url, &info.name)?;
            layers.push((info, areas));
        }
        pop.extend(population(&mut tx, &url, whole_layer)?);
        let survey = tx
            .query(
                "SELECT stadsdel, attributes::text FROM events
                 WHERE source = $1 AND category_norm = $2 ORDER BY source_id COLLATE \"C\"",
                &[
                    &Source::Survey.as_str(),
                    &NormCategory::SurveyResponse.as_str(),
                ],
            )
            .map_err(on_db(&url))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let state = PgState {
            version,
            view,
            max_fid,
            extended,
            layers,
            population: pop,
            synthetic: meta_in(&mut tx, &url, meta::SYNTHETIC)?.as_deref() == Some("true"),
            notice: meta_in(&mut tx, &url, meta::NOTICE)?,
            municipality: meta_in(&mut tx, &url, meta::MUNICIPALITY)?,
            survey,
            study_extent: study_extent(&mut tx, &url)?,
        };
        tx.commit().map_err(on_db(&url))?;
        Ok(Some(state))
    }
}
