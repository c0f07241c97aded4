//! The report's words in Swedish and English, and its summary: sentences built
//! from the numbers (never a number the tables do not hold).

use trygg_query::charts::Lang;
use trygg_query::disclosure::Count;
use trygg_query::jobs::weekly::{Against, WeeklyResult};
use trygg_store::{FeedSummary, Provenance};

/// `sv` or `en`.
pub fn pick(lang: Lang, sv: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Sv => sv,
        Lang::En => en,
    }
}

/// A number with up to `decimals` decimals, grouped, in the language's form.
pub fn num(v: f64, decimals: usize, lang: Lang) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(match lang {
                Lang::Sv => '\u{a0}',
                Lang::En => ',',
            });
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && v.abs() >= 0.5 * 10f64.powi(-(decimals as i32)) {
        "−"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        let point = pick(lang, ",", ".");
        format!("{sign}{grouped}{point}{frac}")
    }
}

/// A count as published: its value, or "<5".
pub fn count(c: Count, lang: Lang) -> String {
    match c.value() {
        Some(v) => num(v as f64, 0, lang),
        None => c.text(),
    }
}

/// A p-value: three decimals, or "< 0,001".
pub fn p(v: f64, lang: Lang) -> String {
    if v < 0.001 {
        format!("< {}", num(0.001, 3, lang))
    } else {
        num(v, 3, lang)
    }
}

/// An emerging-hotspot pattern's name.
pub fn pattern(name: &str, lang: Lang) -> String {
    let sv = match name {
        "New Hot Spot" => "Ny het punkt",
        "Consecutive Hot Spot" => "Sammanhängande het punkt",
        "Intensifying Hot Spot" => "Intensifierande het punkt",
        "Persistent Hot Spot" => "Ihållande het punkt",
        "Sporadic Hot Spot" => "Sporadisk het punkt",
        "Oscillating Hot Spot" => "Oscillerande het punkt",
        "Diminishing Hot Spot" => "Avtagande het punkt",
        "Historical Hot Spot" => "Historisk het punkt",
        other => other,
    };
    match lang {
        Lang::Sv => sv.to_owned(),
        Lang::En => name.to_owned(),
    }
}

/// A hotspot class's confidence.
pub fn class(c: i8, lang: Lang) -> String {
    let level = match c.abs() {
        3 => "99 %",
        2 => "95 %",
        1 => "90 %",
        _ => return pick(lang, "inte signifikant", "not significant").to_owned(),
    };
    if c > 0 {
        format!("{} {level}", pick(lang, "het punkt", "hot spot"))
    } else {
        format!("{} {level}", pick(lang, "kall punkt", "cold spot"))
    }
}

/// The week's name, e.g. "vecka 20, 2024".
pub fn week_name(r: &WeeklyResult, lang: Lang) -> String {
    let (year, week) = r.week.split_once("-W").unwrap_or((&r.week, ""));
    let week = week.trim_start_matches('0');
    match lang {
        Lang::Sv => format!("vecka {week}, {year}"),
        Lang::En => format!("week {week}, {year}"),
    }
}

fn municipality_row(r: &WeeklyResult) -> Option<&trygg_query::jobs::counts::StatRow> {
    r.areas.rows.iter().find(|row| {
        row.area_code == trygg_analytics::areas::MUNICIPALITY_LAYER
            && row.source.is_none()
            && row.category.is_none()
    })
}

