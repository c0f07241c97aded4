//! The report as one self-contained HTML page: the font as a data URI, the
//! charts as inline SVG, the static map as an embedded PNG; no external URL.
//! A print stylesheet sets A4 pages, repeats table headers and keeps rows,
//! figures and headings from being cut.

use std::fmt::Write as _;

use trygg_charts::{base64, esc, FONT_BOLD, FONT_FAMILY, FONT_REGULAR};
use trygg_query::charts::{self, source_name, Lang};
use trygg_query::jobs::weekly::Against;

use crate::text::{class, count, num, p, pattern, pick, week_name};
use crate::Report;

const STYLE: &str = "
:root { color: #1a1a1a; background: #ffffff; }
body { font-family: 'DejaVu Sans', sans-serif; font-size: 10.5pt; line-height: 1.45; max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #bbbbbb; break-after: avoid; }
p.meta { color: #444444; margin: 0; }
.banner { background: #fff3cd; border: 1px solid #8a6d00; padding: .4rem .7rem; font-weight: 700; margin: .8rem 0; }
ul.summary li { margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: .4rem 0 1rem; }
caption { text-align: left; font-weight: 700; padding: .2rem 0; }
th, td { border-bottom: 1px solid #dddddd; padding: .2rem .35rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.sig td { font-weight: 700; }
figure { margin: .6rem 0 1rem; break-inside: avoid; }
figure img, figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 9pt; color: #444444; }
.note { font-size: 9pt; color: #444444; }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9.5pt; }
  thead { display: table-header-group; }
  tr, li { break-inside: avoid; }
  section.page { break-before: page; }
  figure.map img { max-height: 115mm; width: auto; }
  a { color: inherit; text-decoration: none; }
}
";

/// Opens a table: its caption (if any) and header; `N:` marks a numeric column.
fn table(h: &mut String, caption: Option<&str>, columns: &[&str]) {
    h.push_str("<table>");
    if let Some(c) = caption {
        let _ = write!(h, "<caption>{}</caption>", esc(c));
    }
    h.push_str("<thead><tr>");
    for c in columns {
        match c.strip_prefix("N:") {
            Some(n) => {
                let _ = write!(h, "<th class=\"n\">{}</th>", esc(n));
            }
            None => {
                let _ = write!(h, "<th>{}</th>", esc(c));
            }
        }
    }
    h.push_str("</tr></thead><tbody>");
}

/// A table row; `N:` marks a numeric cell. `strong` rows are bold.
fn row(h: &mut String, cells: &[String], strong: bool) {
    h.push_str(if strong { "<tr class=\"sig\">" } else { "<tr>" });
    for c in cells {
        match c.strip_prefix("N:") {
            Some(n) => {
                let _ = write!(h, "<td class=\"n\">{}</td>", esc(n));
            }
            None => {
                let _ = write!(h, "<td>{}</td>", esc(c));
            }
        }
    }
    h.push_str("</tr>");
}

/// A numeric cell.
fn n(text: String) -> String {
    format!("N:{text}")
}

/// The page; `map_png` is the static map, `generated_at` the only thing that
/// differs between two reports of the same data.
pub fn page(report: &Report, map_png: &[u8], generated_at: &str) -> String {
    let r = &report.numbers;
    let lang = report.lang;
    let comma = lang == Lang::Sv;
    let place = r.data.municipality.clone().unwrap_or_default();
    let title = match lang {
        Lang::Sv => format!(
            "Veckorapport: heta punkter och trygghet – {place}, {}",
            week_name(r, lang)
        ),
        Lang::En => format!(
            "Weekly report: hot spots and safety – {place}, {}",
            week_name(r, lang)
        ),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>@font-face{{font-family:'{FONT_FAMILY}';font-weight:400;src:url(data:font/ttf;base64,{})}}@font-face{{font-family:'{FONT_FAMILY}';font-weight:700;src:url(data:font/ttf;base64,{})}}{STYLE}</style></head><body>",
        lang.as_str(),
        esc(&title),
        base64(FONT_REGULAR),
        base64(FONT_BOLD)
    );
    let _ = write!(h, "<header><h1>{}</h1>", esc(&title));
    let _ = write!(
        h,
        "<p class=\"meta\">{} {} – {} · {} {} · {} v{} · {} {}</p>",
        pick(lang, "Vecka", "Week"),
        r.from,
        r.to,
        pick(lang, "områdesindelning", "areas"),
        esc(&r.layer),
        pick(lang, "data", "data"),
        r.data.version,
        pick(lang, "skapad", "generated"),
        esc(generated_at)
    );
    if r.data.synthetic {
        let _ = write!(
            h,
            "<p class=\"banner\" role=\"note\">{}</p>",
            pick(
                lang,
                "SYNTETISKA DEMODATA – inga verkliga händelser.",
                "SYNTHETIC DEMO DATA – no real events."
            )
        );
    }
    h.push_str("</header><main>");

    // Summary.
    let _ = write!(
        h,
        "<section><h2>{}</h2><ul class=\"summary\">",
        pick(lang, "Sammanfattning", "Summary")
    );
    for s in &report.summary {
        let _ = write!(h, "<li>{}</li>", esc(s));
    }
    h.push_str("</ul></section>");

    // Map and hotspots.
    let _ = write!(
        h,
        "<section><h2>{}</h2><figure class=\"map\"><img alt=\"{}\" src=\"data:image/png;base64,{}\" width=\"900\"><figcaption>{}</figcaption></figure>",
        pick(lang, "Heta punkter", "Hot spots"),
        esc(pick(lang, "Karta över veckans heta punkter", "Map of the week's hot spots")),
        base64(map_png),
        esc(&match lang {
            Lang::Sv => format!("Getis-Ord Gi* på rutor om {} m, klass efter FDR-justerat p (Benjamini–Hochberg). Lila ram: ny, sammanhängande eller intensifierande het punkt de senaste {} veckorna.", num(r.grid_m, 0, lang), r.emerging.slices.len()),
            Lang::En => format!("Getis-Ord Gi* on {} m cells, class by FDR-adjusted p (Benjamini–Hochberg). Purple outline: new, consecutive or intensifying hot spot over the last {} weeks.", num(r.grid_m, 0, lang), r.emerging.slices.len()),
        })
    );
    table(
        &mut h,
        Some(pick(
            lang,
            "Veckans starkaste heta punkter",
            "The week's strongest hot spots",
        )),
        &[
            "N:#",
            pick(lang, "Område", "Area"),
            pick(lang, "Ruta", "Cell"),
            &format!("N:{}", pick(lang, "Händelser", "Events")),
            pick(lang, "Klass", "Class"),
        ],
    );
    for (i, c) in r.top_hotspots.iter().enumerate() {
        row(
            &mut h,
            &[
                n((i + 1).to_string()),
                c.area_name.clone().unwrap_or_else(|| "–".into()),
                c.cell.cell_id.clone(),
                n(count(c.cell.count, lang)),
                class(c.cell.class, lang),
            ],
            false,
        );
    }
    if r.top_hotspots.is_empty() {
        let _ = write!(
            h,
            "<tr><td colspan=\"5\">{}</td></tr>",
            pick(
                lang,
                "Inga signifikanta heta punkter.",
                "No significant hot spots."
            )
        );
    }
    h.push_str("</tbody></table>");

    // Emerging.
    let _ = write!(
        h,
        "<h2>{}</h2><p class=\"note\">{}</p>",
        pick(lang, "Nya och växande heta punkter", "New and intensifying hot spots"),
        esc(&match lang {
            Lang::Sv => format!("Analys av framväxande heta punkter (Gi* per vecka, Mann–Kendall-trend) över {} veckor till och med veckan.", r.emerging.slices.len()),
            Lang::En => format!("Emerging hot spot analysis (Gi* per week, Mann–Kendall trend) over {} weeks up to the week.", r.emerging.slices.len()),
        })
    );
    table(
        &mut h,
        None,
        &[
            pick(lang, "Mönster", "Pattern"),
            pick(lang, "Område", "Area"),
            pick(lang, "Ruta", "Cell"),
            &format!("N:{}", pick(lang, "Händelser", "Events")),
            &format!("N:{}", pick(lang, "Heta veckor", "Hot weeks")),
        ],
    );
    for c in &r.emerging_cells {
        row(
            &mut h,
            &[
                pattern(c.cell.pattern, lang),
                c.area_name.clone().unwrap_or_else(|| "–".into()),
                c.cell.cell_id.clone(),
                n(count(c.cell.count, lang)),
                n(c.cell.hot_slices.to_string()),
            ],
            false,
        );
    }
    if r.emerging_cells.is_empty() {
        let _ = write!(
            h,
            "<tr><td colspan=\"5\">{}</td></tr>",
            pick(lang, "Inga heta mönster.", "No hot-spot patterns.")
        );
    }
    h.push_str("</tbody></table></section>");

    // Per-area table.
    let _ = write!(
        h,
        "<section class=\"page\"><h2>{}</h2><p class=\"note\">{}</p>",
        pick(lang, "Områden", "Areas"),
        esc(&match lang {
            Lang::Sv => format!("Veckan mot de fyra veckorna före ({} – {}, jämfört per dag) och mot samma vecka förra året ({} – {}). Exakt villkorligt test av två Poisson-intensiteter; fetstil: Benjamini–Hochberg q < {}. Antal under {} visas som \"<{}\".", r.baseline.0, r.baseline.1, r.year_earlier.0, r.year_earlier.1, num(r.fdr, 2, lang), r.suppression.unwrap_or(1), r.suppression.unwrap_or(1)),
            Lang::En => format!("The week against the four weeks before ({} – {}, compared per day) and the same week a year earlier ({} – {}). Exact conditional test of two Poisson rates; bold: Benjamini–Hochberg q < {}. Counts below {} are shown as \"<{}\".", r.baseline.0, r.baseline.1, r.year_earlier.0, r.year_earlier.1, num(r.fdr, 2, lang), r.suppression.unwrap_or(1), r.suppression.unwrap_or(1)),
        })
    );
    let ratio = format!("N:{}", pick(lang, "Kvot", "Ratio"));
    table(
        &mut h,
        None,
        &[
            pick(lang, "Område", "Area"),
            &format!("N:{}", pick(lang, "Veckan", "Week")),
            &format!("N:{}", pick(lang, "4 veckor före", "4 weeks before")),
            &ratio,
            "N:p",
            &format!("N:{}", pick(lang, "Året före", "Year earlier")),
            &ratio,
            "N:p",
        ],
    );
    let significant = |code: &str| r.changed.iter().any(|c| c.area_code == code);
    let opt = |v: Option<f64>, d: usize| v.map_or("–".to_owned(), |v| num(v, d, lang));
    let optp = |v: Option<f64>| v.map_or("–".to_owned(), |v| p(v, lang));
    let is_total = |code: &str| code == trygg_analytics::areas::MUNICIPALITY_LAYER;
    let mut rows: Vec<_> = r
        .areas
        .rows
        .iter()
        .filter(|row| row.source.is_none() && row.category.is_none())
        .collect();
    // The whole municipality first.
    rows.sort_by_key(|row| !is_total(&row.area_code));
    for row_ in rows {
        let name = if is_total(&row_.area_code) {
            pick(lang, "Hela kommunen", "Whole municipality").to_owned()
        } else {
            row_.area_name.clone()
        };
        row(
            &mut h,
            &[
                name,
                n(count(row_.count, lang)),
                n(count(row_.previous_count, lang)),
                n(opt(row_.ratio_vs_previous, 2)),
                n(optp(row_.p_vs_previous)),
                n(count(row_.year_earlier_count, lang)),
                n(opt(row_.ratio_vs_year_earlier, 2)),
                n(optp(row_.p_vs_year_earlier)),
            ],
            significant(&row_.area_code),
        );
    }
    h.push_str("</tbody></table></section>");

    // Time patterns.
    let _ = write!(
        h,
        "<section class=\"page\"><h2>{}</h2>",
        pick(
            lang,
            "När: tid på dygnet, veckodag och de senaste veckorna",
            "When: time of day, weekday and the recent weeks"
        )
    );
    let period = format!("{} – {}", r.from, r.to);
    for chart in [
        charts::matrix(&r.matrix, &period, lang),
        charts::trend(&r.series, lang),
    ] {
        let _ = write!(h, "<figure>{}</figure>", chart.svg(false, comma));
    }
    h.push_str("</section>");

    // Survey.
    let _ = write!(
        h,
        "<section><h2>{}</h2>",
        pick(
            lang,
            "Trygghetsmätningen i områden som sticker ut",
            "The safety survey in the areas that stand out"
        )
    );
    match &r.survey_round {
        Some(round) if !r.survey.is_empty() => {
            let caption = format!(
                "{} {round}",
                pick(
                    lang,
                    "Andel otrygga kvällstid, omgång",
                    "Share feeling unsafe in the evening, round"
                )
            );
            table(
                &mut h,
                Some(&caption),
                &[
                    pick(lang, "Område", "Area"),
                    &format!("N:{}", pick(lang, "Svar", "Answers")),
                    &format!("N:{}", pick(lang, "Andel", "Share")),
                    &format!("N:{}", pick(lang, "95 % intervall", "95 % interval")),
                ],
            );
            let pct = |v: Option<f64>| {
                v.map_or("–".to_owned(), |v| {
                    format!("{} %", num(100.0 * v, 0, lang))
                })
            };
            for e in &r.survey {
                row(
                    &mut h,
                    &[
                        e.area.clone(),
                        n(count(e.n, lang)),
                        n(pct(e.share)),
                        n(format!("{} – {}", pct(e.ci_low), pct(e.ci_high))),
                    ],
                    false,
                );
            }
            h.push_str("</tbody></table>");
        }
        _ => {
            let _ = write!(
                h,
                "<p>{}</p>",
                pick(
                    lang,
                    "Ingen trygghetsmätning för de områden som sticker ut.",
                    "No survey results for the areas that stand out."
                )
            );
        }
    }
    h.push_str("</section>");

    // Data quality.
    let prov = &report.provenance;
    let _ = write!(
        h,
        "<section><h2>{}</h2>",
        pick(
            lang,
            "Datakvalitet och ursprung",
            "Data quality and provenance"
        )
    );
    let events = format!("N:{}", pick(lang, "Händelser", "Events"));
    table(
        &mut h,
        Some(pick(
            lang,
            "Veckans händelser per källa och lägesprecision",
            "The week's events per source and location precision",
        )),
        &[
            pick(lang, "Källa", "Source"),
            pick(lang, "Precision", "Precision"),
            &events,
        ],
    );
    for s in &prov.by_source {
        row(
            &mut h,
            &[
                source_name(&s.source, lang),
                s.precision.clone(),
                n(num(s.events as f64, 0, lang)),
            ],
            false,
        );
    }
    h.push_str("</tbody></table>");
    table(
        &mut h,
        Some(pick(
            lang,
            "Inläsningar med veckans händelser",
            "Ingest batches holding the week's events",
        )),
        &[
            "N:Batch",
            pick(lang, "Källa", "Source"),
            pick(lang, "Klar", "Committed"),
            &events,
            pick(lang, "Sen", "Late"),
        ],
    );
    for b in &prov.batches {
        row(
            &mut h,
            &[
                n(b.id.to_string()),
                source_name(&b.source, lang),
                b.finished_at.clone(),
                n(num(b.events as f64, 0, lang)),
                if b.late { pick(lang, "ja", "yes") } else { "" }.to_owned(),
            ],
            false,
        );
    }
    h.push_str("</tbody></table>");
    let rejected: i64 = prov.ingested.iter().map(|b| b.rejected).sum();
    let _ = write!(
        h,
        "<p>{}</p>",
        esc(&match lang {
            Lang::Sv => format!("{} inläsningar under veckan; {} avvisade rader (sparade med orsak). {} händelser kom in efter veckans slut.", prov.ingested.len(), num(rejected as f64, 0, lang), num(prov.late_events as f64, 0, lang)),
            Lang::En => format!("{} ingest batches during the week; {} rejected rows (stored with their reason). {} events arrived after the week ended.", prov.ingested.len(), num(rejected as f64, 0, lang), num(prov.late_events as f64, 0, lang)),
        })
    );
    let feed = &report.police_feed;
    let _ = write!(
        h,
        "<p>{}</p>",
        esc(&match lang {
            Lang::Sv => format!("Polisens händelseflöde: {} hämtningar under veckan, {} misslyckade, {} nya händelser, {} luckor (inget gemensamt id mellan två hämtningar: händelser kan saknas).", feed.polls, feed.failed, feed.new_events, feed.gaps.len()),
            Lang::En => format!("Police events feed: {} polls during the week, {} failed, {} new events, {} gaps (no id shared by two consecutive snapshots: events may be missing).", feed.polls, feed.failed, feed.new_events, feed.gaps.len()),
        })
    );
    if !feed.gaps.is_empty() {
        h.push_str("<ul>");
        for g in &feed.gaps {
            let _ = write!(h, "<li>{} → {}</li>", esc(&g.after), esc(&g.before));
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");

    // Method.
    let changed_prev = r
        .changed
        .iter()
        .filter(|c| c.against == Against::PreviousWeeks)
        .count();
    let _ = write!(
        h,
        "<section><h2>{}</h2><p class=\"note\">{}</p></section>",
        pick(lang, "Metod", "Method"),
        esc(&match lang {
            Lang::Sv => format!("Alla siffror kommer från Tryggs frågelager, samma som kartan och API:t visar (data v{}). Förändring: exakt villkorligt test av två Poisson-intensiteter med periodlängderna som exponering; Benjamini–Hochberg över områdenas test ({changed_prev} signifikanta mot de fyra veckorna före). Heta punkter: Getis-Ord Gi*, drottninggrannskap, FDR. Små antal döljs som för läsare (under {}).", r.data.version, r.suppression.unwrap_or(1)),
            Lang::En => format!("Every number comes from Trygg's query layer, the same the map and the API show (data v{}). Change: exact conditional test of two Poisson rates with the period lengths as exposure; Benjamini–Hochberg over the areas' tests ({changed_prev} significant against the four weeks before). Hot spots: Getis-Ord Gi*, queen neighbours, FDR. Small counts hidden as for viewers (below {}).", r.data.version, r.suppression.unwrap_or(1)),
        })
    );
    h.push_str("</main></body></html>\n");
    h
}
