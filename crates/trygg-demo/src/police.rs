//! Police event notices (polisens händelser) as the open API serves them: JSON arrays
//! of the latest ≤ 500 notices, newest first, written as overlapping snapshots.
//!
//! Notices come from a small share of the generated crimes, shootings and fires (so
//! hotspots show in this source too), plus event types that are not crimes in the
//! other files (traffic accidents, fights, missing persons) and a weekend-morning
//! "Sammanfattning natt". Like the real feed, `datetime` is the publication time
//! (minutes to hours after the event; night events often the next morning) with
//! Stockholm's offset and an unpadded hour, `name` carries the event time without a
//! year, and the location is always the Stockholm municipality centroid. About half
//! the summaries name exactly one stadsdel in ordinary Swedish.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use rand::Rng;
use rand_pcg::Pcg64;
use serde::Serialize;

use crate::rhythm::{
    skip_gap, Rhythm, H_DAY, H_EVENING, H_NIGHTLIFE, H_SHOOTING, H_TRAFFIC, M_FLAT, M_SUMMER,
    W_FLAT, W_WEEKEND, W_WORKDAY,
};
use crate::rng::{chance, normal, pick, poisson, stream};
use crate::world::World;
use crate::{io_error, DemoError, PoliceSeed};

/// The most notices the API returns at once.
pub const SNAPSHOT_SIZE: usize = 500;
/// `location.name` of every generated notice.
pub const LOCATION_NAME: &str = "Stockholm";
/// `location.gps` of every generated notice: the municipality centroid.
pub const LOCATION_GPS: &str = "59.329324,18.068581";
/// The event type of the nightly summaries (not events).
pub const SUMMARY_TYPE: &str = "Sammanfattning natt";

use trygg_model::time::SWEDISH_MONTHS as MONTHS;

/// Notice types that do not come from the other files: (type, per year at scale 1,
/// rhythm, tilt by stadsdel character).
const OWN_TYPES: &[(&str, f64, Rhythm, [f64; 6])] = &[
    (
        "Trafikolycka",
        350.0,
        Rhythm {
            hours: &H_TRAFFIC,
            week: &W_WORKDAY,
            months: &M_FLAT,
            party: false,
        },
        [1.0; 6],
    ),
    (
        "Trafikolycka, singel",
        80.0,
        Rhythm {
            hours: &H_TRAFFIC,
            week: &W_FLAT,
            months: &M_FLAT,
            party: false,
        },
        [1.0; 6],
    ),
    (
        "Bråk",
        150.0,
        Rhythm {
            hours: &H_NIGHTLIFE,
            week: &W_WEEKEND,
            months: &M_SUMMER,
            party: true,
        },
        [2.0, 1.2, 1.2, 0.8, 0.4, 0.6],
    ),
    (
        "Fylleri/LOB",
        80.0,
        Rhythm {
            hours: &H_NIGHTLIFE,
            week: &W_WEEKEND,
            months: &M_SUMMER,
            party: true,
        },
        [2.5, 1.2, 0.8, 0.7, 0.3, 0.8],
    ),
    (
        "Våld/hot mot tjänsteman",
        100.0,
        Rhythm {
            hours: &H_EVENING,
            week: &W_WEEKEND,
            months: &M_FLAT,
            party: true,
        },
        [2.0, 1.0, 1.8, 0.7, 0.3, 0.5],
    ),
    (
        "Försvunnen person",
        60.0,
        Rhythm {
            hours: &H_DAY,
            week: &W_FLAT,
            months: &M_FLAT,
            party: false,
        },
        [1.0; 6],
    ),
    (
        "Övrigt",
        120.0,
        Rhythm {
            hours: &H_DAY,
            week: &W_FLAT,
            months: &M_FLAT,
            party: false,
        },
        [1.0; 6],
    ),
    (
        "Skottlossning, misstänkt",
        40.0,
        Rhythm {
            hours: &H_SHOOTING,
            week: &W_WEEKEND,
            months: &M_FLAT,
            party: false,
        },
        [0.5, 0.3, 4.0, 1.0, 0.3, 0.2],
    ),
    (
        "Detonation",
        15.0,
        Rhythm {
            hours: &H_SHOOTING,
            week: &W_FLAT,
            months: &M_FLAT,
            party: false,
        },
        [0.5, 0.3, 4.0, 1.0, 0.3, 0.2],
    ),
    (
        "Polisinsats/kommendering",
        40.0,
        Rhythm {
            hours: &H_DAY,
            week: &W_WEEKEND,
            months: &M_SUMMER,
            party: true,
        },
        [3.0, 1.0, 1.5, 0.5, 0.2, 1.0],
    ),
];

