//! Charts of the jobs' published results, in Swedish or English: each chart is
//! built from the same typed result the API and the exports give (so a chart
//! cannot show a number the table does not, nor a suppressed one), with a title
//! and a caption stating source, period, filters and method. Drawn by
//! `trygg-charts`.

use serde::{Deserialize, Serialize};
use trygg_analytics::change::Transition;
use trygg_analytics::selection::Selection;
use trygg_analytics::window::WindowKind;
use trygg_charts::{Body, Chart, Shown, COLD, HOT};

use crate::disclosure::Count;
use crate::error::QueryError;
use crate::jobs::counts::{CountsResult, PolygonRequest, DRAWN};
use crate::jobs::hotspots::ChangeResult;
use crate::jobs::survey::SurveyResult;
use crate::jobs::time::{MatrixResult, TrendResult};
use crate::snapshot::DataInfo;

/// The charts served, by name (`/api/v1/charts/{name}.svg|png`).
pub const KINDS: [&str; 6] = ["trend", "categories", "areas", "matrix", "survey", "change"];

/// A chart's language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Swedish (the default).
    #[default]
    Sv,
    /// English.
    En,
}

/// What a chart adds to its job's parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChartParams {
    /// `sv` (default) or `en`.
    pub lang: Lang,
    /// `areas`: `rate` (per 1,000 residents, default) or `count`.
    pub measure: Option<String>,
    /// `categories`: the area whose categories are shown (default: the
    /// municipality); `survey`: the areas shown, comma-separated (default: the
    /// total, or every area when there are at most six).
    pub areas: Option<String>,
    /// PNG: pixels per SVG unit, 1-4 (default 2).
    pub scale: Option<f32>,
}

impl ChartParams {
    /// The PNG scale, validated.
    pub fn scale(&self) -> Result<f32, QueryError> {
        let s = self.scale.unwrap_or(2.0);
        if (1.0..=4.0).contains(&s) {
            Ok(s)
        } else {
            Err(QueryError::invalid("scale", format!("{s} is not 1..=4")))
        }
    }

    /// Whether numbers are written with a decimal comma (Swedish).
    pub fn decimal_comma(&self) -> bool {
        self.lang == Lang::Sv
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    /// `sv` or `en`.
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "sv" => Ok(Lang::Sv),
            "en" => Ok(Lang::En),
            other => Err(format!("'{other}' is not sv or en")),
        }
    }
}

impl Lang {
    /// `sv` or `en`.
    pub fn as_str(self) -> &'static str {
        self.pick("sv", "en")
    }

    fn pick(self, sv: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }
}

/// A category's name (by its stable name).
pub fn category_name(name: &str, lang: Lang) -> String {
    let (sv, en) = match name {
        "violence" => ("Våld", "Violence"),
        "sexual" => ("Sexualbrott", "Sexual offences"),
        "threats" => ("Hot och ofredande", "Threats and harassment"),
        "robbery" => ("Rån", "Robbery"),
        "burglary" => ("Inbrott", "Burglary"),
        "theft" => ("Stöld", "Theft"),
        "vandalism" => ("Skadegörelse", "Vandalism"),
        "drugs" => ("Narkotika", "Drugs"),
        "fraud" => ("Bedrägeri", "Fraud"),
        "weapons" => ("Vapenbrott", "Weapons offences"),
        "shooting" => ("Skjutningar", "Shootings"),
        "explosion" => ("Explosioner", "Explosions"),
        "fire" => ("Bränder", "Fires"),
        "traffic" => ("Trafik", "Traffic"),
        "disorder" => ("Ordningsstörning", "Public disorder"),
        "unsafe_place" => ("Otrygga platser", "Unsafe places"),
        "survey_response" => ("Enkätsvar", "Survey responses"),
        "other" => ("Övrigt", "Other"),
        other => return other.to_owned(),
    };
    lang.pick(sv, en).to_owned()
}

