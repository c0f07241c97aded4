//! The police events API (`/api/events`): a JSON array of
//! `{id, datetime, name, summary, url, type, location: {name, gps}}`.
//!
//! `datetime` is the publication time; the event time is in `name`
//! ("17 januari 23.39, Larm Överfall, Stockholm") without a year, which is inferred
//! from the publication time. "Sammanfattning" entries are reports, not events, and
//! are skipped. The array is read element by element so that a download cut off
//! half-way still yields every complete event before the cut.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::Value;
use trygg_model::time::{plausible_years, stockholm_local_noted, LocalNote};
use trygg_model::NormCategory;

use crate::candidate::{Candidate, Parsed, RawLocation, RowError};
use crate::file_error::FileError;

use trygg_model::time::SWEDISH_MONTHS as MONTHS;

/// Parses a police events API response.
///
/// Returns one [`Parsed`] per array element (rows are 1-based indexes), plus, for a
/// truncated or malformed file, one final [`Parsed::Reject`] without a row saying
/// where the file broke off. A file that is not a JSON array at all, is empty or is
/// not UTF-8 is an error.
pub fn parse_police(bytes: &[u8]) -> Result<Vec<Parsed>, FileError> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    // A download cut inside a multi-byte character leaves an incomplete sequence at
    // the very end: that is truncation, not a wrong encoding.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
                .map_err(|_| FileError::file("file is not UTF-8"))?
        }
        Err(e) => {
            return Err(FileError::file(format!(
                "file is not UTF-8 (invalid byte at offset {}); the police API always sends UTF-8",
                e.valid_up_to()
            )))
        }
    };
    let mut cursor = Cursor { text, pos: 0 };
    cursor.skip_ws();
    match cursor.peek() {
        None => return Err(FileError::file("file is empty")),
        Some(b'[') => cursor.pos += 1,
        Some(b'{') => {
            return Err(FileError::file(
                "not a JSON array but an object; expected the police events API's array of events",
            ))
        }
        Some(_) => {
            return Err(FileError::file(
                "not a JSON array; expected the police events API's array of events",
            ))
        }
    }

    let mut rows = Vec::new();
    let mut complete: usize = 0;
    loop {
        cursor.skip_ws();
        if complete == 0 && cursor.peek() == Some(b']') {
            cursor.pos += 1;
            break;
        }
        if cursor.peek().is_none() {
            rows.push(cursor.broken(complete, "the array is not closed", true));
            return Ok(rows);
        }
        let start = cursor.pos;
        let rest = text.get(start..).unwrap_or_default();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let end = start + stream.byte_offset();
                complete += 1;
                let row = u64::try_from(complete).unwrap_or(u64::MAX);
                rows.push(parse_element(
                    row,
                    &value,
                    text.get(start..end).unwrap_or_default(),
                ));
                cursor.pos = end;
            }
            Some(Err(e)) if e.is_eof() => {
                cursor.pos = text.len();
                rows.push(cursor.broken(complete, &serde_message(&e), true));
                return Ok(rows);
            }
            Some(Err(e)) => {
                // Report the error where serde_json found it, in file coordinates.
                let (line, column) = cursor.line_column(start);
                let (line, column) = if e.line() <= 1 {
                    (line, column + e.column().saturating_sub(1))
                } else {
                    (line + e.line() - 1, e.column())
                };
                rows.push(broken_at(line, column, complete, &serde_message(&e), false));
                return Ok(rows);
            }
            None => {
                cursor.pos = text.len();
                rows.push(cursor.broken(complete, "the array is not closed", true));
                return Ok(rows);
            }
        }
        cursor.skip_ws();
        match cursor.peek() {
            Some(b',') => cursor.pos += 1,
            Some(b']') => {
                cursor.pos += 1;
                break;
            }
            None => {
                rows.push(cursor.broken(complete, "the array is not closed", true));
                return Ok(rows);
            }
            Some(other) => {
                let reason = format!(
                    "expected ',' or ']' after an event, found '{}'",
                    char::from(other)
                );
                rows.push(cursor.broken(complete, &reason, false));
                return Ok(rows);
            }
        }
    }
    cursor.skip_ws();
    if cursor.peek().is_some() {
        rows.push(cursor.broken(complete, "unexpected text after the array", false));
    }
    Ok(rows)
}