/// Summary texts per type and detail: with a place (`{p}` becomes "i Rinkeby" or
/// "på Södermalm") and without. A seed's detail picks its own entry where there is
/// one, otherwise the type's entry with an empty detail.
type Texts = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
const TEXTS: &[Texts] = &[
    (
        "Misshandel",
        "",
        &[
            "En man misshandlades {p}.",
            "Två personer misshandlades vid en busshållplats {p}. Polisen söker vittnen.",
            "En man i 20-årsåldern fördes till sjukhus efter en misshandel {p}.",
        ],
        &[
            "En man i 30-årsåldern misshandlades och fördes till sjukhus.",
            "Bråk utvecklades till misshandel utanför en restaurang. En person greps.",
            "En person blev slagen av flera okända gärningspersoner.",
        ],
    ),
    (
        "Misshandel",
        "inne",
        &["En kvinna misshandlades i en lägenhet {p}. En man greps.", "Polisen larmades till en adress {p} där en kvinna blivit slagen."],
        &["En kvinna uppger att hon blivit misshandlad av sin sambo.", "Polisen larmas till en lägenhet med uppgifter om att en kvinna blir slagen."],
    ),
    (
        "Misshandel, grov",
        "",
        &["En man fick allvarliga skador vid en misshandel {p}.", "En person knivskadades {p} och fördes till sjukhus."],
        &["En person har förts till sjukhus med allvarliga skador efter en misshandel. En misstänkt har gripits."],
    ),
    (
        "Rån",
        "",
        &["En ung man rånades på sin mobiltelefon {p}.", "En kvinna rånades på sin väska {p}."],
        &["En person blev rånad på sin jacka av tre okända.", "En tonåring rånades på sina hörlurar. Gärningspersonerna flydde."],
    ),
    (
        "Stöld",
        "",
        &["En kvinna blev bestulen på sin plånbok {p}.", "Två personer greps för stöld {p}."],
        &["Två personer gripna misstänkta för stöld.", "En kvinna blev bestulen på sin väska på en buss."],
    ),
    (
        "Stöld",
        "butik",
        &["En man greps för stöld i en butik {p}."],
        &["En kvinna greps efter att ha stulit kläder i en butik."],
    ),
    (
        "Stöld",
        "ficka",
        &["Fickstöld på en buss {p}.", "En turist blev bestulen på sin telefon {p}."],
        &["En man greps misstänkt för fickstölder på tunnelbanan."],
    ),
    (
        "Motorfordon, stöld",
        "",
        &["En bil stals under natten {p}."],
        &["En inringare uppger att hens bil har blivit stulen."],
    ),
    (
        "Stöld/inbrott",
        "lägenhet",
        &["Inbrott i lägenhet {p}.", "Inbrott i en lägenhet {p} medan de boende var bortresta."],
        &["Inbrott i en lägenhet medan de boende var bortresta.", "En man greps på bar gärning vid ett lägenhetsinbrott."],
    ),
    (
        "Stöld/inbrott",
        "villa",
        &["Inbrott i en villa {p}. Smycken och kontanter stals."],
        &["Inbrott i ett radhus. Okänt vad som stulits."],
    ),
    (
        "Stöld/inbrott",
        "källare",
        &["Inbrott i flera källarförråd {p}."],
        &["En man greps misstänkt för inbrott i ett förråd."],
    ),
    (
        "Skadegörelse",
        "",
        &["Skadegörelse på en busskur {p}.", "Fönster krossades på en skola {p} under natten."],
        &["Två ungdomar greps för skadegörelse.", "Fönster krossades på en skola under natten."],
    ),
    (
        "Skadegörelse",
        "fordon",
        &["Flera bilrutor krossades {p}."],
        &["Flera parkerade bilar fick sina rutor krossade under natten."],
    ),
    (
        "Narkotikabrott",
        "",
        &["En man greps för innehav av narkotika {p}."],
        &["En person greps misstänkt för eget bruk av narkotika."],
    ),
    (
        "Narkotikabrott",
        "försäljning",
        &["Polisen ingrep mot narkotikaförsäljning {p}. Två personer greps."],
        &["En inringare tipsar om pågående narkotikaförsäljning."],
    ),
    (
        "Bedrägeri",
        "",
        &["En äldre kvinna {p} blev lurad av en falsk bankman."],
        &["En äldre man har blivit lurad att lämna ut sina bankuppgifter."],
    ),
    (
        "Olaga hot",
        "",
        &["En man hotade personal i en butik {p}.", "En kvinna hotades med kniv {p}."],
        &["En kvinna har hotats av en bekant.", "En man hotade en busschaufför."],
    ),
    (
        "Ofredande/förargelse",
        "",
        &["En man ofredade kvinnor vid en tunnelbanestation {p}."],
        &["Två män ofredar unga tjejer vid en busshållplats."],
    ),
    (
        "Våldtäkt",
        "",
        &["En våldtäkt har anmälts {p}. Polisen utreder."],
        &["En våldtäkt har anmälts. Polisen har inlett en förundersökning."],
    ),
    (
        "Vapenlagen",
        "",
        &["En man greps med en kniv {p}."],
        &["En person påträffades med ett vapen i bilen vid en kontroll."],
    ),
    (
        "Rattfylleri",
        "",
        &["Fordonsförare {p} rapporterades för rattfylleri.", "En bilist stoppades {p} misstänkt för rattfylleri."],
        &["En bilist körde in i ett räcke och misstänks för rattfylleri."],
    ),
    (
        "Skottlossning",
        "",
        &["Skottlossning {p}. En man har förts till sjukhus.", "Polisen larmades om skott {p}. Tekniker är på plats."],
        &["Larm om skottlossning. Polisen har spärrat av ett område."],
    ),
    (
        "Skottlossning, misstänkt",
        "",
        &["Flera personer hörde smällar som lät som skott {p}."],
        &["Larm om misstänkt skottlossning. Inga skadade hittades."],
    ),
    (
        "Brand",
        "",
        &["Brand {p}. Räddningstjänsten är på plats."],
        &["Brand utomhus. Ingen skadad."],
    ),
    (
        "Brand",
        "Bil",
        &["Bilbrand {p}. Räddningstjänsten släckte.", "En bil brann under natten {p}. Polisen misstänker att den var anlagd."],
        &["En bil brann på en parkering. Ingen skadad."],
    ),
    (
        "Brand",
        "Byggnad",
        &["Lägenhetsbrand {p}. En person fördes till sjukhus.", "Brand i ett flerfamiljshus {p}. Flera boende evakuerades."],
        &["Brand i en lägenhet. Räddningstjänsten släckte."],
    ),
    (
        "Brand",
        "Container",
        &["Containerbrand {p}."],
        &["Brand i en container. Ingen skadad."],
    ),
    (
        "Trafikolycka",
        "",
        &["Två bilar kolliderade {p}.", "En cyklist och en bil kolliderade {p}."],
        &["Trafikolycka med två personbilar. Inga allvarliga skador."],
    ),
    (
        "Trafikolycka, singel",
        "",
        &["En bil körde av vägen {p}."],
        &["Singelolycka. Föraren fördes till sjukhus för kontroll."],
    ),
    ("Bråk", "", &["Bråk mellan flera personer {p}."], &["Bråk utanför en nattklubb. En person omhändertogs."]),
    ("Fylleri/LOB", "", &["En berusad man omhändertogs {p}."], &["En kraftigt berusad person omhändertogs enligt LOB."]),
    (
        "Våld/hot mot tjänsteman",
        "",
        &["En polis blev sparkad vid ett ingripande {p}."],
        &["En väktare blev hotad vid ett ingripande."],
    ),
    ("Försvunnen person", "", &["En äldre man saknas {p}."], &["En person har anmälts försvunnen. Polisen söker."]),
    ("Övrigt", "", &["Polisen har varit på plats {p} efter ett larm."], &["Larm om inbrottsförsök visade sig vara falskt."]),
    ("Detonation", "", &["Detonation vid en port {p}."], &["Larm om en smäll. Polisen undersöker platsen."]),
    (
        "Polisinsats/kommendering",
        "",
        &["Polisen har en större insats {p}."],
        &["Polisen har en kommendering med anledning av ett evenemang."],
    ),
];

