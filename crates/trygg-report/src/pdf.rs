//! `report.pdf`: the report's HTML printed by headless Chromium, so the PDF
//! holds exactly what the HTML holds (the print stylesheet decides the page
//! breaks), with the embedded DejaVu font subset into the PDF.
//!
//! Chromium is Debian's `chromium` package (what the browser tests use too);
//! `TRYGG_CHROMIUM` names another binary. It runs offline, with a fresh
//! profile, no network services and a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a print may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The Chromium to print with: `TRYGG_CHROMIUM`, else the first of
/// `chromium`, `chromium-browser`, `google-chrome` on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRYGG_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Prints `html` (a file) to PDF bytes.
pub fn print(chromium: &Path, html: &Path) -> Result<Vec<u8>, String> {
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = profile.path().join("report.pdf");
    let html = std::fs::canonicalize(html).map_err(|e| format!("{}: {e}", html.display()))?;
    // Chromium's chatter goes to a file: a pipe nobody reads could fill and stall it.
    let log_path = profile.path().join("chromium.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-pdf-header-footer",
            "--generate-pdf-document-outline",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run Chromium ({}): {e}; install Debian's chromium package or set TRYGG_CHROMIUM",
                chromium.display()
            )
        })?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "Chromium did not finish within {} s",
                TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    let bytes = std::fs::read(&out).map_err(|e| {
        format!(
            "Chromium ({status}) wrote no PDF ({e}): {}",
            stderr.lines().last().unwrap_or_default()
        )
    })?;
    if !bytes.starts_with(b"%PDF-") {
        return Err("Chromium's output is not a PDF".into());
    }
    Ok(bytes)
}
