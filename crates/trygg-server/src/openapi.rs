//! The OpenAPI 3.1 document, generated from the query layer's request types:
//! each query parameter is a property of the request's JSON Schema (the same
//! schema [`crate::params`] reads query strings by), so the document and the
//! server cannot disagree on a parameter.

use schemars::JsonSchema;
use serde_json::{json, Map, Value};
use trygg_query::encode::Format;
use trygg_query::jobs::counts::{CountsResult, PolygonResult, TableResult};
use trygg_query::jobs::events::EventsResult;
use trygg_query::jobs::hotspots::{ChangeResult, EmergingResult, HotspotsResult};
use trygg_query::jobs::survey::SurveyResult;
use trygg_query::jobs::time::{MatrixResult, TrendResult};
use trygg_query::{
    ChangeRequest, CountsRequest, EmergingRequest, EventsRequest, HotspotsRequest, MatrixRequest,
    PolygonRequest, SurveyRequest, TableRequest, TrendRequest, WeeklyRequest,
};

use crate::params::properties;

/// Query parameters of a request type (plus the server's own).
fn query_params<T: JsonSchema>(with_format: bool) -> Vec<Value> {
    let (schema, props) = properties::<T>();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out: Vec<Value> = props
        .iter()
        .map(|(name, prop)| {
            let mut schema = prop.clone();
            let description = schema
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            let mut p = json!({
                "name": name, "in": "query", "required": required.contains(&name.as_str()),
                "description": description, "schema": schema,
            });
            if prop.get("type").is_some_and(|t| t == "array") {
                p["style"] = json!("form");
                p["explode"] = json!(true);
            }
            p
        })
        .collect();
    out.push(municipality_param());
    if with_format {
        out.push(format_param());
    }
    out
}

/// The parameter every data endpoint takes ([`crate::params::SHARED`]).
fn municipality_param() -> Value {
    json!({
        "name": trygg_query::snapshot::SCOPE_FIELD, "in": "query", "required": false,
        "description": "Limit the answer to one municipality of the store's `kommun` layer (its code, e.g. 0184, or name): its events, its areas, its population. A key limited to a municipality always gets its own; asking for another is a 403.",
        "schema": {"type": "string"},
    })
}

