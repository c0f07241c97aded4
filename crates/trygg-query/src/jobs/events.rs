//! Point-level events: the matching events of a selection, optionally inside a
//! WGS 84 bounding box, in time order, a page at a time (`cursor`) or all of them
//! for an export ([`EventsRequest::for_each`]). Categories the access policy hides
//! ([`crate::access::Policy`]) are never returned, whatever the request asks.

use crate::access::Hidden;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::encode::{Cell, Table, Tabular};
use crate::error::QueryError;
use crate::jobs::{Job, Options, Proj};
use crate::params::{RangeParams, SelectionParams};
use crate::snapshot::{DataInfo, Snapshot};
use trygg_analytics::selection::Selection;

/// The largest page.
pub const MAX_LIMIT: usize = 10_000;
/// The page size when none is asked.
pub const DEFAULT_LIMIT: usize = 1_000;

/// Events, filtered, paged.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EventsRequest {
    /// The days.
    #[serde(flatten)]
    pub range: RangeParams,
    /// Which events.
    #[serde(flatten)]
    pub selection: SelectionParams,
    /// `min_lon,min_lat,max_lon,max_lat` (WGS 84); only point-precision events
    /// (exact, address, street) fall in a box.
    pub bbox: Option<String>,
    /// Events per page (default 1,000, at most 10,000).
    pub limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`).
    pub cursor: Option<String>,
    /// Categories the access policy hides (set by the front end from the policy,
    /// never by the requester).
    #[serde(skip)]
    #[schemars(skip)]
    pub hidden: Hidden,
}

/// One event as published.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EventRow {
    /// Occurred at (UTC, RFC 3339).
    pub occurred_at: String,
    /// Interval end, when the time is an interval.
    pub occurred_to: Option<String>,
    /// `exact`, `interval` or `date`.
    pub time_precision: &'static str,
    /// The source.
    pub source: &'static str,
    /// The source's category text.
    pub category: String,
    /// The normalised category.
    pub category_norm: &'static str,
    /// How precise the position is.
    pub precision: &'static str,
    /// The stadsdel's name.
    pub stadsdel: Option<String>,
    /// WGS 84 longitude (7 decimals).
    pub lon: f64,
    /// WGS 84 latitude.
    pub lat: f64,
    /// SWEREF 99 TM easting.
    pub x: f64,
    /// SWEREF 99 TM northing.
    pub y: f64,
}

/// A page of events.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EventsResult {
    /// The data.
    pub data: DataInfo,
    /// The request as given.
    pub request: EventsRequest,
    /// The events, in time order.
    pub events: Vec<EventRow>,
    /// Give this as `cursor` for the next page (`None`: this was the last).
    pub next_cursor: Option<String>,
    /// Events left out of an hour/weekday filter for an unknown time of day.
    pub left_out_imprecise_time: u64,
}

/// A validated events request.
#[derive(Debug, Clone)]
pub struct ValidEvents {
    selection: Selection,
    bbox: Option<[f64; 4]>,
    limit: usize,
    /// (data version, first view index) of the page.
    cursor: Option<(u64, usize)>,
}

fn bbox(text: &str) -> Result<[f64; 4], QueryError> {
    let bad = |why: &str| QueryError::invalid("bbox", format!("'{text}': {why}"));
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("give four numbers min_lon,min_lat,max_lon,max_lat"))?;
    let [a, b, c, d] = v[..] else {
        return Err(bad("give four numbers min_lon,min_lat,max_lon,max_lat"));
    };
    if !(-180.0..=180.0).contains(&a) || !(-180.0..=180.0).contains(&c) {
        return Err(bad("longitudes must be within -180..180"));
    }
    if !(-90.0..=90.0).contains(&b) || !(-90.0..=90.0).contains(&d) {
        return Err(bad("latitudes must be within -90..90"));
    }
    if a > c || b > d {
        return Err(bad("the minimum is above the maximum"));
    }
    Ok([a, b, c, d])
}

fn cursor(text: &str) -> Result<(u64, usize), QueryError> {
    text.split_once('.')
        .and_then(|(v, i)| Some((v.parse().ok()?, i.parse().ok()?)))
        .ok_or_else(|| QueryError::invalid("cursor", format!("'{text}' is not a cursor")))
}

impl ValidEvents {
    /// The snapshot's index range to scan and the EPSG:3006 box.
    fn plan(&self, snap: &Snapshot, proj: &Proj) -> Result<(usize, Option<[f64; 4]>), QueryError> {
        let start = match self.cursor {
            Some((version, _)) if version != snap.data().version => {
                return Err(QueryError::invalid(
                    "cursor",
                    "the data changed since this cursor was made: start again without a cursor",
                ))
            }
            Some((_, i)) => i,
            None => 0,
        };
        let store_box = self.bbox.map(|b| proj.store_envelope(b)).transpose()?;
        Ok((start, store_box))
    }
}

impl EventsRequest {
    /// Calls `f` with every matching event from the page start, in time order,
    /// until it returns `false`; returns the index after the last one looked at
    /// and how many were left out for an unknown time of day.
    fn scan(
        &self,
        valid: &ValidEvents,
        snap: &Snapshot,
        proj: &Proj,
        mut f: impl FnMut(usize) -> Result<bool, QueryError>,
    ) -> Result<(Option<usize>, u64), QueryError> {
        let (start, store_box) = valid.plan(snap, proj)?;
        let view = snap.view();
        let mut matcher = valid.selection.matcher();
        let hidden_texts = self.hidden.codes(view);
        let range = matcher.clip(view, start..view.len());
        for i in range {
            if !matcher.matches(view, i)
                || self.hidden.hides_norm(view.category_norm(i))
                || hidden_texts[usize::from(view.category_code(i))]
            {
                continue;
            }
            if let (Some([x0, y0, x1, y1]), Some([w, s, e, n])) = (store_box, valid.bbox) {
                // The SWEREF envelope holds the WGS 84 box and a little more
                // (its edges are curves there): the envelope first, then the
                // box itself, so that every event is inside what was asked.
                let (x, y) = view.xy(i);
                if !view.precision(i).is_point() || x < x0 || x > x1 || y < y0 || y > y1 {
                    continue;
                }
                let [lon, lat] = proj.lon_lat(x, y)?;
                if lon < w || lon > e || lat < s || lat > n {
                    continue;
                }
            }
            if !f(i)? {
                return Ok((Some(i), matcher.left_out()));
            }
        }
        Ok((None, matcher.left_out()))
    }

    /// Every matching event (no paging), for an export; returns how many.
    pub fn for_each(
        &self,
        snap: &Snapshot,
        mut f: impl FnMut(&EventRow) -> Result<(), QueryError>,
    ) -> Result<u64, QueryError> {
        let valid = self.validate()?;
        let proj = Proj::new()?;
        let mut n = 0u64;
        self.scan(&valid, snap, &proj, |i| {
            f(&row(snap, &proj, i)?)?;
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    }
}

/// An instant (Unix seconds) as RFC 3339 UTC.
pub fn rfc3339(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn row(snap: &Snapshot, proj: &Proj, i: usize) -> Result<EventRow, QueryError> {
    let view = snap.view();
    let (x, y) = view.xy(i);
    let [lon, lat] = proj.lon_lat(x, y)?;
    let round7 = |v: f64| (v * 1e7).round() / 1e7;
    let code = usize::from(view.stadsdel_code(i));
    Ok(EventRow {
        occurred_at: rfc3339(view.time(i)),
        occurred_to: view.time_to(i).map(rfc3339),
        time_precision: view.time_precision(i).as_str(),
        source: view.source(i).as_str(),
        category: view.category(i).to_owned(),
        category_norm: view.category_norm(i).as_str(),
        precision: view.precision(i).as_str(),
        stadsdel: view.stadsdel_names().get(code).cloned(),
        lon: round7(lon),
        lat: round7(lat),
        x: (x * 100.0).round() / 100.0,
        y: (y * 100.0).round() / 100.0,
    })
}

impl Job for EventsRequest {
    const NAME: &'static str = "events";
    type Valid = ValidEvents;
    type Output = EventsResult;

    fn validate(&self) -> Result<ValidEvents, QueryError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::invalid(
                "limit",
                format!("{limit} is not 1..={MAX_LIMIT}"),
            ));
        }
        Ok(ValidEvents {
            selection: self.selection.validate(Some(&self.range))?,
            bbox: self.bbox.as_deref().map(bbox).transpose()?,
            limit,
            cursor: self.cursor.as_deref().map(cursor).transpose()?,
        })
    }

    fn execute(
        &self,
        valid: ValidEvents,
        snap: &Snapshot,
        _opts: &Options,
    ) -> Result<EventsResult, QueryError> {
        let proj = Proj::new()?;
        let mut events = Vec::new();
        let (stopped, left_out) = self.scan(&valid, snap, &proj, |i| {
            if events.len() == valid.limit {
                return Ok(false);
            }
            events.push(row(snap, &proj, i)?);
            Ok(true)
        })?;
        Ok(EventsResult {
            data: snap.data().clone(),
            request: self.clone(),
            events,
            next_cursor: stopped.map(|i| format!("{}.{i}", snap.data().version)),
            left_out_imprecise_time: left_out,
        })
    }
}

/// The columns of an event table.
pub const EVENT_COLUMNS: [&str; 12] = [
    "occurred_at",
    "occurred_to",
    "time_precision",
    "source",
    "category",
    "category_norm",
    "precision",
    "stadsdel",
    "lon",
    "lat",
    "x_sweref99tm",
    "y_sweref99tm",
];

impl EventRow {
    /// The row's cells, in [`EVENT_COLUMNS`] order.
    pub fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.occurred_at.clone()),
            self.occurred_to.as_deref().into(),
            self.time_precision.into(),
            self.source.into(),
            Cell::Text(self.category.clone()),
            self.category_norm.into(),
            self.precision.into(),
            self.stadsdel.as_deref().into(),
            Cell::Float(self.lon),
            Cell::Float(self.lat),
            Cell::Float(self.x),
            Cell::Float(self.y),
        ]
    }

    /// Its GeoJSON point (WGS 84).
    pub fn geometry(&self) -> serde_json::Value {
        serde_json::json!({"type": "Point", "coordinates": [self.lon, self.lat]})
    }
}

impl Tabular for EventsResult {
    fn table(&self) -> Table {
        Table {
            columns: EVENT_COLUMNS.to_vec(),
            rows: self.events.iter().map(EventRow::cells).collect(),
            geometry: Some(self.events.iter().map(|e| Some(e.geometry())).collect()),
        }
    }
}