/// The texts for a seed: its detail's entry, or the type's general one.
fn texts_for(kind: &str, detail: &str) -> Option<&'static Texts> {
    TEXTS
        .iter()
        .find(|t| t.0 == kind && t.1 == detail)
        .or_else(|| TEXTS.iter().find(|t| t.0 == kind && t.1.is_empty()))
}

const SUMMARY_TEXT: &str = "Nedan följer ett urval av nattens händelser i Stockholms kommun.";

/// Share of summaries that name their stadsdel, where it can be named.
const NAMED_SHARE: f64 = 0.56;

/// One notice as the API writes it.
#[derive(Debug, Clone, Serialize)]
struct Notice {
    id: u64,
    datetime: String,
    name: String,
    summary: String,
    url: String,
    #[serde(rename = "type")]
    kind: String,
    location: Location,
}

/// A notice before ids are given.
struct Draft {
    published: NaiveDateTime,
    at: NaiveDateTime,
    name: String,
    summary: String,
    url: String,
    kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct Location {
    name: &'static str,
    gps: &'static str,
}

/// What the police generator reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoliceSummary {
    /// Distinct notices (over all snapshots).
    pub notices: u64,
    /// Notices whose summary names a stadsdel.
    pub named: u64,
    /// "Sammanfattning natt" notices.
    pub summaries: u64,
    /// (file name, notices in it) per snapshot.
    pub files: Vec<(String, u64)>,
}

