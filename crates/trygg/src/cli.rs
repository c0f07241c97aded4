//! Command-line arguments, parsed with clap and validated in `commands`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Trygg: safety-mapping analytics for a lokal lägesbild.
#[derive(Debug, Parser)]
#[command(name = "trygg", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load files of one source into a store (created with Stockholm's areas if missing).
    Ingest(IngestArgs),
    /// Manage area layers.
    Areas {
        /// What to do with areas.
        #[command(subcommand)]
        command: AreasCommand,
    },
    /// Write events as CSV or GeoJSON.
    Export(ExportArgs),
    /// Generate synthetic Stockholm data (if the store does not exist), ingest it and serve it.
    Demo(DemoArgs),
    /// Analytics: area statistics, hotspots, emerging hotspots, survey indicators.
    Query {
        /// Which analysis.
        #[command(subcommand)]
        command: crate::query::QueryCommand,
    },
    /// Show what a store holds: events per source, area layers, recent batches.
    Info {
        /// The store file, or a postgres:// URL.
        #[arg(long)]
        store: PathBuf,
    },
    /// Serve the HTTP API over a store (see docs/configuration.md).
    Serve(ServeArgs),
    /// Make a new random API key and print the config entry holding its hash.
    ApiKey {
        /// Who holds it (shown in the audit log).
        #[arg(long)]
        name: String,
        /// viewer, analyst or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Limit the key to this municipality of the store's `kommun` layer
        /// (its code, e.g. 0184, or name); not for admin keys.
        #[arg(long)]
        municipality: Option<String>,
    },
    /// Ingest batches: list them, or take one back whole.
    Batches {
        /// What to do with batches.
        #[command(subcommand)]
        command: BatchesCommand,
    },
    /// The police events feed: poll it once into a store (for cron).
    Police {
        /// What to do.
        #[command(subcommand)]
        command: crate::report::PoliceCommand,
    },
    /// Reports: the weekly hotspot report.
    Report {
        /// Which report.
        #[command(subcommand)]
        command: crate::report::ReportCommand,
    },
    /// Bring a store's schema to this version: a PostgreSQL database
    /// (`postgres://…`, made on first use) or a GeoPackage file.
    Migrate {
        /// The store: a GeoPackage file or a `postgres://` URL.
        #[arg(long)]
        store: String,
    },
    /// Copy a whole store between backends: a GeoPackage file into an empty
    /// PostgreSQL database (migrated first), or a database into a new file.
    Copy {
        /// The store copied from: a GeoPackage file or a `postgres://` URL.
        #[arg(long)]
        from: String,
        /// The store copied to: a `postgres://` URL or a new GeoPackage file.
        #[arg(long)]
        to: String,
    },
}

