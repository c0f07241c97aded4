//! The service's one typed configuration, merged in this order (later wins):
//! defaults, a TOML file (`--config`), environment variables (`TRYGG_*`), then
//! command-line flags. See docs/configuration.md.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trygg_analytics::budget::Budget;
use trygg_query::{Policy, Role};

/// A configuration error, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why (toml names the key and line).
        message: String,
    },
    /// A value (from the environment or a flag) cannot be read.
    #[error("{key}: {message}")]
    Value {
        /// The variable or key.
        key: String,
        /// Why.
        message: String,
    },
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// An API key: its name (shown in the audit log), role, and the SHA-256 of the key
/// (hex). Keys themselves are never stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Who holds it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// `sha256(key)` as 64 hex digits.
    pub sha256: String,
    /// The municipality of the store's `kommun` layer (its code, e.g. `0184`,
    /// or name) the key is limited to: every answer is of that municipality's
    /// events, areas and population alone; reports and administration, which
    /// cover the whole store, are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

/// Limits that keep one request from taking the machine.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body (JSON, e.g. a drawn polygon), bytes.
    pub body_bytes: usize,
    /// Largest upload to ingest, bytes.
    pub upload_bytes: usize,
    /// Longest a request may take, seconds (then 408).
    pub request_timeout_s: u64,
    /// Queries and exports computed at once (the rest wait in a queue).
    pub heavy_concurrency: usize,
    /// How long a query waits for its turn before a 503 with Retry-After, ms.
    pub queue_wait_ms: u64,
    /// Most rows of one export.
    pub export_rows: u64,
    /// Bytes of recent JSON answers kept in memory (0: none).
    pub answer_cache_bytes: usize,
    /// Cells a grid or H3 study area may examine.
    pub max_cells: u64,
    /// Cells × time slices of an emerging-hotspot analysis.
    pub max_cell_slices: u64,
    /// Cells × permutations of a Gi* permutation test.
    pub max_permutation_cells: u64,
    /// Areas of a layer one statistic covers.
    pub max_areas: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        let b = Budget::default();
        Limits {
            body_bytes: 2 << 20,
            upload_bytes: 512 << 20,
            request_timeout_s: 60,
            heavy_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_wait_ms: 5_000,
            export_rows: 5_000_000,
            answer_cache_bytes: 64 << 20,
            max_cells: b.max_cells,
            max_cell_slices: b.max_cell_slices,
            max_permutation_cells: b.max_permutation_cells,
            max_areas: b.max_areas,
        }
    }
}

impl Limits {
    /// The query layer's budget.
    pub fn budget(&self) -> Budget {
        Budget {
            max_cells: self.max_cells,
            max_cell_slices: self.max_cell_slices,
            max_permutation_cells: self.max_permutation_cells,
            max_areas: self.max_areas,
        }
    }
}

/// The service's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The store file.
    pub store: Option<PathBuf>,
    /// Listen address.
    pub addr: String,
    /// Log format.
    pub log_format: LogFormat,
    /// How often to look for batches landed by other processes, seconds.
    pub refresh_interval_s: u64,
    /// The role of requests without a key (`None`: they get 401). Without any
    /// configured key and without this, anonymous requests are viewers.
    pub anonymous_role: Option<Role>,
    /// API keys.
    pub keys: Vec<ApiKey>,
    /// What each role may see.
    pub policy: Policy,
    /// Limits.
    pub limits: Limits,
    /// Map tiles.
    pub tiles: TileConfig,
    /// The web map.
    pub ui: UiConfig,
    /// Polling the police events feed.
    pub police: PoliceConfig,
    /// The weekly report.
    pub reports: ReportsConfig,
}

/// Polling the police events feed (off unless `url` is set).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoliceConfig {
    /// The feed, e.g. `https://polisen.se/api/events` (`None`: no polling).
    pub url: Option<String>,
    /// Seconds between polls.
    pub interval_s: u64,
    /// One request's time limit, seconds.
    pub timeout_s: u64,
    /// Requests after a failed one, waiting 2, 4, 8 … seconds.
    pub retries: u32,
}