/// A source's name (by its stable name).
pub fn source_name(name: &str, lang: Lang) -> String {
    let (sv, en) = match name {
        "police-events" => ("Polisens händelser", "Police events"),
        "crimes" => ("Anmälda brott", "Reported crimes"),
        "shootings" => ("Skjutningar", "Shootings"),
        "fires" => ("Räddningstjänstens bränder", "Fires (fire brigade)"),
        "survey" => ("Trygghetsmätningen", "Safety survey"),
        other => return other.to_owned(),
    };
    lang.pick(sv, en).to_owned()
}

/// Weekday names, Monday first.
pub fn weekday_names(lang: Lang) -> [&'static str; 7] {
    match lang {
        Lang::Sv => ["mån", "tis", "ons", "tor", "fre", "lör", "sön"],
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    }
}

fn shown(c: Count) -> Shown {
    match c {
        Count::Value(v) => Ok(v as f64),
        Count::Suppressed(_) => Err(c.text()),
    }
}

/// What was selected, in words.
fn filters(selection: &Selection, lang: Lang) -> String {
    let mut parts = Vec::new();
    let sources: Vec<String> = match &selection.sources {
        Some(list) => list.iter().map(|s| source_name(s.as_str(), lang)).collect(),
        None => vec![lang
            .pick("alla incidentkällor", "all incident sources")
            .to_owned()],
    };
    parts.push(sources.join(", "));
    if let Some(list) = &selection.categories {
        let names: Vec<String> = list
            .iter()
            .map(|c| category_name(c.as_str(), lang))
            .collect();
        parts.push(names.join(", "));
    }
    if let Some(h) = &selection.hours {
        let hours: Vec<String> = h.hours().iter().map(|h| format!("{h:02}")).collect();
        parts.push(format!(
            "{} {}",
            lang.pick("timmar", "hours"),
            hours.join(",")
        ));
    }
    if let Some(w) = &selection.weekdays {
        let names = weekday_names(lang);
        let days: Vec<&str> = w
            .days()
            .iter()
            .map(|d| names[d.num_days_from_monday() as usize])
            .collect();
        parts.push(days.join(","));
    }
    parts.join("; ")
}

/// The caption: source, period, filters, method and suppression.
fn caption(
    data: &DataInfo,
    period: &str,
    selection: Option<&Selection>,
    method: &str,
    suppression: Option<u64>,
    lang: Lang,
) -> String {
    let place = data.municipality.as_deref().unwrap_or("");
    let mut out = format!("{}: Trygg {place}", lang.pick("Källa", "Source"));
    if data.synthetic {
        out.push_str(lang.pick(
            " – SYNTETISKA DEMODATA, inga verkliga händelser",
            " – SYNTHETIC DEMO DATA, no real events",
        ));
    }
    out.push_str(&format!(
        " (data v{}). {}: {period}.",
        data.version,
        lang.pick("Period", "Period")
    ));
    if let Some(s) = selection {
        out.push_str(&format!(
            " {}: {}.",
            lang.pick("Urval", "Selection"),
            filters(s, lang)
        ));
    }
    out.push_str(&format!(" {}: {method}.", lang.pick("Metod", "Method")));
    if let Some(t) = suppression {
        out.push_str(&match lang {
            Lang::Sv => format!(" Antal under {t} visas som \"<{t}\"."),
            Lang::En => format!(" Counts below {t} are shown as \"<{t}\"."),
        });
    }
    out
}

fn p_text(p: f64, lang: Lang) -> String {
    let text = if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    };
    match lang {
        Lang::Sv => text.replace('.', ","),
        Lang::En => text,
    }
}

fn window_name(kind: WindowKind, lang: Lang) -> &'static str {
    match kind {
        WindowKind::Day => lang.pick("dag", "day"),
        WindowKind::IsoWeek => lang.pick("vecka", "week"),
        WindowKind::Month => lang.pick("månad", "month"),
        WindowKind::Quarter => lang.pick("kvartal", "quarter"),
        WindowKind::Year => lang.pick("år", "year"),
        WindowKind::Custom => lang.pick("period", "period"),
    }
}