/// `trygg batches ...`.
#[derive(Debug, Subcommand)]
pub enum BatchesCommand {
    /// List the committed batches with their files, counts and reverts.
    List {
        /// The store file, or a postgres:// URL.
        #[arg(long)]
        store: PathBuf,
        /// One JSON array on stdout instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Take back a whole batch: its events are deleted, the batch stays listed as
    /// reverted (by whom, when, how many events). Re-ingesting the files then adds
    /// their events again.
    Revert {
        /// The store file, or a postgres:// URL.
        #[arg(long)]
        store: PathBuf,
        /// The batch id (see `trygg batches list`).
        batch: i64,
        /// Who reverts it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

/// The five sources, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// Police events API JSON.
    PoliceEvents,
    /// Reported crimes (CSV/GeoJSON with a mapping).
    Crimes,
    /// Shootings.
    Shootings,
    /// Fires (rescue service incidents).
    Fires,
    /// Safety survey responses or marked places.
    Survey,
}

impl From<SourceArg> for trygg_model::Source {
    fn from(s: SourceArg) -> Self {
        use trygg_model::Source;
        match s {
            SourceArg::PoliceEvents => Source::PoliceEvents,
            SourceArg::Crimes => Source::Crimes,
            SourceArg::Shootings => Source::Shootings,
            SourceArg::Fires => Source::Fires,
            SourceArg::Survey => Source::Survey,
        }
    }
}

/// `trygg ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The store: a GeoPackage file (created if it does not exist) or a
    /// migrated PostgreSQL database (`postgres://…`, see `trygg migrate`).
    #[arg(long)]
    pub store: PathBuf,
    /// Which source the files are.
    #[arg(long, value_enum)]
    pub source: SourceArg,
    /// Mapping file (TOML) for CSV/GeoJSON; defaults to the source's built-in mapping.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Land nothing if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// When creating the store, do not load Stockholm's areas.
    #[arg(long)]
    pub no_default_areas: bool,
    /// The input files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `trygg areas ...`.
#[derive(Debug, Subcommand)]
pub enum AreasCommand {
    /// Load a polygon layer from GeoJSON, GeoPackage or Shapefile.
    Load(AreasLoadArgs),
    /// List the store's area layers.
    List {
        /// The store file, or a postgres:// URL.
        #[arg(long)]
        store: PathBuf,
    },
    /// Load population figures for a layer's areas from CSV: the area code in
    /// the first column, then `year`, `population` and optionally `derived`
    /// (true/false), with a header row. A figure already stored for the same
    /// area and year is replaced; a bad row stops the load before anything is
    /// stored.
    Population {
        /// The store file, or a postgres:// URL.
        #[arg(long)]
        store: PathBuf,
        /// The layer the codes are of (e.g. kommun).
        #[arg(long)]
        layer: String,
        /// The CSV file.
        file: PathBuf,
    },
}

/// `trygg areas load`.
#[derive(Debug, Args)]
pub struct AreasLoadArgs {
    /// The store file, created (without default areas) if it does not exist;
    /// or a postgres:// URL.
    #[arg(long)]
    pub store: PathBuf,
    /// The layer's name in the store.
    #[arg(long)]
    pub layer: String,
    /// First day the areas are valid.
    #[arg(long)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the areas are valid.
    #[arg(long)]
    pub valid_to: Option<NaiveDate>,
    /// The file's CRS, overriding what the file says (e.g. EPSG:3011).
    #[arg(long)]
    pub crs: Option<String>,
    /// The property holding each area's name.
    #[arg(long)]
    pub name_field: Option<String>,
    /// The property holding each area's code (default: the name).
    #[arg(long)]
    pub code_field: Option<String>,
    /// The table to read from a GeoPackage with several polygon layers.
    #[arg(long)]
    pub source_layer: Option<String>,
    /// Replace the layer if it exists.
    #[arg(long)]
    pub replace: bool,
    /// The polygon file.
    pub file: PathBuf,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// CSV, UTF-8 with BOM.
    Csv,
    /// GeoJSON FeatureCollection.
    Geojson,
}

/// `trygg export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store file, or a postgres:// URL.
    #[arg(long)]
    pub store: PathBuf,
    /// Only this source.
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    /// Only events on or after this day (Stockholm time).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Only events on or before this day (Stockholm time; the whole day is included).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the events in this municipality of the store's `kommun` layer
    /// (its code or name), located as every municipality-limited answer is.
    #[arg(long)]
    pub municipality: Option<String>,
}

/// `trygg demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo store; generated and ingested only if it does not exist yet.
    #[arg(long, default_value = "demo/trygg.gpkg")]
    pub store: PathBuf,
    /// Years of data, ending at --end.
    #[arg(long, default_value_t = trygg_demo::DEFAULT_YEARS)]
    pub years: u32,
    /// Volume multiplier (1.0 = Stockholm's real volumes).
    #[arg(long, default_value_t = trygg_demo::DEFAULT_SCALE)]
    pub scale: f64,
    /// Random seed; the same seed and parameters give byte-identical files.
    #[arg(long, default_value_t = trygg_demo::DEFAULT_SEED)]
    pub seed: u64,
    /// Last day of the data (default: yesterday).
    #[arg(long)]
    pub end: Option<NaiveDate>,
    /// Stop after the summary instead of serving the map.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve it.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
}

/// `trygg serve`: flags override the config file and the environment.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store file (or `store` in the config, or TRYGG_STORE).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<String>,
    /// A TOML config file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
    /// Make the weekly report on a schedule, Stockholm time, e.g. "mon 06:00"
    /// (reports go to `[reports] dir`, default reports/ beside the store; over
    /// PostgreSQL into the database, made by one replica).
    #[arg(long)]
    pub weekly_report: Option<String>,
    /// Poll this police events feed (e.g. https://polisen.se/api/events)
    /// every `[police] interval_s` seconds.
    #[arg(long)]
    pub police_url: Option<String>,
}
