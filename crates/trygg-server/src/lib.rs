//! Trygg's HTTP service: an axum router over the typed query layer
//! ([`trygg_query`]) and its live snapshot. A handler reads a request into the
//! query layer's types ([`params`]), applies the caller's role ([`auth`],
//! [`trygg_query::Policy`]), runs the job and encodes the answer; it decides
//! nothing about what a number means. Only this crate knows HTTP.
//!
//! - [`config`]: one typed configuration from file, environment and flags;
//! - [`router`]: the routes (see [`openapi`] for the list), error shape
//!   ([`error`]), limits, metrics ([`metrics`]) and the audit log;
//! - [`serve`]: binds, refreshes the snapshot when another process ingests,
//!   polls the police feed and makes the weekly report ([`unattended`]), and
//!   shuts down gracefully on Ctrl-C or SIGTERM.

pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod params;
mod routes;
mod state;
pub mod unattended;

pub use routes::router;
pub use state::AppState;

use std::time::Duration;

use config::{Config, LogFormat};

/// A failure to start or run the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// No store was given.
    #[error("no store: give --store, TRYGG_STORE or `store` in the config file")]
    NoStore,
    /// The store cannot be read.
    #[error(transparent)]
    Query(#[from] trygg_query::QueryError),
    /// The address cannot be bound, or the server failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Sets up logging as configured (once per process).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRYGG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Serves `config` until Ctrl-C or SIGTERM; `ready` is called with the bound
/// address once the snapshot is loaded and the socket listens.
pub async fn serve(
    config: Config,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let addr = config.validate()?;
    let store = config.store.clone().ok_or(ServeError::NoStore)?;
    let started = std::time::Instant::now();
    let state = tokio::task::spawn_blocking(move || AppState::open(&store, config))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(
        %bound,
        events = state.live.current().view().len(),
        version = state.live.current().data().version,
        startup_ms = started.elapsed().as_millis() as u64,
        "ready"
    );
    ready(bound);
    let refresher = tokio::spawn(refresh_loop(state.clone()));
    let unattended = unattended::start(&state)?;
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    refresher.abort();
    drop(unattended);
    tracing::info!("stopped");
    Ok(())
}

/// Looks for batches of other processes every `refresh_interval_s`.
async fn refresh_loop(state: AppState) {
    let every = Duration::from_secs(state.config.refresh_interval_s.max(1));
    loop {
        tokio::time::sleep(every).await;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.refresh()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "snapshot refresh failed"),
            Err(e) => tracing::warn!(error = %e, "snapshot refresh panicked"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
