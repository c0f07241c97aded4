//! Query strings and JSON bodies read into the query layer's request types,
//! checked against the same JSON Schema that the OpenAPI document publishes:
//! an unknown parameter, a parameter given twice or a value of the wrong type is
//! a 400 naming the parameter before the request type sees it.

use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The top-level properties of `T`'s schema (flattened structs merged).
pub fn properties<T: JsonSchema>() -> (Schema, Map<String, Value>) {
    let schema = schemars::schema_for!(T);
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    (schema, props)
}

fn types(prop: &Value) -> Vec<&str> {
    match prop.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Converts one text value by its property's schema.
fn typed(name: &str, prop: &Value, text: &str) -> Result<Value, ApiError> {
    let t = types(prop);
    let bad = |what: &str| ApiError::invalid(name, format!("cannot read '{text}' as {what}"));
    let bound = |v: f64| -> Result<(), ApiError> {
        if let Some(min) = prop.get("minimum").and_then(Value::as_f64) {
            if v < min {
                return Err(ApiError::invalid(name, format!("{text} is below {min}")));
            }
        }
        if let Some(max) = prop.get("maximum").and_then(Value::as_f64) {
            if v > max {
                return Err(ApiError::invalid(name, format!("{text} is above {max}")));
            }
        }
        Ok(())
    };
    let trimmed = text.trim();
    if t.contains(&"integer") {
        let v: i64 = trimmed.parse().map_err(|_| bad("a whole number"))?;
        bound(v as f64)?;
        return Ok(Value::from(v));
    }
    if t.contains(&"number") {
        let v: f64 = trimmed
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad("a number"))?;
        bound(v)?;
        return Ok(Value::from(v));
    }
    if t.contains(&"boolean") {
        return match trimmed {
            "true" | "1" | "yes" | "" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        };
    }
    Ok(Value::String(text.to_owned()))
}

/// Parameters every endpoint takes besides its request's, returned apart:
/// `municipality` limits the answer to one municipality of the store
/// (see [`crate::state::AppState::snapshot_for`]).
pub const SHARED: [&str; 1] = [trygg_query::snapshot::SCOPE_FIELD];

/// The `municipality` a request asks for, from the parameters returned apart.
pub fn asked_municipality(extra: &Map<String, Value>) -> Option<&str> {
    extra
        .get(trygg_query::snapshot::SCOPE_FIELD)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
}

/// Reads a query string into `T`; keys in `own` are the server's (e.g.
/// `format`) and returned apart, as are the [`SHARED`] ones.
pub fn from_query<T: DeserializeOwned + JsonSchema>(
    raw: Option<&str>,
    own: &[&str],
) -> Result<(T, Map<String, Value>), ApiError> {
    let (_, props) = properties::<T>();
    let mut map = Map::new();
    let mut extra = Map::new();
    for (key, text) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let key = key.into_owned();
        if own.contains(&key.as_str()) || SHARED.contains(&key.as_str()) {
            if extra
                .insert(key.clone(), Value::String(text.into_owned()))
                .is_some()
            {
                return Err(ApiError::invalid(&key, "given more than once"));
            }
            continue;
        }
        let Some(prop) = props.get(&key) else {
            let mut known: Vec<&str> = props.keys().map(String::as_str).collect();
            known.extend(own);
            known.extend(SHARED);
            return Err(ApiError::invalid(
                &key,
                format!("unknown parameter (known: {})", known.join(", ")),
            ));
        };
        if types(prop).contains(&"array") {
            let items = prop.get("items").cloned().unwrap_or(Value::Null);
            let list = map
                .entry(key.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            for part in text.split(',').filter(|p| !p.trim().is_empty()) {
                let v = typed(&key, &items, part.trim())?;
                if let Value::Array(a) = list {
                    a.push(v);
                }
            }
        } else {
            let v = typed(&key, prop, &text)?;
            if map.insert(key.clone(), v).is_some() {
                return Err(ApiError::invalid(&key, "given more than once"));
            }
        }
    }
    let value = serde_json::from_value(Value::Object(map)).map_err(|e| serde_error(&e))?;
    Ok((value, extra))
}