impl Default for PoliceConfig {
    fn default() -> PoliceConfig {
        PoliceConfig {
            url: None,
            interval_s: 300,
            timeout_s: 30,
            retries: 3,
        }
    }
}

/// The weekly report (made by the server only when `weekly` is set).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// When, Stockholm time, e.g. `"mon 06:00"` (`None`: not scheduled).
    pub weekly: Option<String>,
    /// Where reports are kept (default: `reports/` beside the store).
    pub dir: Option<PathBuf>,
    /// `sv` or `en`.
    pub lang: trygg_query::charts::Lang,
    /// The area layer of the table.
    pub layer: Option<String>,
    /// Make a week again when its events changed, for this many recent weeks
    /// (0: never).
    pub regenerate_weeks: u32,
    /// The first week scheduled, e.g. `2024-W01` (default: the last week due
    /// when the schedule first ran).
    pub since: Option<String>,
    /// Write report.pdf (needs Chromium).
    pub pdf: bool,
}

impl Default for ReportsConfig {
    fn default() -> ReportsConfig {
        ReportsConfig {
            weekly: None,
            dir: None,
            lang: trygg_query::charts::Lang::Sv,
            layer: None,
            regenerate_weeks: 4,
            since: None,
            pdf: true,
        }
    }
}

impl Config {
    /// Where weekly reports are kept.
    pub fn reports_dir(&self) -> Option<PathBuf> {
        self.reports.dir.clone().or_else(|| {
            self.store
                .as_deref()
                .map(|s| trygg_store::ReportDir::beside(s).0)
        })
    }
}

/// Web map settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// A MapLibre style URL (http or https) drawn under Trygg's layers instead
    /// of Trygg's own basemap; the page's Content-Security-Policy allows its
    /// origin. `None`: Trygg's own basemap, fully offline.
    pub basemap_style: Option<String>,
}

/// Map tile settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TileConfig {
    /// The lowest zoom at which the `events` layer has points (analysts only).
    pub events_min_zoom: u8,
    /// The lowest zoom at which the sensitive categories (the policy's
    /// `sensitive`) appear as points in the `events` layer; never below it.
    pub sensitive_min_zoom: u8,
    /// `Cache-Control: max-age` of tiles, seconds (their ETag revalidates them).
    pub max_age_s: u32,
}

impl Default for TileConfig {
    fn default() -> TileConfig {
        TileConfig {
            events_min_zoom: 13,
            sensitive_min_zoom: 17,
            max_age_s: 60,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            store: None,
            addr: "127.0.0.1:8080".into(),
            log_format: LogFormat::Text,
            refresh_interval_s: 2,
            anonymous_role: None,
            keys: Vec::new(),
            policy: Policy::default(),
            limits: Limits::default(),
            tiles: TileConfig::default(),
            ui: UiConfig::default(),
            police: PoliceConfig::default(),
            reports: ReportsConfig::default(),
        }
    }
}