/// An area's name in a title: its code, or "drawn area" for a drawn polygon.
fn area_text(layer: &str, code: &str, lang: Lang) -> String {
    if layer == DRAWN {
        lang.pick("ritat område", "drawn area").to_owned()
    } else {
        code.to_owned()
    }
}

fn where_text(area: &Option<(String, String)>, data: &DataInfo, lang: Lang) -> String {
    match area {
        Some((layer, code)) => area_text(layer, code, lang),
        None => data.municipality.clone().unwrap_or_default(),
    }
}

/// A time series with its OLS trend line (absent when a count is suppressed:
/// the fit would give it back).
pub fn trend(r: &TrendResult, lang: Lang) -> Chart {
    let period = match (r.series.first(), r.series.last()) {
        (Some(a), Some(b)) => format!("{} – {}", a.start, b.end),
        _ => String::new(),
    };
    let trend = r.ols.as_ref().map(|o| {
        let mk = r
            .mann_kendall
            .as_ref()
            .map(|m| format!(", Mann–Kendall p = {}", p_text(m.p, lang)))
            .unwrap_or_default();
        let slope = trygg_charts::number(o.slope, lang == Lang::Sv);
        let text = match lang {
            Lang::Sv => format!(
                "Linjär trend {slope} per {} (p = {}{mk})",
                window_name(r.window, lang),
                p_text(o.p_value, lang)
            ),
            Lang::En => format!(
                "Linear trend {slope} per {} (p = {}{mk})",
                window_name(r.window, lang),
                p_text(o.p_value, lang)
            ),
        };
        (o.intercept, o.slope, text)
    });
    Chart {
        title: match lang {
            Lang::Sv => format!("Händelser per {} – {}", window_name(r.window, lang), where_text(&r.area, &r.data, lang)),
            Lang::En => format!("Events per {} – {}", window_name(r.window, lang), where_text(&r.area, &r.data, lang)),
        },
        caption: caption(
            &r.data,
            &period,
            Some(&r.selection),
            lang.pick(
                "antal per period; trendlinje med minsta kvadrat-metoden (t-test av lutningen), Mann–Kendalls trendtest",
                "count per period; least-squares trend line (t-test of the slope), Mann–Kendall trend test",
            ),
            r.suppression,
            lang,
        ),
        body: Body::Series {
            labels: r.series.iter().map(|p| p.period.clone()).collect(),
            values: r.series.iter().map(|p| shown(p.count)).collect(),
            trend,
            y_label: lang.pick("Antal händelser", "Events").to_owned(),
        },
    }
}

/// A period's name and days.
fn period_text(p: &trygg_analytics::window::Period) -> String {
    format!("{} ({} – {})", p.label(), p.start, p.end)
}

/// Ranks shown values: largest first, suppressed last.
fn ranked(mut rows: Vec<(String, Shown)>) -> (Vec<String>, Vec<Shown>) {
    rows.sort_by(|a, b| match (&a.1, &b.1) {
        (Ok(x), Ok(y)) => y.total_cmp(x),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.0.cmp(&b.0),
    });
    rows.into_iter().unzip()
}

