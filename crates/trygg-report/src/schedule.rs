//! The weekly report on a schedule (`trygg serve --weekly-report "mon 06:00"`):
//! each ISO week's report is due at the first scheduled time (Stockholm time)
//! after the week ends. [`Scheduler::tick`] makes every due week that has no
//! report yet, oldest first, so weeks missed while the server was down are
//! caught up and none is skipped; with `regenerate`, a recent week whose
//! events changed since its report (another batch, a revision, a revert) is
//! made again. The clock is a parameter, so tests move time by hand.
//!
//! Reports are kept on a [`ReportShelf`]: folders `DIR/WEEK/` beside a
//! GeoPackage store, or the database's `reports` tables over PostgreSQL. A
//! week's files land whole (with `index.json` saying when and from which data
//! version) or not at all, and the shelf records the first week the schedule
//! covers.

use std::path::PathBuf;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Stockholm;
use serde::{Deserialize, Serialize};
use trygg_analytics::window::Period;
use trygg_query::charts::Lang;
use trygg_query::{Policy, Snapshot, WeeklyRequest};
use trygg_store::{Provenance, ReportShelf, SqlRead, INDEX_FILE};

use crate::{build, write, Output, ReportError};

/// When the weekly report runs: a weekday and a Stockholm time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The weekday.
    pub weekday: Weekday,
    /// The local time.
    pub time: NaiveTime,
}

impl std::str::FromStr for Schedule {
    type Err = String;

    /// `"mon 06:00"` (weekday as three letters, Swedish or English, and HH:MM).
    fn from_str(s: &str) -> Result<Schedule, String> {
        let bad = || format!("'{s}' is not a weekday and a time, e.g. \"mon 06:00\"");
        let (day, time) = s.trim().split_once(' ').ok_or_else(bad)?;
        let weekday = match day.trim().to_lowercase().as_str() {
            "mon" | "mån" => Weekday::Mon,
            "tue" | "tis" => Weekday::Tue,
            "wed" | "ons" => Weekday::Wed,
            "thu" | "tor" => Weekday::Thu,
            "fri" | "fre" => Weekday::Fri,
            "sat" | "lör" => Weekday::Sat,
            "sun" | "sön" => Weekday::Sun,
            _ => return Err(bad()),
        };
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(Schedule { weekday, time })
    }
}

impl Schedule {
    /// When the report of the ISO week starting `monday` is due: the first
    /// scheduled weekday and time after the week's Sunday, Stockholm time (a
    /// time that a daylight-saving change skips is taken an hour later).
    pub fn due(&self, monday: NaiveDate) -> DateTime<Utc> {
        let after = monday + Duration::days(7);
        let offset =
            (7 + self.weekday.num_days_from_monday() - after.weekday().num_days_from_monday()) % 7;
        let day = after + Duration::days(i64::from(offset));
        let local = day.and_time(self.time);
        Stockholm
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                Stockholm
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
    }
}

/// The Monday of the ISO week `label` (`2024-W20`).
fn monday(label: &str) -> Option<NaiveDate> {
    label.parse::<Period>().ok().map(|p| p.start)
}

fn label(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// The scheduler's settings.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// When.
    pub schedule: Schedule,
    /// The language.
    pub lang: Lang,
    /// The area layer (default stadsdel).
    pub layer: Option<String>,
    /// The suppression rule (the viewers').
    pub policy: Policy,
    /// Chromium for the PDF (`None`: no PDF).
    pub chromium: Option<PathBuf>,
    /// Make a week again when its events changed, for the weeks this far back.
    pub regenerate_weeks: u32,
    /// The first week, when the shelf has none recorded (default: the last
    /// week whose report was due before the first tick).
    pub since: Option<String>,
}

/// What `DIR/WEEK/index.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// The week.
    pub week: String,
    /// Its first day.
    pub from: String,
    /// Its last day.
    pub to: String,
    /// When the report was made (UTC).
    pub generated_at: String,
    /// The data version it shows.
    pub data_version: u64,
    /// Its language.
    pub lang: String,
    /// Its files.
    pub files: Vec<String>,
    /// Which time it was made again, 0 the first.
    pub revision: u32,
    /// The week's provenance it was made from (to tell when the data changed).
    pub provenance: Provenance,
}

/// What a tick did for a week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    /// A due week's first report.
    New(String),
    /// A week made again because its events changed.
    Regenerated(String),
}

