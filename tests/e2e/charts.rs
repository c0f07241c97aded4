//! Charts through the router: SVG read by an XML parser and PNG decoded by
//! Pillow, each compared with the API's numbers for the same parameters (bars,
//! labels, values, cells), in both languages and under a viewer's suppression.

use serde_json::Value;

use crate::api::{get, post, read_export, ANALYST, VIEWER};

/// The SVG's elements of a class.
fn of_class<'a>(svg: &'a Value, class: &str) -> Vec<&'a Value> {
    svg["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .filter(|e| e["class"] == class)
        .collect()
}

/// A number as a chart in `lang` writes it: Swedish with a decimal comma and
/// spaces between thousands, English with a decimal point and commas.
fn parse_number(text: &str, lang: &str) -> f64 {
    let t = if lang == "sv" {
        text.replace('\u{a0}', "").replace(',', ".")
    } else {
        text.replace(',', "")
    };
    t.parse()
        .unwrap_or_else(|_| panic!("'{text}' is not a {lang} number"))
}

/// An element's tooltip ("label: value"): its label and its number.
fn tooltip<'a>(e: &'a Value, lang: &str) -> (&'a str, f64) {
    let title = e["title"].as_str().expect("title");
    let (label, v) = title.rsplit_once(": ").expect("label: value");
    (label, parse_number(v, lang))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_category_chart_has_one_bar_per_category_of_the_api() {
    let q = "period=2024-Q1&source=crimes";
    let api = get(
        &format!("/api/v1/query/counts?{q}&layer=municipality&by_category=true"),
        Some(ANALYST),
    )
    .await
    .json();
    let rows: Vec<(&str, i64)> = api["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["category"].is_string() && r["area_code"] == "municipality")
        .map(|r| {
            (
                r["category"].as_str().unwrap_or(""),
                r["count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert!(rows.len() > 5, "{rows:?}");
    for (lang, theft) in [("sv", "Stöld"), ("en", "Theft")] {
        let a = get(
            &format!("/api/v1/charts/categories.svg?{q}&lang={lang}"),
            Some(ANALYST),
        )
        .await;
        assert_eq!(a.headers["content-type"], "image/svg+xml", "{}", a.text());
        let svg = read_export("svg", &a.body);
        assert_eq!(svg["root"], "svg");
        let bars = of_class(&svg, "bar");
        assert_eq!(bars.len(), rows.len());
        // Every bar's tooltip is "label: value", and the values are the API's.
        let mut charted: Vec<i64> = bars.iter().map(|b| tooltip(b, lang).1 as i64).collect();
        let mut expected: Vec<i64> = rows.iter().map(|r| r.1).collect();
        charted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(charted, expected);
        // Largest first, and labels in the language asked.
        let labels: Vec<&str> = of_class(&svg, "bar-label")
            .iter()
            .filter_map(|e| e["text"].as_str())
            .collect();
        let top = rows.iter().max_by_key(|r| r.1).expect("rows").0;
        assert_eq!(top, "theft");
        assert_eq!(labels[0], theft);
        let title = of_class(&svg, "title")[0]["text"].as_str().expect("title");
        assert!(
            title.starts_with(if lang == "sv" { "Händelser" } else { "Events" }),
            "{title}"
        );
        let caption: String = of_class(&svg, "caption")
            .iter()
            .filter_map(|e| e["text"].as_str())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(caption.contains("2024-01-01"), "{caption}");
        assert!(
            caption.contains(if lang == "sv" {
                "SYNTETISKA"
            } else {
                "SYNTHETIC"
            }),
            "{caption}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_area_chart_shows_no_count_the_viewer_cannot_read() {
    let q = "period=2024-W20&layer=stadsdel&category=robbery";
    let api = get(&format!("/api/v1/query/counts?{q}"), Some(VIEWER))
        .await
        .json();
    let areas: Vec<&Value> = api["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| {
            r["area_code"] != "municipality" && r["category"].is_null() && r["source"].is_null()
        })
        .collect();
    let suppressed = areas.iter().filter(|r| r["count"].is_string()).count();
    assert!(suppressed > 10, "the week has small counts: {suppressed}");
    let svg = read_export(
        "svg",
        &get(
            &format!("/api/v1/charts/areas.svg?{q}&measure=count"),
            Some(VIEWER),
        )
        .await
        .body,
    );
    let bars = of_class(&svg, "bar");
    let hidden = of_class(&svg, "bar suppressed");
    assert_eq!(bars.len() + hidden.len(), areas.len());
    assert_eq!(hidden.len(), suppressed);
    for b in &bars {
        assert!(tooltip(b, "sv").1 >= 5.0, "{b}");
    }
    let values: Vec<&str> = of_class(&svg, "bar-value")
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(values.iter().filter(|v| **v == "<5").count(), suppressed);
    // Rates by default where the layer has population figures; the
    // municipality's rate, when it has one, is the dashed line.
    let q = "period=2024&layer=stadsdel";
    let api = get(&format!("/api/v1/query/counts?{q}"), Some(ANALYST))
        .await
        .json();
    let rates = read_export(
        "svg",
        &get(&format!("/api/v1/charts/areas.svg?{q}"), Some(ANALYST))
            .await
            .body,
    );
    let rows = api["rows"].as_array().expect("rows");
    let municipality = rows
        .iter()
        .find(|r| r["area_code"] == "municipality")
        .expect("municipality row");
    assert_eq!(
        of_class(&rates, "reference").len(),
        usize::from(municipality["rate_per_1000"].is_number())
    );
    let highest = rows
        .iter()
        .filter_map(|r| r["rate_per_1000"].as_f64())
        .fold(0.0, f64::max);
    let top = of_class(&rates, "bar")[0];
    let (_, v) = tooltip(top, "sv");
    assert!((v - highest).abs() / highest < 0.01, "{top} vs {highest}");
}

#[tokio::test(flavor = "multi_thread")]
async fn trend_and_matrix_charts_draw_the_api_series_and_cells() {
    let q = "from=2024-01-01&to=2024-12-31&window=month&category=violence";
    let api = get(&format!("/api/v1/query/trend?{q}"), Some(ANALYST))
        .await
        .json();
    let series = api["series"].as_array().expect("series");
    let svg = read_export(
        "svg",
        &get(
            &format!("/api/v1/charts/trend.svg?{q}&lang=en"),
            Some(ANALYST),
        )
        .await
        .body,
    );
    let points = of_class(&svg, "point");
    assert_eq!(points.len(), series.len());
    for (p, s) in points.iter().zip(series) {
        let (period, v) = tooltip(p, "en");
        assert_eq!(period, s["period"].as_str().expect("period"));
        assert_eq!(v as i64, s["count"].as_i64().expect("count"));
    }
    assert_eq!(
        of_class(&svg, "trend").len(),
        usize::from(api["ols"].is_object())
    );
    // The PNG of the same chart decodes, at twice the SVG's size, and shows the
    // series' blue.
    let png = get(
        &format!("/api/v1/charts/trend.png?{q}&lang=en"),
        Some(ANALYST),
    )
    .await;
    assert_eq!(png.headers["content-type"], "image/png");
    let image = read_export("png", &png.body);
    assert_eq!(image["width"], 1600);
    let rgba: Vec<u64> = image["rgba"]
        .as_array()
        .expect("pixels")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let blue = rgba
        .chunks(4)
        .filter(|p| p[0] < 20 && (100..130).contains(&p[1]) && (160..200).contains(&p[2]))
        .count();
    let dark = rgba
        .chunks(4)
        .filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60)
        .count();
    assert!(blue > 500, "{blue} series pixels");
    assert!(
        dark > 2_000,
        "{dark} text pixels: the embedded font drew the labels"
    );
    // The matrix: 7 × 24 cells whose counts are the API's.
    let q = "from=2024-01-01&to=2024-06-30&source=crimes";
    let api = get(&format!("/api/v1/query/matrix?{q}"), Some(ANALYST))
        .await
        .json();
    let svg = read_export(
        "svg",
        &get(&format!("/api/v1/charts/matrix.svg?{q}"), Some(ANALYST))
            .await
            .body,
    );
    let cells = of_class(&svg, "cell");
    assert_eq!(cells.len(), 7 * 24);
    let total: f64 = cells.iter().map(|c| tooltip(c, "sv").1).sum();
    assert_eq!(total as i64, api["total"].as_i64().expect("total"));
    let first = cells[0]["title"].as_str().expect("title");
    assert!(first.starts_with("mån 00: "), "{first}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drawn_polygons_charts_draw_its_own_numbers() {
    let drawn = r#"{"geometry":{"type":"Polygon","coordinates":[[[18.03,59.30],[18.10,59.30],[18.10,59.35],[18.03,59.35],[18.03,59.30]]]},"period":"2024-01-01..2024-06-30","window":"month"}"#;
    let api = post("/api/v1/query/polygon", Some(ANALYST), drawn)
        .await
        .json();
    // The series, point for point.
    let svg = read_export(
        "svg",
        &post("/api/v1/charts/trend.svg?lang=en", Some(ANALYST), drawn)
            .await
            .body,
    );
    let series = api["series"]["series"].as_array().expect("series");
    let points = of_class(&svg, "point");
    assert_eq!(points.len(), series.len());
    for (p, s) in points.iter().zip(series) {
        let (period, v) = tooltip(p, "en");
        assert_eq!(period, s["period"].as_str().expect("period"));
        assert_eq!(v as i64, s["count"].as_i64().expect("count"));
    }
    let title = of_class(&svg, "title")[0]["text"].as_str().expect("title");
    assert!(title.ends_with("drawn area"), "{title}");
    // The matrix's cells add up to the polygon's matrix total; the categories
    // to its count (nothing suppressed for an analyst).
    let sum = |chart: &'static str, class: &'static str| async move {
        let svg = read_export("svg", &post(chart, Some(ANALYST), drawn).await.body);
        of_class(&svg, class)
            .iter()
            .map(|c| tooltip(c, "sv").1)
            .sum::<f64>() as i64
    };
    assert_eq!(
        sum("/api/v1/charts/matrix.svg", "cell").await,
        api["matrix"]["total"].as_i64().expect("total")
    );
    assert_eq!(
        sum("/api/v1/charts/categories.svg", "bar").await,
        api["stats"]["rows"][0]["count"].as_i64().expect("count")
    );
    // A viewer's chart shows no count below 5.
    let by_category = drawn.replace("\"window\"", "\"by_category\":true,\"window\"");
    let rows = post("/api/v1/query/polygon", Some(VIEWER), &by_category)
        .await
        .json()["stats"]["rows"]
        .clone();
    let suppressed = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["category"].is_string() && r["count"].is_string())
        .count();
    let viewer = post("/api/v1/charts/categories.svg", Some(VIEWER), drawn).await;
    let svg = read_export("svg", &viewer.body);
    assert_eq!(of_class(&svg, "bar suppressed").len(), suppressed);
    for bar in of_class(&svg, "bar") {
        assert!(tooltip(bar, "sv").1 >= 5.0, "{bar}");
    }
    // Survey is per area: no drawn survey chart, and a bad parameter is named.
    let survey = post("/api/v1/charts/survey.svg", Some(ANALYST), drawn).await;
    assert_eq!(survey.status, 400);
    assert_eq!(survey.error_field().as_deref(), Some("chart"));
    let bad = post(
        "/api/v1/charts/trend.svg?measure=rate",
        Some(ANALYST),
        drawn,
    )
    .await;
    assert_eq!(bad.error_field().as_deref(), Some("measure"));
}

#[tokio::test(flavor = "multi_thread")]
async fn survey_and_change_charts_and_bad_chart_parameters() {
    let svg = read_export(
        "svg",
        &get(
            "/api/v1/charts/survey.svg?layer=stadsdelsomrade_2023&lang=en",
            Some(ANALYST),
        )
        .await
        .body,
    );
    let api = get(
        "/api/v1/query/survey?layer=stadsdelsomrade_2023",
        Some(ANALYST),
    )
    .await
    .json();
    let total = api["estimates"]
        .as_array()
        .expect("estimates")
        .iter()
        .filter(|e| e["area"] == "total" && e["share"].is_number())
        .count();
    assert!(total > 0);
    assert_eq!(of_class(&svg, "estimate").len(), total);
    assert_eq!(of_class(&svg, "interval").len(), total);
    let change =
        "from=2024-04-01&to=2024-06-30&before_from=2024-01-01&before_to=2024-03-31&grid=500";
    let api = get(&format!("/api/v1/query/change?{change}"), Some(ANALYST))
        .await
        .json();
    let significant = api["transitions"]
        .as_object()
        .expect("transitions")
        .iter()
        .filter(|(k, _)| k.as_str() != "not_significant")
        .count();
    let svg = read_export(
        "svg",
        &get(
            &format!("/api/v1/charts/change.svg?{change}"),
            Some(ANALYST),
        )
        .await
        .body,
    );
    assert_eq!(of_class(&svg, "bar").len(), significant);
    for (uri, field) in [
        ("/api/v1/charts/pie.svg", "chart"),
        ("/api/v1/charts/trend.gif", "chart"),
        ("/api/v1/charts/trend.svg?lang=de", "lang"),
        ("/api/v1/charts/trend.png?scale=9", "scale"),
        (
            "/api/v1/charts/areas.svg?period=2024&measure=mean",
            "measure",
        ),
        ("/api/v1/charts/trend.svg?window=fortnight", "window"),
    ] {
        let a = get(uri, Some(ANALYST)).await;
        assert!(a.status.is_client_error(), "{uri}: {}", a.status);
        assert_eq!(
            a.error_field().as_deref(),
            Some(field),
            "{uri}: {}",
            a.text()
        );
    }
}