/// The categories of one area (by code or name; default the municipality):
/// the counts request must have been run by category.
pub fn categories(r: &CountsResult, area: Option<&str>, lang: Lang) -> Result<Chart, QueryError> {
    let code = area.unwrap_or(trygg_analytics::areas::MUNICIPALITY_LAYER);
    let rows: Vec<(String, Shown)> = r
        .rows
        .iter()
        .filter(|row| row.source.is_none() && (row.area_code == code || row.area_name == code))
        .filter_map(|row| {
            row.category
                .map(|c| (category_name(c, lang), shown(row.count)))
        })
        .collect();
    if rows.is_empty() {
        return Err(QueryError::invalid(
            "areas",
            format!(
                "no categories of '{code}' (an area code or name of layer {})",
                r.layer
            ),
        ));
    }
    let place = if area.is_none() {
        r.data.municipality.clone().unwrap_or_default()
    } else {
        area_text(&r.layer, code, lang)
    };
    let (labels, values) = ranked(rows);
    Ok(Chart {
        title: match lang {
            Lang::Sv => format!("Händelser per kategori – {place}, {}", r.period.label()),
            Lang::En => format!("Events by category – {place}, {}", r.period.label()),
        },
        caption: caption(
            &r.data,
            &period_text(&r.period),
            r.request.selection.validate(None).ok().as_ref(),
            lang.pick(
                "antal per normaliserad kategori",
                "count per normalised category",
            ),
            r.suppression,
            lang,
        ),
        body: Body::Bars {
            labels,
            values,
            colours: None,
            reference: None,
            x_label: lang.pick("Antal", "Count").to_owned(),
        },
    })
}

/// The areas of a layer ranked by rate per 1,000 residents (or count), with
/// the municipality's value as a line.
pub fn areas(r: &CountsResult, measure: Option<&str>, lang: Lang) -> Result<Chart, QueryError> {
    let has_rates = r
        .rows
        .iter()
        .any(|row| row.area_code != "municipality" && row.rate_per_1000.is_some());
    let rate = match measure {
        // Without population figures for the layer, counts are what there is.
        None => has_rates,
        Some("rate") => true,
        Some("count") => false,
        Some(other) => {
            return Err(QueryError::invalid(
                "measure",
                format!("'{other}' is not rate or count"),
            ))
        }
    };
    let value = |row: &crate::jobs::counts::StatRow| -> Shown {
        if rate {
            match (row.rate_per_1000, row.count) {
                (Some(v), _) => Ok(v),
                (None, Count::Suppressed(_)) => Err(row.count.text()),
                (None, _) => Err("–".into()),
            }
        } else {
            shown(row.count)
        }
    };
    let totals = r
        .rows
        .iter()
        .filter(|row| row.source.is_none() && row.category.is_none());
    let mut reference = None;
    let mut rows = Vec::new();
    for row in totals {
        if row.area_code == "municipality" {
            if let Ok(v) = value(row) {
                let name = r
                    .data
                    .municipality
                    .clone()
                    .unwrap_or_else(|| "municipality".into());
                reference = Some((
                    v,
                    format!("{name}: {}", trygg_charts::number(v, lang == Lang::Sv)),
                ));
            }
        } else {
            rows.push((row.area_name.clone(), value(row)));
        }
    }
    let (labels, values) = ranked(rows);
    let what = if rate {
        lang.pick("per 1 000 invånare", "per 1,000 residents")
    } else {
        lang.pick("antal", "count")
    };
    Ok(Chart {
        title: match lang {
            Lang::Sv => format!("Områden jämförda ({what}) – {}", r.period.label()),
            Lang::En => format!("Areas compared ({what}) – {}", r.period.label()),
        },
        caption: caption(
            &r.data,
            &period_text(&r.period),
            r.request.selection.validate(None).ok().as_ref(),
            &if rate {
                match lang {
                    Lang::Sv => format!("händelser per 1 000 invånare (befolkning {}), lager {}; streckad linje: hela kommunen", r.population_year, r.layer),
                    Lang::En => format!("events per 1,000 residents (population of {}), layer {}; dashed line: the whole municipality", r.population_year, r.layer),
                }
            } else {
                let no_population = if has_rates {
                    ""
                } else {
                    lang.pick(
                        " (lagret har inga befolkningstal, så inga tal per invånare)",
                        " (the layer has no population figures, so no rates)",
                    )
                };
                match lang {
                    Lang::Sv => format!("antal händelser, lager {}{no_population}", r.layer),
                    Lang::En => format!("event counts, layer {}{no_population}", r.layer),
                }
            },
            r.suppression,
            lang,
        ),
        body: Body::Bars {
            labels,
            values,
            colours: None,
            reference: if rate { reference } else { None },
            x_label: lang.pick("Värde", "Value").to_owned(),
        },
    })
}