/// The summary: what happened, what changed, where, when, and what to know
/// about the data.
pub fn summary(r: &WeeklyResult, prov: &Provenance, feed: &FeedSummary, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let place = r.data.municipality.clone().unwrap_or_default();
    if let Some(m) = municipality_row(r) {
        let mut s = match lang {
            Lang::Sv => format!(
                "{place} hade {} registrerade händelser under {} ({} – {}).",
                count(m.count, lang),
                week_name(r, lang),
                r.from,
                r.to
            ),
            Lang::En => format!(
                "{place} had {} recorded events in {} ({} – {}).",
                count(m.count, lang),
                week_name(r, lang),
                r.from,
                r.to
            ),
        };
        if let (Some(prev), Some(ratio), Some(pv)) = (
            m.previous_count.value(),
            m.ratio_vs_previous,
            m.p_vs_previous,
        ) {
            s.push(' ');
            s.push_str(&match lang {
                Lang::Sv => format!(
                    "Snittet de fyra veckorna före var {} per vecka (kvot {}, p = {}).",
                    num(prev as f64 / 4.0, 1, lang),
                    num(ratio, 2, lang),
                    self::p(pv, lang)
                ),
                Lang::En => format!(
                    "The four weeks before averaged {} a week (ratio {}, p = {}).",
                    num(prev as f64 / 4.0, 1, lang),
                    num(ratio, 2, lang),
                    self::p(pv, lang)
                ),
            });
        }
        if let (Some(back), Some(ratio)) = (m.year_earlier_count.value(), m.ratio_vs_year_earlier) {
            s.push(' ');
            s.push_str(&match lang {
                Lang::Sv => format!(
                    "Samma vecka förra året: {} (kvot {}).",
                    num(back as f64, 0, lang),
                    num(ratio, 2, lang)
                ),
                Lang::En => format!(
                    "The same week a year earlier: {} (ratio {}).",
                    num(back as f64, 0, lang),
                    num(ratio, 2, lang)
                ),
            });
        }
        out.push(s);
    }
    let test = pick(
        lang,
        "exakt villkorligt test av två Poisson-intensiteter, Benjamini–Hochberg-justerat",
        "exact conditional test of two Poisson rates, Benjamini–Hochberg adjusted",
    );
    for against in [Against::PreviousWeeks, Against::YearEarlier] {
        let changes: Vec<_> = r.changed.iter().filter(|c| c.against == against).collect();
        let what = match (against, lang) {
            (Against::PreviousWeeks, Lang::Sv) => "jämfört med de fyra veckorna före",
            (Against::PreviousWeeks, Lang::En) => "against the four weeks before",
            (Against::YearEarlier, Lang::Sv) => "jämfört med samma vecka förra året",
            (Against::YearEarlier, Lang::En) => "against the same week a year earlier",
        };
        if changes.is_empty() {
            out.push(match lang {
                Lang::Sv => format!(
                    "Inget område förändrades signifikant {what} ({test}, q < {}).",
                    num(r.fdr, 2, lang)
                ),
                Lang::En => format!(
                    "No area changed significantly {what} ({test}, q < {}).",
                    num(r.fdr, 2, lang)
                ),
            });
            continue;
        }
        let list: Vec<String> = changes
            .iter()
            .map(|c| {
                let dir = if c.ratio >= 1.0 {
                    pick(lang, "ökning", "up")
                } else {
                    pick(lang, "minskning", "down")
                };
                format!(
                    "{} ({dir}, {} {} {}, {} {})",
                    c.area_name,
                    num(c.count as f64, 0, lang),
                    pick(lang, "mot", "vs"),
                    num(c.compared_count as f64, 0, lang),
                    pick(lang, "kvot", "ratio"),
                    num(c.ratio, 2, lang)
                )
            })
            .collect();
        out.push(match lang {
            Lang::Sv => format!(
                "Signifikant förändring {what} ({test}, q < {}): {}.",
                num(r.fdr, 2, lang),
                list.join("; ")
            ),
            Lang::En => format!(
                "Significant change {what} ({test}, q < {}): {}.",
                num(r.fdr, 2, lang),
                list.join("; ")
            ),
        });
    }
    let hot = r.hotspots.cells.iter().filter(|c| c.class > 0).count();
    if let Some(top) = r.top_hotspots.first() {
        let area = top.area_name.clone().unwrap_or_else(|| "–".into());
        out.push(match lang {
            Lang::Sv => format!(
                "{hot} rutor om {} m var heta punkter (Gi*, FDR). Den starkaste låg i {area} med {} händelser.",
                num(r.grid_m, 0, lang),
                count(top.cell.count, lang)
            ),
            Lang::En => format!(
                "{hot} cells of {} m were hot spots (Gi*, FDR). The strongest lay in {area} with {} events.",
                num(r.grid_m, 0, lang),
                count(top.cell.count, lang)
            ),
        });
    } else {
        out.push(
            pick(
                lang,
                "Veckan hade inga signifikanta heta punkter.",
                "The week had no significant hot spots.",
            )
            .to_owned(),
        );
    }
    let emerging: Vec<_> = r
        .emerging_cells
        .iter()
        .filter(|c| {
            matches!(
                c.cell.pattern,
                "New Hot Spot" | "Consecutive Hot Spot" | "Intensifying Hot Spot"
            )
        })
        .collect();
    if emerging.is_empty() {
        out.push(match lang {
            Lang::Sv => format!(
                "Inga nya, sammanhängande eller intensifierande heta punkter de senaste {} veckorna.",
                r.emerging.slices.len()
            ),
            Lang::En => format!(
                "No new, consecutive or intensifying hot spots over the last {} weeks.",
                r.emerging.slices.len()
            ),
        });
    } else {
        let mut areas: Vec<String> = emerging
            .iter()
            .filter_map(|c| c.area_name.clone())
            .collect();
        areas.sort();
        areas.dedup();
        out.push(match lang {
            Lang::Sv => format!(
                "{} nya, sammanhängande eller intensifierande heta punkter de senaste {} veckorna, i {}.",
                emerging.len(),
                r.emerging.slices.len(),
                areas.join(", ")
            ),
            Lang::En => format!(
                "{} new, consecutive or intensifying hot spots over the last {} weeks, in {}.",
                emerging.len(),
                r.emerging.slices.len(),
                areas.join(", ")
            ),
        });
    }
    if let Some((day, hour, n)) = peak(r) {
        let days = trygg_query::charts::weekday_names(lang);
        out.push(match lang {
            Lang::Sv => format!(
                "Flest händelser med känd tid inträffade {} kl. {hour:02}–{:02} ({n}).",
                days[day],
                (hour + 1) % 24
            ),
            Lang::En => format!(
                "Most events with a known time happened on {} {hour:02}–{:02} ({n}).",
                days[day],
                (hour + 1) % 24
            ),
        });
    }
    let total: u64 = prov.by_source.iter().map(|s| s.events).sum();
    let points: u64 = prov
        .by_source
        .iter()
        .filter(|s| matches!(s.precision.as_str(), "exact" | "address" | "street"))
        .map(|s| s.events)
        .sum();
    if total > 0 {
        out.push(match lang {
            Lang::Sv => format!(
                "Datakvalitet: {} % av händelserna har en punkt (adress eller exakt läge); {} kom in efter veckans slut.",
                num(100.0 * points as f64 / total as f64, 0, lang),
                num(prov.late_events as f64, 0, lang)
            ),
            Lang::En => format!(
                "Data quality: {} % of the events have a point (address or exact); {} arrived after the week ended.",
                num(100.0 * points as f64 / total as f64, 0, lang),
                num(prov.late_events as f64, 0, lang)
            ),
        });
    }
    if !feed.gaps.is_empty() {
        out.push(match lang {
            Lang::Sv => format!(
                "Polisens flöde hade {} lucka/luckor: händelser kan saknas.",
                feed.gaps.len()
            ),
            Lang::En => format!(
                "The police feed had {} gap(s): events may be missing.",
                feed.gaps.len()
            ),
        });
    }
    if r.data.synthetic {
        out.push(
            pick(
                lang,
                "OBS: syntetiska demodata, inga verkliga händelser.",
                "Note: synthetic demo data, no real events.",
            )
            .to_owned(),
        );
    }
    out
}

/// The busiest weekday and hour of the matrix, when no cell is suppressed.
fn peak(r: &WeeklyResult) -> Option<(usize, usize, u64)> {
    let mut best: Option<(usize, usize, u64)> = None;
    for (hour, by_day) in r.matrix.counts.iter().enumerate() {
        for (day, c) in by_day.iter().enumerate() {
            let v = c.value()?;
            if best.is_none_or(|b| v > b.2) {
                best = Some((day, hour, v));
            }
        }
    }
    best.filter(|b| b.2 > 0)
}