/// Generates the notices from `seeds` plus the feed's own types and writes the
/// snapshot files into `dir`.
pub(crate) fn generate(
    world: &World,
    seed: u64,
    scale: f64,
    mut seeds: Vec<PoliceSeed>,
    dir: &Path,
) -> Result<PoliceSummary, DemoError> {
    let period = world.period;
    let mut rng = stream(seed, "police");
    for (kind, per_year, rhythm, tilt) in OWN_TYPES {
        let table = world.activity_weights(tilt);
        for day in period.each_day() {
            for _ in 0..poisson(&mut rng, per_year / 365.25 * scale * rhythm.day_factor(day)) {
                seeds.push(PoliceSeed {
                    at: rhythm.time_on(day, &mut rng),
                    district: Some(table.draw(&mut rng)),
                    kind,
                    detail: "",
                });
            }
        }
    }
    for day in period.each_day() {
        // A night summary on about one weekend morning a week.
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend && chance(&mut rng, 0.5 * scale.min(1.0)) {
            let at = day
                .and_hms_opt(rng.random_range(5..7), rng.random_range(0..60), 0)
                .unwrap_or_default();
            seeds.push(PoliceSeed {
                at,
                district: None,
                kind: SUMMARY_TYPE,
                detail: "",
            });
        }
    }
    // Seeds arrive from several generators; put them in a stable order first.
    seeds.sort_by(|a, b| {
        (a.at, a.kind, a.detail, a.district).cmp(&(b.at, b.kind, b.detail, b.district))
    });

    let mut notices: Vec<Draft> = Vec::with_capacity(seeds.len());
    let mut summary = PoliceSummary::default();
    for s in &seeds {
        let published = publish(s.at, s.kind == SUMMARY_TYPE, &mut rng);
        if published > period.end_moment() {
            continue;
        }
        let text = if s.kind == SUMMARY_TYPE {
            summary.summaries += 1;
            SUMMARY_TEXT.to_owned()
        } else {
            let (with, without): (&[&str], &[&str]) =
                texts_for(s.kind, s.detail).map_or((&[], &[]), |t| (t.2, t.3));
            let area = s.district.map(|d| &world.areas[d]).filter(|a| a.nameable);
            match area {
                Some(a) if !with.is_empty() && chance(&mut rng, NAMED_SHARE) => {
                    summary.named += 1;
                    pick(&mut rng, with).replace("{p}", &a.in_place())
                }
                _ if !without.is_empty() => (*pick(&mut rng, without)).to_owned(),
                _ => "Polisen har varit på plats.".to_owned(),
            }
        };
        let name = format!(
            "{:02} {} {:02}.{:02}, {}, {}",
            s.at.day(),
            MONTHS[s.at.month0() as usize],
            s.at.hour(),
            s.at.minute(),
            s.kind,
            LOCATION_NAME
        );
        let url = format!(
            "/aktuellt/handelser/{}/{}/{}/{}/",
            s.at.year(),
            MONTHS[s.at.month0() as usize],
            s.at.day(),
            slug(&name)
        );
        notices.push(Draft {
            published,
            at: s.at,
            name,
            summary: text,
            url,
            kind: s.kind,
        });
    }
    // Publication order gives the ids, as in the real feed.
    let mut order: Vec<usize> = (0..notices.len()).collect();
    order.sort_by(|&a, &b| {
        (notices[a].published, notices[a].at, a).cmp(&(notices[b].published, notices[b].at, b))
    });
    let days_since_2020 =
        (period.start - NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(period.start)).num_days();
    let mut id = 300_000 + days_since_2020.max(0) as u64 * 160;
    let mut written: Vec<Notice> = Vec::with_capacity(order.len());
    for i in order {
        let d = &notices[i];
        id += rng.random_range(1..=30);
        written.push(Notice {
            id,
            datetime: stamp(d.published),
            name: d.name.clone(),
            summary: d.summary.clone(),
            url: d.url.clone(),
            kind: d.kind.to_owned(),
            location: Location {
                name: LOCATION_NAME,
                gps: LOCATION_GPS,
            },
        });
    }
    summary.notices = written.len() as u64;

    // Snapshots: each the latest ≤ 500 at some moment, overlapping the previous one.
    let mut start = 0usize;
    let mut index = 1;
    loop {
        let stop = (start + SNAPSHOT_SIZE).min(written.len());
        let file_name = format!("police-events-{index:03}.json");
        let path = dir.join(&file_name);
        let snapshot: Vec<&Notice> = written[start..stop].iter().rev().collect();
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, &snapshot).map_err(|e| crate::json_error(&path, e))?;
        w.write_all(b"\n").map_err(|e| io_error(&path, e))?;
        w.flush().map_err(|e| io_error(&path, e))?;
        summary.files.push((file_name, snapshot.len() as u64));
        if stop >= written.len() {
            break;
        }
        let overlap = rng.random_range(30..=120);
        start = stop - overlap;
        index += 1;
    }
    Ok(summary)
}

