//! Where the scheduled weekly reports are kept: a folder beside a GeoPackage
//! store ([`ReportDir`]), or the database itself over PostgreSQL (`trygg-pg`),
//! so replicas with no shared disk serve the same reports. Either way a week's
//! report is replaced whole or not at all, and the schedule's first week is
//! recorded once.

use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// The file of a report that says what it is (its week, revision, files).
pub const INDEX_FILE: &str = "index.json";

/// A place that keeps weekly reports, each a set of named files.
pub trait ReportShelf: Send {
    /// The schedule's first week, if one is recorded.
    fn recorded_since(&mut self) -> Result<Option<String>, StoreError>;
    /// Records the schedule's first week, unless one is recorded already.
    fn record_since(&mut self, week: &str) -> Result<(), StoreError>;
    /// The schedule's first week: the one recorded, or else `first`, which is
    /// recorded (so it stays when the clock or configuration moves on).
    fn schedule_since(&mut self, first: &str) -> Result<String, StoreError> {
        if let Some(since) = self.recorded_since()? {
            return Ok(since);
        }
        self.record_since(first)?;
        Ok(self.recorded_since()?.unwrap_or_else(|| first.to_owned()))
    }
    /// The weeks kept, in no particular order.
    fn report_weeks(&mut self) -> Result<Vec<String>, StoreError>;
    /// One file of a week's report, if kept.
    fn report_file(&mut self, week: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every file of a week's report, by name.
    fn report_files(&mut self, week: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Keeps `files` as the report of `week`, replacing what was kept, whole or
    /// not at all.
    fn put_report(&mut self, week: &str, files: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
}

/// Reports as folders: `DIR/WEEK/FILE`, and `DIR/schedule.json`. A week is
/// written into a temporary folder and renamed into place, so a folder that
/// exists is complete.
#[derive(Debug, Clone)]
pub struct ReportDir(pub PathBuf);

#[derive(serde::Serialize, serde::Deserialize)]
struct ScheduleState {
    since: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether a folder name is a week's (`2024-W20`), not a temporary one.
fn is_week(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && &b[4..6] == b"-W"
        && b[6..].iter().all(u8::is_ascii_digit)
}

/// Copies every report of `from` onto `to` (a week `to` keeps already is
/// replaced), and the schedule's first week if `to` has none; the weeks copied.
pub fn copy_reports(
    from: &mut dyn ReportShelf,
    to: &mut dyn ReportShelf,
) -> Result<u64, StoreError> {
    let mut weeks = from.report_weeks()?;
    weeks.sort();
    for week in &weeks {
        to.put_report(week, &from.report_files(week)?)?;
    }
    if let Some(since) = from.recorded_since()? {
        to.record_since(&since)?;
    }
    Ok(weeks.len() as u64)
}

impl ReportDir {
    /// The default folder of a GeoPackage store's reports: `reports/` beside it.
    pub fn beside(store: &Path) -> ReportDir {
        ReportDir(store.parent().unwrap_or(Path::new(".")).join("reports"))
    }

    fn schedule_path(&self) -> PathBuf {
        self.0.join("schedule.json")
    }
}

impl ReportShelf for ReportDir {
    fn recorded_since(&mut self) -> Result<Option<String>, StoreError> {
        Ok(std::fs::read(self.schedule_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<ScheduleState>(&b).ok())
            .map(|state| state.since))
    }

    fn record_since(&mut self, week: &str) -> Result<(), StoreError> {
        if self.recorded_since()?.is_some() {
            return Ok(());
        }
        let path = self.schedule_path();
        std::fs::create_dir_all(&self.0).map_err(io(&self.0))?;
        let state = ScheduleState {
            since: week.to_owned(),
        };
        let bytes = serde_json::to_vec_pretty(&state).map_err(|e| io(&path)(e.into()))?;
        std::fs::write(&path, bytes).map_err(io(&path))
    }

    fn report_files(&mut self, week: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if !is_week(week) {
            return Ok(Vec::new());
        }
        let dir = self.0.join(week);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let path = dir.join(&name);
                Ok((name, std::fs::read(&path).map_err(io(&path))?))
            })
            .collect()
    }

    fn report_weeks(&mut self) -> Result<Vec<String>, StoreError> {
        let entries = match std::fs::read_dir(&self.0) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.0)(e)),
        };
        Ok(entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| is_week(name) && self.0.join(name).join(INDEX_FILE).is_file())
            .collect())
    }

    fn report_file(&mut self, week: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_week(week) || name.contains(['/', '\\']) || name.starts_with('.') {
            return Ok(None);
        }
        let path = self.0.join(week).join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn put_report(&mut self, week: &str, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let tmp = self.0.join(format!(".making-{week}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        for (name, bytes) in files {
            let path = tmp.join(name);
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
        let target = self.0.join(week);
        let old = self.0.join(format!(".old-{week}"));
        if target.exists() {
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(&target, &old).map_err(io(&target))?;
        }
        std::fs::rename(&tmp, &target).map_err(io(&target))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_keeps_whole_weeks_and_the_first_week_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut shelf = ReportDir(dir.path().join("reports"));
        assert_eq!(shelf.report_weeks().expect("weeks"), Vec::<String>::new());
        assert_eq!(shelf.schedule_since("2024-W20").expect("since"), "2024-W20");
        assert_eq!(shelf.schedule_since("2024-W30").expect("since"), "2024-W20");
        let files = |text: &str| {
            vec![
                (INDEX_FILE.to_owned(), text.as_bytes().to_vec()),
                ("report.json".to_owned(), b"{}".to_vec()),
            ]
        };
        shelf.put_report("2024-W20", &files("one")).expect("put");
        shelf.put_report("2024-W20", &files("two")).expect("again");
        // A folder being made is not a week.
        std::fs::create_dir_all(shelf.0.join(".making-2024-W21")).expect("mkdir");
        assert_eq!(shelf.report_weeks().expect("weeks"), ["2024-W20"]);
        assert_eq!(
            shelf.report_file("2024-W20", INDEX_FILE).expect("read"),
            Some(b"two".to_vec())
        );
        assert_eq!(
            shelf.report_file("2024-W20", "map.png").expect("read"),
            None
        );
        assert_eq!(
            shelf.report_file("..", "schedule.json").expect("read"),
            None
        );
        assert_eq!(shelf.report_file("2024-W20", "../x").expect("read"), None);
        // Copied to another shelf: every file, and the first week.
        let mut other = ReportDir(dir.path().join("other"));
        assert_eq!(copy_reports(&mut shelf, &mut other).expect("copy"), 1);
        assert_eq!(
            other.report_files("2024-W20").expect("files"),
            shelf.report_files("2024-W20").expect("files")
        );
        assert_eq!(other.report_files("2024-W20").expect("files").len(), 2);
        assert_eq!(
            other.recorded_since().expect("since").as_deref(),
            Some("2024-W20")
        );
    }
}