fn format_param() -> Value {
    json!({
        "name": "format", "in": "query", "required": false,
        "description": "The encoding: json (default), csv, excel (Swedish Excel CSV), geojson, xlsx, gpkg, parquet.",
        "schema": {"type": "string", "enum": Format::NAMES},
    })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// `T`'s JSON Schema for the document: its definitions moved to
/// `components/schemas` (where OpenAPI resolves `$ref`s) and its references
/// rewritten to point there.
fn schema_of<T: JsonSchema>(components: &mut Map<String, Value>) -> Value {
    fn rewrite(v: &mut Value) {
        match v {
            Value::Object(o) => {
                // A tuple (`prefixItems`, as schemars writes it) becomes an
                // array whose items are any of the members (its length kept):
                // the fuzzer's OpenAPI 3.1 validator rejects `prefixItems`.
                if let Some(Value::Array(members)) = o.remove("prefixItems") {
                    o.insert("items".to_owned(), json!({"anyOf": members}));
                }
                if let Some(Value::String(r)) = o.get_mut("$ref") {
                    if let Some(name) = r.strip_prefix("#/$defs/") {
                        *r = format!("#/components/schemas/{name}");
                    }
                }
                o.values_mut().for_each(rewrite);
            }
            Value::Array(a) => a.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
        if let Some(Value::Object(defs)) = o.remove("$defs") {
            for (name, mut def) in defs {
                rewrite(&mut def);
                components.insert(name, def);
            }
        }
    }
    rewrite(&mut v);
    v
}

fn responses(kind: &str, result: Option<Value>) -> Value {
    let result = result.unwrap_or_else(|| json!({"type": "object"}));
    let ok = match kind {
        "table" => json!({
            "description": "The result (JSON), or its rows in the asked format.",
            "content": {
                "application/json": {"schema": result},
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": {"type": "object"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
                "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            }
        }),
        "text" => {
            json!({"description": "Text.", "content": {"text/plain": {"schema": {"type": "string"}}}})
        }
        "html" => {
            json!({"description": "A page.", "content": {"text/html": {"schema": {"type": "string"}}}})
        }
        _ => {
            json!({"description": "The answer.", "content": {"application/json": {"schema": {"type": "object"}}}})
        }
    };
    json!({
        "200": ok,
        "304": {"description": "Not modified (the ETag given in If-None-Match is current)."},
        "400": error_response("A parameter is wrong; `field` names it."),
        "401": error_response("An API key is needed, or the key is unknown."),
        "403": error_response("The key's role may not do this, or the key is limited to another municipality."),
        "404": error_response("No such layer, area, batch or municipality."),
        "422": error_response("Over a request budget; `field` names the parameter to change."),
        "503": error_response("Too many queries at once; see Retry-After."),
    })
}

fn op(summary: &str, role: &str, parameters: Vec<Value>, kind: &str) -> Value {
    typed_op(summary, role, parameters, kind, None)
}

fn typed_op(
    summary: &str,
    role: &str,
    parameters: Vec<Value>,
    kind: &str,
    result: Option<Value>,
) -> Value {
    json!({
        "summary": summary,
        "description": format!("Role: {role}."),
        "parameters": parameters,
        "responses": responses(kind, result),
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

/// The document.
pub fn document() -> Value {
    let mut components = Map::new();
    components.insert("Error".to_owned(), error_schema());
    let aggregates = "viewer (suppressed at the viewer threshold), analyst, admin";
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, operation: Value| {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = operation;
    };
    add(
        "/healthz",
        "get",
        op("The process answers.", "none", vec![], "json"),
    );
    add(
        "/readyz",
        "get",
        op(
            "A snapshot is loaded: its data version and age.",
            "none",
            vec![],
            "json",
        ),
    );
    add(
        "/metrics",
        "get",
        op("Prometheus metrics.", "none", vec![], "text"),
    );
    add(
        "/api/v1/meta",
        "get",
        op(
            "Sources, categories, layers, extent, data version and whether the data is synthetic.",
            aggregates,
            vec![municipality_param()],
            "json",
        ),
    );
    add(
        "/api/v1/layers",
        "get",
        op(
            "The area layers.",
            aggregates,
            vec![municipality_param()],
            "json",
        ),
    );
    add(
        "/api/v1/layers/{name}",
        "get",
        op(
            "An area layer as GeoJSON (WGS 84).",
            aggregates,
            vec![
                path_param("name", "The layer, e.g. stadsdel."),
                json!({"name": "simplify", "in": "query", "required": false, "description": "Douglas-Peucker tolerance in metres (default 5, 0: as stored).", "schema": {"type": "number", "minimum": 0, "maximum": 5000}}),
                municipality_param(),
            ],
            "json",
        ),
    );
    let c = &mut components;
    let jobs: [(&str, &str, Vec<Value>, Value); 9] = [
        ("counts", "Area statistics of a period: counts, rates per 1,000, change vs the previous period and a year earlier.", query_params::<CountsRequest>(true), schema_of::<CountsResult>(c)),
        ("table", "Counts of every area in every period of a range.", query_params::<TableRequest>(true), schema_of::<TableResult>(c)),
        ("hotspots", "Gi* hotspots on a grid or H3 (FDR classes), optionally with kernel density.", query_params::<HotspotsRequest>(true), schema_of::<HotspotsResult>(c)),
        ("emerging", "Emerging hotspots: Gi* per time slice with a Mann-Kendall trend.", query_params::<EmergingRequest>(true), schema_of::<EmergingResult>(c)),
        ("change", "Hotspot change between two periods, per cell.", query_params::<ChangeRequest>(true), schema_of::<ChangeResult>(c)),
        ("survey", "Survey indicators with 95 % confidence intervals.", query_params::<SurveyRequest>(true), schema_of::<SurveyResult>(c)),
        ("matrix", "The hour × weekday matrix (Stockholm time).", query_params::<MatrixRequest>(true), schema_of::<MatrixResult>(c)),
        ("trend", "A series with an OLS slope and a Mann-Kendall trend.", query_params::<TrendRequest>(true), schema_of::<TrendResult>(c)),
        ("weekly", "The weekly report's numbers for an ISO week: per area against the four weeks before and a year earlier (with BH-adjusted significance), Gi* and emerging hotspots placed in their areas, the hour × weekday matrix, the weekly series and the survey of the areas that stand out.", query_params::<WeeklyRequest>(true), schema_of::<trygg_query::jobs::weekly::WeeklyResult>(c)),
    ];
    for (name, summary, params, result) in jobs {
        add(
            &format!("/api/v1/query/{name}"),
            "get",
            typed_op(summary, aggregates, params, "table", Some(result)),
        );
    }
    let polygon_schema = schema_of::<PolygonRequest>(&mut components);
    let mut polygon = typed_op(
        "Statistics of a drawn polygon (GeoJSON, WGS 84): count, change, matrix and series.",
        aggregates,
        vec![format_param()],
        "table",
        Some(schema_of::<PolygonResult>(&mut components)),
    );
    polygon["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": &polygon_schema}}});
    add("/api/v1/query/polygon", "post", polygon);
    let chart_params = || query_params::<trygg_query::charts::ChartParams>(false);
    for (name, what, mut params) in [
        ("trend", "A time series with its least-squares trend line (the trend query's parameters).", query_params::<TrendRequest>(false)),
        ("categories", "One area's categories ranked (the counts query's parameters; `areas` names the area, default the municipality).", query_params::<CountsRequest>(false)),
        ("areas", "An area layer's areas ranked by rate per 1,000 residents or count, with the municipality's rate as a line (the counts query's parameters).", query_params::<CountsRequest>(false)),
        ("matrix", "The hour × weekday matrix (the matrix query's parameters).", query_params::<MatrixRequest>(false)),
        ("survey", "A survey indicator per round with 95 % intervals (the survey query's parameters; `areas` lists the areas).", query_params::<SurveyRequest>(false)),
        ("change", "Cells per hotspot transition between two periods (the change query's parameters).", query_params::<ChangeRequest>(false)),
    ] {
        params.extend(chart_params());
        params.insert(0, json!({"name": "format", "in": "path", "required": true, "schema": {"type": "string", "enum": ["svg", "png"]}}));
        let mut chart = op(
            &format!("Chart: {what} SVG (fonts embedded, labels as text) or PNG; Swedish or English; title and caption state source, period, filters and method."),
            aggregates,
            params,
            "json",
        );
        chart["responses"]["200"] = json!({"description": "The chart.", "content": {"image/svg+xml": {"schema": {"type": "string"}}, "image/png": {"schema": {"type": "string", "format": "binary"}}}});
        if trygg_query::charts::DrawnChart::named(name).is_ok() {
            // The same chart of a drawn polygon: its request is the body.
            let mut drawn = chart.clone();
            drawn["summary"] = json!(format!("Chart of a drawn polygon (the body of POST /api/v1/query/polygon): {what}"));
            drawn["parameters"] = Value::Array(
                chart["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| matches!(p["name"].as_str(), Some("format" | "lang" | "scale")))
                    .cloned()
                    .collect(),
            );
            drawn["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": polygon_schema}}});
            add(&format!("/api/v1/charts/{name}.{{format}}"), "post", drawn);
        }
        add(&format!("/api/v1/charts/{name}.{{format}}"), "get", chart);
    }
    add(
        "/api/v1/events",
        "get",
        typed_op(
            "Events (points) in time order: a page as JSON with a cursor, or every matching event as an export in another format. Sensitive categories never appear.",
            "analyst, admin; written to the audit log",
            query_params::<EventsRequest>(true),
            "table",
            Some(schema_of::<EventsResult>(&mut components)),
        ),
    );
    let layer_param = json!({"name": "layer", "in": "path", "required": true, "schema": {"type": "string", "enum": ["grid", "hotspots", "events"]}, "description": "grid (counts per cell; everyone), hotspots (Gi* classes; everyone) or events (points; analysts)."});
    let zxy = |name: &str, max: u32| json!({"name": name, "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": max}});
    let tile_path = || vec![zxy("z", 22), zxy("x", 4_194_303), zxy("y", 4_194_303)];
    let with = |mut first: Vec<Value>, rest: Vec<Value>| {
        first.extend(rest);
        first
    };
    let tile_filters = || query_params::<trygg_query::jobs::tiles::TileRequest>(false);
    let binary = |media: &str, what: &str| json!({"description": what, "content": {media: {"schema": {"type": "string", "format": "binary"}}}});
    let mut tile = op(
        "A Mapbox Vector Tile of a layer with the API's filters (empty outside Sweden or the zoom range; never over 500 KB).",
        "grid, hotspots: viewer (cells below the threshold not drawn; no Gi* values), analyst, admin; events: analyst, admin",
        with(vec![layer_param], with(tile_path(), tile_filters())),
        "json",
    );
    tile["responses"]["200"] = binary(
        "application/vnd.mapbox-vector-tile",
        "The tile (gzip when asked).",
    );
    add("/tiles/{layer}/{z}/{x}/{y}.mvt", "get", tile.clone());
    let mut areas = tile.clone();
    areas["summary"] = json!("The `areas` layer: an area layer's polygons with the statistics of /api/v1/query/counts for the same parameters.");
    areas["description"] = json!(format!("Role: {aggregates}."));
    areas["parameters"] = Value::Array(with(tile_path(), query_params::<CountsRequest>(false)));
    add("/tiles/areas/{z}/{x}/{y}.mvt", "get", areas);
    let mut basemap = tile.clone();
    basemap["summary"] = json!("The `basemap` layer: land, water, area outlines and label points from the store's own layers.");
    basemap["description"] = json!(format!("Role: {aggregates}."));
    basemap["parameters"] = Value::Array(with(
        tile_path(),
        query_params::<trygg_query::jobs::tiles::BasemapRequest>(false),
    ));
    add("/tiles/basemap/{z}/{x}/{y}.mvt", "get", basemap);
    let mut heat = tile;
    heat["summary"] = json!("The `heat` layer: a quartic kernel density of the published cell counts as a 256-pixel PNG on the legend's ramp, transparent off land.");
    heat["description"] = json!(format!("Role: {aggregates}."));
    heat["parameters"] = Value::Array(with(tile_path(), tile_filters()));
    heat["responses"]["200"] = binary("image/png", "The tile.");
    add("/tiles/heat/{z}/{x}/{y}.png", "get", heat);
    add(
        "/tiles/heat/legend.json",
        "get",
        typed_op(
            "The heat tiles' scale at a zoom: bandwidth, cells, the ramp's colours and values.",
            aggregates,
            with(
                vec![
                    json!({"name": "z", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 22}, "description": "The zoom (default 12)."}),
                ],
                tile_filters(),
            ),
            "json",
            Some(schema_of::<trygg_query::jobs::tiles::HeatLegend>(
                &mut components,
            )),
        ),
    );
    add(
        "/tiles/{layer}/tilejson.json",
        "get",
        op(
            "TileJSON 3.0 of a layer (its tile URL carries the same filters; areas take the counts parameters, basemap its layer).",
            aggregates,
            with(
                vec![json!({"name": "layer", "in": "path", "required": true, "schema": {"type": "string", "enum": ["grid", "hotspots", "heat", "areas", "events", "basemap"]}})],
                tile_filters(),
            ),
            "json",
        ),
    );
    add(
        "/api/v1/admin/batches",
        "get",
        op("Ingest batches.", "admin", vec![], "json"),
    );
    add(
        "/api/v1/admin/batches/{id}/rejections",
        "get",
        op(
            "A batch's rejected rows (file, row, field, reason).",
            "admin",
            vec![path_param("id", "The batch id.")],
            "json",
        ),
    );
    add(
        "/api/v1/admin/batches/{id}/revert",
        "post",
        op(
            "Takes a batch back whole.",
            "admin; written to the audit log",
            vec![path_param("id", "The batch id.")],
            "json",
        ),
    );
    add(
        "/api/v1/admin/police",
        "get",
        op("The police feed's poll log (latest 100, newest first: time, HTTP status, new and revised events, overlap, gap) and its all-time counts.", "admin", vec![], "json"),
    );
    add(
        "/api/v1/reports",
        "get",
        op(
            "The weekly reports the schedule made, newest first, with links to their files.",
            "viewer, analyst, admin (reports are suppressed as for viewers)",
            vec![],
            "json",
        ),
    );
    let mut report_file = op(
        "A file of a weekly report: report.html, report.pdf, report.json, areas.csv, areas.xlsx or map.png.",
        "viewer, analyst, admin",
        vec![
            path_param("week", "The ISO week, e.g. 2024-W20."),
            json!({"name": "file", "in": "path", "required": true, "schema": {"type": "string", "enum": ["report.html", "report.pdf", "report.json", "areas.csv", "areas.xlsx", "map.png"]}}),
        ],
        "json",
    );
    report_file["responses"]["200"] = json!({"description": "The file.", "content": {"text/html": {"schema": {"type": "string"}}, "application/pdf": {"schema": {"type": "string", "format": "binary"}}, "application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}, "image/png": {"schema": {"type": "string", "format": "binary"}}}});
    add("/api/v1/reports/{week}/{file}", "get", report_file);
    add(
        "/api/v1/admin/audit",
        "get",
        op(
            "The audit log, newest first.",
            "admin",
            vec![
                json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}),
                json!({"name": "before", "in": "query", "required": false, "schema": {"type": "integer"}}),
            ],
            "json",
        ),
    );
    let mut ingest = op(
        "Ingests uploaded files with the CLI's rules; the answer is the CLI's --json report (200 landed, 422 nothing landed).",
        "admin; written to the audit log",
        vec![],
        "json",
    );
    ingest["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["source", "file"],
    "properties": {
        "source": {"type": "string", "enum": trygg_model::Source::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
        "strict": {"type": "boolean"},
        "mapping": {"type": "string", "format": "binary"},
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
    }}}}});
    add("/api/v1/admin/ingest", "post", ingest);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Trygg",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Safety-mapping statistics for a lokal lägesbild: area statistics, hotspots, survey indicators and exports, with small counts suppressed for viewers.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        },
        "security": [{}, {"bearer": []}, {"key": []}],
    })
}

/// The one error shape.
fn error_schema() -> Value {
    json!({
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]},
        }}},
    })
}