/// The hour × weekday matrix (Stockholm time).
pub fn matrix(r: &MatrixResult, period: &str, lang: Lang) -> Chart {
    let weekdays = weekday_names(lang);
    let values: Vec<Vec<Shown>> = (0..7)
        .map(|d| {
            r.counts
                .iter()
                .map(|by_day| by_day.get(d).copied().map_or(Err("–".into()), shown))
                .collect()
        })
        .collect();
    Chart {
        title: match lang {
            Lang::Sv => format!("Tid på dygnet och veckodag – {}", where_text(&r.area, &r.data, lang)),
            Lang::En => format!("Time of day and weekday – {}", where_text(&r.area, &r.data, lang)),
        },
        caption: caption(
            &r.data,
            period,
            Some(&r.selection),
            &match lang {
                Lang::Sv => format!("antal per timme och veckodag, svensk tid; {} händelser utan känd tid på dygnet är inte med", r.left_out_imprecise_time),
                Lang::En => format!("count per hour and weekday, Stockholm time; {} events without a known time of day are left out", r.left_out_imprecise_time),
            },
            r.suppression,
            lang,
        ),
        body: Body::Matrix {
            rows: weekdays.iter().map(|d| (*d).to_owned()).collect(),
            columns: (0..24).map(|h| format!("{h:02}")).collect(),
            values,
            legend: lang.pick("Antal", "Count").to_owned(),
        },
    }
}

/// A survey indicator per round with its 95 % intervals, per area.
pub fn survey(r: &SurveyResult, areas: Option<&str>, lang: Lang) -> Result<Chart, QueryError> {
    let mut rounds: Vec<String> = Vec::new();
    let mut all_areas: Vec<String> = Vec::new();
    for e in &r.estimates {
        if !rounds.contains(&e.round) {
            rounds.push(e.round.clone());
        }
        if !all_areas.contains(&e.area) {
            all_areas.push(e.area.clone());
        }
    }
    let chosen: Vec<String> = match areas {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None if all_areas.len() <= 6 => all_areas.clone(),
        None => all_areas
            .iter()
            .filter(|a| a.as_str() == "total")
            .cloned()
            .collect(),
    };
    if let Some(missing) = chosen.iter().find(|a| !all_areas.contains(a)) {
        return Err(QueryError::invalid(
            "areas",
            format!(
                "no estimates for '{missing}' (there are: {})",
                all_areas.join(", ")
            ),
        ));
    }
    if chosen.len() > 8 {
        return Err(QueryError::invalid("areas", "at most 8 areas in one chart"));
    }
    let groups = chosen
        .iter()
        .map(|area| {
            let per_round = rounds
                .iter()
                .map(|round| {
                    r.estimates
                        .iter()
                        .find(|e| &e.round == round && &e.area == area)
                        .and_then(|e| Some((e.share?, e.ci_low?, e.ci_high?)))
                })
                .collect();
            let name = if area == "total" {
                lang.pick("Totalt", "Total").to_owned()
            } else {
                area.clone()
            };
            (name, per_round)
        })
        .collect();
    Ok(Chart {
        title: match lang {
            Lang::Sv => format!("Trygghetsmätningen: {}", r.indicator.name),
            Lang::En => format!("Safety survey: {}", r.indicator.name),
        },
        caption: caption(
            &r.data,
            &rounds.join(", "),
            None,
            &match lang {
                Lang::Sv => format!(
                    "viktad andel med 95 % konfidensintervall ({}); grupp: {}",
                    r.interval, r.grouping
                ),
                Lang::En => format!(
                    "weighted share with 95 % confidence intervals ({}); grouping: {}",
                    r.interval, r.grouping
                ),
            },
            r.suppression,
            lang,
        ),
        body: Body::Intervals {
            rounds,
            groups,
            y_label: lang.pick("Andel", "Share").to_owned(),
            percent: true,
        },
    })
}