/// A position in the file text.
struct Cursor<'t> {
    text: &'t str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, pos: usize) -> (usize, usize) {
        let before = self.text.get(..pos).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn broken(&self, complete: usize, reason: &str, truncated: bool) -> Parsed {
        let (line, column) = self.line_column(self.pos);
        broken_at(line, column, complete, reason, truncated)
    }
}

/// The final rejection of a file that broke off (or went wrong) after `complete`
/// elements.
fn broken_at(line: usize, column: usize, complete: usize, reason: &str, truncated: bool) -> Parsed {
    let what = if truncated { "truncated" } else { "malformed" };
    let rest = if truncated {
        ""
    } else {
        "; the rest of the file is skipped"
    };
    Parsed::Reject(RowError {
        row: None,
        field: None,
        reason: format!("file is {what} at line {line}, column {column} after {complete} complete events: {reason}{rest}"),
        raw: None,
    })
}

/// serde_json's message without its position (which is relative to one element).
fn serde_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// Reads one array element.
fn parse_element(row: u64, value: &Value, raw: &str) -> Parsed {
    match event(row, value, raw) {
        Ok(parsed) => parsed,
        Err((field, reason)) => Parsed::Reject(RowError {
            row: Some(row),
            field: field.map(str::to_owned),
            reason,
            raw: Some(raw.to_owned()),
        }),
    }
}

type Failure = (Option<&'static str>, String);

fn event(row: u64, value: &Value, raw: &str) -> Result<Parsed, Failure> {
    let Value::Object(object) = value else {
        return Err((None, "element is not a JSON object".to_owned()));
    };
    let string = |field: &'static str, v: Option<&Value>| -> Result<String, Failure> {
        match v {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Err((Some(field), "is missing".to_owned())),
            Some(other) => Err((Some(field), format!("is not a string: {other}"))),
        }
    };
    let kind = string("type", object.get("type"))?;
    if kind.trim_start().starts_with("Sammanfattning") {
        return Ok(Parsed::Skip {
            row,
            reason: format!("summary entry ({kind}), not an event"),
        });
    }
    let source_id = match object.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.clone()
        }
        None | Some(Value::Null) => return Err((Some("id"), "is missing".to_owned())),
        Some(other) => return Err((Some("id"), format!("{other} is not a non-negative integer"))),
    };
    let datetime = string("datetime", object.get("datetime"))?;
    let published = DateTime::parse_from_str(datetime.trim(), "%Y-%m-%d %H:%M:%S %:z")
        .ok()
        .filter(|t| plausible_years().contains(&t.year()))
        .ok_or_else(|| {
            (
                Some("datetime"),
                format!("cannot read '{datetime}' as a time like '2024-02-01 7:04:33 +01:00'"),
            )
        })?;
    let name = string("name", object.get("name"))?;
    let (occurred_at, time_note) = event_time(&name, published).ok_or_else(|| {
        (
            Some("name"),
            format!("cannot read the event time from '{name}'; expected '<day> <month> <HH.MM>, <type>, <place>'"),
        )
    })?;
    let summary = string("summary", object.get("summary"))?;
    let location = match object.get("location") {
        Some(Value::Object(location)) => location,
        None | Some(Value::Null) => return Err((Some("location"), "is missing".to_owned())),
        Some(other) => return Err((Some("location"), format!("is not an object: {other}"))),
    };
    let location_name = string("location.name", location.get("name"))?;
    let gps = string("location.gps", location.get("gps"))?;
    let (lat, lon) = parse_gps(&gps).ok_or_else(|| {
        (
            Some("location.gps"),
            format!("'{gps}' is not a 'latitude,longitude' pair"),
        )
    })?;
    Ok(Parsed::Event(Candidate {
        row,
        source_id,
        occurred_at,
        occurred_to: None,
        reported_at: Some(published),
        category_norm: NormCategory::classify(&kind),
        category: kind,
        location: RawLocation::Police {
            lat,
            lon,
            location_name,
            text: summary,
        },
        time_precision: trygg_model::TimePrecision::Exact,
        time_note,
        // The element as compact JSON, keys in the feed's order: the same value
        // as the feed's indented text (`raw`, kept for rejections) in about two
        // thirds of the bytes.
        attributes: value.to_string(),
        raw: raw.to_owned(),
    }))
}

