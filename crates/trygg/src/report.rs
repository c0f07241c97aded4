//! `trygg report weekly`: the weekly hotspot report of one ISO week, written to
//! a folder (see `trygg_report`); `trygg police poll`: one poll of the police
//! events feed (see `trygg_feed`), for cron.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use trygg_query::charts::Lang;
use trygg_query::{Location, Policy, Snapshot, StoreConn, WeeklyRequest};

/// `trygg report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The weekly hotspot report: report.html, report.pdf, report.json,
    /// areas.csv, areas.xlsx and map.png in `--out`.
    Weekly(WeeklyArgs),
}

/// `trygg police ...`.
#[derive(Debug, Subcommand)]
pub enum PoliceCommand {
    /// Fetch the feed once (retrying with backoff), ingest the snapshot and
    /// record the poll; prints the poll as JSON. Exit status 1 when the poll
    /// failed (nothing changed) or found a gap.
    Poll(PollArgs),
}

/// `trygg police poll`.
#[derive(Debug, Args)]
pub struct PollArgs {
    /// The store file (created with Stockholm's areas if missing), or a
    /// postgres:// URL.
    #[arg(long)]
    store: PathBuf,
    /// The feed.
    #[arg(long, default_value = "https://polisen.se/api/events")]
    url: String,
    /// One request's time limit, seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Requests after a failed one (waiting 2, 4, 8 … seconds).
    #[arg(long, default_value_t = 3)]
    retries: u32,
}

/// Runs a police command.
pub fn police(command: &PoliceCommand) -> anyhow::Result<ExitCode> {
    let PoliceCommand::Poll(a) = command;
    let cfg = trygg_feed::FeedConfig {
        timeout: std::time::Duration::from_secs(a.timeout.max(1)),
        retries: a.retries,
        ..trygg_feed::FeedConfig::new(&a.url)
    };
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let record = match Location::of(&a.store) {
        // A database gets its schema and areas with `trygg migrate`/`trygg copy`.
        Location::Postgres(url) => trygg_feed::poll(
            &mut trygg_pg::PgStore::open(&url)?,
            &cfg,
            &now,
            &std::thread::sleep,
        )?,
        // A new store is kept only when the poll stored a batch.
        Location::File(_) => crate::commands::in_store(
            &a.store,
            true,
            |r: &trygg_store::PollRecord| r.batch_id.is_some(),
            |store| Ok(trygg_feed::poll(store, &cfg, &now, &std::thread::sleep)?),
        )?,
    };
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string(&record)?
    )?;
    Ok(if record.ok && !record.gap {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `trygg report weekly`.
#[derive(Debug, Args)]
pub struct WeeklyArgs {
    /// The store file, or a postgres:// URL.
    #[arg(long)]
    store: PathBuf,
    /// The ISO week, e.g. 2024-W20.
    #[arg(long)]
    week: String,
    /// The area layer of the table (default stadsdel).
    #[arg(long)]
    area_layer: Option<String>,
    /// The folder to write to (default: report-WEEK).
    #[arg(long)]
    out: Option<PathBuf>,
    /// sv (default) or en.
    #[arg(long, default_value = "sv")]
    lang: String,
    /// Square cell size of the hotspot analyses in metres (default 250).
    #[arg(long)]
    grid: Option<f64>,
    /// Weeks of the emerging-hotspot analysis, ending with the week (default 12).
    #[arg(long)]
    weeks: Option<usize>,
    /// Small counts are hidden below this threshold (at least the viewers' 5).
    #[arg(long)]
    suppress: Option<u64>,
    /// Skip report.pdf (which needs Chromium).
    #[arg(long)]
    no_pdf: bool,
    /// Only this municipality of the store's `kommun` layer (its code or
    /// name): its events, areas, population and provenance; the default
    /// folder is then report-WEEK-CODE.
    #[arg(long)]
    municipality: Option<String>,
}

/// The Chromium that prints the PDF, or a clear error saying how to get one.
pub(crate) fn chromium(no_pdf: bool) -> anyhow::Result<Option<PathBuf>> {
    if no_pdf {
        return Ok(None);
    }
    match trygg_report::pdf::find_chromium() {
        Some(p) => Ok(Some(p)),
        None => anyhow::bail!(
            "report.pdf is printed by headless Chromium, which was not found: install Debian's \
             chromium package (./dev setup does), set TRYGG_CHROMIUM, or pass --no-pdf"
        ),
    }
}

/// Runs a report command.
pub fn run(command: &ReportCommand) -> anyhow::Result<ExitCode> {
    let ReportCommand::Weekly(a) = command;
    let lang: Lang = a.lang.parse().map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
    let chromium = chromium(a.no_pdf)?;
    let snap = std::sync::Arc::new(Snapshot::open(&a.store)?).within(a.municipality.as_deref())?;
    let mut store = StoreConn::open(&Location::of(&a.store))?;
    let request = WeeklyRequest {
        week: a.week.clone(),
        layer: a.area_layer.clone(),
        grid: a.grid,
        weeks: a.weeks,
        disclosure: trygg_query::params::DisclosureParams {
            suppress: a.suppress,
        },
    };
    let report = trygg_report::build(store.sql(), &snap, &request, &Policy::default(), lang)?;
    let out = trygg_report::Output {
        dir: a.out.clone().unwrap_or_else(|| {
            let scope = report.numbers.data.scope.as_ref();
            PathBuf::from(match scope {
                Some(scope) => format!("report-{}-{}", report.numbers.week, scope.code),
                None => format!("report-{}", report.numbers.week),
            })
        }),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        chromium,
    };
    let written = trygg_report::write(&report, &out)?;
    let mut stdout = std::io::stdout().lock();
    for path in written {
        writeln!(stdout, "{}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