fn transition_name(t: Transition, lang: Lang) -> (&'static str, &'static str) {
    let (sv, en, colour) = match t {
        Transition::NewHot => ("Ny het", "New hot", HOT[2]),
        Transition::PersistingHot => ("Kvarstående het", "Persisting hot", HOT[1]),
        Transition::NoLongerHot => ("Inte längre het", "No longer hot", HOT[0]),
        Transition::NewCold => ("Ny kall", "New cold", COLD[2]),
        Transition::PersistingCold => ("Kvarstående kall", "Persisting cold", COLD[1]),
        Transition::NoLongerCold => ("Inte längre kall", "No longer cold", COLD[0]),
        Transition::HotToCold => ("Het till kall", "Hot to cold", "#CC79A7"),
        Transition::ColdToHot => ("Kall till het", "Cold to hot", "#E69F00"),
        Transition::NotSignificant => ("Inte signifikant", "Not significant", "#bbbbbb"),
    };
    (lang.pick(sv, en), colour)
}

/// Cells per hotspot transition between two periods.
pub fn change(r: &ChangeResult, periods: &str, lang: Lang) -> Chart {
    let mut labels = Vec::new();
    let mut values = Vec::new();
    let mut colours = Vec::new();
    for (t, n) in &r.transitions {
        if *t == Transition::NotSignificant {
            continue;
        }
        let (name, colour) = transition_name(*t, lang);
        labels.push(name.to_owned());
        values.push(Ok(f64::from(*n)));
        colours.push(colour.to_owned());
    }
    Chart {
        title: lang
            .pick("Förändring av hot spots mellan perioderna", "Hotspot change between the periods")
            .to_owned(),
        caption: caption(
            &r.data,
            periods,
            None,
            lang.pick(
                "Getis–Ord Gi* per cell i båda perioderna, klasser efter FDR-justerat p; antal celler per övergång",
                "Getis-Ord Gi* per cell in both periods, classes by FDR-adjusted p; cells per transition",
            ),
            r.suppression,
            lang,
        ),
        body: Body::Bars {
            labels,
            values,
            colours: Some(colours),
            reference: None,
            x_label: lang.pick("Celler", "Cells").to_owned(),
        },
    }
}

/// A chart asked for: its job's request (the same parameters as the
/// statistics it draws).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "chart", content = "request", rename_all = "lowercase")]
pub enum ChartRequest {
    /// A time series with its trend ([`crate::TrendRequest`]).
    Trend(crate::TrendRequest),
    /// One area's categories ([`crate::CountsRequest`], run by category).
    Categories(crate::CountsRequest),
    /// Areas ranked, with the municipality line ([`crate::CountsRequest`]).
    Areas(crate::CountsRequest),
    /// The hour × weekday matrix ([`crate::MatrixRequest`]).
    Matrix(crate::MatrixRequest),
    /// A survey indicator per round ([`crate::SurveyRequest`]).
    Survey(crate::SurveyRequest),
    /// The hotspot-change summary ([`crate::ChangeRequest`]).
    Change(crate::ChangeRequest),
    /// A chart of a drawn polygon ([`PolygonRequest`]): its series, categories
    /// or matrix, from the same result as its numbers.
    Drawn(DrawnChart, PolygonRequest),
}

/// The charts a drawn polygon has (the survey is sampled per area, so a drawn
/// polygon has no survey estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DrawnChart {
    /// The series with its trend.
    Trend,
    /// The period's categories.
    Categories,
    /// The hour × weekday matrix over the period.
    Matrix,
}

impl DrawnChart {
    /// The chart of `name` for a drawn polygon.
    pub fn named(name: &str) -> Result<DrawnChart, QueryError> {
        match name {
            "trend" => Ok(DrawnChart::Trend),
            "categories" => Ok(DrawnChart::Categories),
            "matrix" => Ok(DrawnChart::Matrix),
            other => Err(QueryError::invalid(
                "chart",
                format!(
                    "a drawn polygon has the charts trend, categories and matrix, not '{other}'"
                ),
            )),
        }
    }
}