/// Reads `"lat,lng"`: two finite numbers within the ranges of latitude and longitude.
fn parse_gps(gps: &str) -> Option<(f64, f64)> {
    let (lat, lon) = gps.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok()?;
    let lon: f64 = lon.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Reads the day, month, hour and minute from an event name such as
/// "17 januari 23.39, Larm Överfall, Stockholm".
fn name_parts(name: &str) -> Option<(u32, u32, u32, u32)> {
    let head = name.split(',').next()?;
    let mut words = head.split_whitespace();
    let (day, month, time) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let day = number(day).filter(|d| (1..=31).contains(d))?;
    let month = month.to_lowercase();
    let month = MONTHS
        .iter()
        .position(|m| *m == month)
        .and_then(|i| u32::try_from(i + 1).ok())?;
    let (hour, minute) = time.split_once(['.', ':'])?;
    let hour = number(hour).filter(|h| *h < 24)?;
    let minute = number(minute).filter(|m| *m < 60 && minute.len() == 2)?;
    Some((day, month, hour, minute))
}

/// The event time named in `name`, in the year (publication year -1, 0 or +1) that
/// puts it closest to the publication time.
/// Also says whether that local time was in a daylight-saving gap or repeat.
fn event_time(
    name: &str,
    published: DateTime<FixedOffset>,
) -> Option<(DateTime<FixedOffset>, Option<LocalNote>)> {
    let (day, month, hour, minute) = name_parts(name)?;
    let year = published.year();
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .filter_map(|date| date.and_hms_opt(hour, minute, 0))
        .map(|naive: NaiveDateTime| stockholm_local_noted(naive))
        .min_by_key(|(t, _)| {
            (t.signed_duration_since(published))
                .num_seconds()
                .unsigned_abs()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeDelta, Timelike};
    use proptest::prelude::*;

    const SAMPLE: &[u8] = include_bytes!("../../../tests/fixtures/polisen-events-sample.json");

    fn published(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %:z").expect("valid")
    }

    #[test]
    fn real_sample_parses_without_rejects() {
        let rows = parse_police(SAMPLE).expect("valid file");
        assert_eq!(rows.len(), 600);
        let skips = rows
            .iter()
            .filter(|r| matches!(r, Parsed::Skip { .. }))
            .count();
        let events: Vec<&Candidate> = rows
            .iter()
            .filter_map(|r| match r {
                Parsed::Event(c) => Some(c),
                _ => None,
            })
            .collect();
        let rejects = rows
            .iter()
            .filter(|r| matches!(r, Parsed::Reject(_)))
            .count();
        assert_eq!(skips, 108);
        assert_eq!(events.len(), 492);
        assert_eq!(rejects, 0);
        assert_eq!(skips + events.len() + rejects, 600);

        let first = events[0];
        assert_eq!(first.row, 1);
        assert_eq!(first.source_id, "499115");
        assert_eq!(first.category, "Olaga hot");
        assert_eq!(first.category_norm, NormCategory::Threats);
        assert_eq!(first.occurred_at.to_rfc3339(), "2024-02-01T16:59:00+01:00");
        assert_eq!(
            first.reported_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-02-01T16:59:18+01:00")
        );
        assert_eq!(
            first.location,
            RawLocation::Police {
                lat: 59.402181,
                lon: 13.511498,
                location_name: "Karlstad".into(),
                text: "En man i fyrtioårsåldern har gripits och anhållits misstänkt för olaga hot."
                    .into(),
            }
        );
        assert!(first.raw.starts_with('{') && first.raw.ends_with('}'));
        let raw: Value = serde_json::from_str(&first.raw).expect("verbatim element");
        let attributes: Value = serde_json::from_str(&first.attributes).expect("JSON");
        assert_eq!(attributes, raw, "the attributes are the element itself");
        assert!(
            !first.attributes.contains('\n') && !first.attributes.contains(": "),
            "compact: {}",
            first.attributes
        );
        assert!(
            first.attributes.starts_with(r#"{"id":499115,"#),
            "feed order"
        );
        assert_eq!(raw["id"], 499115);
        assert_eq!(
            rows[1],
            Parsed::Skip {
                row: 2,
                reason: "summary entry (Sammanfattning kväll och natt), not an event".into()
            }
        );
        // Events are published within days of happening (one real event, 501479,
        // names a time 15 hours after its publication: the source's own quirk).
        for c in &events {
            let published = c.reported_at.expect("published");
            let lag = published.signed_duration_since(c.occurred_at);
            assert!(
                lag > TimeDelta::days(-1) && lag < TimeDelta::days(20),
                "{}: {lag}",
                c.source_id
            );
        }
        let ids: std::collections::HashSet<&str> =
            events.iter().map(|c| c.source_id.as_str()).collect();
        assert_eq!(ids.len(), events.len());
    }

    #[test]
    fn year_is_inferred_across_new_year() {
        let t = event_time(
            "31 december 23.10, Brand, Stockholm",
            published("2024-01-02 8:00:00 +01:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2023-12-31T23:10:00+01:00")
        );
        let t = event_time(
            "1 Januari 00.05, Brand, Stockholm",
            published("2023-12-31 23:59:00 +01:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-01-01T00:05:00+01:00")
        );
        let t = event_time(
            "29 februari 12.00, Rån, Malmö",
            published("2024-03-01 9:00:00 +01:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-02-29T12:00:00+01:00")
        );
        assert_eq!(
            event_time(
                "32 januari 12.00, Rån, Malmö",
                published("2024-03-01 9:00:00 +01:00")
            ),
            None
        );
        assert_eq!(
            event_time("Rån, Malmö", published("2024-03-01 9:00:00 +01:00")),
            None
        );
        assert_eq!(
            event_time(
                "12 jan 12.00, Rån, Malmö",
                published("2024-03-01 9:00:00 +01:00")
            ),
            None
        );
    }

    fn reject_of(json: &str) -> RowError {
        let rows = parse_police(json.as_bytes()).expect("an array");
        match rows.as_slice() {
            [Parsed::Reject(e)] => e.clone(),
            other => panic!("expected one rejection, got {other:?}"),
        }
    }

    const GOOD: &str = r#"{"id":1,"datetime":"2024-02-01 7:04:33 +01:00","name":"01 februari 06.50, Rån, Solna","summary":"I Hagalund.","url":"/x","type":"Rån","location":{"name":"Solna","gps":"59.36,18.0"}}"#;

    #[test]
    fn event_times_on_daylight_saving_days() {
        let t = event_time(
            "31 mars 01.30, Rån, Solna",
            published("2024-03-31 9:00:00 +02:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T01:30:00+01:00")
        );
        let t = event_time(
            "31 mars 03.30, Rån, Solna",
            published("2024-03-31 9:00:00 +02:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T03:30:00+02:00")
        );
        // 02.30 does not exist that night: read as winter time, i.e. 03:30 summer time.
        let t = event_time(
            "31 mars 02.30, Rån, Solna",
            published("2024-03-31 9:00:00 +02:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-03-31T03:30:00+02:00")
        );
        assert_eq!(t.and_then(|(_, note)| note), Some(LocalNote::Gap));
        // 02.30 happens twice in October: the first (summer time) is chosen.
        let t = event_time(
            "27 oktober 02.30, Rån, Solna",
            published("2024-10-27 9:00:00 +01:00"),
        );
        assert_eq!(
            t.map(|(t, _)| t.to_rfc3339()).as_deref(),
            Some("2024-10-27T02:30:00+02:00")
        );
        assert_eq!(t.and_then(|(_, note)| note), Some(LocalNote::Repeated));
    }

    #[test]
    fn api_error_object_fixture_is_a_file_error() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/bad/police-not-array.json"
        );
        let err = parse_police(&std::fs::read(path).expect("fixture")).expect_err("not an array");
        assert!(
            err.reason.starts_with("not a JSON array but an object"),
            "{err}"
        );
    }

    #[test]
    fn elements_with_bad_or_missing_fields_are_rejected_by_field() {
        let cases = [
            (GOOD.replace("\"id\":1", "\"id\":-3"), "id"),
            (GOOD.replace("\"id\":1,", ""), "id"),
            (GOOD.replace("7:04:33", "7.04"), "datetime"),
            (GOOD.replace("01 februari 06.50", "01 febr 06.50"), "name"),
            (GOOD.replace("59.36,18.0", "59.36"), "location.gps"),
            (GOOD.replace("59.36,18.0", "NaN,18.0"), "location.gps"),
            (GOOD.replace(",\"gps\":\"59.36,18.0\"", ""), "location.gps"),
            (GOOD.replace("\"summary\":\"I Hagalund.\",", ""), "summary"),
            (GOOD.replace("\"type\":\"Rån\"", "\"type\":7"), "type"),
        ];
        for (json, field) in cases {
            let e = reject_of(&format!("[{json}]"));
            assert_eq!(e.field.as_deref(), Some(field), "{json}: {e:?}");
            assert_eq!(e.row, Some(1));
            assert_eq!(e.raw.as_deref(), Some(json.as_str()));
        }
        let e = reject_of("[[1,2]]");
        assert_eq!(
            (e.field, e.reason.as_str()),
            (None, "element is not a JSON object")
        );
        let e = reject_of(&format!(
            "[{}]",
            GOOD.replace("01 februari 06.50", "1 februari 6")
        ));
        assert!(
            e.reason.contains("'1 februari 6, Rån, Solna'"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn string_ids_of_digits_are_accepted() {
        let rows =
            parse_police(format!("[{}]", GOOD.replace("\"id\":1", "\"id\":\"42\"")).as_bytes())
                .expect("array");
        assert!(matches!(&rows[0], Parsed::Event(c) if c.source_id == "42"));
    }

    #[test]
    fn not_an_array_empty_or_not_utf8_is_a_file_error() {
        for (bytes, needle) in [
            (&b""[..], "empty"),
            (b"  \n ", "empty"),
            (b"{\"error\":\"rate limited\"}", "object"),
            (b"<html>", "not a JSON array"),
            (b"[{\"type\":\"R\xe5n\"}]", "not UTF-8"),
        ] {
            let err = parse_police(bytes).expect_err("file error");
            assert!(err.reason.contains(needle), "{err}");
        }
        assert_eq!(parse_police(b" [ ] ").expect("empty array"), []);
    }

    #[test]
    fn truncated_fixture_keeps_the_complete_events() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/bad/police-truncated.json"
        );
        let bytes = std::fs::read(path).expect("fixture");
        let rows = parse_police(&bytes).expect("salvaged");
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert!(matches!(&rows[0], Parsed::Event(c) if c.source_id == "499115"));
        assert!(matches!(&rows[1], Parsed::Skip { row: 2, .. }));
        assert!(matches!(
            &rows[2],
            Parsed::Event(Candidate { location: RawLocation::Police { lat, lon, location_name, .. }, .. })
                if (*lat, *lon, location_name.as_str()) == (59.329324, 18.068581, "Stockholm")
        ));
        let Parsed::Reject(e) = &rows[3] else {
            panic!("{:?}", rows[3])
        };
        assert_eq!((e.row, e.field.as_deref()), (None, None));
        assert_eq!(
            e.reason,
            "file is truncated at line 42, column 30 after 3 complete events: EOF while parsing a string"
        );
    }

    #[test]
    fn malformed_element_reports_the_file_position() {
        let text = format!("[{GOOD},\n  {{\"id\": 2, oops}}]");
        let rows = parse_police(text.as_bytes()).expect("salvaged");
        assert_eq!(rows.len(), 2);
        let Parsed::Reject(e) = &rows[1] else {
            panic!("{:?}", rows[1])
        };
        assert!(e.reason.starts_with("file is malformed at line 2, column 13 after 1 complete events: key must be a string"), "{}", e.reason);
        let rows = parse_police(format!("[{GOOD}] trailing").as_bytes()).expect("salvaged");
        assert!(
            matches!(&rows[1], Parsed::Reject(e) if e.reason.contains("unexpected text after the array"))
        );
    }

    #[test]
    fn every_prefix_of_the_sample_salvages_the_events_before_the_cut() {
        let full = parse_police(SAMPLE).expect("valid file");
        let step = 977; // a prime, so the cuts land on all kinds of bytes
        for cut in (1..SAMPLE.len())
            .step_by(step)
            .chain([SAMPLE.len() - 1, SAMPLE.len() - 2])
        {
            let rows = parse_police(&SAMPLE[..cut]).expect("a truncated array is salvaged");
            let (last, before) = rows.split_last().expect("at least the truncation notice");
            let Parsed::Reject(e) = last else {
                panic!("cut {cut}: {last:?}")
            };
            assert!(
                e.reason.starts_with("file is truncated"),
                "cut {cut}: {}",
                e.reason
            );
            assert_eq!(before, &full[..before.len()], "cut {cut}");
        }
    }

    fn month_strategy() -> impl Strategy<Value = NaiveDate> {
        // Every day of 2019-2031, which includes every DST change day in them.
        (0i64..(13 * 366)).prop_filter_map("in range", |d| {
            NaiveDate::from_ymd_opt(2019, 1, 1).map(|start| start + TimeDelta::days(d))
        })
    }

    proptest! {
        #[test]
        fn names_round_trip(date in month_strategy(), hour in 0u32..24, minute in 0u32..60, padded: bool, upper: bool) {
            let month = MONTHS[date.month0() as usize];
            let month = if upper { month.to_uppercase() } else { month.to_owned() };
            let day = if padded { format!("{:02}", date.day()) } else { date.day().to_string() };
            let name = format!("{day} {month} {hour:02}.{minute:02}, Larm Överfall, Stockholm");
            prop_assert_eq!(name_parts(&name), Some((date.day(), date.month(), hour, minute)));
        }

        #[test]
        fn year_inference_is_right_up_to_twenty_days_later(
            date in month_strategy(), hour in 0u32..24, minute in 0u32..60, lag_minutes in 0i64..(20 * 24 * 60),
        ) {
            let naive = date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("valid"));
            let occurred = trygg_model::time::stockholm_local(naive);
            let published = trygg_model::time::to_stockholm(occurred + TimeDelta::minutes(lag_minutes) + TimeDelta::seconds(17));
            let name = format!("{:02} {} {:02}.{:02}, Rån, Solna", date.day(), MONTHS[date.month0() as usize], naive.hour(), naive.minute());
            prop_assert_eq!(event_time(&name, published).map(|(t, _)| t), Some(occurred));
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_police(&bytes);
            let mut array = b"[".to_vec();
            array.extend_from_slice(&bytes);
            let _ = parse_police(&array);
        }

        #[test]
        fn never_panics_on_mangled_events(cut in 0usize..400, byte: u8, at in 0usize..400) {
            let mut bytes = format!("[{GOOD},{GOOD}]").into_bytes();
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            bytes.truncate(cut);
            let _ = parse_police(&bytes);
        }
    }
}