/// The index of `week` on `shelf`, if it has a readable one.
fn index_of(shelf: &mut dyn ReportShelf, week: &str) -> Result<Option<Index>, ReportError> {
    Ok(shelf
        .report_file(week, INDEX_FILE)?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

impl Scheduler {
    /// The reports kept, newest first.
    pub fn list(shelf: &mut dyn ReportShelf) -> Result<Vec<Index>, ReportError> {
        let mut out = Vec::new();
        for week in shelf.report_weeks()? {
            out.extend(index_of(shelf, &week)?);
        }
        out.sort_by(|a: &Index, b: &Index| b.week.cmp(&a.week));
        Ok(out)
    }

    /// The first week covered: recorded on the shelf, else `since`, else the
    /// last week due by `now` (recorded on first use).
    fn since(
        &self,
        shelf: &mut dyn ReportShelf,
        now: DateTime<Utc>,
    ) -> Result<NaiveDate, ReportError> {
        let first = match self.since.as_deref().and_then(monday) {
            Some(m) => m,
            None => {
                // The last week whose report is due by now.
                let today = now.with_timezone(&Stockholm).date_naive();
                let mut m =
                    today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                while self.schedule.due(m) > now {
                    m -= Duration::days(7);
                }
                m
            }
        };
        let since = shelf.schedule_since(&label(first))?;
        Ok(monday(&since).unwrap_or(first))
    }

    /// The weeks due by `now`, oldest first.
    pub fn due_weeks(
        &self,
        shelf: &mut dyn ReportShelf,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, ReportError> {
        let mut m = self.since(shelf, now)?;
        let mut out = Vec::new();
        while self.schedule.due(m) <= now {
            out.push(label(m));
            m += Duration::days(7);
        }
        Ok(out)
    }

    /// Makes what is due by `now` (see the module): first the weeks without a
    /// report, then the recent weeks whose events changed. `store` is read
    /// for the weeks' provenance, `shelf` keeps the reports.
    pub fn tick(
        &self,
        store: &mut dyn SqlRead,
        shelf: &mut dyn ReportShelf,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<Vec<Made>, ReportError> {
        let due = self.due_weeks(shelf, now)?;
        let kept = shelf.report_weeks()?;
        let mut made = Vec::new();
        for week in due.iter().filter(|w| !kept.contains(w)) {
            self.make(store, shelf, snap, week, now, None)?;
            made.push(Made::New(week.clone()));
        }
        let recent = due.iter().rev().take(self.regenerate_weeks as usize);
        for week in recent {
            if made.iter().any(|m| *m == Made::New(week.clone())) {
                continue;
            }
            let Some(index) = index_of(shelf, week)? else {
                continue;
            };
            let period: Period = week
                .parse()
                .map_err(|e| trygg_query::QueryError::invalid("week", format!("{e}")))?;
            if crate::provenance(store, snap, period)? != index.provenance {
                self.make(store, shelf, snap, week, now, Some(index.revision + 1))?;
                made.push(Made::Regenerated(week.clone()));
            }
        }
        Ok(made)
    }

    /// Makes the report of `week` in a temporary folder and keeps its files.
    fn make(
        &self,
        store: &mut dyn SqlRead,
        shelf: &mut dyn ReportShelf,
        snap: &Snapshot,
        week: &str,
        now: DateTime<Utc>,
        revision: Option<u32>,
    ) -> Result<(), ReportError> {
        let request = WeeklyRequest {
            week: week.to_owned(),
            layer: self.layer.clone(),
            ..WeeklyRequest::default()
        };
        let report = build(store, snap, &request, &self.policy, self.lang)?;
        let io = |path: PathBuf| move |source| ReportError::Write { path, source };
        let tmp = tempfile::tempdir().map_err(io(std::env::temp_dir()))?;
        let generated_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let written = write(
            &report,
            &Output {
                dir: tmp.path().to_owned(),
                generated_at: generated_at.clone(),
                chromium: self.chromium.clone(),
            },
        )?;
        let mut files = Vec::with_capacity(written.len() + 1);
        for path in &written {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, std::fs::read(path).map_err(io(path.clone()))?));
        }
        let index = Index {
            week: report.numbers.week.clone(),
            from: report.numbers.from.clone(),
            to: report.numbers.to.clone(),
            generated_at,
            data_version: report.numbers.data.version,
            lang: self.lang.as_str().to_owned(),
            files: files.iter().map(|(name, _)| name.clone()).collect(),
            revision: revision.unwrap_or(0),
            provenance: report.provenance.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&index)
            .map_err(|e| io(tmp.path().join(INDEX_FILE))(e.into()))?;
        files.push((INDEX_FILE.to_owned(), bytes));
        shelf.put_report(week, &files)?;
        Ok(())
    }
}