/// When a notice about an event at `at` is published.
fn publish(at: NaiveDateTime, is_summary: bool, rng: &mut Pcg64) -> NaiveDateTime {
    skip_gap(publish_wall_clock(at, is_summary, rng))
}

fn publish_wall_clock(at: NaiveDateTime, is_summary: bool, rng: &mut Pcg64) -> NaiveDateTime {
    if is_summary {
        return at + Duration::seconds(rng.random_range(120..2_400));
    }
    if at.hour() < 6 && chance(rng, 0.6) {
        // Night events are often written up by the morning shift.
        let morning = at.date().and_hms_opt(6, 30, 0).unwrap_or(at)
            + Duration::seconds(rng.random_range(0..9_000));
        if morning > at {
            return morning;
        }
    }
    let minutes = (45f64.ln() + 0.9 * normal(rng)).exp().clamp(3.0, 600.0);
    at + Duration::seconds((minutes * 60.0) as i64 + rng.random_range(0..60))
}

/// "2024-02-01 7:04:33 +01:00": Stockholm local time, unpadded hour, with offset.
fn stamp(local: NaiveDateTime) -> String {
    trygg_model::time::stockholm_local(local)
        .format("%Y-%m-%d %-H:%M:%S %:z")
        .to_string()
}

/// The URL slug of a notice name: lower case, Swedish letters folded, punctuation
/// other than the time's dot dropped, spaces to hyphens.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'å' | 'ä' | 'á' | 'à' => out.push('a'),
            'ö' | 'ó' => out.push('o'),
            'é' | 'è' => out.push('e'),
            ' ' => out.push('-'),
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => out.push(c),
            _ => {}
        }
    }
    out
}

/// The summary templates, for tests.
#[cfg(test)]
pub(crate) fn all_texts() -> impl Iterator<Item = (&'static str, &'static str, bool)> {
    TEXTS.iter().flat_map(|(t, _, with, without)| {
        with.iter()
            .map(move |s| (*t, *s, true))
            .chain(without.iter().map(move |s| (*t, *s, false)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_slugs_look_like_the_real_feed() {
        let t = NaiveDate::from_ymd_opt(2024, 2, 1)
            .and_then(|d| d.and_hms_opt(7, 4, 33))
            .expect("time");
        assert_eq!(stamp(t), "2024-02-01 7:04:33 +01:00");
        let s = NaiveDate::from_ymd_opt(2024, 7, 1)
            .and_then(|d| d.and_hms_opt(17, 4, 3))
            .expect("time");
        assert_eq!(stamp(s), "2024-07-01 17:04:03 +02:00");
        assert_eq!(
            slug("01 februari 06.32, Stöld/inbrott, Stockholm"),
            "01-februari-06.32-stoldinbrott-stockholm"
        );
        assert_eq!(
            slug("05 februari 09.38, Trafikolycka, singel, Stockholm"),
            "05-februari-09.38-trafikolycka-singel-stockholm"
        );
    }

    #[test]
    fn every_seed_type_has_texts_with_one_place_marker() {
        for (t, text, with) in all_texts() {
            assert_eq!(
                text.matches("{p}").count(),
                usize::from(with),
                "{t}: {text}"
            );
        }
        for (t, _, _, _) in OWN_TYPES {
            assert!(texts_for(t, "").is_some(), "{t}");
        }
        for k in crate::crimes::KINDS {
            if let Some((t, detail, _)) = k.police {
                assert!(texts_for(t, detail).is_some(), "{t}");
                assert!(
                    detail.is_empty() || TEXTS.iter().any(|x| x.0 == t && x.1 == detail),
                    "{t} {detail}"
                );
            }
        }
    }
}