/// The query string of a POST (whose request is its body): only the `known`
/// and [`SHARED`] keys, each at most once, as strings.
pub fn post_query(query: Option<&str>, known: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !known.contains(&k.as_ref()) && !SHARED.contains(&k.as_ref()) {
            let all: Vec<&str> = known.iter().chain(&SHARED).copied().collect();
            return Err(ApiError::invalid(
                &k,
                format!("unknown parameter (known: {})", all.join(", ")),
            ));
        }
        if out
            .insert(k.clone().into_owned(), Value::String(v.into_owned()))
            .is_some()
        {
            return Err(ApiError::invalid(&k, "given more than once"));
        }
    }
    Ok(out)
}

/// Reads a JSON body into `T`, naming the field of a bad value.
pub fn from_body<T: DeserializeOwned + JsonSchema>(body: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("not JSON: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let (_, props) = properties::<T>();
    for (key, v) in obj {
        let Some(prop) = props.get(key) else {
            return Err(ApiError::invalid(key, "unknown field"));
        };
        let t = types(prop);
        let ok = t.is_empty()
            || match v {
                Value::Null => t.contains(&"null"),
                Value::Bool(_) => t.contains(&"boolean"),
                Value::Number(n) => {
                    t.contains(&"number") || (t.contains(&"integer") && (n.is_i64() || n.is_u64()))
                }
                Value::String(_) => t.contains(&"string"),
                Value::Array(_) => t.contains(&"array"),
                Value::Object(_) => t.contains(&"object"),
            };
        if !ok {
            return Err(ApiError::invalid(
                key,
                format!("must be {}", t.join(" or ")),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| serde_error(&e))
}

/// A serde error as a 400, naming the field when serde says which.
fn serde_error(e: &serde_json::Error) -> ApiError {
    let text = e.to_string();
    let field = ["field `", "missing field `"]
        .iter()
        .find_map(|p| text.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f.to_owned());
    ApiError::invalid(field.as_deref().unwrap_or("query"), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trygg_query::{CountsRequest, HotspotsRequest};

    #[test]
    fn query_strings_are_read_by_the_published_schema() {
        let (r, extra): (CountsRequest, _) = from_query(
            Some("period=2024&source=crimes,fires&source=shootings&suppress=5&by_source=true&format=csv"),
            &["format"],
        )
        .expect("reads");
        assert_eq!(r.period, "2024");
        assert_eq!(r.selection.source, ["crimes", "fires", "shootings"]);
        assert_eq!(r.disclosure.suppress, Some(5));
        assert!(r.by_source);
        assert_eq!(extra["format"], "csv");
        for (query, field) in [
            ("period=2024&suppress=many", "suppress"),
            ("period=2024&suppress=-1", "suppress"),
            ("period=2024&colour=red", "colour"),
            ("period=2024&period=2025", "period"),
            ("period=2024&format=csv&format=json", "format"),
        ] {
            let e = from_query::<CountsRequest>(Some(query), &["format"]).expect_err(query);
            assert_eq!(e.field.as_deref(), Some(field), "{query}: {e:?}");
        }
        let e = from_query::<HotspotsRequest>(Some("h3=300"), &[]).expect_err("u8");
        assert_eq!(e.field.as_deref(), Some("h3"));
        let e = from_query::<HotspotsRequest>(Some("grid=NaN"), &[]).expect_err("nan");
        assert_eq!(e.field.as_deref(), Some("grid"));
    }

    #[test]
    fn bodies_name_the_bad_field() {
        let e = from_body::<trygg_query::PolygonRequest>(br#"{"period": 2024}"#).expect_err("type");
        assert_eq!(e.field.as_deref(), Some("period"));
        let e = from_body::<trygg_query::PolygonRequest>(br#"{"nope": 1}"#).expect_err("unknown");
        assert_eq!(e.field.as_deref(), Some("nope"));
        let e = from_body::<trygg_query::PolygonRequest>(b"[1]").expect_err("array");
        assert_eq!(e.field.as_deref(), Some("body"));
    }
}