fn range_text(range: &crate::params::RangeParams) -> String {
    format!(
        "{} – {}",
        range.from.as_deref().unwrap_or("…"),
        range.to.as_deref().unwrap_or("…")
    )
}

impl ChartRequest {
    /// The chart's name (one of [`KINDS`]).
    pub fn name(&self) -> &'static str {
        match self {
            ChartRequest::Trend(_) => "trend",
            ChartRequest::Categories(_) => "categories",
            ChartRequest::Areas(_) => "areas",
            ChartRequest::Matrix(_) => "matrix",
            ChartRequest::Survey(_) => "survey",
            ChartRequest::Change(_) => "change",
            ChartRequest::Drawn(DrawnChart::Trend, _) => "trend",
            ChartRequest::Drawn(DrawnChart::Categories, _) => "categories",
            ChartRequest::Drawn(DrawnChart::Matrix, _) => "matrix",
        }
    }

    /// Validates the job's request (before any work).
    pub fn validate(&self) -> Result<(), QueryError> {
        use crate::jobs::Job;
        match self {
            ChartRequest::Trend(r) => r.validate().map(drop),
            ChartRequest::Categories(r) | ChartRequest::Areas(r) => r.validate().map(drop),
            ChartRequest::Matrix(r) => r.validate().map(drop),
            ChartRequest::Survey(r) => r.validate().map(drop),
            ChartRequest::Change(r) => r.validate().map(drop),
            ChartRequest::Drawn(_, r) => r.validate().map(drop),
        }
    }

    /// Runs the job on `snap` and draws its result.
    pub fn draw(
        &self,
        params: &ChartParams,
        snap: &crate::snapshot::Snapshot,
        opts: &crate::jobs::Options,
    ) -> Result<Chart, QueryError> {
        use crate::jobs::Job;
        let lang = params.lang;
        params.scale()?;
        match self {
            ChartRequest::Trend(r) => Ok(trend(&r.run(snap, opts)?, lang)),
            ChartRequest::Categories(r) => {
                // The municipality's categories are its own layer's one area.
                let by_category = crate::CountsRequest {
                    by_category: true,
                    by_source: false,
                    layer: match params.areas {
                        None => Some(trygg_analytics::areas::MUNICIPALITY_LAYER.to_owned()),
                        Some(_) => r.layer.clone(),
                    },
                    ..r.clone()
                };
                categories(&by_category.run(snap, opts)?, params.areas.as_deref(), lang)
            }
            ChartRequest::Areas(r) => areas(&r.run(snap, opts)?, params.measure.as_deref(), lang),
            ChartRequest::Matrix(r) => Ok(matrix(&r.run(snap, opts)?, &range_text(&r.range), lang)),
            ChartRequest::Survey(r) => survey(&r.run(snap, opts)?, params.areas.as_deref(), lang),
            ChartRequest::Change(r) => {
                let periods = format!(
                    "{} {} – {} {}",
                    lang.pick("före", "before"),
                    format_args!(
                        "{}–{}",
                        r.before_from.as_deref().unwrap_or("…"),
                        r.before_to.as_deref().unwrap_or("…")
                    ),
                    lang.pick("efter", "after"),
                    range_text(&r.range)
                );
                Ok(change(&r.run(snap, opts)?, &periods, lang))
            }
            ChartRequest::Drawn(kind, r) => {
                let request = PolygonRequest {
                    by_category: *kind == DrawnChart::Categories,
                    ..r.clone()
                };
                let result = request.run(snap, opts)?;
                Ok(match kind {
                    DrawnChart::Trend => trend(&result.series, lang),
                    DrawnChart::Categories => categories(&result.stats, Some(DRAWN), lang)?,
                    DrawnChart::Matrix => {
                        matrix(&result.matrix, &period_text(&result.stats.period), lang)
                    }
                })
            }
        }
    }
}