/// The hex SHA-256 of an API key, as the config stores it.
pub fn key_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn value<T: std::str::FromStr>(key: &str, text: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e: T::Err| ConfigError::Value {
        key: key.to_owned(),
        message: format!("cannot read '{text}': {e}"),
    })
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Applies `TRYGG_*` variables from `vars` (the process environment in
    /// production, a list in tests).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (key, text) in vars {
            let l = &mut self.limits;
            match key.as_str() {
                "TRYGG_STORE" => self.store = Some(PathBuf::from(text)),
                "TRYGG_ADDR" => self.addr = text,
                "TRYGG_LOG_FORMAT" => {
                    self.log_format = match text.trim() {
                        "json" => LogFormat::Json,
                        "text" => LogFormat::Text,
                        other => {
                            return Err(ConfigError::Value {
                                key,
                                message: format!("'{other}' is not text or json"),
                            })
                        }
                    }
                }
                "TRYGG_REFRESH_INTERVAL_S" => self.refresh_interval_s = value(&key, &text)?,
                "TRYGG_ANONYMOUS_ROLE" => {
                    self.anonymous_role = match text.trim() {
                        "" | "none" => None,
                        role => Some(role.parse().map_err(|message| ConfigError::Value {
                            key: key.clone(),
                            message,
                        })?),
                    }
                }
                // name:role:sha256[:municipality], comma-separated.
                "TRYGG_API_KEYS" => {
                    for item in text.split(',').filter(|s| !s.trim().is_empty()) {
                        let parts: Vec<&str> = item.trim().splitn(4, ':').collect();
                        let (name, role, sha256, municipality) = match parts[..] {
                            [name, role, sha256] => (name, role, sha256, None),
                            [name, role, sha256, m] => (name, role, sha256, Some(m.to_owned())),
                            _ => {
                                return Err(ConfigError::Value {
                                    key,
                                    message: format!(
                                        "'{item}' is not name:role:sha256[:municipality]"
                                    ),
                                })
                            }
                        };
                        self.keys.push(ApiKey {
                            name: name.to_owned(),
                            role: role.parse().map_err(|message| ConfigError::Value {
                                key: key.clone(),
                                message,
                            })?,
                            sha256: sha256.to_owned(),
                            municipality,
                        });
                    }
                }
                "TRYGG_VIEWER_THRESHOLD" => self.policy.viewer_threshold = value(&key, &text)?,
                "TRYGG_BODY_LIMIT_BYTES" => l.body_bytes = value(&key, &text)?,
                "TRYGG_UPLOAD_LIMIT_BYTES" => l.upload_bytes = value(&key, &text)?,
                "TRYGG_REQUEST_TIMEOUT_S" => l.request_timeout_s = value(&key, &text)?,
                "TRYGG_HEAVY_CONCURRENCY" => l.heavy_concurrency = value(&key, &text)?,
                "TRYGG_QUEUE_WAIT_MS" => l.queue_wait_ms = value(&key, &text)?,
                "TRYGG_EXPORT_ROWS" => l.export_rows = value(&key, &text)?,
                "TRYGG_ANSWER_CACHE_BYTES" => l.answer_cache_bytes = value(&key, &text)?,
                "TRYGG_MAX_CELLS" => l.max_cells = value(&key, &text)?,
                "TRYGG_MAX_CELL_SLICES" => l.max_cell_slices = value(&key, &text)?,
                "TRYGG_MAX_PERMUTATION_CELLS" => l.max_permutation_cells = value(&key, &text)?,
                "TRYGG_MAX_AREAS" => l.max_areas = value(&key, &text)?,
                "TRYGG_EVENTS_MIN_ZOOM" => self.tiles.events_min_zoom = value(&key, &text)?,
                "TRYGG_SENSITIVE_MIN_ZOOM" => {
                    self.tiles.sensitive_min_zoom = value(&key, &text)?;
                }
                "TRYGG_POLICE_URL" => {
                    self.police.url = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
                }
                "TRYGG_POLICE_INTERVAL_S" => self.police.interval_s = value(&key, &text)?,
                "TRYGG_WEEKLY_REPORT" => {
                    self.reports.weekly = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
                }
                "TRYGG_REPORTS_DIR" => self.reports.dir = Some(PathBuf::from(text)),
                "TRYGG_BASEMAP_STYLE" => {
                    self.ui.basemap_style = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks what cannot be checked key by key.
    pub fn validate(&self) -> Result<SocketAddr, ConfigError> {
        let addr = value::<SocketAddr>("addr", &self.addr)?;
        for k in &self.keys {
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::Value {
                    key: format!("keys.{}.sha256", k.name),
                    message: "must be 64 hex digits (sha256 of the key)".into(),
                });
            }
            if k.municipality.is_some() && k.role == Role::Admin {
                return Err(ConfigError::Value {
                    key: format!("keys.{}.municipality", k.name),
                    message: "an admin key covers the whole store: a key limited to a municipality is a viewer or analyst".into(),
                });
            }
        }
        if let Some(url) = &self.ui.basemap_style {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Value {
                    key: "ui.basemap_style".into(),
                    message: format!("'{url}' is not an http(s) URL"),
                });
            }
        }
        if let Some(url) = &self.police.url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Value {
                    key: "police.url".into(),
                    message: format!("'{url}' is not an http(s) URL"),
                });
            }
        }
        if let Some(when) = &self.reports.weekly {
            when.parse::<trygg_report::schedule::Schedule>()
                .map_err(|message| ConfigError::Value {
                    key: "reports.weekly".into(),
                    message,
                })?;
        }
        if self.limits.heavy_concurrency == 0 {
            return Err(ConfigError::Value {
                key: "limits.heavy_concurrency".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.policy.viewer_threshold == 0 {
            return Err(ConfigError::Value {
                key: "policy.viewer_threshold".into(),
                message: "must be at least 1".into(),
            });
        }
        self.policy
            .sensitive
            .compile()
            .map_err(|e| ConfigError::Value {
                key: "policy.sensitive.categories".into(),
                message: e.to_string(),
            })?;
        Ok(addr)
    }

    /// The role of a request without a key.
    pub fn anonymous(&self) -> Option<Role> {
        match (self.anonymous_role, self.keys.is_empty()) {
            (Some(r), _) => Some(r),
            (None, true) => Some(Role::Viewer),
            (None, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_then_validation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trygg.toml");
        std::fs::write(
            &path,
            format!(
                "addr = \"127.0.0.1:9000\"\nanonymous_role = \"analyst\"\n[[keys]]\nname = \"ada\"\nrole = \"admin\"\nsha256 = \"{}\"\n[limits]\nmax_cells = 10\n",
                key_hash("secret")
            ),
        )
        .expect("write");
        let mut c = Config::from_file(&path).expect("reads");
        assert_eq!(c.keys[0].role, Role::Admin);
        assert_eq!(c.limits.max_cells, 10);
        c.apply_env([
            ("TRYGG_ADDR".to_owned(), "127.0.0.1:9001".to_owned()),
            ("TRYGG_MAX_AREAS".to_owned(), "7".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ])
        .expect("env");
        assert_eq!(c.validate().expect("valid").port(), 9001);
        assert_eq!(c.limits.budget().max_areas, 7);
        assert_eq!(c.anonymous(), Some(Role::Analyst));
        let e = c
            .apply_env([("TRYGG_MAX_CELLS".to_owned(), "many".to_owned())])
            .expect_err("not a number");
        assert!(e.to_string().starts_with("TRYGG_MAX_CELLS"), "{e}");
        std::fs::write(&path, "adress = 1\n").expect("write");
        let e = Config::from_file(&path).expect_err("unknown key");
        assert!(e.to_string().contains("adress"), "{e}");
    }

    #[test]
    fn keys_may_be_limited_to_a_municipality_except_admin_keys() {
        let mut c = Config::default();
        let hash = key_hash("k");
        c.apply_env([(
            "TRYGG_API_KEYS".to_owned(),
            format!("sol:analyst:{hash}:0184,all:viewer:{hash}"),
        )])
        .expect("env");
        assert_eq!(c.keys[0].municipality.as_deref(), Some("0184"));
        assert_eq!(c.keys[1].municipality, None);
        assert!(c.validate().is_ok());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trygg.toml");
        std::fs::write(
            &path,
            format!("[[keys]]\nname = \"x\"\nrole = \"admin\"\nsha256 = \"{hash}\"\nmunicipality = \"Solna\"\n"),
        )
        .expect("write");
        let admin = Config::from_file(&path).expect("reads");
        let e = admin
            .validate()
            .expect_err("an admin key covers the whole store");
        assert!(e.to_string().contains("keys.x.municipality"), "{e}");
    }

    #[test]
    fn anonymous_requests_are_viewers_only_without_keys() {
        let mut c = Config::default();
        assert_eq!(c.anonymous(), Some(Role::Viewer));
        c.keys.push(ApiKey {
            name: "a".into(),
            role: Role::Analyst,
            sha256: key_hash("k"),
            municipality: None,
        });
        assert_eq!(c.anonymous(), None);
        c.keys[0].sha256 = "abc".into();
        assert!(c.validate().is_err());
    }
}
