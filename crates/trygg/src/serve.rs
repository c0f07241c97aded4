//! `trygg serve`, `trygg api-key` and the demo's server: the configuration
//! merged (file, environment, flags), logging set up, then one library call.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use trygg_query::Role;
use trygg_server::config::{key_hash, ApiKey, Config, LogFormat};

use crate::cli::ServeArgs;

/// The demo's documented local default: anyone on this machine is an analyst;
/// the admin key is `trygg-demo-admin` (docs/configuration.md).
pub const DEMO_ADMIN_KEY: &str = "trygg-demo-admin";

/// The configuration of `trygg serve`.
pub fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut c = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    c.apply_env(std::env::vars().filter(|(k, _)| k.starts_with("TRYGG_")))?;
    if let Some(store) = &args.store {
        c.store = Some(store.clone());
    }
    if let Some(addr) = &args.addr {
        c.addr.clone_from(addr);
    }
    if args.log_json {
        c.log_format = LogFormat::Json;
    }
    if let Some(when) = &args.weekly_report {
        c.reports.weekly = Some(when.clone());
    }
    if let Some(url) = &args.police_url {
        c.police.url = Some(url.clone());
    }
    Ok(c)
}

/// The demo's configuration: the weekly report on its schedule too, so the
/// last complete week's report is there at start (in reports/ beside the store).
pub fn demo_config(store: &Path, addr: &str) -> Config {
    Config {
        reports: trygg_server::config::ReportsConfig {
            weekly: Some("mon 06:00".into()),
            ..trygg_server::config::ReportsConfig::default()
        },
        store: Some(store.to_owned()),
        addr: addr.to_owned(),
        anonymous_role: Some(Role::Analyst),
        keys: vec![ApiKey {
            name: "demo-admin".into(),
            role: Role::Admin,
            sha256: key_hash(DEMO_ADMIN_KEY),
            municipality: None,
        }],
        ..Config::default()
    }
}

/// Serves until Ctrl-C or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    trygg_server::init_logging(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(trygg_server::serve(config, |addr| {
        println!("Trygg is serving on http://{addr}/  (API: http://{addr}/api/docs; Ctrl-C stops)");
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a new random key and its config entry.
pub fn api_key(name: &str, role: &str, municipality: Option<&str>) -> anyhow::Result<ExitCode> {
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    if municipality.is_some() && role == Role::Admin {
        anyhow::bail!(
            "an admin key covers the whole store: limit a viewer or analyst key to a municipality"
        );
    }
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    println!("key (give it to {name}; it is not stored): {key}");
    println!();
    println!(
        "[[keys]]\nname = \"{name}\"\nrole = \"{}\"\nsha256 = \"{}\"",
        role.as_str(),
        key_hash(&key)
    );
    if let Some(m) = municipality {
        println!("municipality = \"{m}\"");
    }
    Ok(ExitCode::SUCCESS)
}
